-- Deploy a chosen commit (rollback): the commit the deployment must build, null = the branch's head.
ALTER TABLE deployments ADD COLUMN requested_sha text CHECK (requested_sha ~ '^([0-9a-f]{40}|[0-9a-f]{64})$');
ALTER TABLE deployments ADD COLUMN redeploy_of uuid REFERENCES deployments(id) ON DELETE SET NULL;
