-- memstore statements for SQLite and libSQL. Parameters are :named and bound by the driver.

-- name: upsert_working_memory
-- One atomic statement. Like the TS package, an update changes only content and
-- updated_at: a user-scope row keeps the chat_id of the chat that created it.
INSERT INTO working_memory (id, scope, chat_id, user_id, content, updated_at)
VALUES (:id, :scope, :chat_id, :user_id, :content, :updated_at)
ON CONFLICT (id) DO UPDATE SET content = excluded.content, updated_at = excluded.updated_at;

-- name: get_working_memory
SELECT scope, chat_id, user_id, content, updated_at FROM working_memory WHERE id = :id;

-- name: insert_message
INSERT INTO conversation_messages (chat_id, user_id, role, content, timestamp)
VALUES (:chat_id, :user_id, :role, :content, :timestamp);

-- name: touch_chat_for_messages
-- Keeps the chat row true after saving :message_count messages: creates it if absent,
-- adds to message_count and never moves updated_at backwards. A row without an owner
-- (made by a title first) is claimed by a save that names a user; an owner set stays.
INSERT INTO chat_sessions (chat_id, user_id, title, created_at, updated_at, message_count)
VALUES (:chat_id, :user_id, NULL, :created_at, :updated_at, :message_count)
ON CONFLICT (chat_id) DO UPDATE SET
  user_id = COALESCE(chat_sessions.user_id, excluded.user_id),
  message_count = chat_sessions.message_count + excluded.message_count,
  updated_at = MAX(chat_sessions.updated_at, excluded.updated_at);

-- name: last_messages
-- The newest :limit messages of a chat, newest first; the adapter reverses them.
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = :chat_id
ORDER BY timestamp DESC, id DESC
LIMIT :limit;

-- name: last_messages_of_user
-- As last_messages, keeping the user's own messages and those saved without a user.
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = :chat_id AND (user_id = :user_id OR user_id IS NULL)
ORDER BY timestamp DESC, id DESC
LIMIT :limit;

-- name: upsert_chat
-- save_chat: a NULL parameter keeps the stored value; created_at is set only on insert.
INSERT INTO chat_sessions (chat_id, user_id, title, created_at, updated_at, message_count)
VALUES (:chat_id, :user_id, :title, :created_at, :updated_at, COALESCE(:message_count, 0))
ON CONFLICT (chat_id) DO UPDATE SET
  user_id = COALESCE(excluded.user_id, chat_sessions.user_id),
  title = COALESCE(excluded.title, chat_sessions.title),
  updated_at = excluded.updated_at,
  message_count = COALESCE(:message_count, chat_sessions.message_count);

-- name: rename_chat
-- update_chat_title: creates the chat (no user, no messages) when it does not exist.
INSERT INTO chat_sessions (chat_id, user_id, title, created_at, updated_at, message_count)
VALUES (:chat_id, NULL, :title, :now, :now, 0)
ON CONFLICT (chat_id) DO UPDATE SET title = excluded.title, updated_at = excluded.updated_at;

-- name: get_chat
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions WHERE chat_id = :chat_id;

-- name: list_chats
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
ORDER BY updated_at DESC, chat_id ASC
LIMIT :limit;

-- name: list_chats_of_user
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
WHERE user_id = :user_id
ORDER BY updated_at DESC, chat_id ASC
LIMIT :limit;

-- name: scan_chats
-- A title search, done in Python (identical on all backends), reads chats in list order
-- in keyset pages: this is the first page, scan_chats_after the next ones.
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
WHERE title IS NOT NULL
ORDER BY updated_at DESC, chat_id ASC
LIMIT :limit;

-- name: scan_chats_after
-- The page after the row (:after_updated_at, :after_chat_id), in list order.
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
WHERE title IS NOT NULL
  AND (updated_at < :after_updated_at
       OR (updated_at = :after_updated_at AND chat_id > :after_chat_id))
ORDER BY updated_at DESC, chat_id ASC
LIMIT :limit;

