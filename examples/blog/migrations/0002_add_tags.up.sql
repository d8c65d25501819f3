CREATE TABLE tags (
    post_id INTEGER NOT NULL,
    tag VARCHAR(50) NOT NULL,
    PRIMARY KEY (post_id, tag)
);
CREATE INDEX tags_by_tag ON tags (tag);
