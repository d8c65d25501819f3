-- +goose NO TRANSACTION
-- +goose Up
CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
VACUUM;
-- +goose Down
DROP TABLE tags;
