-- memstore statements for MySQL and MariaDB. Parameters are %(named)s and bound by the
-- driver (PyMySQL). memstore's sessions run with time_zone '+00:00' and a strict
-- sql_mode, so TIMESTAMP values are UTC and nothing is truncated silently.
-- ON DUPLICATE KEY UPDATE uses VALUES(col), which works on MariaDB and on MySQL 8 (where
-- it is deprecated since 8.0.20 in favour of a row alias that MariaDB does not have).
-- Its assignments run left to right and each sees the columns already assigned, so no
-- assignment below reads a column that an earlier one changed.

-- name: upsert_working_memory
-- One atomic statement. Like the TS package, an update changes only content and
-- updated_at: a user-scope row keeps the chat_id of the chat that created it.
INSERT INTO working_memory (id, scope, chat_id, user_id, content, updated_at)
VALUES (%(id)s, %(scope)s, %(chat_id)s, %(user_id)s, %(content)s, %(updated_at)s)
ON DUPLICATE KEY UPDATE content = VALUES(content), updated_at = VALUES(updated_at);

-- name: get_working_memory
SELECT scope, chat_id, user_id, content, updated_at FROM working_memory WHERE id = %(id)s;

-- name: insert_message
-- One row; the adapter repeats the VALUES tuple to insert a whole batch in one statement.
INSERT INTO conversation_messages (chat_id, user_id, role, content, timestamp)
VALUES (%(chat_id)s, %(user_id)s, %(role)s, %(content)s, %(timestamp)s);

-- name: touch_chat_for_messages
-- Keeps the chat row true after saving :message_count messages: creates it if absent,
-- adds to message_count and never moves updated_at backwards. A row without an owner
-- (made by a title first) is claimed by a save that names a user; an owner set stays.
INSERT INTO chat_sessions (chat_id, user_id, title, created_at, updated_at, message_count)
VALUES (%(chat_id)s, %(user_id)s, NULL, %(created_at)s, %(updated_at)s, %(message_count)s)
ON DUPLICATE KEY UPDATE
  user_id = COALESCE(user_id, VALUES(user_id)),
  message_count = message_count + VALUES(message_count),
  updated_at = GREATEST(updated_at, VALUES(updated_at));

-- name: last_messages
-- The newest :limit messages of a chat, newest first (idx_messages_chat_order read
-- backwards); the adapter reverses them.
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = %(chat_id)s
ORDER BY timestamp DESC, id DESC
LIMIT %(limit)s;

-- name: last_messages_of_user
-- As last_messages, keeping the user's own messages and those saved without a user.
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = %(chat_id)s AND (user_id = %(user_id)s OR user_id IS NULL)
ORDER BY timestamp DESC, id DESC
LIMIT %(limit)s;

-- name: upsert_chat
-- save_chat: a NULL parameter keeps the stored value; created_at is set only on insert.
INSERT INTO chat_sessions (chat_id, user_id, title, created_at, updated_at, message_count)
VALUES (%(chat_id)s, %(user_id)s, %(title)s, %(created_at)s, %(updated_at)s,
        COALESCE(%(message_count)s, 0))
ON DUPLICATE KEY UPDATE
  user_id = COALESCE(VALUES(user_id), user_id),
  title = COALESCE(VALUES(title), title),
  updated_at = VALUES(updated_at),
  message_count = COALESCE(%(message_count)s, message_count);

-- name: rename_chat
-- update_chat_title: creates the chat (no user, no messages) when it does not exist.
INSERT INTO chat_sessions (chat_id, user_id, title, created_at, updated_at, message_count)
VALUES (%(chat_id)s, NULL, %(title)s, %(now)s, %(now)s, 0)
ON DUPLICATE KEY UPDATE title = VALUES(title), updated_at = VALUES(updated_at);

-- name: get_chat
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions WHERE chat_id = %(chat_id)s;

-- name: list_chats
-- chat_id's binary NO PAD collation orders ties by code point, as Python does.
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
ORDER BY updated_at DESC, chat_id ASC
LIMIT %(limit)s;

