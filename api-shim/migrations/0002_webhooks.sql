-- Webhook deliveries (Standard Webhooks, api-shim/src/webhooks/): one row per phase change of a job
-- with a webhook, kept until delivered or given up; the sender resumes pending rows after a restart.

CREATE TABLE webhook_deliveries (
  -- The webhook-id header (msg_<uuid>): the same on every attempt, so receivers can deduplicate.
  id               text PRIMARY KEY,
  -- namespace/name/uid/resourceVersion/previous->phase: every shim replica sees the same phase
  -- change from its watch; only the first to insert it sends it.
  event_key        text NOT NULL UNIQUE,
  namespace        text NOT NULL,
  job              text NOT NULL,
  event_type       text NOT NULL,
  -- Without userinfo, query or fragment (they may hold credentials); url_redacted says whether
  -- anything was dropped, in which case a resumed delivery takes the full URL from the job's spec.
  url              text NOT NULL,
  url_redacted     boolean NOT NULL DEFAULT false,
  -- The Secret holding the signing key (read at every attempt, so a rotation applies); never the key.
  secret_name      text,
  secret_key       text,
  -- The exact body, so every attempt sends the same bytes.
  payload          text NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  last_status_code integer,
  last_error       text,
  -- For a pending row: when it is due, or the end of the lease of the replica attempting it.
  next_attempt_at  timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_job ON webhook_deliveries (namespace, job, created_at);

CREATE TABLE webhook_delivery_attempts (
  delivery_id text NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt     integer NOT NULL,
  started_at  timestamptz NOT NULL,
  duration_ms integer NOT NULL,
  -- The endpoint's HTTP status; null when no answer came (timeout, network, egress denied).
  status_code integer,
  error       text,
  PRIMARY KEY (delivery_id, attempt)
);
