-- Metrics and usage: raw samples from the agents' `stats` messages (kept 24 h),
-- 1-minute rollups (14 days) and 1-hour rollups (400 days), written in the same
-- statement as the raw rows; and per-user quotas.
--
-- No foreign keys to deployments or projects: usage must outlive a deleted
-- project. project_id and owner_id are copied from the deployment at write time.

CREATE TABLE container_samples (
  deployment_id   uuid NOT NULL,
  at              timestamptz NOT NULL,
  project_id      uuid NOT NULL,
  owner_id        uuid NOT NULL,
  worker_id       uuid NOT NULL,
  cpu_percent     real NOT NULL,              -- 100 = one core
  mem_bytes       bigint NOT NULL,
  mem_limit_bytes bigint NOT NULL,
  net_rx_bytes    bigint NOT NULL,            -- cumulative since the container started
  net_tx_bytes    bigint NOT NULL,
  blk_read_bytes  bigint NOT NULL,
  blk_write_bytes bigint NOT NULL,
  restarts        integer NOT NULL,
  -- What this sample stands for, derived at write time from the previous sample:
  interval_s      real NOT NULL,              -- seconds since the previous sample (10 nominal)
  cpu_seconds     double precision NOT NULL,  -- cpu_percent / 100 × interval_s
  net_rx_delta    bigint NOT NULL,            -- bytes since the previous sample
  net_tx_delta    bigint NOT NULL,
  blk_read_delta  bigint NOT NULL,
  blk_write_delta bigint NOT NULL,
  PRIMARY KEY (deployment_id, at)
);
CREATE INDEX container_samples_project ON container_samples (project_id, at);
CREATE INDEX container_samples_worker ON container_samples (worker_id, at);
CREATE INDEX container_samples_at ON container_samples (at);

-- step_s 60: 1-minute buckets, 3600: 1-hour buckets. Sums and maxima only, so
-- a bucket can be added to by each batch (ON CONFLICT … + excluded.…).
CREATE TABLE container_rollups (
  step_s                 integer NOT NULL CHECK (step_s IN (60, 3600)),
  bucket                 timestamptz NOT NULL,
  deployment_id          uuid NOT NULL,
  project_id             uuid NOT NULL,
  owner_id               uuid NOT NULL,
  worker_id              uuid NOT NULL,
  samples                integer NOT NULL,
  seconds                double precision NOT NULL,  -- running container-seconds
  cpu_seconds            double precision NOT NULL,
  cpu_percent_max        real NOT NULL,
  mem_byte_seconds       double precision NOT NULL,  -- Σ mem_bytes × interval
  mem_limit_byte_seconds double precision NOT NULL,
  mem_bytes_max          bigint NOT NULL,
  mem_limit_bytes        bigint NOT NULL,            -- the largest limit seen
  net_rx_bytes           bigint NOT NULL,
  net_tx_bytes           bigint NOT NULL,
  blk_read_bytes         bigint NOT NULL,
  blk_write_bytes        bigint NOT NULL,
  restarts_max           integer NOT NULL,
  PRIMARY KEY (step_s, bucket, deployment_id)
);
CREATE INDEX container_rollups_project ON container_rollups (project_id, step_s, bucket);
CREATE INDEX container_rollups_owner ON container_rollups (owner_id, step_s, bucket);
CREATE INDEX container_rollups_age ON container_rollups (step_s, bucket);

CREATE TABLE host_samples (
  worker_id        uuid NOT NULL,
  at               timestamptz NOT NULL,
  cpu_percent      real NOT NULL,              -- of the whole host, 0–100
  mem_used_bytes   bigint NOT NULL,
  mem_total_bytes  bigint NOT NULL,
  disk_used_bytes  bigint NOT NULL,
  disk_total_bytes bigint NOT NULL,
  PRIMARY KEY (worker_id, at)
);
CREATE INDEX host_samples_at ON host_samples (at);

