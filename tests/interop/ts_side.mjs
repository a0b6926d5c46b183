// The TypeScript side of memstore's interoperability tests: runs the published
// @ai-sdk-tools/memory DrizzleProvider on a database memstore also uses.
//
// Input: one JSON command as argv[2] or on stdin
//   {"dialect": "sqlite" | "postgres" | "mysql",
//    "url": "file:/abs/path.db" | "postgresql://..." | "mysql://...",
//    "sessionTimeZone": "Asia/Kathmandu",   // optional, for the SQL session (not Node)
//    "ops": [{"op": "saveMessage", "args": [{...}]}, ...]}
// "op" is a MemoryProvider method (args passed as given) or "createSchema", which runs the
// package's own SQL_SCHEMAS for the dialect. Numbers under the keys timestamp, createdAt
// and updatedAt become Dates (epoch milliseconds), as a TS app would pass them.
//
// Output: one JSON line {"ok": true, "results": [...]} with one result per op, or
// {"ok": false, "at": i, "error": "...", "results": [...so far]} (exit code 1).
// A Date is written as {"$date": ms, "iso": "..."}, an Invalid Date as
// {"$date": null, "invalid": true}, undefined as {"$undefined": true}: JSON alone would
// turn an Invalid Date into null and drop undefined, hiding exactly what we test for.
// The tables are built from the package's schema helpers, as its docs recommend.

import { readFileSync } from "node:fs";
import {
  DrizzleProvider, SQL_SCHEMAS,
  createMysqlChatsSchema, createMysqlMessagesSchema, createMysqlWorkingMemorySchema,
  createPgChatsSchema, createPgMessagesSchema, createPgWorkingMemorySchema,
  createSqliteChatsSchema, createSqliteMessagesSchema, createSqliteWorkingMemorySchema,
} from "@ai-sdk-tools/memory/drizzle";

const METHODS = new Set([
  "getWorkingMemory", "updateWorkingMemory", "saveMessage", "getMessages", "saveChat",
  "getChats", "getChat", "updateChatTitle", "deleteChat",
]);
const DATE_KEYS = new Set(["timestamp", "createdAt", "updatedAt"]);

// A schema helper returns {key: (t) => column}; drizzle 0.36 tables take (t) => {key: column}.
const columns = (helper) => (t) =>
  Object.fromEntries(Object.entries(helper()).map(([key, make]) => [key, make(t)]));

async function open(cmd) {
  if (cmd.dialect === "sqlite") {
    const { createClient } = await import("@libsql/client");
    const { drizzle } = await import("drizzle-orm/libsql");
    const { sqliteTable } = await import("drizzle-orm/sqlite-core");
    const client = createClient({ url: cmd.url });
    return {
      db: drizzle(client),
      exec: (statement) => client.execute(statement),
      close: () => client.close(),
      tables: {
        workingMemoryTable: sqliteTable("working_memory", columns(createSqliteWorkingMemorySchema)),
        messagesTable: sqliteTable("conversation_messages", columns(createSqliteMessagesSchema)),
        chatsTable: sqliteTable("chat_sessions", columns(createSqliteChatsSchema)),
      },
      schema: SQL_SCHEMAS.sqlite,
    };
  }
  if (cmd.dialect === "postgres") {
    const { default: pg } = await import("pg");
    const { drizzle } = await import("drizzle-orm/node-postgres");
    const { pgTable } = await import("drizzle-orm/pg-core");
    const options = cmd.sessionTimeZone ? `-c TimeZone=${cmd.sessionTimeZone}` : undefined;
    const client = new pg.Client({ connectionString: cmd.url, options });
    await client.connect();
    return {
      db: drizzle(client),
      exec: (statement) => client.query(statement),
      close: () => client.end(),
      tables: {
        workingMemoryTable: pgTable("working_memory", columns(createPgWorkingMemorySchema)),
        messagesTable: pgTable("conversation_messages", columns(createPgMessagesSchema)),
        chatsTable: pgTable("chat_sessions", columns(createPgChatsSchema)),
      },
      schema: SQL_SCHEMAS.postgresql,
    };
  }
  if (cmd.dialect === "mysql") {
    const { default: mysql } = await import("mysql2/promise");
    const { drizzle } = await import("drizzle-orm/mysql2");
    const { mysqlTable } = await import("drizzle-orm/mysql-core");
    const conn = await mysql.createConnection({ uri: cmd.url, charset: "utf8mb4" });
    if (cmd.sessionTimeZone) await conn.query("SET time_zone = ?", [cmd.sessionTimeZone]);
    return {
      db: drizzle(conn, { mode: "default" }),
      exec: (statement) => conn.query(statement),
      close: () => conn.end(),
      tables: {
        workingMemoryTable: mysqlTable("working_memory", columns(createMysqlWorkingMemorySchema)),
        messagesTable: mysqlTable("conversation_messages", columns(createMysqlMessagesSchema)),
        chatsTable: mysqlTable("chat_sessions", columns(createMysqlChatsSchema)),
      },
      schema: SQL_SCHEMAS.mysql,
    };
  }
  throw new Error(`unknown dialect ${JSON.stringify(cmd.dialect)}`);
}

function toDates(value, key) {
  if (typeof value === "number" && DATE_KEYS.has(key)) return new Date(value);
  if (Array.isArray(value)) return value.map((v) => toDates(v));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toDates(v, k)]));
  }
  return value;
}

function encode(value) {
  if (value === undefined) return { $undefined: true };
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isNaN(ms) ? { $date: null, invalid: true } : { $date: ms, iso: value.toISOString() };
  }
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  }
  return value;
}

async function main() {
  const cmd = JSON.parse(process.argv[2] ?? readFileSync(0, "utf8"));
  const target = await open(cmd);
  const provider = new DrizzleProvider(target.db, target.tables);
  const results = [];
  try {
    for (const [i, step] of cmd.ops.entries()) {
      try {
        if (step.op === "createSchema") {
          // Each SQL_SCHEMAS entry holds a CREATE TABLE and a CREATE INDEX; no driver here
          // runs two statements in one call by default, so split them.
          for (const part of Object.values(target.schema)) {
            for (const statement of part.split(";").map((s) => s.trim()).filter(Boolean)) {
              await target.exec(statement);
            }
          }
          results.push(null);
        } else if (METHODS.has(step.op)) {
          results.push(encode(await provider[step.op](...toDates(step.args ?? []))));
        } else {
          throw new Error(`unknown op ${JSON.stringify(step.op)}`);
        }
      } catch (err) {
        console.log(JSON.stringify({ ok: false, at: i, error: String(err?.stack ?? err), results }));
        process.exitCode = 1;
        return;
      }
    }
    console.log(JSON.stringify({ ok: true, results }));
  } finally {
    await target.close();
  }
}

await main();
