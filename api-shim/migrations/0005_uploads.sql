-- Uploads through the shim (api-shim/src/uploads): one row per tus upload, written before any byte
-- is accepted. A row's length is reserved against its tenant's quota from creation until the row
-- is deleted (terminated by the client, or removed with the job that used it), so the quota holds
-- while uploads are under way, not only once they finish.
CREATE TABLE uploads (
  -- 32 random hex characters: the id in /api/v1/uploads/:id and in a job's `upload:` episode.
  id           text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
  tenant       text NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
  -- The S3 key of the file: <prefix><namespace>/<id> in the installation's upload bucket.
  object_key   text NOT NULL,
  length       bigint NOT NULL CHECK (length >= 0),
  filename     text,
  created_by   bigint REFERENCES users (id) ON DELETE SET NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);
CREATE INDEX uploads_tenant ON uploads (tenant, created_at DESC);

-- A tenant's own quota; NULL takes the installation's (REEL_UPLOAD_QUOTA_BYTES).
ALTER TABLE tenants ADD COLUMN upload_quota_bytes bigint CHECK (upload_quota_bytes >= 0);