CREATE TABLE host_rollups (
  step_s           integer NOT NULL CHECK (step_s IN (60, 3600)),
  bucket           timestamptz NOT NULL,
  worker_id        uuid NOT NULL,
  samples          integer NOT NULL,
  cpu_percent_sum  double precision NOT NULL,
  cpu_percent_max  real NOT NULL,
  mem_used_sum     double precision NOT NULL,
  mem_used_max     bigint NOT NULL,
  mem_total_max    bigint NOT NULL,
  disk_used_sum    double precision NOT NULL,
  disk_used_max    bigint NOT NULL,
  disk_total_max   bigint NOT NULL,
  PRIMARY KEY (step_s, bucket, worker_id)
);
CREATE INDEX host_rollups_worker ON host_rollups (worker_id, step_s, bucket);
CREATE INDEX host_rollups_age ON host_rollups (step_s, bucket);

-- Admin-set limits per user; a missing row or a NULL column means no limit.
CREATE TABLE user_quotas (
  user_id               uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  max_projects          integer CHECK (max_projects >= 0),
  max_app_memory_mb     integer CHECK (max_app_memory_mb >= 0),
  max_total_memory_mb   integer CHECK (max_total_memory_mb >= 0),
  max_concurrent_builds integer CHECK (max_concurrent_builds >= 0),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  updated_by            uuid REFERENCES users(id) ON DELETE SET NULL
);

-- Quota checks count a user's builds in flight.
CREATE INDEX deployments_in_flight ON deployments (project_id) WHERE status IN ('queued', 'building');

-- Build time per deployment, kept for usage after its project is deleted.
-- Filled by a trigger on deployments' status changes, so the step timestamps
-- (which a later stop/start stamps again) don't matter.
CREATE TABLE build_usage (
  deployment_id uuid PRIMARY KEY,
  project_id    uuid NOT NULL,
  owner_id      uuid NOT NULL,
  started_at    timestamptz NOT NULL,
  finished_at   timestamptz            -- NULL while building
);
CREATE INDEX build_usage_started ON build_usage (started_at);
CREATE INDEX build_usage_owner ON build_usage (owner_id, started_at);
CREATE INDEX build_usage_open ON build_usage (deployment_id) WHERE finished_at IS NULL;

CREATE FUNCTION wh_track_build() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    UPDATE build_usage SET finished_at = now() WHERE deployment_id = OLD.id AND finished_at IS NULL;
    RETURN OLD;
  END IF;
  IF NEW.status = 'building' AND OLD.status IS DISTINCT FROM 'building' THEN
    INSERT INTO build_usage (deployment_id, project_id, owner_id, started_at)
    SELECT NEW.id, NEW.project_id, p.owner_id, coalesce(NEW.building_at, now()) FROM projects p WHERE p.id = NEW.project_id
    ON CONFLICT (deployment_id) DO NOTHING;
  ELSIF OLD.status = 'building' AND NEW.status IS DISTINCT FROM 'building' THEN
    UPDATE build_usage SET finished_at = now() WHERE deployment_id = NEW.id AND finished_at IS NULL;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER deployments_track_build AFTER UPDATE OF status ON deployments
  FOR EACH ROW EXECUTE FUNCTION wh_track_build();
CREATE TRIGGER deployments_track_build_delete AFTER DELETE ON deployments
  FOR EACH ROW EXECUTE FUNCTION wh_track_build();

-- Builds from before this migration.
INSERT INTO build_usage (deployment_id, project_id, owner_id, started_at, finished_at)
SELECT d.id, d.project_id, p.owner_id, d.building_at,
  CASE WHEN d.status = 'building' THEN NULL
       ELSE least(d.starting_at, d.running_at, d.failed_at, d.stopped_at, d.superseded_at) END
FROM deployments d JOIN projects p ON p.id = d.project_id
WHERE d.building_at IS NOT NULL;
