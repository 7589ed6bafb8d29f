-- Single-use account links (issue 21): the first-admin setup link, email
-- verification, password reset and invitations. Only the SHA-256 of a
-- link's token is stored; using a link deletes its row in the same
-- statement that checks it, so a link works once.
CREATE TABLE account_tokens (
    id         TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('setup', 'verify-email', 'reset-password', 'invite')),
    -- The account a verification or reset link is for.
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    -- The address a verification link proves (a changed address needs a new link).
    email      TEXT,
    -- Who made an invitation.
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX account_tokens_purpose_idx ON account_tokens (purpose, created_at);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id);
CREATE INDEX account_tokens_expires_idx ON account_tokens (expires_at);

-- Sign-ins with GitHub or an OpenID Connect provider: `subject` is the
-- provider's stable id of the person (never their address, which changes).
CREATE TABLE external_accounts (
    provider   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX external_accounts_user_idx ON external_accounts (user_id);

-- External logins under way: the SHA-256 of `state`, the PKCE verifier and
-- the OIDC nonce, for 10 minutes; the callback deletes the row it uses.
CREATE TABLE external_logins (
    state_hash    TEXT PRIMARY KEY NOT NULL,
    provider      TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    redirect_to   TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX external_logins_expires_idx ON external_logins (expires_at);
