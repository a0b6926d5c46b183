// The @ai-sdk-tools/agents side of memstore's integration interop tests
// (tests/interop/test_agents_interop.py).
//
// Input: one JSON command on stdin. Commands that open a database take
//   "dialect": "sqlite" | "postgres" | "mysql" (default "sqlite"), "url": "file:/abs.db" |
//   "postgresql://..." | "mysql://...", "sessionTimeZone" (optional, the SQL session's)
// and run the published @ai-sdk-tools/memory DrizzleProvider over the package's own table
// helpers, as ts_side.mjs does.
//   {"op": "texts", "content": "..."}  -> the working-memory texts exactly as the installed
//        @ai-sdk-tools/agents 1.2.0 builds them: its dist/index.js is read and its own
//        DEFAULT_TEMPLATE / getWorkingMemoryInstructions / formatWorkingMemory definitions
//        (bundled into the agents package) are evaluated, then compared with the
//        @ai-sdk-tools/memory exports of the same names; and the default title
//        instructions of its generateChatTitle, as the Agent passes them to its model.
//   {"op": "history", ..., "chatId": "...", "limit": 100}
//        -> the ModelMessages a real @ai-sdk-tools/agents Agent (memory: DrizzleProvider,
//        history enabled) builds for a new user message "next", through its own
//        loadMessagesWithHistory (getMessages + convertToModelMessages).
//   {"op": "converse", ..., "chatId": "...", "userId": "...",
//    "turns": [{"user": "text", "toolCity": "Rome" | null, "answer": "text"}, ...]}
//        -> a real Agent (history and chats enabled, a get_weather tool, over the AI SDK's
//        own MockLanguageModelV2) answers each turn through its toUIMessageStream; the
//        Agent's own onFinish saving path (saveConversation: one saveMessage per user and
//        assistant UIMessage, JSON.stringify'd, then saveChat) writes the rows. With
//        "toolCity" the model first calls get_weather, then answers. Returns the rows as
//        getMessages reads them, and the chat row.
// Output: one JSON line {"ok": true, "result": ...} or {"ok": false, "error": "..."}.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const cmd = JSON.parse(readFileSync(0, "utf8"));

function agentsSource() {
  const path = require.resolve("@ai-sdk-tools/agents").replace(/index\.cjs$/, "index.js");
  return { path, source: readFileSync(path, "utf8") };
}

async function texts() {
  const { path, source } = agentsSource();
  const start = source.indexOf("var DEFAULT_TEMPLATE = ");
  const end = source.indexOf("// src/agent.ts", start);
  if (start < 0 || end < 0) throw new Error(`working-memory texts not found in ${path}`);
  const snippet = source.slice(start, end);
  const fns = new Function(
    `${snippet}\nreturn { DEFAULT_TEMPLATE, getWorkingMemoryInstructions, formatWorkingMemory };`,
  )();
  const memory = await import("@ai-sdk-tools/memory");
  const same =
    memory.DEFAULT_TEMPLATE === fns.DEFAULT_TEMPLATE &&
    memory.getWorkingMemoryInstructions("T") === fns.getWorkingMemoryInstructions("T") &&
    memory.formatWorkingMemory({ content: "C" }) === fns.formatWorkingMemory({ content: "C" });
  return {
    source: path,
    sameAsMemoryPackage: same,
    template: fns.DEFAULT_TEMPLATE,
    instructions: fns.getWorkingMemoryInstructions(fns.DEFAULT_TEMPLATE),
    instructionsCustom: fns.getWorkingMemoryInstructions("# Mine\n- x"),
    block: fns.formatWorkingMemory({ content: cmd.content }),
    blockEmpty: fns.formatWorkingMemory({ content: "" }),
    titleInstructions: await titleInstructions(),
  };
}

// The system prompt the real Agent.generateChatTitle sends, captured from its model call.
async function titleInstructions() {
  const { Agent } = await import("@ai-sdk-tools/agents");
  const { MockLanguageModelV2 } = await import("ai/test");
  let system = null;
  const model = new MockLanguageModelV2({
    doGenerate: async ({ prompt }) => {
      system = prompt.find((m) => m.role === "system")?.content ?? null;
      return {
        content: [{ type: "text", text: "T" }], finishReason: "stop", warnings: [],
        usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
      };
    },
  });
  const titles = [];
  const agent = new Agent({
    name: "titles", model, instructions: "x",
    memory: {
      provider: { updateChatTitle: async (chatId, title) => { titles.push(title); } },
      chats: { enabled: true, generateTitle: true },
    },
  });
  await agent.generateChatTitle("c", "Weather in Rome?", { write() {} }, {});
  if (titles.length !== 1) throw new Error("generateChatTitle did not call updateChatTitle");
  return system;
}

// A schema helper returns {key: (t) => column}; drizzle 0.36 tables take (t) => {key: column}.
const columns = (helper) => (t) =>
  Object.fromEntries(Object.entries(helper()).map(([key, make]) => [key, make(t)]));

