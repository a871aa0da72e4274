-- DER IQ: separate query logins for scopes narrowed to locations or to one employee, so that
-- the policies of a tenant-wide scope check the tenant and nothing else.
--
-- With one login per tier, every policy had to handle every kind of scope: a tenant-wide caller
-- paid for the location and employee checks on every row (the ORs of 0003/0105), or, written as
-- index conditions (0104), the planner misjudged them and left the covering index. Row-level
-- security policies are chosen by role, so the narrowing now lives on its own logins:
--
--   deriq_query_full, deriq_query_deid                  (scopes of whole tenants)
--       tenant_id = ANY(scope_tenants())
--   deriq_query_full_limited, deriq_query_deid_limited  (location lists, own record)
--       tenant_id = ANY(scope_tenants()) AND location_id = ANY(scope_location_ids())
--       AND (scope_employee() IS NULL OR employee_id = scope_employee())
--
-- A scope is signed for one login (claim "r"), and verified_scope() now also refuses a scope
-- with a location list or an employee on an unlimited login: a narrowed scope presented to the
-- wrong login sees nothing, never more. The limited logins have exactly the privileges of their
-- tier's login (copied below), the same settings, own nothing and are members of nothing.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['deriq_query_full_limited', 'deriq_query_deid_limited'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS NOREPLICATION', r);
        END IF;
        EXECUTE format('ALTER ROLE %I SET statement_timeout = %L', r, '5s');
        EXECUTE format('ALTER ROLE %I SET lock_timeout = %L', r, '1s');
        EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', r, '15s');
        EXECUTE format('ALTER ROLE %I SET search_path = compliance', r);
        EXECUTE format('ALTER ROLE %I SET default_transaction_read_only = on', r);
    END LOOP;
END
$$;

DO $$
BEGIN
    ALTER ROLE deriq_query_full_limited SET temp_file_limit = '256MB';
    ALTER ROLE deriq_query_deid_limited SET temp_file_limit = '256MB';
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'temp_file_limit not set for the limited query roles: needs a superuser';
END
$$;

SET LOCAL ROLE deriq_owner;

GRANT USAGE ON SCHEMA compliance TO deriq_query_full_limited, deriq_query_deid_limited;
GRANT USAGE ON SCHEMA deriq_sec TO deriq_query_full_limited, deriq_query_deid_limited;

-- The same table and column privileges as the tier's unlimited login.
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT table_name, CASE grantee WHEN 'deriq_query_full' THEN 'deriq_query_full_limited'
                                             ELSE 'deriq_query_deid_limited' END AS limited
             FROM information_schema.role_table_grants
             WHERE table_schema = 'compliance' AND privilege_type = 'SELECT'
               AND grantee IN ('deriq_query_full', 'deriq_query_deid')
    LOOP
        EXECUTE format('GRANT SELECT ON compliance.%I TO %I', g.table_name, g.limited);
    END LOOP;
    FOR g IN SELECT table_name, string_agg(quote_ident(column_name), ', ') AS cols
             FROM information_schema.column_privileges
             WHERE table_schema = 'compliance' AND privilege_type = 'SELECT' AND grantee = 'deriq_query_deid'
             GROUP BY table_name
    LOOP
        EXECUTE format('GRANT SELECT (%s) ON compliance.%I TO deriq_query_deid_limited', g.cols, g.table_name);
    END LOOP;
END
$$;

-- As in 0001, with one more refusal: an unlimited login never takes a narrowed scope.
CREATE OR REPLACE FUNCTION deriq_sec.verified_scope() RETURNS jsonb
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
    IF session_user::text IN ('deriq_query_full', 'deriq_query_deid')
       AND (jsonb_typeof(claims -> 'l') = 'array' OR coalesce(claims ->> 'e', '') <> '') THEN
        RETURN NULL;
    END IF;
    RETURN claims;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

GRANT EXECUTE ON FUNCTION deriq_sec.verified_scope(), deriq_sec.scope_tenants(), deriq_sec.scope_location_ids(),
    deriq_sec.scope_employee() TO deriq_query_full_limited, deriq_query_deid_limited;

DO $$
DECLARE
    t          text;
    has_loc    boolean;
    has_emp    boolean;
    tenant     text := 'tenant_id = ANY ((SELECT deriq_sec.scope_tenants())::uuid[])';
    narrowed   text;
BEGIN
    FOR t IN SELECT p.tablename FROM pg_policies p
             WHERE p.schemaname = 'compliance' AND p.policyname = 'scoped_read' ORDER BY 1
    LOOP
        SELECT EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = 'compliance' AND table_name = t AND column_name = 'location_id')
          INTO has_loc;
        SELECT EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = 'compliance' AND table_name = t AND column_name = 'employee_id')
          INTO has_emp;

        narrowed := tenant;
        IF has_loc THEN
            narrowed := narrowed || ' AND location_id = ANY ((SELECT deriq_sec.scope_location_ids())::uuid[])';
        END IF;
        IF has_emp THEN
            narrowed := narrowed || ' AND ((SELECT deriq_sec.scope_employee()) IS NULL'
                || ' OR employee_id = (SELECT deriq_sec.scope_employee()))';
        END IF;

        EXECUTE format('DROP POLICY scoped_read ON compliance.%I', t);
        EXECUTE format('CREATE POLICY scoped_read ON compliance.%I FOR SELECT TO deriq_query_full, deriq_query_deid USING (%s)', t, tenant);
        EXECUTE format('CREATE POLICY scoped_read_limited ON compliance.%I FOR SELECT TO deriq_query_full_limited, deriq_query_deid_limited USING (%s)', t, narrowed);
    END LOOP;
END
$$;

RESET ROLE;