-- name: list_chats_of_user
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
WHERE user_id = %(user_id)s
ORDER BY updated_at DESC, chat_id ASC
LIMIT %(limit)s;

-- name: scan_chats
-- A title search, done in Python (identical on all backends; the title column's collation
-- plays no part), reads chats in list order in keyset pages: this is the first page,
-- scan_chats_after the next ones.
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
WHERE title IS NOT NULL
ORDER BY updated_at DESC, chat_id ASC
LIMIT %(limit)s;

-- name: scan_chats_after
-- The page after the row (after_updated_at, after_chat_id), in list order: chat_id's
-- binary NO PAD collation compares as the ORDER BY sorts, by code point.
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
WHERE title IS NOT NULL
  AND (updated_at < %(after_updated_at)s
       OR (updated_at = %(after_updated_at)s AND chat_id > %(after_chat_id)s))
ORDER BY updated_at DESC, chat_id ASC
LIMIT %(limit)s;

-- name: scan_chats_of_user
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
WHERE user_id = %(user_id)s AND title IS NOT NULL
ORDER BY updated_at DESC, chat_id ASC
LIMIT %(limit)s;

-- name: scan_chats_after_of_user
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
WHERE user_id = %(user_id)s AND title IS NOT NULL
  AND (updated_at < %(after_updated_at)s
       OR (updated_at = %(after_updated_at)s AND chat_id > %(after_chat_id)s))
ORDER BY updated_at DESC, chat_id ASC
LIMIT %(limit)s;

-- name: delete_chat_messages
DELETE FROM conversation_messages WHERE chat_id = %(chat_id)s;

-- name: delete_chat_row
DELETE FROM chat_sessions WHERE chat_id = %(chat_id)s;

-- name: delete_working_memory
DELETE FROM working_memory WHERE id = %(id)s;

-- name: uncount_user_messages_elsewhere
-- delete_user, step 1: other users' chats lose the count of this user's messages in
-- them. updated_at = updated_at keeps the TS schema's ON UPDATE CURRENT_TIMESTAMP from
-- moving it to now.
UPDATE chat_sessions s
JOIN (SELECT chat_id, COUNT(*) AS n FROM conversation_messages
      WHERE user_id = %(user_id)s GROUP BY chat_id) m ON m.chat_id = s.chat_id
SET s.message_count = s.message_count - m.n, s.updated_at = s.updated_at
WHERE s.user_id IS NULL OR s.user_id <> %(user_id)s;

-- name: delete_user_messages
-- delete_user, step 2: messages in the user's chats and the user's messages anywhere.
DELETE FROM conversation_messages
WHERE user_id = %(user_id)s
   OR chat_id IN (SELECT chat_id FROM chat_sessions WHERE user_id = %(user_id)s);

-- name: delete_user_working_memory
-- delete_user, step 3: the user's working memory and that of the user's chats.
DELETE FROM working_memory
WHERE user_id = %(user_id)s
   OR id IN (SELECT CONCAT('chat:', chat_id) FROM chat_sessions WHERE user_id = %(user_id)s);

