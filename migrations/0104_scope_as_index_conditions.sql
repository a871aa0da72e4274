-- DER IQ: row-level security policies shaped so that the scope becomes index conditions.
--
-- The policies of 0003 read
--     tenant_id = ANY(T) AND (all_locations OR location_id = ANY(L)) AND (E IS NULL OR employee_id = E)
-- The two ORs cannot be index conditions, so PostgreSQL evaluated them on every row of the
-- caller's tenants: a scoped count was 39% slower than the same count with an explicit tenant
-- predicate, and a location-scoped caller read every row of its tenant to keep a fifth of them.
--
-- Here every part of the scope is a plain comparison on a column of the covering index
-- (tenant_id, location_id, employee_id) from 0103:
--     tenant_id   = ANY(scope_tenants())
--     location_id = ANY(scope_location_ids())      -- every location of the caller's tenants
--                                                    -- when the scope has no location list
--     employee_id BETWEEN scope_employee_low() AND scope_employee_high()
--                                                  -- the whole uuid range, or one employee
-- so the btree does all the filtering (measured by benches/rls_cost.rs). Each function is still
-- wrapped in a sub-select, so it runs once per statement as an InitPlan, and each one returns
-- "nothing matches" when the signed scope is missing or invalid:
--     scope_tenants() and scope_location_ids() return '{}', and the employee range is empty
--     (low = ffff..., high = 0000...).
-- employee_id and location_id are NOT NULL on every table that has them (employees.employee_id
-- and locations.location_id are generated from the primary key), so the range and the location
-- list exclude no row that the 0003 policies admitted. The migration checks it.

SET LOCAL ROLE deriq_owner;

-- Every location of the caller's scope: the signed list for a location-scoped caller, otherwise
-- every location of the scope's tenants. Reads compliance.locations as its owner, through the
-- policy `scope_lookup` below, which admits only the scope's own tenants.
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

-- The lowest employee id the caller may see: its own for a caller limited to its own record,
-- otherwise the lowest uuid. With no valid scope, the highest uuid (an empty range).
CREATE FUNCTION deriq_sec.scope_employee_low() RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN s IS NULL THEN 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid
        ELSE coalesce(nullif(s ->> 'e', '')::uuid, '00000000-0000-0000-0000-000000000000'::uuid)
    END
    FROM (SELECT deriq_sec.verified_scope() AS s) AS v
$$;

-- The highest employee id the caller may see (the mirror of scope_employee_low()).
CREATE FUNCTION deriq_sec.scope_employee_high() RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN s IS NULL THEN '00000000-0000-0000-0000-000000000000'::uuid
        ELSE coalesce(nullif(s ->> 'e', '')::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid)
    END
    FROM (SELECT deriq_sec.verified_scope() AS s) AS v
$$;

REVOKE ALL ON FUNCTION deriq_sec.scope_location_ids(), deriq_sec.scope_employee_low(),
    deriq_sec.scope_employee_high() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION deriq_sec.scope_location_ids(), deriq_sec.scope_employee_low(),
    deriq_sec.scope_employee_high() TO deriq_query_full, deriq_query_deid;

-- The owner is bound by FORCE ROW LEVEL SECURITY too; scope_location_ids() runs as the owner and
-- may read the locations of the verified scope's tenants, and nothing else.
CREATE POLICY scope_lookup ON compliance.locations FOR SELECT TO deriq_owner
    USING (tenant_id = ANY ((SELECT deriq_sec.scope_tenants())::uuid[]));
GRANT EXECUTE ON FUNCTION deriq_sec.scope_tenants() TO deriq_owner;

DO $$
DECLARE
    t          text;
    has_loc    boolean;
    has_emp    boolean;
    predicate  text;
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
        IF EXISTS (SELECT 1 FROM pg_attribute a
                   WHERE a.attrelid = format('compliance.%I', t)::regclass
                     AND a.attname IN ('location_id', 'employee_id') AND NOT a.attisdropped
                     AND NOT a.attnotnull AND a.attgenerated = '') THEN
            RAISE EXCEPTION 'compliance.% has a nullable location_id or employee_id: the scope policy would hide its NULL rows', t;
        END IF;

        predicate := 'tenant_id = ANY ((SELECT deriq_sec.scope_tenants())::uuid[])';
        IF has_loc THEN
            predicate := predicate || ' AND location_id = ANY ((SELECT deriq_sec.scope_location_ids())::uuid[])';
        END IF;
        IF has_emp THEN
            predicate := predicate || ' AND employee_id >= (SELECT deriq_sec.scope_employee_low())'
                || ' AND employee_id <= (SELECT deriq_sec.scope_employee_high())';
        END IF;

        EXECUTE format('DROP POLICY scoped_read ON compliance.%I', t);
        EXECUTE format('CREATE POLICY scoped_read ON compliance.%I FOR SELECT TO deriq_query_full, deriq_query_deid USING (%s)', t, predicate);
    END LOOP;
END
$$;

-- The 0003 helpers that only the old policies used.
DROP FUNCTION deriq_sec.scope_all_locations();
DROP FUNCTION deriq_sec.scope_locations();
DROP FUNCTION deriq_sec.scope_employee();

RESET ROLE;
