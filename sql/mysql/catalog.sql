-- What memstore reads about the tables and the server on MySQL and MariaDB: the tables'
-- shape (checked before the first call works on them, shown by `memstore doctor`, and
-- what `memstore init` widens), and the settings that decide how a batch is sent.
-- Three small queries rather than one join: joining COLUMNS to TABLES costs MariaDB ~10x
-- more than both. The parameters are the four table names (named so that renaming the
-- tables, which rewrites the default names word by word, leaves them alone).

-- name: table_columns
SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_SET_NAME, COLLATION_NAME,
       DATETIME_PRECISION, CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE()
  AND TABLE_NAME IN (%(wm_table)s, %(messages_table)s, %(chats_table)s, %(status_table)s);

-- name: table_engines
SELECT TABLE_NAME, ENGINE, TABLE_COLLATION
FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE()
  AND TABLE_NAME IN (%(wm_table)s, %(messages_table)s, %(chats_table)s, %(status_table)s);

-- name: table_indexes
SELECT DISTINCT TABLE_NAME, INDEX_NAME
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE()
  AND TABLE_NAME IN (%(wm_table)s, %(messages_table)s, %(chats_table)s, %(status_table)s);

-- name: server_settings
-- max_allowed_packet bounds one multi-row INSERT; innodb_autoinc_lock_mode and
-- auto_increment_increment say whether (and how) its ids can be computed on MySQL.
SELECT @@max_allowed_packet, @@innodb_autoinc_lock_mode, @@auto_increment_increment;

-- name: insert_message_returning
-- MariaDB 10.5+: insert_message (queries.sql) with the ids of its rows returned. The
-- adapter repeats the VALUES tuple to insert a batch in one statement, as for
-- insert_message. (Here, not in queries.sql: every dialect's queries.sql has the same
-- names, and MySQL has no RETURNING.)
INSERT INTO conversation_messages (chat_id, user_id, role, content, timestamp)
VALUES (%(chat_id)s, %(user_id)s, %(role)s, %(content)s, %(timestamp)s)
RETURNING id;
