-- memstore statements for PostgreSQL (psycopg 3). Parameters are %(named)s and bound by
-- the driver. Instants are bound as naive UTC datetimes (type timestamp), so the session's
-- TimeZone never shifts them; no statement calls now() or CURRENT_TIMESTAMP.
-- Chat ids are ordered with COLLATE "C" (code point order for UTF-8) whatever collation
-- the database or column has; equality is exact under any deterministic collation.
--
-- Every public call is one statement. Where SQLite runs a sequence of statements, this
-- file has one statement named after the whole operation, built from data-modifying CTEs:
-- save_messages (= insert_message + touch_chat_for_messages), delete_chat
-- (= delete_chat_messages + delete_chat_row + delete_working_memory + delete_chat_status)
-- and delete_user (= the delete_user steps, delete_user_status included). tests/test_sqlfiles.py holds that correspondence.

-- name: upsert_working_memory
-- One atomic statement. Like the TS package, an update changes only content and
-- updated_at: a user-scope row keeps the chat_id of the chat that created it.
INSERT INTO working_memory (id, scope, chat_id, user_id, content, updated_at)
VALUES (%(id)s, %(scope)s, %(chat_id)s, %(user_id)s, %(content)s, %(updated_at)s)
ON CONFLICT (id) DO UPDATE SET content = excluded.content, updated_at = excluded.updated_at;

-- name: get_working_memory
SELECT scope, chat_id, user_id, content, updated_at FROM working_memory WHERE id = %(id)s;

-- name: save_message
-- save_messages of one message in one statement: a plain VALUES row, cheaper than the
-- arrays, unnest and sort of the batch form below; the chat row kept true the same way.
WITH inserted AS (
  INSERT INTO conversation_messages (chat_id, user_id, role, content, timestamp)
  VALUES (%(chat_id)s::text, %(user_id)s::text, %(role)s::text, %(content)s::text,
          %(timestamp)s::timestamp)
  RETURNING id
), touched AS (
  INSERT INTO chat_sessions (chat_id, user_id, title, created_at, updated_at, message_count)
  VALUES (%(chat_id)s::text, %(user_id)s::text, NULL, %(timestamp)s::timestamp,
          %(timestamp)s::timestamp, 1)
  ON CONFLICT (chat_id) DO UPDATE SET
    user_id = COALESCE(chat_sessions.user_id, excluded.user_id),
    message_count = chat_sessions.message_count + 1,
    updated_at = GREATEST(chat_sessions.updated_at, excluded.updated_at)
)
SELECT id FROM inserted;

-- name: save_messages
-- save_messages in one statement: the batch arrives as three arrays, numbered by
-- WITH ORDINALITY; the INSERT reads them in that order, so the serial ids are drawn from
-- the sequence in input order and the ids sorted ascending are in input order. The chat
-- row is kept true in the same statement (as SQLite's touch_chat_for_messages does).
-- The arrays are bound in binary (the b placeholders): psycopg's text format quotes
-- every element in Python, which takes ~10x longer for a large batch.
WITH batch AS (
  SELECT b.role, b.content, b.ts, b.ord
  FROM unnest(%(roles)b::text[], %(contents)b::text[], %(timestamps)b::timestamp[])
       WITH ORDINALITY AS b (role, content, ts, ord)
), inserted AS (
  INSERT INTO conversation_messages (chat_id, user_id, role, content, timestamp)
  SELECT %(chat_id)s::text, %(user_id)s::text, role, content, ts FROM batch ORDER BY ord
  RETURNING id
), touched AS (
  INSERT INTO chat_sessions (chat_id, user_id, title, created_at, updated_at, message_count)
  VALUES (%(chat_id)s::text, %(user_id)s::text, NULL, %(created_at)s, %(updated_at)s,
          %(message_count)s::integer)
  ON CONFLICT (chat_id) DO UPDATE SET
    user_id = COALESCE(chat_sessions.user_id, excluded.user_id),
    message_count = chat_sessions.message_count + excluded.message_count,
    updated_at = GREATEST(chat_sessions.updated_at, excluded.updated_at)
)
SELECT id FROM inserted ORDER BY id;

-- name: last_messages
-- The newest `limit` messages of a chat, newest first; the adapter reverses them.
-- A backward range scan of idx_messages_chat_order, no sort.
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
        COALESCE(%(message_count)s::integer, 0))
