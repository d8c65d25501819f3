-- +goose Up
CREATE TABLE orders (
  id BIGSERIAL PRIMARY KEY,
  total NUMERIC(10, 2) NOT NULL DEFAULT 0,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- +goose StatementBegin
CREATE FUNCTION orders_touch() RETURNS trigger AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION orders_touch();

-- +goose Down
DROP TRIGGER orders_touch ON orders;
DROP FUNCTION orders_touch();
DROP TABLE orders;