-- name: delete_user_chats
-- delete_user, step 4 (last: steps 2 and 3 look the user's chats up).
DELETE FROM chat_sessions WHERE user_id = %(user_id)s;

-- name: ping
SELECT 1;

-- name: message_position
-- Where message id stands in its chat's order: (timestamp, id); no row if it is not a
-- message of chat_id.
SELECT timestamp, id FROM conversation_messages
WHERE id = %(id)s AND chat_id = %(chat_id)s;

-- name: messages_before
-- A keyset page: the limit messages just older than (before_ts, before_id), newest
-- first. Each page is a range scan of idx_messages_chat_order read backwards, as fast on
-- the last page of a long chat as on the first.
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = %(chat_id)s
  AND (timestamp < %(before_ts)s OR (timestamp = %(before_ts)s AND id < %(before_id)s))
ORDER BY timestamp DESC, id DESC
LIMIT %(limit)s;

-- name: messages_before_of_user
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = %(chat_id)s AND (user_id = %(user_id)s OR user_id IS NULL)
  AND (timestamp < %(before_ts)s OR (timestamp = %(before_ts)s AND id < %(before_id)s))
ORDER BY timestamp DESC, id DESC
LIMIT %(limit)s;

-- name: uncount_newest_message
-- pop_message, step 1 (in the same transaction as step 2): the chat row counts one
-- message less when the chat has one (never below 0: a TS app may have written its own).
-- Its row lock makes concurrent pops of a chat with a row take turns. The EXISTS is
-- correlated on purpose: it is then read after the chat row is locked, while a constant
-- subquery would take its shared lock on a message first and deadlock with step 2 of
-- another pop holding the chat row.
UPDATE chat_sessions SET message_count = GREATEST(message_count - 1, 0),
                         updated_at = updated_at
WHERE chat_id = %(chat_id)s
  AND EXISTS (SELECT 1 FROM conversation_messages m
              WHERE m.chat_id = chat_sessions.chat_id);

-- name: delete_newest_message
-- pop_message, step 2: remove the newest message by (timestamp, id) and return it. The
-- DELETE locks the row it removes, so each message is returned to exactly one caller.
-- DELETE ... RETURNING is MariaDB's (10.0+); MySQL has no RETURNING.
DELETE FROM conversation_messages
WHERE chat_id = %(chat_id)s
ORDER BY timestamp DESC, id DESC
LIMIT 1
RETURNING id, chat_id, user_id, role, content, timestamp;

-- name: clear_chat_messages
-- clear_messages / replace_messages, step 1: the chat's messages go.
DELETE FROM conversation_messages WHERE chat_id = %(chat_id)s;

-- name: reset_message_count
-- clear_messages / replace_messages, step 2: the chat row stays (title, owner, times)
-- and counts no message (updated_at = updated_at: see uncount_user_messages_elsewhere).
UPDATE chat_sessions SET message_count = 0, updated_at = updated_at
WHERE chat_id = %(chat_id)s;

-- name: uncount_messages_by_id
-- delete_messages, step 1: the chat row counts the listed messages of this chat less.
-- ids is a JSON array of integers (one bound parameter for any number of ids), read by
-- JSON_TABLE (MySQL 8.0.4+, MariaDB 10.6+).
UPDATE chat_sessions SET message_count = GREATEST(CAST(message_count AS SIGNED) - (
  SELECT COUNT(*) FROM conversation_messages
  WHERE chat_id = %(chat_id)s AND id IN (
    SELECT j.id FROM JSON_TABLE(%(ids)s, '$[*]' COLUMNS (id BIGINT PATH '$')) AS j)), 0),
  updated_at = updated_at
WHERE chat_id = %(chat_id)s;

-- name: delete_messages_by_id
-- delete_messages, step 2: the listed messages of this chat; ids of other chats stay.
DELETE FROM conversation_messages
WHERE chat_id = %(chat_id)s AND id IN (
  SELECT j.id FROM JSON_TABLE(%(ids)s, '$[*]' COLUMNS (id BIGINT PATH '$')) AS j);

-- name: count_messages
SELECT COUNT(*) FROM conversation_messages WHERE chat_id = %(chat_id)s;

-- name: chat_ids
-- Chats that have messages, including those a TS app wrote without a chat_sessions row,
-- in code point order of chat_id (its binary NO PAD collation).
SELECT DISTINCT chat_id FROM conversation_messages ORDER BY chat_id LIMIT %(limit)s;

-- name: chat_ids_of_user
SELECT DISTINCT chat_id FROM conversation_messages WHERE user_id = %(user_id)s
ORDER BY chat_id LIMIT %(limit)s;

-- name: clear_chat_status
-- clear_messages / replace_messages, step 3: the status rows of the chat's messages.
DELETE FROM memstore_message_status WHERE chat_id = %(chat_id)s;

-- name: delete_chat_status
-- delete_chat: the status rows of the chat's messages.
DELETE FROM memstore_message_status WHERE chat_id = %(chat_id)s;

-- name: forget_deleted_status
-- pop_message / delete_messages, last step: the status rows of the chat whose message is
-- gone (also those of messages another writer deleted).
DELETE FROM memstore_message_status
WHERE chat_id = %(chat_id)s
  AND NOT EXISTS (SELECT 1 FROM conversation_messages m
                  WHERE m.id = memstore_message_status.message_id
                    AND m.chat_id = memstore_message_status.chat_id);

-- name: delete_user_status
-- delete_user, before step 2: the status rows of the user's chats and of the user's
-- messages anywhere.
DELETE FROM memstore_message_status
WHERE chat_id IN (SELECT chat_id FROM chat_sessions WHERE user_id = %(user_id)s)
   OR EXISTS (SELECT 1 FROM conversation_messages m
              WHERE m.id = memstore_message_status.message_id
                AND m.chat_id = memstore_message_status.chat_id AND m.user_id = %(user_id)s);

-- name: archive_oldest_messages
-- archive_messages, step 1: the oldest %(limit)s ACTIVE messages of the chat get a row
-- marked 'archiving', which only this transaction sees (step 3 makes it 'archived').
-- IGNORE: a row a concurrent archive_messages inserted first stays that call's.
INSERT IGNORE INTO memstore_message_status (chat_id, message_id, status)
SELECT m.chat_id, m.id, 'archiving' FROM conversation_messages m
WHERE m.chat_id = %(chat_id)s
  AND NOT EXISTS (SELECT 1 FROM memstore_message_status s
                  WHERE s.chat_id = m.chat_id AND s.message_id = m.id)
ORDER BY m.timestamp, m.id
LIMIT %(limit)s;

-- name: archiving_messages
-- archive_messages, step 2: the messages step 1 marked, oldest first.
SELECT m.id, m.chat_id, m.user_id, m.role, m.content, m.timestamp
FROM conversation_messages m
JOIN memstore_message_status s ON s.chat_id = m.chat_id AND s.message_id = m.id
WHERE s.chat_id = %(chat_id)s AND s.status = 'archiving'
ORDER BY m.timestamp, m.id;

-- name: finish_archiving
-- archive_messages, step 3: the marked messages are ARCHIVED.
UPDATE memstore_message_status SET status = 'archived'
WHERE chat_id = %(chat_id)s AND status = 'archiving';

-- name: count_messages_with_status
-- count_messages(status=...): %(status)s is 'active' (no status row) or 'archived'.
SELECT COUNT(*) FROM conversation_messages m
LEFT JOIN memstore_message_status s ON s.chat_id = m.chat_id AND s.message_id = m.id
WHERE m.chat_id = %(chat_id)s AND COALESCE(s.status, 'active') = %(status)s;

-- name: messages_window
-- get_messages_window, first page: oldest first, from %(offset)s; %(status)s NULL for all.
SELECT m.id, m.chat_id, m.user_id, m.role, m.content, m.timestamp
FROM conversation_messages m
LEFT JOIN memstore_message_status s ON s.chat_id = m.chat_id AND s.message_id = m.id
WHERE m.chat_id = %(chat_id)s AND (%(status)s IS NULL OR COALESCE(s.status, 'active') = %(status)s)
ORDER BY m.timestamp, m.id
LIMIT %(limit)s OFFSET %(offset)s;

-- name: messages_window_after
-- get_messages_window, next pages: the %(limit)s messages just newer than
-- (%(after_ts)s, %(after_id)s), oldest first (a keyset page of idx_messages_chat_order).
SELECT m.id, m.chat_id, m.user_id, m.role, m.content, m.timestamp
FROM conversation_messages m
LEFT JOIN memstore_message_status s ON s.chat_id = m.chat_id AND s.message_id = m.id
WHERE m.chat_id = %(chat_id)s AND (%(status)s IS NULL OR COALESCE(s.status, 'active') = %(status)s)
  AND (m.timestamp > %(after_ts)s OR (m.timestamp = %(after_ts)s AND m.id > %(after_id)s))
ORDER BY m.timestamp, m.id
LIMIT %(limit)s;

-- name: export_chat_page
-- export (memstore.transfer): the next `limit` chats after `after` (NULL: from the
-- first) that have a chat row, messages or chat-scope working memory, in code point order
-- (the ids' binary NO PAD collation); the second column is 1: every chat goes whole.
-- Keyset pages.
SELECT chat_id, 1 FROM (
  SELECT chat_id FROM chat_sessions WHERE %(after)s IS NULL OR chat_id > %(after)s
  UNION
  SELECT chat_id FROM conversation_messages WHERE %(after)s IS NULL OR chat_id > %(after)s
  UNION
  SELECT chat_id FROM working_memory
  WHERE scope = 'chat' AND chat_id IS NOT NULL AND (%(after)s IS NULL OR chat_id > %(after)s)
) AS chat_page
ORDER BY chat_id LIMIT %(limit)s;

-- name: export_chat_page_of_user
-- export --user: the next chats after `after` that the user owns (second column 1: the
-- chat goes whole) or wrote messages in (0: only those messages go).
SELECT chat_id, MAX(whole) FROM (
  SELECT chat_id, 1 AS whole FROM chat_sessions
  WHERE user_id = %(user_id)s AND (%(after)s IS NULL OR chat_id > %(after)s)
  UNION ALL
  SELECT DISTINCT chat_id, 0 AS whole FROM conversation_messages
  WHERE user_id = %(user_id)s AND (%(after)s IS NULL OR chat_id > %(after)s)
) AS chat_page
GROUP BY chat_id ORDER BY chat_id LIMIT %(limit)s;

-- name: user_working_memory_page
-- export: user-scope working memory, the next rows after the id `after`, in id order.
-- Their ids are 'user:' || user_id, so exactly the ids between 'user:' and 'user;' (';'
-- follows ':'), a range of the primary key.
SELECT id, scope, chat_id, user_id, content, updated_at FROM working_memory
WHERE id > %(after)s AND id < 'user;'
ORDER BY id LIMIT %(limit)s;

-- Recall (memstore.recall). The _of_chat / _of_user / _all variants differ only in
-- their scope; every read of a hit joins back to conversation_messages, so a message
-- deleted by any writer is never found.

-- name: search_pending_of_chat
-- Messages of the chat the keyword side table has not seen (an anti-join), in id pages.
-- A LEFT JOIN ... IS NULL, not NOT EXISTS: MariaDB materializes a NOT EXISTS subquery,
-- reading every user's side rows on each search (seen: 0.07 s at 300k rows, growing).
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
LEFT JOIN memstore_search s ON s.message_id = m.id
WHERE m.chat_id = %(chat_id)s AND m.id > %(after_id)s AND s.message_id IS NULL
ORDER BY m.id
LIMIT %(limit)s;

-- name: search_pending_of_user
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
LEFT JOIN memstore_search s ON s.message_id = m.id
WHERE m.user_id = %(user_id)s AND m.id > %(after_id)s AND s.message_id IS NULL
ORDER BY m.id
LIMIT %(limit)s;

-- name: search_pending_all
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
LEFT JOIN memstore_search s ON s.message_id = m.id
WHERE m.id > %(after_id)s AND s.message_id IS NULL
ORDER BY m.id
LIMIT %(limit)s;

-- name: search_store
-- ON DUPLICATE KEY (a no-op update, not INSERT IGNORE, which would hide other errors): two searches may catch up the same row at once; the text is the same.
INSERT INTO memstore_search (message_id, chat_id, user_id, body)
VALUES (%(message_id)s, %(chat_id)s, %(user_id)s, %(body)s)
ON DUPLICATE KEY UPDATE message_id = message_id;

-- name: search_scan_of_chat
-- Candidates by a scan of the scope's rows (words shorter than a trigram): %(pattern)s is
-- a LIKE pattern with ! as its escape character.
SELECT m.id, m.chat_id, m.user_id, m.role, m.timestamp, s.body
FROM memstore_search s
JOIN conversation_messages m ON m.id = s.message_id AND m.chat_id = s.chat_id
WHERE s.chat_id = %(chat_id)s AND s.body LIKE %(pattern)s ESCAPE '!';

-- name: search_scan_of_user
SELECT m.id, m.chat_id, m.user_id, m.role, m.timestamp, s.body
FROM memstore_search s
JOIN conversation_messages m ON m.id = s.message_id AND m.chat_id = s.chat_id
WHERE s.user_id = %(user_id)s AND s.body LIKE %(pattern)s ESCAPE '!';

-- name: vector_pending_of_chat
-- Messages of the chat without a vector of %(model)s (an anti-join), in id pages.
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
LEFT JOIN memstore_vectors v ON v.message_id = m.id AND v.model = %(model)s
WHERE m.chat_id = %(chat_id)s AND m.id > %(after_id)s AND v.message_id IS NULL
ORDER BY m.id
LIMIT %(limit)s;

-- name: vector_pending_of_user
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
LEFT JOIN memstore_vectors v ON v.message_id = m.id AND v.model = %(model)s
WHERE m.user_id = %(user_id)s AND m.id > %(after_id)s AND v.message_id IS NULL
ORDER BY m.id
LIMIT %(limit)s;

-- name: vector_pending_all
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
LEFT JOIN memstore_vectors v ON v.message_id = m.id AND v.model = %(model)s
WHERE m.id > %(after_id)s AND v.message_id IS NULL
ORDER BY m.id
LIMIT %(limit)s;

-- name: vector_store
INSERT INTO memstore_vectors (message_id, model, chat_id, user_id, dim, vector)
VALUES (%(message_id)s, %(model)s, %(chat_id)s, %(user_id)s, %(dim)s, %(vector)s)
ON DUPLICATE KEY UPDATE message_id = message_id;

-- name: vectors_of_chat
SELECT m.id, m.chat_id, m.user_id, m.role, m.timestamp, v.vector
FROM memstore_vectors v
JOIN conversation_messages m ON m.id = v.message_id AND m.chat_id = v.chat_id
WHERE v.chat_id = %(chat_id)s AND v.model = %(model)s;

-- name: vectors_of_user
SELECT m.id, m.chat_id, m.user_id, m.role, m.timestamp, v.vector
FROM memstore_vectors v
JOIN conversation_messages m ON m.id = v.message_id AND m.chat_id = v.chat_id
WHERE v.user_id = %(user_id)s AND v.model = %(model)s;

-- name: search_messages_by_id
-- The best hits' rows, once ranked (candidates are read without their content).
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE id IN (
  SELECT j.id FROM JSON_TABLE(%(ids)s, '$[*]' COLUMNS (id BIGINT PATH '$')) AS j);

-- name: search_context_before
-- A hit's context: the %(limit)s messages just older than (%(ts)s, %(id)s), newest first.
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = %(chat_id)s AND (timestamp < %(ts)s OR (timestamp = %(ts)s AND id < %(id)s))
ORDER BY timestamp DESC, id DESC
LIMIT %(limit)s;

-- name: search_context_before_of_user
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = %(chat_id)s AND (user_id = %(user_id)s OR user_id IS NULL)
  AND (timestamp < %(ts)s OR (timestamp = %(ts)s AND id < %(id)s))
ORDER BY timestamp DESC, id DESC
LIMIT %(limit)s;

-- name: search_context_after
-- ... and the %(limit)s messages just newer, oldest first.
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = %(chat_id)s AND (timestamp > %(ts)s OR (timestamp = %(ts)s AND id > %(id)s))
ORDER BY timestamp, id
LIMIT %(limit)s;

-- name: search_context_after_of_user
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = %(chat_id)s AND (user_id = %(user_id)s OR user_id IS NULL)
  AND (timestamp > %(ts)s OR (timestamp = %(ts)s AND id > %(id)s))
ORDER BY timestamp, id
LIMIT %(limit)s;

-- name: search_orphans
-- Side rows of messages that are gone (`memstore index`, Memory.index_messages).
DELETE FROM memstore_search
WHERE NOT EXISTS (SELECT 1 FROM conversation_messages m
                  WHERE m.id = memstore_search.message_id);

-- name: vector_orphans
DELETE FROM memstore_vectors
WHERE NOT EXISTS (SELECT 1 FROM conversation_messages m
                  WHERE m.id = memstore_vectors.message_id);

-- name: search_lag
-- `memstore doctor`: messages the keyword side table has not seen yet (a search catches
-- up its own scope first; `memstore index` catches up everything).
SELECT COUNT(*) FROM conversation_messages m
WHERE NOT EXISTS (SELECT 1 FROM memstore_search s WHERE s.message_id = m.id);

-- name: search_orphan_count
-- `memstore doctor`: side rows of messages that are gone (never found; `memstore index`
-- removes them).
SELECT COUNT(*) FROM memstore_search s
WHERE NOT EXISTS (SELECT 1 FROM conversation_messages m WHERE m.id = s.message_id);

-- Budgeted reads (memstore.budget): the chat's rows newest first, each with its count
-- under %(counter)s when it has one (NULL: memstore counts it and stores the count).

-- name: budget_page
SELECT m.id, m.chat_id, m.user_id, m.role, m.content, m.timestamp, t.tokens
FROM conversation_messages m
LEFT JOIN memstore_tokens t ON t.message_id = m.id AND t.counter = %(counter)s
WHERE m.chat_id = %(chat_id)s
ORDER BY m.timestamp DESC, m.id DESC
LIMIT %(limit)s;

-- name: budget_page_of_user
SELECT m.id, m.chat_id, m.user_id, m.role, m.content, m.timestamp, t.tokens
FROM conversation_messages m
LEFT JOIN memstore_tokens t ON t.message_id = m.id AND t.counter = %(counter)s
WHERE m.chat_id = %(chat_id)s AND (m.user_id = %(user_id)s OR m.user_id IS NULL)
ORDER BY m.timestamp DESC, m.id DESC
LIMIT %(limit)s;

-- name: budget_page_before
SELECT m.id, m.chat_id, m.user_id, m.role, m.content, m.timestamp, t.tokens
FROM conversation_messages m
LEFT JOIN memstore_tokens t ON t.message_id = m.id AND t.counter = %(counter)s
WHERE m.chat_id = %(chat_id)s
  AND (m.timestamp < %(before_ts)s OR (m.timestamp = %(before_ts)s AND m.id < %(before_id)s))
ORDER BY m.timestamp DESC, m.id DESC
LIMIT %(limit)s;

-- name: budget_page_before_of_user
SELECT m.id, m.chat_id, m.user_id, m.role, m.content, m.timestamp, t.tokens
FROM conversation_messages m
LEFT JOIN memstore_tokens t ON t.message_id = m.id AND t.counter = %(counter)s
WHERE m.chat_id = %(chat_id)s AND (m.user_id = %(user_id)s OR m.user_id IS NULL)
  AND (m.timestamp < %(before_ts)s OR (m.timestamp = %(before_ts)s AND m.id < %(before_id)s))
ORDER BY m.timestamp DESC, m.id DESC
LIMIT %(limit)s;

-- name: tokens_store
-- ON DUPLICATE KEY (a no-op update): two reads may count the same row at once; the count is the same.
INSERT INTO memstore_tokens (message_id, counter, chat_id, tokens)
VALUES (%(message_id)s, %(counter)s, %(chat_id)s, %(tokens)s)
ON DUPLICATE KEY UPDATE message_id = message_id;