async function openProvider() {
  const d = await import("@ai-sdk-tools/memory/drizzle");
  const dialect = cmd.dialect ?? "sqlite";
  let db, close, make, table;
  if (dialect === "sqlite") {
    const { createClient } = await import("@libsql/client");
    const { drizzle } = await import("drizzle-orm/libsql");
    ({ sqliteTable: table } = await import("drizzle-orm/sqlite-core"));
    const client = createClient({ url: cmd.url });
    db = drizzle(client);
    close = () => client.close();
    make = [d.createSqliteWorkingMemorySchema, d.createSqliteMessagesSchema,
      d.createSqliteChatsSchema];
  } else if (dialect === "postgres") {
    const { default: pg } = await import("pg");
    const { drizzle } = await import("drizzle-orm/node-postgres");
    ({ pgTable: table } = await import("drizzle-orm/pg-core"));
    const options = cmd.sessionTimeZone ? `-c TimeZone=${cmd.sessionTimeZone}` : undefined;
    const client = new pg.Client({ connectionString: cmd.url, options });
    await client.connect();
    db = drizzle(client);
    close = () => client.end();
    make = [d.createPgWorkingMemorySchema, d.createPgMessagesSchema, d.createPgChatsSchema];
  } else if (dialect === "mysql") {
    const { default: mysql } = await import("mysql2/promise");
    const { drizzle } = await import("drizzle-orm/mysql2");
    ({ mysqlTable: table } = await import("drizzle-orm/mysql-core"));
    const conn = await mysql.createConnection({ uri: cmd.url, charset: "utf8mb4" });
    if (cmd.sessionTimeZone) await conn.query("SET time_zone = ?", [cmd.sessionTimeZone]);
    db = drizzle(conn, { mode: "default" });
    close = () => conn.end();
    make = [d.createMysqlWorkingMemorySchema, d.createMysqlMessagesSchema,
      d.createMysqlChatsSchema];
  } else {
    throw new Error(`unknown dialect ${JSON.stringify(dialect)}`);
  }
  const provider = new d.DrizzleProvider(db, {
    workingMemoryTable: table("working_memory", columns(make[0])),
    messagesTable: table("conversation_messages", columns(make[1])),
    chatsTable: table("chat_sessions", columns(make[2])),
  });
  return { provider, close };
}

async function history() {
  const { Agent } = await import("@ai-sdk-tools/agents");
  const { provider, close } = await openProvider();
  try {
    const agent = new Agent({
      name: "interop",
      model: "openai/gpt-4o-mini", // never called: only the history path runs
      instructions: "You are helpful.",
      memory: { provider, history: { enabled: true, limit: cmd.limit ?? 100 } },
    });
    const message = { id: "new", role: "user", parts: [{ type: "text", text: "next" }] };
    const raw = await provider.getMessages({ chatId: cmd.chatId, limit: cmd.limit ?? 100 });
    const messages = await agent.loadMessagesWithHistory(message, { chatId: cmd.chatId });
    return { rows: raw.length, messages };
  } finally {
    await close();
  }
}

const USAGE = { inputTokens: 1, outputTokens: 1, totalTokens: 2 };

function textStep(text) {
  return [
    { type: "stream-start", warnings: [] },
    { type: "text-start", id: "t" },
    { type: "text-delta", id: "t", delta: text },
    { type: "text-end", id: "t" },
    { type: "finish", finishReason: "stop", usage: USAGE },
  ];
}

function toolStep(callId, city) {
  return [
    { type: "stream-start", warnings: [] },
    { type: "tool-call", toolCallId: callId, toolName: "get_weather",
      input: JSON.stringify({ city }) },
    { type: "finish", finishReason: "tool-calls", usage: USAGE },
  ];
}

async function converse() {
  const { Agent } = await import("@ai-sdk-tools/agents");
  const { tool } = await import("ai");
  const { MockLanguageModelV2, convertArrayToReadableStream } = await import("ai/test");
  const { z } = await import("zod");
  const steps = [];
  for (const [i, turn] of cmd.turns.entries()) {
    if (turn.toolCity) steps.push(toolStep(`call_${i}`, turn.toolCity));
    steps.push(textStep(turn.answer));
  }
  const model = new MockLanguageModelV2({
    doStream: async () => {
      const chunks = steps.shift();
      if (!chunks) throw new Error("the mock model has no scripted step left");
      return { stream: convertArrayToReadableStream(chunks) };
    },
  });
  const { provider, close } = await openProvider();
  try {
    const agent = new Agent({
      name: "interop",
      model,
      instructions: "You are a weather bot.",
      tools: {
        get_weather: tool({
          description: "The weather in a city.",
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => `sunny in ${city}`,
        }),
      },
      memory: { provider, history: { enabled: true }, chats: { enabled: true } },
    });
    const context = { chatId: cmd.chatId, userId: cmd.userId };
    for (const [i, turn] of cmd.turns.entries()) {
      let finished;
      const done = new Promise((resolve) => { finished = resolve; });
      const message = { id: `u${i}`, role: "user", parts: [{ type: "text", text: turn.user }] };
      // The Agent saves the turn in its onFinish wrapper, then calls this onFinish.
      const response = agent.toUIMessageStream({ message, context, onFinish: finished });
      const chunks = await response.text();
      await done;
      if (!chunks.includes(turn.answer)) throw new Error(`turn ${i} streamed no answer`);
    }
    if (steps.length) throw new Error(`${steps.length} scripted steps were not used`);
    const rows = await provider.getMessages({ chatId: cmd.chatId, limit: 100 });
    const chat = await provider.getChat(cmd.chatId);
    return { rows, chat: chat && { ...chat, createdAt: String(chat.createdAt),
      updatedAt: String(chat.updatedAt) } };
  } finally {
    await close();
  }
}

const OPS = { texts, history, converse };

try {
  const op = OPS[cmd.op];
  if (!op) throw new Error(`unknown op ${JSON.stringify(cmd.op)}`);
  const result = await op();
  process.stdout.write(JSON.stringify({ ok: true, result }) + "\n");
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(err?.stack ?? err) }) + "\n");
  process.exit(1);
}
