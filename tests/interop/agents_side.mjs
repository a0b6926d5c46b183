// The @ai-sdk-tools/agents side of memstore's integration interop tests
// (tests/interop/test_agents_interop.py).
//
// Input: one JSON command on stdin:
//   {"op": "texts", "content": "..."}  -> the working-memory texts exactly as the installed
//        @ai-sdk-tools/agents 1.2.0 builds them: its dist/index.js is read and its own
//        DEFAULT_TEMPLATE / getWorkingMemoryInstructions / formatWorkingMemory definitions
//        (bundled into the agents package) are evaluated, then compared with the
//        @ai-sdk-tools/memory exports of the same names.
//   {"op": "history", "url": "file:/abs.db", "chatId": "...", "limit": 100}
//        -> the ModelMessages a real @ai-sdk-tools/agents Agent (memory: DrizzleProvider
//        over that SQLite file, history enabled) builds for a new user message "next",
//        through its own loadMessagesWithHistory (getMessages + convertToModelMessages).
// Output: one JSON line.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const cmd = JSON.parse(readFileSync(0, "utf8"));

async function texts() {
  const path = require.resolve("@ai-sdk-tools/agents").replace(/index\.cjs$/, "index.js");
  const source = readFileSync(path, "utf8");
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
  };
}

async function history() {
  const { Agent } = await import("@ai-sdk-tools/agents");
  const { DrizzleProvider, createSqliteChatsSchema, createSqliteMessagesSchema,
    createSqliteWorkingMemorySchema } = await import("@ai-sdk-tools/memory/drizzle");
  const { createClient } = await import("@libsql/client");
  const { drizzle } = await import("drizzle-orm/libsql");
  const { sqliteTable } = await import("drizzle-orm/sqlite-core");
  const columns = (helper) => (t) =>
    Object.fromEntries(Object.entries(helper()).map(([key, make]) => [key, make(t)]));
  const client = createClient({ url: cmd.url });
  try {
    const provider = new DrizzleProvider(drizzle(client), {
      workingMemoryTable: sqliteTable("working_memory", columns(createSqliteWorkingMemorySchema)),
      messagesTable: sqliteTable("conversation_messages", columns(createSqliteMessagesSchema)),
      chatsTable: sqliteTable("chat_sessions", columns(createSqliteChatsSchema)),
    });
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
    client.close();
  }
}

try {
  const result = cmd.op === "texts" ? await texts() : await history();
  process.stdout.write(JSON.stringify({ ok: true, result }) + "\n");
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(err?.stack ?? err) }) + "\n");
  process.exit(1);
}
