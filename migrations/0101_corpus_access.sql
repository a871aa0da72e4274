-- DER IQ: the regulatory corpus (0100) belongs to the owner like everything else, and the
-- gateway login reads and maintains it (`deriq ingest`, `deriq search`, the ask pipeline).
-- The query login roles get nothing here.

DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'deriq' AND c.relname LIKE 'rag\_%' AND c.relkind IN ('r', 'p', 'S')
    LOOP
        EXECUTE format('ALTER TABLE deriq.%I OWNER TO deriq_owner', t);
        EXECUTE format('REVOKE ALL ON deriq.%I FROM PUBLIC', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON deriq.%I TO deriq_gateway', t);
    END LOOP;
END
$$;
