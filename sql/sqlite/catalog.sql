-- What `doctor` reads about the tables, for SQLite and libSQL.

-- name: table_columns
SELECT name FROM pragma_table_info(:table);

-- name: index_names
SELECT name FROM sqlite_master WHERE type = 'index';
