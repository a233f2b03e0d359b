-- Foundation schema: users and their API tokens, projects with encrypted env
-- vars, workers, deployments with one timestamp per state, and their logs.

CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL UNIQUE CHECK (email = lower(email)),
  password_hash text,
  role          text NOT NULL CHECK (role IN ('admin', 'member')),
  disabled      boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         text NOT NULL,
  token_hash   text NOT NULL UNIQUE,
  scope        text NOT NULL DEFAULT 'admin' CHECK (scope IN ('read', 'write', 'admin')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  expires_at   timestamptz
);

CREATE TABLE workers (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name           text NOT NULL UNIQUE,
  api_key_hash   text NOT NULL,
  capacity_mb    integer NOT NULL CHECK (capacity_mb > 0),
  allocated_mb   integer NOT NULL DEFAULT 0 CHECK (allocated_mb >= 0),
  address        text NOT NULL DEFAULT '127.0.0.1',
  status         text NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'offline')),
  last_heartbeat timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  CHECK (allocated_mb <= capacity_mb)
);

CREATE TABLE projects (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_id              uuid NOT NULL REFERENCES users(id),
  name                  text NOT NULL UNIQUE,
  repo_url              text NOT NULL,
  branch                text NOT NULL DEFAULT 'main',
  dockerfile            text,
  port                  integer NOT NULL DEFAULT 8080,
  memory_mb             integer NOT NULL DEFAULT 256,
  cpus                  double precision NOT NULL DEFAULT 0.5,
  health_path           text NOT NULL DEFAULT '/',
  current_deployment_id uuid,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_owner ON projects (owner_id);

CREATE TABLE env_vars (
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  key         text NOT NULL,
  value_enc   text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, key)
);

CREATE TABLE deployments (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id     uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  status         text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'building', 'starting', 'running', 'failed', 'stopped', 'superseded')),
  worker_id      uuid REFERENCES workers(id) ON DELETE SET NULL,
  -- Memory held on worker_id for this deployment; 0 once released.
  reserved_mb    integer NOT NULL DEFAULT 0 CHECK (reserved_mb >= 0),
  commit_sha     text,
  host_port      integer,
  container_id   text,
  error          text,
  pending_reason text,
  created_by     uuid REFERENCES users(id) ON DELETE SET NULL,
  queued_at      timestamptz NOT NULL DEFAULT now(),
  building_at    timestamptz,
  starting_at    timestamptz,
  running_at     timestamptz,
  failed_at      timestamptz,
  stopped_at     timestamptz,
  superseded_at  timestamptz
);
CREATE INDEX deployments_project ON deployments (project_id, queued_at DESC);
CREATE INDEX deployments_worker ON deployments (worker_id) WHERE worker_id IS NOT NULL;
CREATE INDEX deployments_queued ON deployments (queued_at) WHERE status = 'queued';

ALTER TABLE projects
  ADD CONSTRAINT projects_current_deployment
  FOREIGN KEY (current_deployment_id) REFERENCES deployments(id) ON DELETE SET NULL;

CREATE TABLE deployment_logs (
  id            bigserial PRIMARY KEY,
  deployment_id uuid NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
  stream        text NOT NULL CHECK (stream IN ('build', 'runtime', 'system')),
  line          text NOT NULL,
  at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deployment_logs_deployment ON deployment_logs (deployment_id, id);
