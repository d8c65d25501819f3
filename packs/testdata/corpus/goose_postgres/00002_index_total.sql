-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY orders_total ON orders (total);

-- +goose Down
DROP INDEX CONCURRENTLY orders_total;
