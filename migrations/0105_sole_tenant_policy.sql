-- DER IQ: the tenant-wide query logins check one tenant, as a scalar.
--
-- 0104 gave deriq_query_full and deriq_query_deid the policy
--     tenant_id = ANY ((SELECT deriq_sec.scope_whole_tenants())::uuid[])
-- The array is a parameter the planner cannot see, so it assumes ten elements: on a table with
-- three tenants it estimated that the policy keeps every row, and chose a sequential scan or the
-- covering index depending on how much of the visibility map was set. The same count with an
-- explicit tenant predicate is estimated right and always gets the index, so the measured cost
-- of RLS swung between -3% and +151% (benches/rls_cost.rs).
--
-- An equality with one unknown value is estimated as one tenant's share of the rows, which is
-- what the explicit predicate gets. So the tenant-wide logins now serve scopes of exactly one
-- whole tenant:
--
--   deriq_query_full, deriq_query_deid
--       tenant_id = (SELECT deriq_sec.scope_sole_tenant())     one index condition, one value
--   deriq_query_full_limited, deriq_query_deid_limited          (unchanged from 0104)
--       every other scope: several tenants (a compliance company's assigned companies),
--       a location list, or one employee.
--
-- scope_sole_tenant() is NULL for any other scope (several tenants, a location list, an
-- employee, a missing or invalid scope), and `tenant_id = NULL` keeps no row: a scope presented
-- to the wrong login sees nothing, never more.

SET LOCAL ROLE deriq_owner;

-- The tenant of a scope of exactly one whole tenant; NULL for every other scope.
CREATE FUNCTION deriq_sec.scope_sole_tenant() RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN s IS NULL OR jsonb_typeof(s -> 'l') = 'array' OR coalesce(s ->> 'e', '') <> '' THEN NULL
        WHEN jsonb_typeof(s -> 't') <> 'array' OR jsonb_array_length(s -> 't') <> 1 THEN NULL
        ELSE (s -> 't' ->> 0)::uuid
    END
    FROM (SELECT deriq_sec.verified_scope() AS s) AS v
$$;

REVOKE ALL ON FUNCTION deriq_sec.scope_sole_tenant() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION deriq_sec.scope_sole_tenant() TO deriq_query_full, deriq_query_deid;

DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT p.tablename FROM pg_policies p
             WHERE p.schemaname = 'compliance' AND p.policyname = 'scoped_read' ORDER BY 1
    LOOP
        EXECUTE format('DROP POLICY scoped_read ON compliance.%I', t);
        EXECUTE format('CREATE POLICY scoped_read ON compliance.%I FOR SELECT TO deriq_query_full, deriq_query_deid '
                       'USING (tenant_id = (SELECT deriq_sec.scope_sole_tenant()))', t);
    END LOOP;
END
$$;

-- 0104's helper, used only by the policies replaced above.
DROP FUNCTION deriq_sec.scope_whole_tenants();

RESET ROLE;
