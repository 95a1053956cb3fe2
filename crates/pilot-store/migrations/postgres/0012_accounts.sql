-- Dashboard accounts: people who sign in, their workspaces, their sessions, and the
-- single-use links that set a password. Tokens are kept as SHA-256 digests only.
CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT,
    disabled_at   BIGINT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE memberships (
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    role         TEXT    NOT NULL CHECK (role IN ('owner', 'member')),
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, workspace_id)
);

CREATE TABLE sessions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_digest TEXT    NOT NULL UNIQUE,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE user_links (
    token_digest TEXT    PRIMARY KEY,
    purpose      TEXT    NOT NULL CHECK (purpose IN ('setup', 'reset')),
    user_id      BIGINT REFERENCES users (id) ON DELETE CASCADE,
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email        TEXT,
    role         TEXT    NOT NULL CHECK (role IN ('owner', 'member')),
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT,
    created_at   BIGINT NOT NULL
);

-- NULL for API keys; a user's hidden dashboard key (one per user, workspace and
-- environment) otherwise. Those are never listed and never authenticate the API.
ALTER TABLE api_keys ADD COLUMN user_id BIGINT REFERENCES users (id) ON DELETE CASCADE;

CREATE UNIQUE INDEX api_keys_dashboard ON api_keys (user_id, workspace_id, environment)
    WHERE user_id IS NOT NULL;
