-- DER IQ: the employee part of the scope policies goes back to a filter.
--
-- 0104 wrote a caller's own-record limit as a range on employee_id (the whole uuid range for
-- everyone else), so that it too was an index condition. The planner cannot know the range's
-- bounds and takes it for a selective one (0.5% of the rows): with the guard's explicit tenant
-- and location predicates on top, it built bitmap plans that read the whole employee index and
-- the heap, and a location-scoped count became about 5x slower than with an explicit predicate
-- (benches/rls_cost.rs, "location, guarded").
--
-- Now: tenant_id = ANY(scope_tenants()) AND location_id = ANY(scope_location_ids()) stay index
-- conditions, and the employee part is
--     (scope_employee() IS NULL OR employee_id = scope_employee())
-- a filter whose first half is one InitPlan parameter test per row for every caller that is not
-- limited to its own record. A missing or invalid scope still sees nothing: scope_tenants() is
-- then '{}'.

SET LOCAL ROLE deriq_owner;

CREATE FUNCTION deriq_sec.scope_employee() RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT nullif(deriq_sec.verified_scope() ->> 'e', '')::uuid
$$;
REVOKE ALL ON FUNCTION deriq_sec.scope_employee() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION deriq_sec.scope_employee() TO deriq_query_full, deriq_query_deid;

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

        predicate := 'tenant_id = ANY ((SELECT deriq_sec.scope_tenants())::uuid[])';
        IF has_loc THEN
            predicate := predicate || ' AND location_id = ANY ((SELECT deriq_sec.scope_location_ids())::uuid[])';
        END IF;
        IF has_emp THEN
            predicate := predicate || ' AND ((SELECT deriq_sec.scope_employee()) IS NULL'
                || ' OR employee_id = (SELECT deriq_sec.scope_employee()))';
        END IF;

        EXECUTE format('DROP POLICY scoped_read ON compliance.%I', t);
        EXECUTE format('CREATE POLICY scoped_read ON compliance.%I FOR SELECT TO deriq_query_full, deriq_query_deid USING (%s)', t, predicate);
    END LOOP;
END
$$;

DROP FUNCTION deriq_sec.scope_employee_low();
DROP FUNCTION deriq_sec.scope_employee_high();

RESET ROLE;
