-- DER IQ: roles, schemas and the signed scope that row-level security reads.
--
-- Roles (cluster-wide, created once):
--   deriq_owner       NOLOGIN. Owns the schemas, tables and functions. Not BYPASSRLS.
--   deriq_gateway     LOGIN. Writes the audit log, reads and writes the regulatory corpus.
--   deriq_query_full  LOGIN. Runs guarded SQL for full-tier roles. Owns nothing, NOBYPASSRLS,
--                     member of no role, SELECT on business tables only.
--   deriq_query_deid  LOGIN. The same for the de-identified tier: no grant on PII columns.
--   deriq_replicator  LOGIN REPLICATION. Streams WAL to the read replicas.
-- Passwords are set outside migrations (`deriq db up`, or by the operator in production).

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['deriq_owner'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS', r);
        END IF;
    END LOOP;
    FOREACH r IN ARRAY ARRAY['deriq_gateway', 'deriq_query_full', 'deriq_query_deid'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS NOREPLICATION', r);
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'deriq_replicator') THEN
        CREATE ROLE deriq_replicator LOGIN REPLICATION NOSUPERUSER NOBYPASSRLS;
    END IF;
END
$$;

-- The migrating login must be able to act as the owner.
DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'deriq_owner', 'MEMBER') THEN
        EXECUTE format('GRANT deriq_owner TO %I', current_user);
    END IF;
END
$$;

-- The query roles must stay members of nothing, with defaults that bound every statement.
ALTER ROLE deriq_query_full SET statement_timeout = '5s';
ALTER ROLE deriq_query_full SET lock_timeout = '1s';
ALTER ROLE deriq_query_full SET idle_in_transaction_session_timeout = '15s';
ALTER ROLE deriq_query_full SET search_path = compliance;
ALTER ROLE deriq_query_full SET default_transaction_read_only = on;
ALTER ROLE deriq_query_deid SET statement_timeout = '5s';
ALTER ROLE deriq_query_deid SET lock_timeout = '1s';
ALTER ROLE deriq_query_deid SET idle_in_transaction_session_timeout = '15s';
ALTER ROLE deriq_query_deid SET search_path = compliance;
ALTER ROLE deriq_query_deid SET default_transaction_read_only = on;
ALTER ROLE deriq_gateway SET search_path = deriq;
ALTER ROLE deriq_gateway SET statement_timeout = '30s';

-- temp_file_limit can only be set by a superuser; managed services may refuse it.
DO $$
BEGIN
    ALTER ROLE deriq_query_full SET temp_file_limit = '256MB';
    ALTER ROLE deriq_query_deid SET temp_file_limit = '256MB';
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'temp_file_limit not set for the query roles: needs a superuser';
END
$$;

CREATE EXTENSION IF NOT EXISTS vector;

CREATE SCHEMA compliance AUTHORIZATION deriq_owner;   -- business tables (the only schema the query roles see)
CREATE SCHEMA deriq AUTHORIZATION deriq_owner;        -- gateway-internal: audit log, regulatory corpus
CREATE SCHEMA deriq_sec AUTHORIZATION deriq_owner;    -- scope verification used by RLS policies

REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA compliance, deriq, deriq_sec FROM PUBLIC;
GRANT USAGE ON SCHEMA compliance TO deriq_query_full, deriq_query_deid, deriq_gateway;
GRANT USAGE ON SCHEMA deriq_sec TO deriq_query_full, deriq_query_deid;
GRANT USAGE ON SCHEMA deriq TO deriq_gateway;
-- pgvector's type and operators live in public; the gateway needs them for the corpus.
GRANT USAGE ON SCHEMA public TO deriq_gateway;

SET LOCAL ROLE deriq_owner;

