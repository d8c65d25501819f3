-- +goose Up
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, edits INTEGER NOT NULL DEFAULT 0);
-- +goose StatementBegin
CREATE TRIGGER notes_edit AFTER UPDATE OF body ON notes
BEGIN
  UPDATE notes SET edits = edits + 1 WHERE id = NEW.id;
END;
-- +goose StatementEnd
-- +goose Down
DROP TRIGGER notes_edit;
DROP TABLE notes;
