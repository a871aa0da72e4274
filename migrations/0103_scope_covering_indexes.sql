-- DER IQ: indexes that let row-level security filter without touching the heap.
-- The RLS policy reads tenant_id, location_id and employee_id of every row it checks; with
-- only (tenant_id, <date>) indexes a scoped count cannot be an index-only scan and costs
-- several times the same count with an explicit predicate. One covering index per
-- employee-level table restores index-only scans (measured by benches/rls_cost.rs).

SET LOCAL ROLE deriq_owner;

DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'compliance' AND c.relkind = 'r'
               AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'location_id' AND NOT a.attisdropped)
               AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'employee_id' AND NOT a.attisdropped)
             ORDER BY 1
    LOOP
        EXECUTE format('CREATE INDEX %I ON compliance.%I (tenant_id, location_id, employee_id)', t || '_scope_idx', t);
    END LOOP;
END
$$;

RESET ROLE;
