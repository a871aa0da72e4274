-- DER IQ: separate query logins for scopes narrowed to locations or to one employee, so that the
-- policies of a tenant-wide scope check the tenant and nothing else.
--
-- With one login per tier (0003), every policy handled every kind of scope:
--     tenant_id = ANY(T) AND (all_locations OR location_id = ANY(L)) AND (E IS NULL OR employee_id = E)
-- The ORs are not index conditions, so a tenant-wide count paid for them on every row (39% slower
-- than an explicit tenant predicate), and a location-scoped caller read every row of its tenant.
-- Written as index conditions instead (a location list for everyone, an employee range), the
-- planner misjudged the unknown bounds and left the covering index (benches/rls_cost.rs).
-- Row-level security policies are chosen by role, so the narrowing now lives on its own logins:
--
--   deriq_query_full, deriq_query_deid                  (scopes of whole tenants)
--       tenant_id = ANY(scope_whole_tenants())             one index condition
--   deriq_query_full_limited, deriq_query_deid_limited  (location lists, own record)
--       tenant_id = ANY(scope_tenants()) AND location_id = ANY(scope_location_ids())
--       AND (scope_employee() IS NULL OR employee_id = scope_employee())
--
-- scope_whole_tenants() is empty for a scope with a location list or an employee, so a narrowed
-- scope presented to a tenant-wide login sees nothing, never more; and a scope is signed for one
-- login (claim "r", checked by verified_scope()). The limited logins have exactly the privileges
-- of their tier's login (copied below), the same settings, own nothing and are members of nothing.
-- Every function is wrapped in a sub-select in the policies, so it runs once per statement.

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

-- The same table and column privileges as the tier's tenant-wide login.
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

-- The tenants of a scope of whole tenants; empty for a narrowed scope (a location list or an
-- employee) and for a missing or invalid one.
CREATE FUNCTION deriq_sec.scope_whole_tenants() RETURNS uuid[]
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN s IS NULL OR jsonb_typeof(s -> 'l') = 'array' OR coalesce(s ->> 'e', '') <> '' THEN '{}'::uuid[]
        ELSE (SELECT coalesce(array_agg(t::uuid), '{}'::uuid[])
              FROM jsonb_array_elements_text(coalesce(s -> 't', '[]'::jsonb)) AS t)
    END
    FROM (SELECT deriq_sec.verified_scope() AS s) AS v
$$;

-- Every location of a narrowed scope: its signed list, or, for an own-record scope without one,
-- every location of its tenants. Reads compliance.locations as the owner, through the policy
-- `scope_lookup` below, which admits only the verified scope's own tenants.
CREATE FUNCTION deriq_sec.scope_location_ids() RETURNS uuid[]
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN s IS NULL THEN '{}'::uuid[]
        WHEN jsonb_typeof(s -> 'l') = 'array' THEN
            (SELECT coalesce(array_agg(l::uuid), '{}'::uuid[]) FROM jsonb_array_elements_text(s -> 'l') AS l)
        ELSE
            (SELECT coalesce(array_agg(loc.id), '{}'::uuid[])
             FROM compliance.locations AS loc
             WHERE loc.tenant_id = ANY (
                 SELECT t::uuid FROM jsonb_array_elements_text(coalesce(s -> 't', '[]'::jsonb)) AS t))
    END
    FROM (SELECT deriq_sec.verified_scope() AS s) AS v
$$;

-- The owner is bound by FORCE ROW LEVEL SECURITY too: it may read the locations of the verified
-- scope's tenants, and nothing else.
CREATE POLICY scope_lookup ON compliance.locations FOR SELECT TO deriq_owner
    USING (tenant_id = ANY ((SELECT deriq_sec.scope_tenants())::uuid[]));
GRANT EXECUTE ON FUNCTION deriq_sec.scope_tenants() TO deriq_owner;

REVOKE ALL ON FUNCTION deriq_sec.scope_whole_tenants(), deriq_sec.scope_location_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION deriq_sec.scope_whole_tenants() TO deriq_query_full, deriq_query_deid;
GRANT EXECUTE ON FUNCTION deriq_sec.verified_scope(), deriq_sec.scope_tenants(), deriq_sec.scope_location_ids(),
    deriq_sec.scope_employee() TO deriq_query_full_limited, deriq_query_deid_limited;

DO $$
DECLARE
    t          text;
    has_loc    boolean;
    has_emp    boolean;
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
        -- A NULL location would be hidden from a location-scoped caller by the list below.
        IF has_loc AND EXISTS (SELECT 1 FROM pg_attribute a
                               WHERE a.attrelid = format('compliance.%I', t)::regclass AND a.attname = 'location_id'
                                 AND NOT a.attnotnull AND a.attgenerated = '') THEN
            RAISE EXCEPTION 'compliance.% has a nullable location_id', t;
        END IF;

        narrowed := 'tenant_id = ANY ((SELECT deriq_sec.scope_tenants())::uuid[])';
        IF has_loc THEN
            narrowed := narrowed || ' AND location_id = ANY ((SELECT deriq_sec.scope_location_ids())::uuid[])';
        END IF;
        IF has_emp THEN
            narrowed := narrowed || ' AND ((SELECT deriq_sec.scope_employee()) IS NULL'
                || ' OR employee_id = (SELECT deriq_sec.scope_employee()))';
        END IF;

        EXECUTE format('DROP POLICY scoped_read ON compliance.%I', t);
        EXECUTE format('CREATE POLICY scoped_read ON compliance.%I FOR SELECT TO deriq_query_full, deriq_query_deid '
                       'USING (tenant_id = ANY ((SELECT deriq_sec.scope_whole_tenants())::uuid[]))', t);
        EXECUTE format('CREATE POLICY scoped_read_limited ON compliance.%I FOR SELECT TO deriq_query_full_limited, '
                       'deriq_query_deid_limited USING (%s)', t, narrowed);
    END LOOP;
END
$$;

-- The 0003 helpers that only the one-login policies used.
DROP FUNCTION deriq_sec.scope_all_locations();
DROP FUNCTION deriq_sec.scope_locations();

RESET ROLE;
