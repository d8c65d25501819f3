ALTER TABLE users DROP COLUMN reset_token;
