-- memstore schema for PostgreSQL.
-- Tables, columns and index names are those of @ai-sdk-tools/memory 1.2.0
-- (SQL_SCHEMAS.postgresql), so a TypeScript app and memstore can share the database.
-- Instants are TIMESTAMP (without time zone) holding UTC wall-clock time: what the TS
-- package writes (toISOString()) and reads (text + '+0000'). memstore always passes the
-- values itself; the defaults are only for rows inserted by hand, and unlike the TS
-- package's DEFAULT NOW() they are UTC whatever the session's TimeZone is.
-- Safe to run more than once.
-- Run by hand with:  psql "$URL" -f schema.sql   (or `memstore init postgresql://...`)

-- name: create_working_memory
CREATE TABLE IF NOT EXISTS working_memory (
  id TEXT PRIMARY KEY,
  scope TEXT NOT NULL,
  chat_id TEXT,
  user_id TEXT,
  content TEXT NOT NULL,
  updated_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);

-- name: create_working_memory_scope_index
CREATE INDEX IF NOT EXISTS idx_working_memory_scope ON working_memory (scope, chat_id, user_id);

-- name: create_messages
-- id is BIGSERIAL where the TS package's is SERIAL: 2^63 - 1 ids instead of 2^31 - 1
-- (about 2.1 billion, fewer still with gaps from rolled-back inserts). The TS package
-- never reads the id (getMessages returns contents), and its inserts leave it to the
-- sequence, so it works on either; tables that exist keep their type (see the README).
CREATE TABLE IF NOT EXISTS conversation_messages (
  id BIGSERIAL PRIMARY KEY,
  chat_id TEXT NOT NULL,
  user_id TEXT,
  role TEXT NOT NULL,
  content TEXT NOT NULL,
  timestamp TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);

-- name: create_messages_chat_index
CREATE INDEX IF NOT EXISTS idx_messages_chat ON conversation_messages (chat_id, timestamp DESC);

-- name: create_messages_order_index
-- memstore's own: (chat_id, timestamp, id) read backwards is exactly "newest first, id as
-- tiebreak", so the last N of a chat is an index range scan with no sort step.
-- On a large table the TS package created, this build blocks writes to the table while it
-- runs; to avoid that, create it beforehand with CREATE INDEX CONCURRENTLY (same name).
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
  created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  updated_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  message_count INTEGER NOT NULL DEFAULT 0
);

-- name: create_chats_user_index
CREATE INDEX IF NOT EXISTS idx_chats_user ON chat_sessions (user_id, updated_at DESC);

-- name: create_status
-- memstore's own table, beside the TS package's (which never reads it): the status of a
-- message for LlamaIndex's AsyncDBChatStore. A row marks the message ARCHIVED; no row
-- means ACTIVE, so every message another writer (a TS app) saves is active. Every
-- delete of memstore's removes the rows of the messages it deletes, in its statement.
CREATE TABLE IF NOT EXISTS memstore_message_status (
  chat_id TEXT NOT NULL,
  message_id BIGINT NOT NULL,
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
  message_id BIGINT PRIMARY KEY,
  chat_id TEXT NOT NULL,
  user_id TEXT,
  body TEXT NOT NULL
);

-- name: create_search_chat_index
CREATE INDEX IF NOT EXISTS idx_memstore_search_chat ON memstore_search (chat_id);

-- name: create_search_user_index
CREATE INDEX IF NOT EXISTS idx_memstore_search_user ON memstore_search (user_id);

-- name: create_vectors
-- memstore's own (recall): each message's vector per embedding model (unit length,
-- float32 little-endian; empty for a message with no visible text).
CREATE TABLE IF NOT EXISTS memstore_vectors (
  message_id BIGINT NOT NULL,
  model TEXT NOT NULL,
  chat_id TEXT NOT NULL,
  user_id TEXT,
  dim INTEGER NOT NULL,
  vector BYTEA NOT NULL,
  PRIMARY KEY (message_id, model)
);

-- name: create_vectors_chat_index
CREATE INDEX IF NOT EXISTS idx_memstore_vectors_chat ON memstore_vectors (chat_id, model);

-- name: create_vectors_user_index
CREATE INDEX IF NOT EXISTS idx_memstore_vectors_user ON memstore_vectors (user_id, model);

-- name: create_tokens
-- memstore's own (budgeted reads, memstore.budget): each message's token count per
-- counter, written the first time a budgeted read reaches the message (rows a TS app
-- wrote too), never on the write path; read back through the message.
CREATE TABLE IF NOT EXISTS memstore_tokens (
  message_id BIGINT NOT NULL,
  counter TEXT NOT NULL,
  chat_id TEXT NOT NULL,
  tokens INTEGER NOT NULL,
  PRIMARY KEY (message_id, counter)
);
