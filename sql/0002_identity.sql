-- Identity: cookie sessions, pending second-factor logins, TOTP and recovery
-- codes, OIDC identities and flows, passkeys, invites, and the audit trail.

ALTER TABLE users
  ADD COLUMN display_name      text,
  ADD COLUMN totp_secret_enc   text,          -- AES-GCM, HKDF purpose "totp"; set at enrol
  ADD COLUMN totp_enabled      boolean NOT NULL DEFAULT false,
  ADD COLUMN totp_last_step    bigint,        -- last accepted time step: a code works once
  ADD COLUMN second_factor_failures integer NOT NULL DEFAULT 0,
  ADD COLUMN second_factor_locked_until timestamptz,
  ADD COLUMN updated_at        timestamptz NOT NULL DEFAULT now();

CREATE TABLE sessions (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash   text NOT NULL UNIQUE,          -- sha256 of the cookie value; the value itself is never stored
  ip           text,
  user_agent   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL           -- absolute lifetime
);
CREATE INDEX sessions_user ON sessions (user_id);

-- A password (or OIDC) step passed, the second factor not yet.
CREATE TABLE login_challenges (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash  text NOT NULL UNIQUE,
  ip          text,
  user_agent  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);

CREATE TABLE recovery_codes (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash  text NOT NULL,
  used_at    timestamptz
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

CREATE TABLE oidc_identities (
  provider   text NOT NULL,
  subject    text NOT NULL,
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  email      text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, subject)
);

-- One row per started OIDC sign-in; deleted when the callback uses it (single use).
CREATE TABLE oidc_flows (
  state_hash     text PRIMARY KEY,
  provider       text NOT NULL,
  nonce          text NOT NULL,
  code_verifier  text NOT NULL,
  link_user_id   uuid REFERENCES users(id) ON DELETE CASCADE,
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL
);

CREATE TABLE passkeys (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id        uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  credential_id  text NOT NULL UNIQUE,        -- base64url
  public_key     text NOT NULL,               -- base64url COSE key
  counter        bigint NOT NULL DEFAULT 0,
  transports     text[] NOT NULL DEFAULT '{}',
  name           text NOT NULL DEFAULT 'passkey',
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_used_at   timestamptz
);
CREATE INDEX passkeys_user ON passkeys (user_id);

CREATE TABLE webauthn_challenges (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid REFERENCES users(id) ON DELETE CASCADE,
  challenge   text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('register', 'authenticate')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);

CREATE TABLE invites (
  token_hash  text PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz
);

-- Append-only: the code has no UPDATE or DELETE of this table.
CREATE TABLE audit_events (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor_id    uuid,
  actor_email text,
  action      text NOT NULL,
  target_type text,
  target_id   text,
  ip          text,
  user_agent  text,
  outcome     text NOT NULL CHECK (outcome IN ('success', 'failure')),
  detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at ON audit_events (at DESC, id DESC);
CREATE INDEX audit_events_actor ON audit_events (actor_id, id DESC);
CREATE INDEX audit_events_action ON audit_events (action, id DESC);
