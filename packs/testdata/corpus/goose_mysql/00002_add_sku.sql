-- +goose Up
ALTER TABLE items ADD COLUMN sku VARCHAR(40);
CREATE INDEX items_sku ON items (sku);
-- +goose Down
DROP INDEX items_sku ON items;
ALTER TABLE items DROP COLUMN sku;