ON CONFLICT (chat_id) DO UPDATE SET
  user_id = COALESCE(excluded.user_id, chat_sessions.user_id),
  title = COALESCE(excluded.title, chat_sessions.title),
  updated_at = excluded.updated_at,
  message_count = COALESCE(%(message_count)s::integer, chat_sessions.message_count);

-- name: rename_chat
-- update_chat_title: creates the chat (no user, no messages) when it does not exist.
INSERT INTO chat_sessions (chat_id, user_id, title, created_at, updated_at, message_count)
VALUES (%(chat_id)s, NULL, %(title)s, %(now)s, %(now)s, 0)
ON CONFLICT (chat_id) DO UPDATE SET title = excluded.title, updated_at = excluded.updated_at;

-- name: get_chat
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions WHERE chat_id = %(chat_id)s;

-- name: list_chats
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
ORDER BY updated_at DESC, chat_id COLLATE "C" ASC
LIMIT %(limit)s;

-- name: list_chats_of_user
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
WHERE user_id = %(user_id)s
ORDER BY updated_at DESC, chat_id COLLATE "C" ASC
LIMIT %(limit)s;

-- name: scan_chats
-- A title search, done in Python (identical on all backends), reads chats in list order
-- in keyset pages: this is the first page, scan_chats_after the next ones.
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
WHERE title IS NOT NULL
ORDER BY updated_at DESC, chat_id COLLATE "C" ASC
LIMIT %(limit)s;

-- name: scan_chats_after
-- The page after the row (after_updated_at, after_chat_id), in list order; chat ids
-- compare in code point order, as they are sorted.
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
WHERE title IS NOT NULL
  AND (updated_at < %(after_updated_at)s
       OR (updated_at = %(after_updated_at)s
           AND chat_id COLLATE "C" > %(after_chat_id)s::text COLLATE "C"))
ORDER BY updated_at DESC, chat_id COLLATE "C" ASC
LIMIT %(limit)s;

-- name: scan_chats_of_user
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
WHERE user_id = %(user_id)s AND title IS NOT NULL
ORDER BY updated_at DESC, chat_id COLLATE "C" ASC
LIMIT %(limit)s;

-- name: scan_chats_after_of_user
SELECT chat_id, user_id, title, created_at, updated_at, message_count
FROM chat_sessions
WHERE user_id = %(user_id)s AND title IS NOT NULL
  AND (updated_at < %(after_updated_at)s
       OR (updated_at = %(after_updated_at)s
           AND chat_id COLLATE "C" > %(after_chat_id)s::text COLLATE "C"))
ORDER BY updated_at DESC, chat_id COLLATE "C" ASC
LIMIT %(limit)s;

-- name: delete_chat
-- delete_chat in one statement: the chat's messages, its row and its chat-scope working
-- memory (id = 'chat:<chat_id>'), and the status rows of its messages. True if the chat or any of its messages existed.
-- Data-modifying CTEs always run to completion, read or not.
WITH messages AS (
  DELETE FROM conversation_messages WHERE chat_id = %(chat_id)s RETURNING 1
), chat AS (
  DELETE FROM chat_sessions WHERE chat_id = %(chat_id)s RETURNING 1
), memory AS (
  DELETE FROM working_memory WHERE id = %(id)s
), status AS (
  DELETE FROM memstore_message_status WHERE chat_id = %(chat_id)s
)
SELECT EXISTS (SELECT FROM messages) OR EXISTS (SELECT FROM chat);

