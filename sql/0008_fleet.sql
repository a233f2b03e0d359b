-- Fleet: placement epochs (fencing), failover/drain moves, flapping workers.

ALTER TABLE deployments
  ADD COLUMN placement_epoch integer NOT NULL DEFAULT 0,
  -- The deployment that is taking this one's place on another worker (failover or drain).
  ADD COLUMN moving_to uuid REFERENCES deployments(id) ON DELETE SET NULL,
  -- Set on a move: the deployment this one replaces, and why.
  ADD COLUMN moved_from uuid REFERENCES deployments(id) ON DELETE SET NULL,
  ADD COLUMN move_reason text CHECK (move_reason IN ('failover', 'drain'));

ALTER TABLE workers
  ADD COLUMN draining boolean NOT NULL DEFAULT false,
  ADD COLUMN delete_when_empty boolean NOT NULL DEFAULT false,
  ADD COLUMN online_since timestamptz,
  ADD COLUMN last_offline_at timestamptz,
  -- Offline transitions within the flap window; a flapping worker gets no new placements until stable.
  ADD COLUMN flap_count integer NOT NULL DEFAULT 0;
