-- Custom domains: a hostname claimed for a project, proven by a TXT record
-- _wisehosting.<hostname> holding the domain's token. Only verified domains
-- route. A hostname may be claimed (pending) by several projects, but only one
-- can hold it verified at a time.

CREATE TABLE domains (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id         uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  -- ASCII (punycode), lowercase, no trailing dot; '*.' prefix for a wildcard.
  hostname           text NOT NULL CHECK (hostname = lower(hostname) AND length(hostname) <= 253),
  status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified', 'failed')),
  verification_token text NOT NULL,
  last_error         text,
  last_checked_at    timestamptz,
  -- What the hostname was a CNAME of at the last check (informational).
  cname_target       text,
  -- Failed checks in the current retry window (drives the backoff).
  attempts           integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- When the background job checks next; NULL = no automatic check scheduled.
  next_check_at      timestamptz,
  -- Automatic retries of a domain that is not verified end at this time.
  retry_until        timestamptz,
  verified_at        timestamptz,
  -- A verified domain whose record is missing since then; unverified after the grace period.
  failing_since      timestamptz,
  created_by         uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, hostname),
  CHECK (status = 'verified' OR failing_since IS NULL)
);
CREATE UNIQUE INDEX domains_verified_hostname ON domains (hostname) WHERE status = 'verified';
CREATE INDEX domains_hostname ON domains (hostname);
CREATE INDEX domains_due ON domains (next_check_at) WHERE next_check_at IS NOT NULL;
