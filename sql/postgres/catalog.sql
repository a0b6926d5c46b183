-- What `doctor` reads about the database and the tables, for PostgreSQL.
-- Table and index names are looked up in the session's search_path (to_regclass).

-- name: server_encoding
SELECT current_setting('server_encoding');

-- name: table_columns
-- Name, type, and whether the column's collation compares exactly (a nondeterministic
-- one would merge ids that differ in case or accents). No rows: no such table.
SELECT a.attname, format_type(a.atttypid, a.atttypmod), COALESCE(c.collisdeterministic, true)
FROM pg_attribute a LEFT JOIN pg_collation c ON c.oid = a.attcollation
WHERE a.attrelid = to_regclass(%(table)s) AND a.attnum > 0 AND NOT a.attisdropped;

-- name: index_exists
SELECT to_regclass(%(name)s) IS NOT NULL;
