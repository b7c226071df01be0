-- Every shim replica keeps a verified credential for a few seconds (api-shim/src/auth/authenticate.ts).
-- These triggers tell all of them, through NOTIFY reel_auth, when what a credential may do changes,
-- so each forgets it at once: a key revoked, re-scoped or deleted; a user's role or tenant changed;
-- a tenant mapped to another namespace. NOTIFY is sent when the transaction commits.
-- `UPDATE OF` names the columns that matter: recording a key's last use does not notify.
CREATE FUNCTION reel_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'api_keys' THEN
    PERFORM pg_notify('reel_auth', json_build_object('key', OLD.id)::text);
  ELSIF TG_TABLE_NAME = 'users' THEN
    PERFORM pg_notify('reel_auth', json_build_object('user', OLD.id)::text);
  ELSE
    PERFORM pg_notify('reel_auth', json_build_object('all', true)::text);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER api_keys_auth_changed AFTER UPDATE OF revoked_at, scopes, user_id, hash OR DELETE ON api_keys
  FOR EACH ROW EXECUTE FUNCTION reel_auth_changed();
CREATE TRIGGER users_auth_changed AFTER UPDATE OF role, tenant OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION reel_auth_changed();
CREATE TRIGGER tenants_auth_changed AFTER UPDATE OF namespace OR DELETE ON tenants
  FOR EACH ROW EXECUTE FUNCTION reel_auth_changed();
