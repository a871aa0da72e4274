-- DER IQ: the database security boundary.
--
-- * FORCE ROW LEVEL SECURITY on every table of `compliance`, so that even the owner and
--   SECURITY DEFINER functions owned by it are filtered.
-- * One SELECT policy per table for the two query login roles, keyed on the signed scope
--   (deriq_sec.*), each function wrapped in a sub-select so it runs once per statement
--   (an InitPlan), not once per row. No valid scope: zero rows.
-- * The query roles get SELECT only; the de-identified role gets no grant on PII columns.
--   The PII list below must match the `pii` classes of crates/core/src/semantic_model.toml
--   (a test compares them).
-- * The gateway reads the identity tables (users and their assignments) to build scopes.

SET LOCAL ROLE deriq_owner;

DO $$
DECLARE
    t          text;
    has_loc    boolean;
    has_emp    boolean;
    predicate  text;
    identity_tables text[] := ARRAY['users', 'user_locations', 'user_company_assignments'];
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'compliance' AND c.relkind IN ('r', 'p') ORDER BY 1
    LOOP
        EXECUTE format('ALTER TABLE compliance.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE compliance.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('REVOKE ALL ON compliance.%I FROM PUBLIC', t);

        IF t = ANY (identity_tables) THEN
            EXECUTE format('CREATE POLICY gateway_reads ON compliance.%I FOR SELECT TO deriq_gateway USING (true)', t);
            EXECUTE format('GRANT SELECT ON compliance.%I TO deriq_gateway', t);
            CONTINUE;
        END IF;

        SELECT EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = 'compliance' AND table_name = t AND column_name = 'location_id')
          INTO has_loc;
        SELECT EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = 'compliance' AND table_name = t AND column_name = 'employee_id')
          INTO has_emp;

        predicate := 'tenant_id = ANY ((SELECT deriq_sec.scope_tenants())::uuid[])';
        IF has_loc THEN
            predicate := predicate || ' AND ((SELECT deriq_sec.scope_all_locations())'
                || ' OR location_id = ANY ((SELECT deriq_sec.scope_locations())::uuid[]))';
        ELSE
            -- Tables without a location (tenants, divisions, random pools and draws) are not
            -- visible to a location-scoped caller beyond its tenant rows: they hold no people.
            NULL;
        END IF;
        IF has_emp THEN
            predicate := predicate || ' AND ((SELECT deriq_sec.scope_employee()) IS NULL'
                || ' OR employee_id = (SELECT deriq_sec.scope_employee()))';
        END IF;

        EXECUTE format('CREATE POLICY scoped_read ON compliance.%I FOR SELECT TO deriq_query_full, deriq_query_deid USING (%s)', t, predicate);
        EXECUTE format('GRANT SELECT ON compliance.%I TO deriq_query_full', t);
        -- The gateway reads tenancy to resolve callers (tenants, locations, assignments).
        IF t IN ('tenants', 'locations', 'compliance_assignments') THEN
            EXECUTE format('CREATE POLICY gateway_reads ON compliance.%I FOR SELECT TO deriq_gateway USING (true)', t);
            EXECUTE format('GRANT SELECT ON compliance.%I TO deriq_gateway', t);
        END IF;
    END LOOP;
END
$$;

-- Column grants for the de-identified tier: every column but the PII ones.
DO $$
DECLARE
    pii jsonb := '{
        "employees": ["employee_number", "first_name", "last_name", "date_of_birth", "ssn_last4", "email", "phone",
                      "address_line1", "address_city", "address_state", "address_postal_code"],
        "drug_tests": ["refusal_reason"],
        "background_checks": ["findings_summary"],
        "driver_qualifications": ["cdl_number"],
        "medical_certificates": ["restrictions"],
        "medical_exams": ["restrictions"],
        "osha_cases": ["description"],
        "training_certificates": ["certificate_number"],
        "check_ins": ["latitude", "longitude"]
    }';
    t    text;
    cols text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'compliance' AND c.relkind IN ('r', 'p')
               AND c.relname NOT IN ('users', 'user_locations', 'user_company_assignments') ORDER BY 1
    LOOP
        SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) INTO cols
        FROM information_schema.columns
        WHERE table_schema = 'compliance' AND table_name = t
          AND NOT (column_name IN (SELECT jsonb_array_elements_text(coalesce(pii -> t, '[]'::jsonb))));
        EXECUTE format('GRANT SELECT (%s) ON compliance.%I TO deriq_query_deid', cols, t);
    END LOOP;
END
$$;

RESET ROLE;

-- What SQL run by a query role could abuse. These live in pg_catalog and need a superuser;
-- on a managed service that refuses, the notice says so and the SQL guard still blocks them.
DO $$
DECLARE
    f record;
    v record;
BEGIN
    FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'pg_catalog'
               AND (p.proname LIKE 'pg\_advisory%' OR p.proname LIKE 'pg\_try\_advisory%'
                    OR p.proname IN ('pg_sleep', 'pg_sleep_for', 'pg_sleep_until', 'pg_cancel_backend',
                                     'pg_terminate_backend', 'pg_notify', 'pg_listening_channels',
                                     'pg_stat_get_activity', 'pg_stat_get_backend_activity',
                                     'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file',
                                     'lo_import', 'lo_export', 'query_to_xml', 'query_to_xml_and_xmlschema',
                                     'query_to_xmlschema', 'cursor_to_xml', 'table_to_xml',
                                     'database_to_xml', 'schema_to_xml', 'pg_reload_conf', 'pg_rotate_logfile'))
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f.sig);
    END LOOP;
    FOR v IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'pg_catalog' AND c.relkind = 'v'
               AND (c.relname LIKE 'pg\_stat%' OR c.relname IN ('pg_settings', 'pg_file_settings', 'pg_hba_file_rules',
                                                                'pg_roles', 'pg_user', 'pg_shadow', 'pg_locks',
                                                                'pg_prepared_xacts', 'pg_replication_slots',
                                                                'pg_backend_memory_contexts'))
    LOOP
        EXECUTE format('REVOKE SELECT ON pg_catalog.%I FROM PUBLIC', v.relname);
    END LOOP;
    REVOKE ALL ON SCHEMA information_schema FROM PUBLIC;
    GRANT USAGE ON SCHEMA information_schema TO deriq_owner;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'catalogue functions and views were not revoked from PUBLIC: needs a superuser';
END
$$;
