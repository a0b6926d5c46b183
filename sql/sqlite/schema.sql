-- memstore schema for SQLite (also used for Turso / libSQL).
-- Tables, columns and index names are those of @ai-sdk-tools/memory 1.2.0
-- (SQL_SCHEMAS.sqlite), so a TypeScript app and memstore can share the file.
-- Instants are Unix seconds: INTEGER when whole, REAL with millisecond precision
-- otherwise; the TS package reads both. Safe to run more than once.
-- Run by hand with:  sqlite3 agent.db < schema.sql   (or `memstore init sqlite:///agent.db`)

-- name: create_working_memory
CREATE TABLE IF NOT EXISTS working_memory (
  id TEXT PRIMARY KEY,
  scope TEXT NOT NULL,
  chat_id TEXT,
  user_id TEXT,
  content TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

-- name: create_working_memory_scope_index
CREATE INDEX IF NOT EXISTS idx_working_memory_scope ON working_memory (scope, chat_id, user_id);

-- name: create_messages
CREATE TABLE IF NOT EXISTS conversation_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  chat_id TEXT NOT NULL,
  user_id TEXT,
  role TEXT NOT NULL,
  content TEXT NOT NULL,
  timestamp INTEGER NOT NULL
);

-- name: create_messages_chat_index
CREATE INDEX IF NOT EXISTS idx_messages_chat ON conversation_messages (chat_id, timestamp DESC);

-- name: create_messages_order_index
-- memstore's own: (chat_id, timestamp, id) read backwards is exactly "newest first, id as
-- tiebreak", so the last N of a chat is an index range scan with no sort step.
CREATE INDEX IF NOT EXISTS idx_messages_chat_order ON conversation_messages (chat_id, timestamp, id);

-- name: create_chats
CREATE TABLE IF NOT EXISTS chat_sessions (
  chat_id TEXT PRIMARY KEY,
  user_id TEXT,
  title TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  message_count INTEGER NOT NULL DEFAULT 0
);

-- name: create_chats_user_index
CREATE INDEX IF NOT EXISTS idx_chats_user ON chat_sessions (user_id, updated_at DESC);

-- name: create_status
-- memstore's own table, beside the TS package's (which never reads it): the status of a
-- message for LlamaIndex's AsyncDBChatStore. A row marks the message ARCHIVED; no row
-- means ACTIVE, so every message another writer (a TS app) saves is active. Every
-- delete of memstore's removes the rows of the messages it deletes, in its transaction.
CREATE TABLE IF NOT EXISTS memstore_message_status (
  chat_id TEXT NOT NULL,
  message_id INTEGER NOT NULL,
  status TEXT NOT NULL,
  PRIMARY KEY (chat_id, message_id)
);