-- name: delete_user
-- delete_user in one statement: the steps of sql/sqlite (uncount the user's messages
-- in others' chats, delete the messages, the working memory, the chat rows). Every part
-- sees the rows as they were before the statement, which is what the step-by-step
-- sequence sees too: step 1 changes only counts of chats the user does not own, steps
-- 2-3 look up the user's chats before the last part deletes them, and the UPDATE and the
-- DELETE of chat_sessions touch disjoint rows (not owned / owned).
WITH own AS (
  SELECT chat_id FROM chat_sessions WHERE user_id = %(user_id)s
), uncounted AS (
  UPDATE chat_sessions c SET message_count = c.message_count - n.messages
  FROM (SELECT chat_id, COUNT(*) AS messages FROM conversation_messages
        WHERE user_id = %(user_id)s GROUP BY chat_id) n
  WHERE c.chat_id = n.chat_id AND c.user_id IS DISTINCT FROM %(user_id)s
), messages AS (
  DELETE FROM conversation_messages
  WHERE user_id = %(user_id)s OR chat_id IN (SELECT chat_id FROM own)
), memory AS (
  DELETE FROM working_memory
  WHERE user_id = %(user_id)s OR id IN (SELECT 'chat:' || chat_id FROM own)
), status AS (
  DELETE FROM memstore_message_status s
  WHERE s.chat_id IN (SELECT chat_id FROM own)
     OR EXISTS (SELECT 1 FROM conversation_messages m
                WHERE m.id = s.message_id AND m.chat_id = s.chat_id
                  AND m.user_id = %(user_id)s)
)
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
-- first. Each page is a backward range scan of idx_messages_chat_order, as fast on the
-- last page of a long chat as on the first.
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = %(chat_id)s
  AND (timestamp, id) < (%(before_ts)s::timestamp, %(before_id)s::bigint)
ORDER BY timestamp DESC, id DESC
LIMIT %(limit)s;

-- name: messages_before_of_user
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE chat_id = %(chat_id)s AND (user_id = %(user_id)s OR user_id IS NULL)
  AND (timestamp, id) < (%(before_ts)s::timestamp, %(before_id)s::bigint)
ORDER BY timestamp DESC, id DESC
LIMIT %(limit)s;

-- name: uncount_newest_message
-- pop_message, step 1 (in the same transaction as step 2): the chat row counts one
-- message less when the chat has one (never below 0: a TS app may have written its own).
-- Its row lock makes concurrent pops of a chat with a row take turns.
UPDATE chat_sessions SET message_count = GREATEST(message_count - 1, 0)
WHERE chat_id = %(chat_id)s
  AND EXISTS (SELECT 1 FROM conversation_messages WHERE chat_id = %(chat_id)s);

-- name: delete_newest_message
-- pop_message, step 2: remove the newest message by (timestamp, id) and return it.
-- Concurrent pops of a chat with a row already take turns on that row (step 1). For a
-- chat a TS app wrote without one, SKIP LOCKED makes a second pop take the next message
-- instead of waiting on the first one's row and then finding nothing (a FOR UPDATE
-- subquery with LIMIT returns no row when its locked row was deleted meanwhile).
DELETE FROM conversation_messages
WHERE id = (SELECT id FROM conversation_messages WHERE chat_id = %(chat_id)s
            ORDER BY timestamp DESC, id DESC LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id, chat_id, user_id, role, content, timestamp;

-- name: clear_messages
-- clear_messages in one statement (one round trip, no BEGIN/COMMIT): the chat's messages,
-- its message_count (the row stays) and the status rows of its messages; how many
-- messages went. replace_messages and import use the three steps below with their inserts.
WITH messages AS (
  DELETE FROM conversation_messages WHERE chat_id = %(chat_id)s RETURNING 1
), chat AS (
  UPDATE chat_sessions SET message_count = 0 WHERE chat_id = %(chat_id)s
), status AS (
  DELETE FROM memstore_message_status WHERE chat_id = %(chat_id)s
)
SELECT count(*) FROM messages;

-- name: clear_chat_messages
-- clear_messages / replace_messages, step 1: the chat's messages go.
DELETE FROM conversation_messages WHERE chat_id = %(chat_id)s;

-- name: reset_message_count
-- clear_messages / replace_messages, step 2: the chat row stays (title, owner, times)
-- and counts no message.
UPDATE chat_sessions SET message_count = 0 WHERE chat_id = %(chat_id)s;

-- name: uncount_messages_by_id
-- delete_messages, step 1: the chat row counts the listed messages of this chat less.
-- ids is one bigint[] parameter, for any number of ids.
UPDATE chat_sessions SET message_count = GREATEST(message_count - (
  SELECT COUNT(*) FROM conversation_messages
  WHERE chat_id = %(chat_id)s AND id = ANY(%(ids)s::bigint[]))::integer, 0)
WHERE chat_id = %(chat_id)s;

-- name: delete_messages_by_id
-- delete_messages, step 2: the listed messages of this chat; ids of other chats stay.
DELETE FROM conversation_messages
WHERE chat_id = %(chat_id)s AND id = ANY(%(ids)s::bigint[]);

-- name: count_messages
SELECT COUNT(*) FROM conversation_messages WHERE chat_id = %(chat_id)s;

-- name: chat_ids
-- Chats that have messages, including those a TS app wrote without a chat_sessions row,
-- in code point order of chat_id (COLLATE "C", whatever the column's collation).
SELECT chat_id FROM conversation_messages
GROUP BY chat_id ORDER BY chat_id COLLATE "C" LIMIT %(limit)s;

-- name: chat_ids_of_user
SELECT chat_id FROM conversation_messages WHERE user_id = %(user_id)s
GROUP BY chat_id ORDER BY chat_id COLLATE "C" LIMIT %(limit)s;

-- name: clear_chat_status
-- clear_messages / replace_messages, step 3: the status rows of the chat's messages.
DELETE FROM memstore_message_status WHERE chat_id = %(chat_id)s;

-- name: forget_deleted_status
-- pop_message / delete_messages, last step: the status rows of the chat whose message is
-- gone (also those of messages another writer deleted).
DELETE FROM memstore_message_status s
WHERE s.chat_id = %(chat_id)s
  AND NOT EXISTS (SELECT 1 FROM conversation_messages m
                  WHERE m.id = s.message_id AND m.chat_id = s.chat_id);

-- name: archive_oldest_messages
-- archive_messages, step 1: the oldest `limit` ACTIVE messages of the chat get a row
-- marked 'archiving', which only this transaction sees (step 3 makes it 'archived').
-- DO NOTHING: a row a concurrent archive_messages inserted first stays that call's.
INSERT INTO memstore_message_status (chat_id, message_id, status)
SELECT m.chat_id, m.id, 'archiving' FROM conversation_messages m
WHERE m.chat_id = %(chat_id)s
  AND NOT EXISTS (SELECT 1 FROM memstore_message_status s
                  WHERE s.chat_id = m.chat_id AND s.message_id = m.id)
ORDER BY m.timestamp, m.id
LIMIT %(limit)s
ON CONFLICT DO NOTHING;

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
-- count_messages(status=...): status is 'active' (no status row) or 'archived'.
SELECT COUNT(*) FROM conversation_messages m
LEFT JOIN memstore_message_status s ON s.chat_id = m.chat_id AND s.message_id = m.id
WHERE m.chat_id = %(chat_id)s AND COALESCE(s.status, 'active') = %(status)s::text;

-- name: messages_window
-- get_messages_window, first page: oldest first, from `offset`; status NULL for all.
SELECT m.id, m.chat_id, m.user_id, m.role, m.content, m.timestamp
FROM conversation_messages m
LEFT JOIN memstore_message_status s ON s.chat_id = m.chat_id AND s.message_id = m.id
WHERE m.chat_id = %(chat_id)s
  AND (%(status)s::text IS NULL OR COALESCE(s.status, 'active') = %(status)s::text)
ORDER BY m.timestamp, m.id
LIMIT %(limit)s OFFSET %(offset)s;

-- name: messages_window_after
-- get_messages_window, next pages: the `limit` messages just newer than
-- (after_ts, after_id), oldest first (a keyset page of idx_messages_chat_order).
SELECT m.id, m.chat_id, m.user_id, m.role, m.content, m.timestamp
FROM conversation_messages m
LEFT JOIN memstore_message_status s ON s.chat_id = m.chat_id AND s.message_id = m.id
WHERE m.chat_id = %(chat_id)s
  AND (%(status)s::text IS NULL OR COALESCE(s.status, 'active') = %(status)s::text)
  AND (m.timestamp, m.id) > (%(after_ts)s::timestamp, %(after_id)s::bigint)
ORDER BY m.timestamp, m.id
LIMIT %(limit)s;

-- name: export_chat_page
-- export (memstore.transfer): the next `limit` chats after `after` (NULL: from the
-- first) that have a chat row, messages or chat-scope working memory, in code point
-- order (COLLATE "C"); the second column is 1: every chat goes whole. Keyset pages.
SELECT chat_id, 1 FROM (
  SELECT chat_id FROM chat_sessions
  WHERE %(after)s::text IS NULL OR chat_id COLLATE "C" > %(after)s::text
  UNION
  SELECT chat_id FROM conversation_messages
  WHERE %(after)s::text IS NULL OR chat_id COLLATE "C" > %(after)s::text
  UNION
  SELECT chat_id FROM working_memory
  WHERE scope = 'chat' AND chat_id IS NOT NULL
    AND (%(after)s::text IS NULL OR chat_id COLLATE "C" > %(after)s::text)
) AS chat_page
ORDER BY chat_id COLLATE "C" LIMIT %(limit)s;

-- name: export_chat_page_of_user
-- export --user: the next chats after `after` that the user owns (second column 1: the
-- chat goes whole) or wrote messages in (0: only those messages go).
SELECT chat_id, MAX(whole) FROM (
  SELECT chat_id, 1 AS whole FROM chat_sessions
  WHERE user_id = %(user_id)s
    AND (%(after)s::text IS NULL OR chat_id COLLATE "C" > %(after)s::text)
  UNION ALL
  SELECT DISTINCT chat_id, 0 AS whole FROM conversation_messages
  WHERE user_id = %(user_id)s
    AND (%(after)s::text IS NULL OR chat_id COLLATE "C" > %(after)s::text)
) AS chat_page
GROUP BY chat_id ORDER BY chat_id COLLATE "C" LIMIT %(limit)s;

-- name: user_working_memory_page
-- export: user-scope working memory, the next rows after the id `after`, in code point
-- order of id. Their ids are 'user:' || user_id, so exactly the ids between 'user:' and
-- 'user;' (';' follows ':').
SELECT id, scope, chat_id, user_id, content, updated_at FROM working_memory
WHERE id COLLATE "C" > %(after)s::text AND id COLLATE "C" < 'user;'
ORDER BY id COLLATE "C" LIMIT %(limit)s;

-- Recall (memstore.recall). The _of_chat / _of_user / _all variants differ only in
-- their scope; every read of a hit joins back to conversation_messages, so a message
-- deleted by any writer is never found.

-- name: search_pending_of_chat
-- Messages of the chat the keyword side table has not seen (an anti-join), in id pages.
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
WHERE m.chat_id = %(chat_id)s AND m.id > %(after_id)s
  AND NOT EXISTS (SELECT 1 FROM memstore_search s WHERE s.message_id = m.id)
ORDER BY m.id
LIMIT %(limit)s;

-- name: search_pending_of_user
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
WHERE m.user_id = %(user_id)s AND m.id > %(after_id)s
  AND NOT EXISTS (SELECT 1 FROM memstore_search s WHERE s.message_id = m.id)
ORDER BY m.id
LIMIT %(limit)s;

-- name: search_pending_all
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
WHERE m.id > %(after_id)s
  AND NOT EXISTS (SELECT 1 FROM memstore_search s WHERE s.message_id = m.id)
ORDER BY m.id
LIMIT %(limit)s;

-- name: search_store
-- DO NOTHING: two searches may catch up the same row at once; the text is the same.
INSERT INTO memstore_search (message_id, chat_id, user_id, body)
VALUES (%(message_id)s, %(chat_id)s, %(user_id)s, %(body)s)
ON CONFLICT (message_id) DO NOTHING;

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
WHERE m.chat_id = %(chat_id)s AND m.id > %(after_id)s
  AND NOT EXISTS (SELECT 1 FROM memstore_vectors v
                  WHERE v.message_id = m.id AND v.model = %(model)s)
ORDER BY m.id
LIMIT %(limit)s;

-- name: vector_pending_of_user
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
WHERE m.user_id = %(user_id)s AND m.id > %(after_id)s
  AND NOT EXISTS (SELECT 1 FROM memstore_vectors v
                  WHERE v.message_id = m.id AND v.model = %(model)s)
ORDER BY m.id
LIMIT %(limit)s;

-- name: vector_pending_all
SELECT m.id, m.chat_id, m.user_id, m.role, m.content
FROM conversation_messages m
WHERE m.id > %(after_id)s
  AND NOT EXISTS (SELECT 1 FROM memstore_vectors v
                  WHERE v.message_id = m.id AND v.model = %(model)s)
ORDER BY m.id
LIMIT %(limit)s;

-- name: vector_store
INSERT INTO memstore_vectors (message_id, model, chat_id, user_id, dim, vector)
VALUES (%(message_id)s, %(model)s, %(chat_id)s, %(user_id)s, %(dim)s, %(vector)s)
ON CONFLICT (message_id, model) DO NOTHING;

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
WHERE id = ANY(%(ids)s::bigint[]);

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
-- DO NOTHING: two reads may count the same row at once; the count is the same.
INSERT INTO memstore_tokens (message_id, counter, chat_id, tokens)
VALUES (%(message_id)s, %(counter)s, %(chat_id)s, %(tokens)s)
ON CONFLICT (message_id, counter) DO NOTHING;
