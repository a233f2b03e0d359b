-- Alerts and notifications: notification channels (their secrets encrypted),
-- alert rules (global or per project) and the channels each notifies, alerts
-- (at most one open per rule and target), and the durable delivery outbox.

CREATE TABLE notification_channels (
  id          uuid PRIMARY KEY,               -- chosen by the app: it is the AAD of secret_enc
  owner_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name        text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('webhook', 'slack', 'email')),
  -- Not secret: the webhook URL, the e-mail recipients.
  config      jsonb NOT NULL DEFAULT '{}',
  -- Secret: the webhook's HMAC key, or the Slack incoming-webhook URL (which is its credential).
  -- AES-256-GCM, HKDF purpose "webhook", AAD = id.
  secret_enc  text,
  enabled     boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_channels_owner ON notification_channels (owner_id);

CREATE TABLE alert_rules (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- NULL: a global rule (admins), applying to every project and worker.
  project_id     uuid REFERENCES projects(id) ON DELETE CASCADE,
  created_by     uuid REFERENCES users(id) ON DELETE SET NULL,
  name           text NOT NULL,
  kind           text NOT NULL CHECK (kind IN ('cpu_high', 'memory_high', 'crash_loop', 'deployment_failed', 'worker_offline', 'worker_disk_high', 'domain_lost')),
  -- Per kind: threshold_percent (cpu_high, memory_high, worker_disk_high); restarts and window_minutes (crash_loop).
  params         jsonb NOT NULL DEFAULT '{}',
  -- The condition must hold this long before the alert fires (pending until then).
  for_minutes    double precision NOT NULL DEFAULT 0 CHECK (for_minutes >= 0 AND for_minutes <= 1440),
  enabled        boolean NOT NULL DEFAULT true,
  silenced_until timestamptz,
  builtin        boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CHECK (project_id IS NULL OR kind NOT IN ('worker_offline', 'worker_disk_high'))
);
CREATE INDEX alert_rules_project ON alert_rules (project_id) WHERE project_id IS NOT NULL;

CREATE TABLE alert_rule_channels (
  rule_id    uuid NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
  channel_id uuid NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
  PRIMARY KEY (rule_id, channel_id)
);
CREATE INDEX alert_rule_channels_channel ON alert_rule_channels (channel_id);

CREATE TABLE alerts (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  rule_id        uuid NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
  target_type    text NOT NULL CHECK (target_type IN ('deployment', 'project', 'worker', 'domain')),
  target_id      uuid NOT NULL,
  target_name    text NOT NULL,
  -- The project the target belongs to (who may see the alert); NULL for workers or once the project is gone.
  project_id     uuid REFERENCES projects(id) ON DELETE SET NULL,
  status         text NOT NULL CHECK (status IN ('pending', 'firing', 'resolved')),
  value          double precision,
  summary        text NOT NULL,
  detail         jsonb NOT NULL DEFAULT '{}',
  first_seen     timestamptz NOT NULL DEFAULT now(),
  last_seen      timestamptz NOT NULL DEFAULT now(),
  fired_at       timestamptz,
  resolved_at    timestamptz,
  acked_at       timestamptz,
  acked_by       uuid REFERENCES users(id) ON DELETE SET NULL,
  silenced_until timestamptz
);
-- Deduplication: one open alert per rule and target; a later recurrence is a new row.
CREATE UNIQUE INDEX alerts_open ON alerts (rule_id, target_type, target_id) WHERE status IN ('pending', 'firing');
CREATE INDEX alerts_recent ON alerts (last_seen DESC);
CREATE INDEX alerts_project ON alerts (project_id, last_seen DESC) WHERE project_id IS NOT NULL;

-- One row per notification to send: written in the same transaction as the alert
-- transition it announces, so a restart loses none and none is written twice.
CREATE TABLE notification_outbox (
  id               uuid PRIMARY KEY,
  -- alert:<alert id>:<firing|resolved>:<channel id>, or test:<uuid>
  idempotency_key  text NOT NULL UNIQUE,
  channel_id       uuid NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
  alert_id         uuid REFERENCES alerts(id) ON DELETE SET NULL,
  event            text NOT NULL CHECK (event IN ('alert.firing', 'alert.resolved', 'test')),
  payload          jsonb NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  -- A sender's claim; past it, a row still 'sending' (its sender died) is claimable again.
  locked_until     timestamptz,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  give_up_at       timestamptz NOT NULL DEFAULT now() + interval '24 hours',
  delivered_at     timestamptz
);
CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX notification_outbox_channel ON notification_outbox (channel_id, created_at DESC);

-- Built-in global rules (no channels until an admin attaches some).
INSERT INTO alert_rules (name, kind, params, for_minutes, builtin) VALUES
  ('Crash loop', 'crash_loop', '{"restarts": 3, "window_minutes": 5}', 0, true),
  ('Deployment failed', 'deployment_failed', '{}', 0, true),
  ('Domain verification lost', 'domain_lost', '{}', 0, true),
  ('Worker offline', 'worker_offline', '{}', 1, true);
