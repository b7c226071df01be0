-- job_history becomes one row per VideoJob uid instead of one per (namespace, name): a job deleted
-- and created again under the same name is a new object (a new uid) and keeps its own history; the
-- older run's row is no longer overwritten by the newer one.
--
-- Rows written before this migration all carry the uid of their VideoJob (historyFromVideoJob sets
-- it from metadata.uid); a row without one (an object the apiserver served without a uid, which
-- real apiservers never do) gets a stable stand-in, so it stays listed and addressable.
UPDATE job_history
  SET uid = 'legacy-' || md5(namespace || '/' || name || '/' || created_at::text)
  WHERE uid IS NULL;

ALTER TABLE job_history DROP CONSTRAINT job_history_pkey;
ALTER TABLE job_history ALTER COLUMN uid SET NOT NULL;
ALTER TABLE job_history ADD CONSTRAINT job_history_pkey PRIMARY KEY (uid);

-- Listings page in (created_at DESC, name DESC, uid DESC) order: uid breaks the tie between two
-- generations of one name created in the same second (creationTimestamp has second precision);
-- bytewise order, the order the shim sorts live jobs in before merging them with these rows.
DROP INDEX job_history_list;
CREATE INDEX job_history_list ON job_history (namespace, created_at DESC, name COLLATE "C" DESC, uid COLLATE "C" DESC);
-- GET /api/v1/jobs/:name when no live VideoJob has the name: the newest run of that name. Two runs
-- can share a creation second; a run's row is first written when it finishes or is deleted, and a
-- name is free again only after its VideoJob is deleted, so the order rows were first written in is
-- the order of the runs: row_seq records it (existing rows are numbered as they are read now).
ALTER TABLE job_history ADD COLUMN row_seq bigint GENERATED ALWAYS AS IDENTITY;
CREATE INDEX job_history_name ON job_history (namespace, name, created_at DESC, row_seq DESC);
