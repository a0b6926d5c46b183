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
-- adds to message_count and never moves updated_at backwards.
INSERT INTO chat_sessions (chat_id, user_id, title, created_at, updated_at, message_count)
VALUES (:chat_id, :user_id, NULL, :created_at, :updated_at, :message_count)
ON CONFLICT (chat_id) DO UPDATE SET
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
