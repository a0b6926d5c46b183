-- pop_message on MySQL (8.x has no DELETE ... RETURNING; MariaDB 10.5+ uses
-- delete_newest_message in queries.sql). The adapter runs these in one transaction, after
-- uncount_newest_message (which locks the chat row first, as every pop and save does) and
-- before forget_deleted_status: the newest message is picked and locked (FOR UPDATE), read
-- and deleted by its id, so each message goes to exactly one caller, and a message saved
-- meanwhile is never the one deleted. The pick travels in a session variable, so the
-- transaction needs no Python between its statements.

-- name: pop_forget_pick
-- SELECT ... INTO leaves the variable as it was when no row matches.
SET @memstore_pop_id = NULL;

-- name: pop_pick_newest
SELECT id INTO @memstore_pop_id
FROM conversation_messages
WHERE chat_id = %(chat_id)s
ORDER BY timestamp DESC, id DESC
LIMIT 1
FOR UPDATE;

-- name: pop_read_picked
SELECT id, chat_id, user_id, role, content, timestamp
FROM conversation_messages
WHERE id = @memstore_pop_id;

-- name: pop_delete_picked
DELETE FROM conversation_messages WHERE id = @memstore_pop_id;