-- name: scan_chats_of_user
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
WHERE user_id = :user_id AND title IS NOT NULL
ORDER BY updated_at DESC, chat_id ASC
LIMIT :limit;

-- name: scan_chats_after_of_user
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
WHERE user_id = :user_id AND title IS NOT NULL
  AND (updated_at < :after_updated_at
       OR (updated_at = :after_updated_at AND chat_id > :after_chat_id))
ORDER BY updated_at DESC, chat_id ASC
LIMIT :limit;

-- name: delete_chat_messages
DELETE FROM conversation_messages WHERE chat_id = :chat_id;

-- name: delete_chat_row
DELETE FROM chat_sessions WHERE chat_id = :chat_id;

-- name: delete_working_memory
DELETE FROM working_memory WHERE id = :id;

-- name: uncount_user_messages_elsewhere
-- delete_user, step 1: other users' chats lose the count of this user's messages in them.
UPDATE chat_sessions
SET message_count = message_count - (
  SELECT COUNT(*) FROM conversation_messages m
  WHERE m.chat_id = chat_sessions.chat_id AND m.user_id = :user_id)
WHERE (user_id IS NULL OR user_id <> :user_id)
  AND chat_id IN (SELECT chat_id FROM conversation_messages WHERE user_id = :user_id);

-- name: delete_user_messages
-- delete_user, step 2: messages in the user's chats and the user's messages anywhere.
DELETE FROM conversation_messages
WHERE user_id = :user_id
   OR chat_id IN (SELECT chat_id FROM chat_sessions WHERE user_id = :user_id);

-- name: delete_user_working_memory
-- delete_user, step 3: the user's working memory and that of the user's chats.
DELETE FROM working_memory
WHERE user_id = :user_id
   OR id IN (SELECT 'chat:' || chat_id FROM chat_sessions WHERE user_id = :user_id);

