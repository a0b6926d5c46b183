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

-- name: create_messages_user_index
-- memstore's own: a user's messages by id, so a search's catch-up (the messages of a
-- user that recall's side table has not seen) reads one user's rows, not the table.
CREATE INDEX IF NOT EXISTS idx_messages_user ON conversation_messages (user_id, id);

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

-- name: create_search
-- memstore's own (recall): the normalized visible text of each message it has seen,
-- keyed by message id, with copies of the message's chat and user (which never change)
-- so a search reads one user's rows by index. The TS package never touches it: rows it
-- writes are found by an anti-join before each search; rows it deletes are never found
-- (every search joins back to the message) and are removed by `memstore index`.
CREATE TABLE IF NOT EXISTS memstore_search (
  message_id INTEGER PRIMARY KEY,
  chat_id TEXT NOT NULL,
  user_id TEXT,
  body TEXT NOT NULL
);

-- name: create_search_chat_index
CREATE INDEX IF NOT EXISTS idx_memstore_search_chat ON memstore_search (chat_id);

-- name: create_search_user_index
CREATE INDEX IF NOT EXISTS idx_memstore_search_user ON memstore_search (user_id);

-- name: create_search_fts
-- The full-text index of memstore_search.body (an external-content FTS5 table: the text
-- is stored once), trigram tokens so that any substring of 3 characters or more, CJK
-- included, is found by index. Kept in step by the two triggers below.
CREATE VIRTUAL TABLE IF NOT EXISTS memstore_search_fts USING fts5(
  body, content = 'memstore_search', content_rowid = 'message_id', tokenize = 'trigram'
);

-- name: create_search_fts_insert
CREATE TRIGGER IF NOT EXISTS trg_memstore_search_fts_insert AFTER INSERT ON memstore_search
BEGIN
  INSERT INTO memstore_search_fts (rowid, body) VALUES (new.message_id, new.body);
END;

-- name: create_search_fts_delete
CREATE TRIGGER IF NOT EXISTS trg_memstore_search_fts_delete AFTER DELETE ON memstore_search
BEGIN
  INSERT INTO memstore_search_fts (memstore_search_fts, rowid, body)
  VALUES ('delete', old.message_id, old.body);
END;

-- name: create_vectors
-- memstore's own (recall): each message's vector per embedding model (unit length,
-- float32 little-endian; an empty vector for a message with no visible text), with the
-- message's chat and user as in memstore_search.
CREATE TABLE IF NOT EXISTS memstore_vectors (
  message_id INTEGER NOT NULL,
  model TEXT NOT NULL,
  chat_id TEXT NOT NULL,
  user_id TEXT,
  dim INTEGER NOT NULL,
  vector BLOB NOT NULL,
  PRIMARY KEY (message_id, model)
);

-- name: create_vectors_chat_index
CREATE INDEX IF NOT EXISTS idx_memstore_vectors_chat ON memstore_vectors (chat_id, model);

-- name: create_vectors_user_index
CREATE INDEX IF NOT EXISTS idx_memstore_vectors_user ON memstore_vectors (user_id, model);

-- name: create_tokens
-- memstore's own (budgeted reads, memstore.budget): each message's token count per
-- counter, written the first time a budgeted read reaches the message (rows a TS app
-- wrote too), never on the write path; read back through the message, so a count of a
-- deleted message is never used.
CREATE TABLE IF NOT EXISTS memstore_tokens (
  message_id INTEGER NOT NULL,
  counter TEXT NOT NULL,
  chat_id TEXT NOT NULL,
  tokens INTEGER NOT NULL,
  PRIMARY KEY (message_id, counter)
);
