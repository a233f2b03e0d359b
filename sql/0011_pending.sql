-- A deployment no worker has room for waits in `pending` (with pending_reason) until room appears.
ALTER TABLE deployments DROP CONSTRAINT deployments_status_check;
ALTER TABLE deployments ADD CONSTRAINT deployments_status_check
  CHECK (status IN ('queued', 'pending', 'building', 'starting', 'running', 'failed', 'stopped', 'superseded'));
