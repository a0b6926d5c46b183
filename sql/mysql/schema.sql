-- memstore schema for MariaDB 10.5+ and MySQL 8.0.17+.
-- Tables, columns and index names are those of @ai-sdk-tools/memory 1.2.0
-- (SQL_SCHEMAS.mysql), so a TypeScript app and memstore can share the database. Some
-- column types are wider than the TS package's, because its types cannot hold what
-- memstore promises on every backend (the TS package reads and writes these types too):
--   * working_memory.id VARCHAR(260): 'chat:' or 'user:' and an id of up to 255 characters;
--   * TIMESTAMP(3) instead of TIMESTAMP: milliseconds (TIMESTAMP drops the fraction);
--   * MEDIUMTEXT content instead of TEXT: up to 16 MiB (TEXT holds 65,535 bytes);
--   * conversation_messages.id BIGINT instead of INT: 2^63 - 1 ids, not 2^31 - 1, which a
--     Galera cluster (ids step by its node count) or rolled-back inserts use up faster; the
--     TS package never reads the id and leaves it to AUTO_INCREMENT. `memstore init`
--     leaves an existing INT id alone (widening rewrites the table; see the README);
--   * ids in a binary NO PAD collation, so that 'c1', 'C1', 'c1 ' and precomposed vs
--     decomposed 'é' are different ids, ordered by code point. Its name differs per
--     server, so version comments pick it: MySQL runs /*!80017 ...*/ (MariaDB ignores
--     MySQL 5.7+ version comments) and MariaDB runs /*M!... */ (MySQL ignores those).
-- Indexes are declared inside CREATE TABLE (MySQL has no CREATE INDEX IF NOT EXISTS), so
-- this file can be run any number of times. `memstore init URL` also adds missing
-- indexes to existing tables and widens the columns of tables the TS package created.
-- Instants are UTC: memstore's sessions use time_zone '+00:00'. TIMESTAMP holds
-- 1970-01-01 00:00:01 .. 2038-01-19 03:14:07.999 UTC.
-- Run by hand with:  mysql DB < schema.sql   (or `memstore init mysql://...`)

