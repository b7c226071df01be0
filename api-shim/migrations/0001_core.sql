-- Reel's own tables: what Kubernetes should not hold. Webhook tables come in 0002 (webhooks/).

CREATE TABLE tenants (
  name       text PRIMARY KEY CHECK (name ~ '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'),
  namespace  text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- JWT users are found by (issuer, subject); users made for API keys only have issuer 'reel'.
  issuer     text NOT NULL,
  subject    text NOT NULL,
  name       text NOT NULL,
  role       text NOT NULL DEFAULT 'viewer' CHECK (role IN ('admin', 'operator', 'viewer')),
  tenant     text REFERENCES tenants (name),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (issuer, subject)
);

CREATE TABLE api_keys (
  -- The 8-character public id inside reel_<id>_<secret>; the key itself is never stored.
  id           text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9]{8}$'),
  user_id      bigint NOT NULL REFERENCES users (id),
  name         text NOT NULL,
  -- SHA-256 of the whole key.
  hash         bytea NOT NULL CHECK (length(hash) = 32),
  scopes       text[] NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- Append-only: who did what, when, from where, and how it ended.
CREATE TABLE audit_log (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT now(),
  actor_id  bigint,
  actor     text NOT NULL,
  tenant    text,
  action    text NOT NULL,
  target    text,
  ip        text,
  result    text NOT NULL CHECK (result IN ('ok', 'denied', 'failed')),
  detail    jsonb NOT NULL DEFAULT '{}',
  trace_id  text
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant, at);

-- A trigger rather than REVOKE alone: it holds for the table's owner too (the shim's own role).
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;

-- Finished jobs, kept after their VideoJobs are garbage-collected. One row per (namespace, name):
-- a name used again replaces the older run's row.
CREATE TABLE job_history (
  namespace   text NOT NULL,
  name        text NOT NULL,
  uid         text,
  created_at  timestamptz NOT NULL,
  finished_at timestamptz,
  deleted_at  timestamptz,
  phase       text,
  tags        text[] NOT NULL DEFAULT '{}',
  trace_id    text,
  created_by  text,
  spec        jsonb NOT NULL,
  status      jsonb,
  PRIMARY KEY (namespace, name)
);
CREATE INDEX job_history_list ON job_history (namespace, created_at DESC, name DESC);
