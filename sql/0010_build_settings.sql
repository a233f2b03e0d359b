-- build settings: a per-project build timeout (the agent kills a longer build and the deployment fails with
-- "build timed out"), and env vars marked as build-time (also passed to `podman build` as --build-arg).
ALTER TABLE projects ADD COLUMN build_timeout_s integer NOT NULL DEFAULT 900 CHECK (build_timeout_s BETWEEN 30 AND 7200);
ALTER TABLE env_vars ADD COLUMN build boolean NOT NULL DEFAULT false;