-- name: create_working_memory
CREATE TABLE IF NOT EXISTS working_memory (
  id VARCHAR(260) CHARACTER SET utf8mb4 /*!80017 COLLATE utf8mb4_0900_bin */ /*M!100202 COLLATE utf8mb4_nopad_bin */ NOT NULL,
  scope VARCHAR(50) NOT NULL,
  chat_id VARCHAR(255) CHARACTER SET utf8mb4 /*!80017 COLLATE utf8mb4_0900_bin */ /*M!100202 COLLATE utf8mb4_nopad_bin */,
  user_id VARCHAR(255) CHARACTER SET utf8mb4 /*!80017 COLLATE utf8mb4_0900_bin */ /*M!100202 COLLATE utf8mb4_nopad_bin */,
  content MEDIUMTEXT CHARACTER SET utf8mb4 NOT NULL,
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  INDEX idx_working_memory_scope (scope, chat_id, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- name: create_messages
-- idx_messages_chat_order is memstore's own: read backwards it is exactly "newest first,
-- id as tiebreak", so the last N of a chat is an index range scan with no sort.
-- idx_messages_user is memstore's own too: a search's catch-up reads one user's rows.
CREATE TABLE IF NOT EXISTS conversation_messages (
  id BIGINT NOT NULL AUTO_INCREMENT,
  chat_id VARCHAR(255) CHARACTER SET utf8mb4 /*!80017 COLLATE utf8mb4_0900_bin */ /*M!100202 COLLATE utf8mb4_nopad_bin */ NOT NULL,
  user_id VARCHAR(255) CHARACTER SET utf8mb4 /*!80017 COLLATE utf8mb4_0900_bin */ /*M!100202 COLLATE utf8mb4_nopad_bin */,
  role VARCHAR(50) NOT NULL,
  content MEDIUMTEXT CHARACTER SET utf8mb4 NOT NULL,
  timestamp TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  INDEX idx_messages_chat (chat_id, timestamp DESC),
  INDEX idx_messages_chat_order (chat_id, timestamp, id),
  INDEX idx_messages_user (user_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- name: create_chats
-- ON UPDATE CURRENT_TIMESTAMP is the TS schema's; memstore sets updated_at explicitly in
-- every statement that changes a row, so it never fires for memstore's writes.
CREATE TABLE IF NOT EXISTS chat_sessions (
  chat_id VARCHAR(255) CHARACTER SET utf8mb4 /*!80017 COLLATE utf8mb4_0900_bin */ /*M!100202 COLLATE utf8mb4_nopad_bin */ NOT NULL,
  user_id VARCHAR(255) CHARACTER SET utf8mb4 /*!80017 COLLATE utf8mb4_0900_bin */ /*M!100202 COLLATE utf8mb4_nopad_bin */,
  title VARCHAR(500),
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  message_count INT NOT NULL DEFAULT 0,
  PRIMARY KEY (chat_id),
  INDEX idx_chats_user (user_id, updated_at DESC)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- name: create_status
-- memstore's own table, beside the TS package's (which never reads it): the status of a
-- message for LlamaIndex's AsyncDBChatStore. A row marks the message ARCHIVED; no row
-- means ACTIVE, so every message another writer (a TS app) saves is active. Every
-- delete of memstore's removes the rows of the messages it deletes, in its transaction.
-- chat_id has the same binary NO PAD collation as the other tables' ids.
CREATE TABLE IF NOT EXISTS memstore_message_status (
  chat_id VARCHAR(255) CHARACTER SET utf8mb4 /*!80017 COLLATE utf8mb4_0900_bin */ /*M!100202 COLLATE utf8mb4_nopad_bin */ NOT NULL,
  message_id BIGINT NOT NULL,
  status VARCHAR(20) NOT NULL,
  PRIMARY KEY (chat_id, message_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- name: create_search
-- memstore's own (recall): the normalized visible text of each message it has seen,
-- keyed by message id, with copies of the message's chat and user (which never change)
-- so a search reads one user's rows by index. The TS package never touches it: rows it
-- writes are found by an anti-join before each search; rows it deletes are never found
-- (every search joins back to the message) and are removed by `memstore index`.
-- body is LONGTEXT: normalizing (NFKC) can make a 16 MiB content longer; utf8mb4_bin so
-- that LIKE compares code points as the other backends do.
CREATE TABLE IF NOT EXISTS memstore_search (
  message_id BIGINT NOT NULL,
  chat_id VARCHAR(255) CHARACTER SET utf8mb4 /*!80017 COLLATE utf8mb4_0900_bin */ /*M!100202 COLLATE utf8mb4_nopad_bin */ NOT NULL,
  user_id VARCHAR(255) CHARACTER SET utf8mb4 /*!80017 COLLATE utf8mb4_0900_bin */ /*M!100202 COLLATE utf8mb4_nopad_bin */,
  body LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  PRIMARY KEY (message_id),
  INDEX idx_memstore_search_chat (chat_id),
  INDEX idx_memstore_search_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- name: create_vectors
-- memstore's own (recall): each message's vector per embedding model (unit length,
-- float32 little-endian; empty for a message with no visible text).
CREATE TABLE IF NOT EXISTS memstore_vectors (
  message_id BIGINT NOT NULL,
  model VARCHAR(255) CHARACTER SET utf8mb4 /*!80017 COLLATE utf8mb4_0900_bin */ /*M!100202 COLLATE utf8mb4_nopad_bin */ NOT NULL,
  chat_id VARCHAR(255) CHARACTER SET utf8mb4 /*!80017 COLLATE utf8mb4_0900_bin */ /*M!100202 COLLATE utf8mb4_nopad_bin */ NOT NULL,
  user_id VARCHAR(255) CHARACTER SET utf8mb4 /*!80017 COLLATE utf8mb4_0900_bin */ /*M!100202 COLLATE utf8mb4_nopad_bin */,
  dim INT NOT NULL,
  vector LONGBLOB NOT NULL,
  PRIMARY KEY (message_id, model),
  INDEX idx_memstore_vectors_chat (chat_id, model),
  INDEX idx_memstore_vectors_user (user_id, model)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- name: create_tokens
-- memstore's own (budgeted reads, memstore.budget): each message's token count per
-- counter, written the first time a budgeted read reaches the message (rows a TS app
-- wrote too), never on the write path; read back through the message.
CREATE TABLE IF NOT EXISTS memstore_tokens (
  message_id BIGINT NOT NULL,
  counter VARCHAR(255) CHARACTER SET utf8mb4 /*!80017 COLLATE utf8mb4_0900_bin */ /*M!100202 COLLATE utf8mb4_nopad_bin */ NOT NULL,
  chat_id VARCHAR(255) CHARACTER SET utf8mb4 /*!80017 COLLATE utf8mb4_0900_bin */ /*M!100202 COLLATE utf8mb4_nopad_bin */ NOT NULL,
  tokens INT NOT NULL,
  PRIMARY KEY (message_id, counter)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