-- name: delete_user_chats
-- delete_user, step 4 (last: steps 2 and 3 look the user's chats up).
DELETE FROM chat_sessions WHERE user_id = :user_id;

-- name: ping
SELECT 1;

-- name: message_position
-- Where message :id stands in its chat's order: (timestamp, id); no row if it is not a
-- message of :chat_id.
SELECT timestamp, id FROM conversation_messages WHERE id = :id AND chat_id = :chat_id;

-- name: messages_before
-- A keyset page: the :limit messages just older than (:before_ts, :before_id), newest
-- first. Each page is a range scan of idx_messages_chat_order, as fast on the last page
-- of a long chat as on the first.
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = :chat_id
  AND (timestamp < :before_ts OR (timestamp = :before_ts AND id < :before_id))
ORDER BY timestamp DESC, id DESC
LIMIT :limit;

-- name: messages_before_of_user
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = :chat_id AND (user_id = :user_id OR user_id IS NULL)
  AND (timestamp < :before_ts OR (timestamp = :before_ts AND id < :before_id))
ORDER BY timestamp DESC, id DESC
LIMIT :limit;

-- name: uncount_newest_message
-- pop_message, step 1 (in the same transaction as step 2): the chat row counts one
-- message less when the chat has one (never below 0: a TS app may have written its own).
UPDATE chat_sessions SET message_count = MAX(message_count - 1, 0)
WHERE chat_id = :chat_id
  AND EXISTS (SELECT 1 FROM conversation_messages WHERE chat_id = :chat_id);

-- name: delete_newest_message
-- pop_message, step 2: remove the newest message by (timestamp, id) and return it. The
-- write transaction (BEGIN IMMEDIATE) makes concurrent pops take turns, so each message
-- is returned to exactly one caller.
DELETE FROM conversation_messages
WHERE id = (SELECT id FROM conversation_messages WHERE chat_id = :chat_id
            ORDER BY timestamp DESC, id DESC LIMIT 1)
RETURNING id, chat_id, user_id, role, content, timestamp;

-- name: clear_chat_messages
-- clear_messages / replace_messages, step 1: the chat's messages go.
DELETE FROM conversation_messages WHERE chat_id = :chat_id;

-- name: reset_message_count
-- clear_messages / replace_messages, step 2: the chat row stays (title, owner, times)
-- and counts no message.
UPDATE chat_sessions SET message_count = 0 WHERE chat_id = :chat_id;

-- name: uncount_messages_by_id
-- delete_messages, step 1: the chat row counts the listed messages of this chat less.
-- :ids is a JSON array of integers (one bound parameter for any number of ids).
UPDATE chat_sessions SET message_count = MAX(message_count - (
  SELECT COUNT(*) FROM conversation_messages
  WHERE chat_id = :chat_id AND id IN (SELECT value FROM json_each(:ids))), 0)
WHERE chat_id = :chat_id;

-- name: delete_messages_by_id
-- delete_messages, step 2: the listed messages of this chat; ids of other chats stay.
DELETE FROM conversation_messages
WHERE chat_id = :chat_id AND id IN (SELECT value FROM json_each(:ids));

-- name: count_messages
SELECT COUNT(*) FROM conversation_messages WHERE chat_id = :chat_id;

-- name: chat_ids
-- Chats that have messages, including those a TS app wrote without a chat_sessions row,
-- in code point order of chat_id (SQLite compares text byte by byte: UTF-8 order).
SELECT DISTINCT chat_id FROM conversation_messages ORDER BY chat_id LIMIT :limit;

-- name: chat_ids_of_user
SELECT DISTINCT chat_id FROM conversation_messages WHERE user_id = :user_id
ORDER BY chat_id LIMIT :limit;

-- name: clear_chat_status
-- clear_messages / replace_messages, step 3: the status rows of the chat's messages.
DELETE FROM memstore_message_status WHERE chat_id = :chat_id;

-- name: delete_chat_status
-- delete_chat: the status rows of the chat's messages.
DELETE FROM memstore_message_status WHERE chat_id = :chat_id;

-- name: forget_deleted_status
-- pop_message / delete_messages, last step: the status rows of the chat whose message is
-- gone (also those of messages another writer deleted).
DELETE FROM memstore_message_status
WHERE chat_id = :chat_id
  AND NOT EXISTS (SELECT 1 FROM conversation_messages m
                  WHERE m.id = memstore_message_status.message_id
                    AND m.chat_id = memstore_message_status.chat_id);

-- name: delete_user_status
-- delete_user, before step 2: the status rows of the user's chats and of the user's
-- messages anywhere.
DELETE FROM memstore_message_status
WHERE chat_id IN (SELECT chat_id FROM chat_sessions WHERE user_id = :user_id)
   OR EXISTS (SELECT 1 FROM conversation_messages m
              WHERE m.id = memstore_message_status.message_id
                AND m.chat_id = memstore_message_status.chat_id AND m.user_id = :user_id);

-- name: archive_oldest_messages
-- archive_messages, step 1: the oldest :limit ACTIVE messages of the chat get a row
-- marked 'archiving', which only this transaction sees (step 3 makes it 'archived').
INSERT INTO memstore_message_status (chat_id, message_id, status)
SELECT m.chat_id, m.id, 'archiving' FROM conversation_messages m
WHERE m.chat_id = :chat_id
  AND NOT EXISTS (SELECT 1 FROM memstore_message_status s
                  WHERE s.chat_id = m.chat_id AND s.message_id = m.id)
ORDER BY m.timestamp, m.id
LIMIT :limit;

-- name: archiving_messages
-- archive_messages, step 2: the messages step 1 marked, oldest first.
SELECT m.id, m.chat_id, m.user_id, m.role, m.content, m.timestamp
FROM conversation_messages m
JOIN memstore_message_status s ON s.chat_id = m.chat_id AND s.message_id = m.id
WHERE s.chat_id = :chat_id AND s.status = 'archiving'
ORDER BY m.timestamp, m.id;

-- name: finish_archiving
-- archive_messages, step 3: the marked messages are ARCHIVED.
UPDATE memstore_message_status SET status = 'archived'
WHERE chat_id = :chat_id AND status = 'archiving';

-- name: count_messages_with_status
-- count_messages(status=...): :status is 'active' (no status row) or 'archived'.
SELECT COUNT(*) FROM conversation_messages m
LEFT JOIN memstore_message_status s ON s.chat_id = m.chat_id AND s.message_id = m.id
WHERE m.chat_id = :chat_id AND COALESCE(s.status, 'active') = :status;

-- name: messages_window
-- get_messages_window, first page: oldest first, from :offset; :status NULL for all.
SELECT m.id, m.chat_id, m.user_id, m.role, m.content, m.timestamp
FROM conversation_messages m
LEFT JOIN memstore_message_status s ON s.chat_id = m.chat_id AND s.message_id = m.id
WHERE m.chat_id = :chat_id AND (:status IS NULL OR COALESCE(s.status, 'active') = :status)
ORDER BY m.timestamp, m.id
LIMIT :limit OFFSET :offset;

-- name: messages_window_after
-- get_messages_window, next pages: the :limit messages just newer than
-- (:after_ts, :after_id), oldest first (a keyset page of idx_messages_chat_order).
SELECT m.id, m.chat_id, m.user_id, m.role, m.content, m.timestamp
FROM conversation_messages m
LEFT JOIN memstore_message_status s ON s.chat_id = m.chat_id AND s.message_id = m.id
WHERE m.chat_id = :chat_id AND (:status IS NULL OR COALESCE(s.status, 'active') = :status)
  AND (m.timestamp > :after_ts OR (m.timestamp = :after_ts AND m.id > :after_id))
ORDER BY m.timestamp, m.id
LIMIT :limit;

-- name: export_chat_page
-- export (memstore.transfer): the next :limit chats after :after (NULL: from the first)
-- that have a chat row, messages or chat-scope working memory, in code point order; the
-- second column is 1: every chat goes whole. Keyset pages, so an export of any number of
-- chats holds one page.
SELECT chat_id, 1 FROM (
  SELECT chat_id FROM chat_sessions WHERE :after IS NULL OR chat_id > :after
  UNION
  SELECT chat_id FROM conversation_messages WHERE :after IS NULL OR chat_id > :after
  UNION
  SELECT chat_id FROM working_memory
  WHERE scope = 'chat' AND chat_id IS NOT NULL AND (:after IS NULL OR chat_id > :after)
) AS chat_page
ORDER BY chat_id LIMIT :limit;

-- name: export_chat_page_of_user
-- export --user: the next :limit chats after :after that :user_id owns (second column 1:
-- the chat goes whole) or wrote messages in (0: only those messages go).
SELECT chat_id, MAX(whole) FROM (
  SELECT chat_id, 1 AS whole FROM chat_sessions
  WHERE user_id = :user_id AND (:after IS NULL OR chat_id > :after)
  UNION ALL
  SELECT DISTINCT chat_id, 0 AS whole FROM conversation_messages
  WHERE user_id = :user_id AND (:after IS NULL OR chat_id > :after)
) AS chat_page
GROUP BY chat_id ORDER BY chat_id LIMIT :limit;

-- name: user_working_memory_page
-- export: user-scope working memory, the next :limit rows after the id :after, in id
-- order. Their ids are 'user:' || user_id, so they are exactly the ids between 'user:'
-- and 'user;' (';' follows ':'), a range of the primary key.
SELECT id, scope, chat_id, user_id, content, updated_at FROM working_memory
WHERE id > :after AND id < 'user;'
ORDER BY id LIMIT :limit;

-- Recall (memstore.recall). The _of_chat / _of_user / _all variants differ only in
-- their scope; every read of a hit joins back to conversation_messages, so a message
-- deleted by any writer is never found.

-- name: search_pending_of_chat
-- Messages of the chat the keyword side table has not seen (an anti-join), in id pages.
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
WHERE m.chat_id = :chat_id AND m.id > :after_id
  AND NOT EXISTS (SELECT 1 FROM memstore_search s WHERE s.message_id = m.id)
ORDER BY m.id
LIMIT :limit;

-- name: search_pending_of_user
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
WHERE m.user_id = :user_id AND m.id > :after_id
  AND NOT EXISTS (SELECT 1 FROM memstore_search s WHERE s.message_id = m.id)
ORDER BY m.id
LIMIT :limit;

-- name: search_pending_all
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
WHERE m.id > :after_id
  AND NOT EXISTS (SELECT 1 FROM memstore_search s WHERE s.message_id = m.id)
ORDER BY m.id
LIMIT :limit;

-- name: search_store
-- OR IGNORE: two searches may catch up the same row at once; the text is the same.
INSERT OR IGNORE INTO memstore_search (message_id, chat_id, user_id, body)
VALUES (:message_id, :chat_id, :user_id, :body);

-- name: search_match_of_chat
-- Candidates by the trigram index (:match holds only quoted words of 3+ characters).
-- CROSS JOIN keeps the index query outermost: SQLite's planner would otherwise loop over
-- the scope's rows and run the MATCH once per row (seen: 1 s instead of 10 ms).
SELECT m.id, m.chat_id, m.user_id, m.role, m.timestamp, s.body
FROM memstore_search_fts
CROSS JOIN memstore_search s ON s.message_id = memstore_search_fts.rowid
CROSS JOIN conversation_messages m ON m.id = s.message_id AND m.chat_id = s.chat_id
WHERE memstore_search_fts MATCH :match AND s.chat_id = :chat_id;

-- name: search_match_of_user
SELECT m.id, m.chat_id, m.user_id, m.role, m.timestamp, s.body
FROM memstore_search_fts
CROSS JOIN memstore_search s ON s.message_id = memstore_search_fts.rowid
CROSS JOIN conversation_messages m ON m.id = s.message_id AND m.chat_id = s.chat_id
WHERE memstore_search_fts MATCH :match AND s.user_id = :user_id;

-- name: search_scan_of_chat
-- Candidates by a scan of the scope's rows (words shorter than a trigram): :pattern is
-- a LIKE pattern with ! as its escape character.
SELECT m.id, m.chat_id, m.user_id, m.role, m.timestamp, s.body
FROM memstore_search s
JOIN conversation_messages m ON m.id = s.message_id AND m.chat_id = s.chat_id
WHERE s.chat_id = :chat_id AND s.body LIKE :pattern ESCAPE '!';

-- name: search_scan_of_user
SELECT m.id, m.chat_id, m.user_id, m.role, m.timestamp, s.body
FROM memstore_search s
JOIN conversation_messages m ON m.id = s.message_id AND m.chat_id = s.chat_id
WHERE s.user_id = :user_id AND s.body LIKE :pattern ESCAPE '!';

-- name: vector_pending_of_chat
-- Messages of the chat without a vector of :model (an anti-join), in id pages.
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
WHERE m.chat_id = :chat_id AND m.id > :after_id
  AND NOT EXISTS (SELECT 1 FROM memstore_vectors v
                  WHERE v.message_id = m.id AND v.model = :model)
ORDER BY m.id
LIMIT :limit;

-- name: vector_pending_of_user
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
WHERE m.user_id = :user_id AND m.id > :after_id
  AND NOT EXISTS (SELECT 1 FROM memstore_vectors v
                  WHERE v.message_id = m.id AND v.model = :model)
ORDER BY m.id
LIMIT :limit;

-- name: vector_pending_all
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
WHERE m.id > :after_id
  AND NOT EXISTS (SELECT 1 FROM memstore_vectors v
                  WHERE v.message_id = m.id AND v.model = :model)
ORDER BY m.id
LIMIT :limit;

-- name: vector_store
INSERT OR IGNORE INTO memstore_vectors (message_id, model, chat_id, user_id, dim, vector)
VALUES (:message_id, :model, :chat_id, :user_id, :dim, :vector);

-- name: vectors_of_chat
SELECT m.id, m.chat_id, m.user_id, m.role, m.timestamp, v.vector
FROM memstore_vectors v
JOIN conversation_messages m ON m.id = v.message_id AND m.chat_id = v.chat_id
WHERE v.chat_id = :chat_id AND v.model = :model;

-- name: vectors_of_user
SELECT m.id, m.chat_id, m.user_id, m.role, m.timestamp, v.vector
FROM memstore_vectors v
JOIN conversation_messages m ON m.id = v.message_id AND m.chat_id = v.chat_id
WHERE v.user_id = :user_id AND v.model = :model;

-- name: search_messages_by_id
-- The best hits' rows, once ranked (candidates are read without their content).
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE id IN (SELECT value FROM json_each(:ids));

-- name: search_context_before
-- A hit's context: the :limit messages just older than (:ts, :id), newest first.
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = :chat_id AND (timestamp < :ts OR (timestamp = :ts AND id < :id))
ORDER BY timestamp DESC, id DESC
LIMIT :limit;

-- name: search_context_before_of_user
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = :chat_id AND (user_id = :user_id OR user_id IS NULL)
  AND (timestamp < :ts OR (timestamp = :ts AND id < :id))
ORDER BY timestamp DESC, id DESC
LIMIT :limit;

-- name: search_context_after
-- ... and the :limit messages just newer, oldest first.
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = :chat_id AND (timestamp > :ts OR (timestamp = :ts AND id > :id))
ORDER BY timestamp, id
LIMIT :limit;

-- name: search_context_after_of_user
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = :chat_id AND (user_id = :user_id OR user_id IS NULL)
  AND (timestamp > :ts OR (timestamp = :ts AND id > :id))
ORDER BY timestamp, id
LIMIT :limit;

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
-- under :counter when it has one (NULL: memstore counts it and stores the count).

-- name: budget_page
SELECT m.id, m.chat_id, m.user_id, m.role, m.content, m.timestamp, t.tokens
FROM conversation_messages m
LEFT JOIN memstore_tokens t ON t.message_id = m.id AND t.counter = :counter
WHERE m.chat_id = :chat_id
ORDER BY m.timestamp DESC, m.id DESC
LIMIT :limit;

-- name: budget_page_of_user
SELECT m.id, m.chat_id, m.user_id, m.role, m.content, m.timestamp, t.tokens
FROM conversation_messages m
LEFT JOIN memstore_tokens t ON t.message_id = m.id AND t.counter = :counter
WHERE m.chat_id = :chat_id AND (m.user_id = :user_id OR m.user_id IS NULL)
ORDER BY m.timestamp DESC, m.id DESC
LIMIT :limit;

-- name: budget_page_before
SELECT m.id, m.chat_id, m.user_id, m.role, m.content, m.timestamp, t.tokens
FROM conversation_messages m
LEFT JOIN memstore_tokens t ON t.message_id = m.id AND t.counter = :counter
WHERE m.chat_id = :chat_id
  AND (m.timestamp < :before_ts OR (m.timestamp = :before_ts AND m.id < :before_id))
ORDER BY m.timestamp DESC, m.id DESC
LIMIT :limit;

-- name: budget_page_before_of_user
SELECT m.id, m.chat_id, m.user_id, m.role, m.content, m.timestamp, t.tokens
FROM conversation_messages m
LEFT JOIN memstore_tokens t ON t.message_id = m.id AND t.counter = :counter
WHERE m.chat_id = :chat_id AND (m.user_id = :user_id OR m.user_id IS NULL)
  AND (m.timestamp < :before_ts OR (m.timestamp = :before_ts AND m.id < :before_id))
ORDER BY m.timestamp DESC, m.id DESC
LIMIT :limit;

-- name: tokens_store
-- OR IGNORE: two reads may count the same row at once; the count is the same.
INSERT OR IGNORE INTO memstore_tokens (message_id, counter, chat_id, tokens)
VALUES (:message_id, :counter, :chat_id, :tokens);
