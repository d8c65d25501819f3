-- +goose Up
CREATE TABLE items (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  qty INT NOT NULL DEFAULT 0,
  changes INT NOT NULL DEFAULT 0
);

-- +goose StatementBegin
CREATE TRIGGER items_count BEFORE UPDATE ON items FOR EACH ROW
BEGIN
  SET NEW.changes = OLD.changes + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER items_count;
DROP TABLE items;