-- The HMAC key that signs scopes, stored as the two padded SHA-256 blocks (key XOR ipad,
-- key XOR opad) so that HMAC-SHA256 can be computed with the built-in sha256().
-- Only the owner can read it; `deriq db up` / `deriq db migrate` installs the key.
CREATE TABLE deriq_sec.scope_key (
    id      integer PRIMARY KEY CHECK (id = 1),
    k_ipad  bytea NOT NULL CHECK (length(k_ipad) = 64),
    k_opad  bytea NOT NULL CHECK (length(k_opad) = 64),
    set_at  timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON deriq_sec.scope_key FROM PUBLIC;

-- The verified scope of the current transaction, or NULL when the setting is missing,
-- malformed, badly signed, expired or issued for another login role.
-- The setting `deriq.scope` is `<hex of JSON claims>.<hex of HMAC-SHA256(key, hex of claims)>`,
-- set with set_config(..., true) by the gateway inside the query's transaction.
-- Claims: {"t": [tenant uuids], "l": [location uuids] | null, "e": employee uuid | null,
--          "r": login role name, "x": expiry (unix seconds)}.
CREATE FUNCTION deriq_sec.verified_scope() RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    raw     text := current_setting('deriq.scope', true);
    payload text;
    sig     text;
    k       deriq_sec.scope_key%ROWTYPE;
    claims  jsonb;
BEGIN
    IF raw IS NULL OR raw = '' OR position('.' IN raw) = 0 THEN
        RETURN NULL;
    END IF;
    payload := split_part(raw, '.', 1);
    sig := split_part(raw, '.', 2);
    SELECT * INTO k FROM deriq_sec.scope_key WHERE id = 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF encode(sha256(k.k_opad || sha256(k.k_ipad || convert_to(payload, 'UTF8'))), 'hex') <> lower(sig) THEN
        RETURN NULL;
    END IF;
    claims := convert_from(decode(payload, 'hex'), 'UTF8')::jsonb;
    IF (claims ->> 'x')::bigint < extract(epoch FROM clock_timestamp()) THEN
        RETURN NULL;
    END IF;
    IF claims ->> 'r' IS DISTINCT FROM session_user::text THEN
        RETURN NULL;
    END IF;
    RETURN claims;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

-- Tenant ids the caller may see; empty when the scope is missing or invalid.
CREATE FUNCTION deriq_sec.scope_tenants() RETURNS uuid[]
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(t::uuid), '{}'::uuid[])
    FROM jsonb_array_elements_text(coalesce(deriq_sec.verified_scope() -> 't', '[]'::jsonb)) AS t
$$;

-- Whether the caller sees every location of its tenants (true), or only scope_locations().
CREATE FUNCTION deriq_sec.scope_all_locations() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(jsonb_typeof(s -> 'l') = 'null' OR NOT (s ? 'l'), false)
    FROM (SELECT deriq_sec.verified_scope() AS s) v
$$;

-- The location ids of a location-scoped caller.
CREATE FUNCTION deriq_sec.scope_locations() RETURNS uuid[]
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(l::uuid), '{}'::uuid[])
    FROM jsonb_array_elements_text(
        CASE WHEN jsonb_typeof(deriq_sec.verified_scope() -> 'l') = 'array'
             THEN deriq_sec.verified_scope() -> 'l' ELSE '[]'::jsonb END) AS l
$$;

-- The employee id of a caller limited to its own record, or NULL.
CREATE FUNCTION deriq_sec.scope_employee() RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT nullif(deriq_sec.verified_scope() ->> 'e', '')::uuid
$$;

REVOKE ALL ON FUNCTION deriq_sec.verified_scope() FROM PUBLIC;
REVOKE ALL ON FUNCTION deriq_sec.scope_tenants(), deriq_sec.scope_all_locations(),
    deriq_sec.scope_locations(), deriq_sec.scope_employee() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION deriq_sec.verified_scope(), deriq_sec.scope_tenants(),
    deriq_sec.scope_all_locations(), deriq_sec.scope_locations(), deriq_sec.scope_employee()
    TO deriq_query_full, deriq_query_deid;

RESET ROLE;
