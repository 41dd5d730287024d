-- Accounts, seeded with two users' accounts (SQLite).
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    synced_at TEXT
);
CREATE INDEX accounts_owner_id_idx ON accounts (owner_id);
INSERT INTO accounts (owner_id, email, name) VALUES
    ('user-1', 'ada@example.com', 'Ada'),
    ('user-1', 'ada.work@example.com', 'Ada (work)'),
    ('user-2', 'grace@example.com', 'Grace');

-- migrate:down
DROP TABLE accounts;
