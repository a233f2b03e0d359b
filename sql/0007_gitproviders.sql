-- Linked git providers and push-to-deploy: a user's linked accounts (OAuth
-- tokens encrypted, purpose "git-token"), the link flows in progress, each
-- project's repository link and webhook (secret encrypted, purpose
-- "webhook-secret"), webhook deliveries seen (replay defence), commit statuses
-- to report back, and the branch a manual deploy asked for.

CREATE TABLE git_links (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id           uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  provider          text NOT NULL,           -- configured provider id: github, gitlab, bitbucket, codeberg, forgejo
  account_id        text NOT NULL,           -- the provider's id of the account
  account_login     text NOT NULL,
  access_token_enc  text NOT NULL,           -- AES-GCM, purpose "git-token", aad "<id>:access"
  refresh_token_enc text,                    -- AES-GCM, purpose "git-token", aad "<id>:refresh"
  expires_at        timestamptz,             -- of the access token; null = does not expire
  scopes            text,
  status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  revoked_reason    text,
  token_version     integer NOT NULL DEFAULT 0, -- bumped by every refresh (compare-and-swap)
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  last_used_at      timestamptz,
  UNIQUE (user_id, provider, account_id)
);
CREATE INDEX git_links_user ON git_links (user_id);
CREATE INDEX git_links_expiring ON git_links (expires_at) WHERE status = 'active' AND refresh_token_enc IS NOT NULL;

-- One row per started link; taken once by the callback. Bound to the session that started it.
CREATE TABLE git_link_flows (
  state_hash    text PRIMARY KEY,
  provider      text NOT NULL,
  user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  session_id    uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  code_verifier text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL
);

-- A project's repository at a provider (when linked) and its webhook.
CREATE TABLE project_git (
  project_id       uuid PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
  hook_id          uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(), -- the last path segment of the webhook URL
  secret_enc       text NOT NULL,            -- AES-GCM, purpose "webhook-secret", aad = hook_id
  link_id          uuid REFERENCES git_links(id) ON DELETE SET NULL,
  repo             text,                     -- the provider's full name (owner/name, group/sub/name)
  clone_url        text,                     -- the clone credential goes only to this URL
  provider_hook_id text,                     -- the webhook's id at the provider, when we created it
  hook_error       text,                     -- why creating it failed
  auto_deploy      boolean NOT NULL DEFAULT true,
  previews         boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX project_git_link ON project_git (link_id) WHERE link_id IS NOT NULL;

-- Deliveries already accepted, by the provider's delivery id: a replay is refused.
CREATE TABLE git_webhook_deliveries (
  hook_id     uuid NOT NULL REFERENCES project_git(hook_id) ON DELETE CASCADE,
  delivery_id text NOT NULL,
  event       text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (hook_id, delivery_id)
);
CREATE INDEX git_webhook_deliveries_at ON git_webhook_deliveries (received_at);

-- The commit status each deployment of a linked project should show at the provider, and what was sent.
CREATE TABLE git_commit_statuses (
  deployment_id   uuid PRIMARY KEY REFERENCES deployments(id) ON DELETE CASCADE,
  link_id         uuid NOT NULL REFERENCES git_links(id) ON DELETE CASCADE,
  repo            text NOT NULL,
  sha             text NOT NULL CHECK (sha ~ '^([0-9a-f]{40}|[0-9a-f]{64})$'),
  wanted          text NOT NULL CHECK (wanted IN ('pending', 'success', 'failure')),
  sent            text CHECK (sent IN ('pending', 'success', 'failure')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error      text,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX git_commit_statuses_due ON git_commit_statuses (next_attempt_at) WHERE sent IS DISTINCT FROM wanted;

-- Preview deployments: each open pull/merge request of a project with previews on gets a
-- project of its own, <project>-pr-<n>, deployed at the request's head commit and
-- deleted (containers and route with it) when the request is closed or merged.
CREATE TABLE git_previews (
  project_id         uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  pr_number          integer NOT NULL CHECK (pr_number > 0),
  preview_project_id uuid NOT NULL UNIQUE REFERENCES projects(id) ON DELETE CASCADE,
  head_sha           text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, pr_number)
);

-- A manual deploy of another branch than the project's: null = the project's branch.
ALTER TABLE deployments ADD COLUMN requested_branch text;
