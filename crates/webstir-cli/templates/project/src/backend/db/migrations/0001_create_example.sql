-- The part above the `-- migrate:down` line is applied by `webstir migrate`;
-- the part below it is run by `webstir migrate --down`.
CREATE TABLE example_records (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    payload TEXT NOT NULL
);

-- migrate:down
DROP TABLE example_records;
