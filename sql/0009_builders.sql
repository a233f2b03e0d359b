-- builders: what made a deployment's Containerfile, as the agent reports it with `building`:
-- 'containerfile' (the repository's own) or the detected stack ('bun', 'node', 'static', 'python', 'go').
ALTER TABLE deployments ADD COLUMN builder text;
