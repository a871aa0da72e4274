-- DER IQ: the append-only audit log, in the shape of the platform's AU-3 audit record
-- (who, role, tenant, action, resource, request id, IP, result, duration, details),
-- partitioned by month. The gateway may only INSERT; UPDATE, DELETE and TRUNCATE raise
-- for every role, the owner included (a trigger, since grants do not bind the owner).
-- `id` is chosen by the writer, so that a record replayed from the local spool after an
-- outage is written once: INSERT ... ON CONFLICT DO NOTHING.

SET LOCAL ROLE deriq_owner;

CREATE TABLE deriq.audit_log (
    id             uuid        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    tenant_id      uuid,
    user_id        uuid,
    user_email     text,
    user_role      text,
    action         text        NOT NULL CHECK (action IN ('READ', 'EXPORT', 'ACCESS_DENIED', 'LOGIN', 'LOGIN_FAILED',
                                                         'SESSION_EXPIRED', 'SUSPICIOUS_ACTIVITY', 'REPORT_GENERATED',
                                                         'CREATE', 'UPDATE', 'DELETE', 'POLICY_UPDATED')),
    resource       text        NOT NULL,     -- e.g. "der-iq/ask", "der-iq/search"
    resource_id    text,
    request_id     text        NOT NULL,
    ip_address     inet,
    user_agent     text,
    result         text        NOT NULL CHECK (result IN ('SUCCESS', 'FAILURE')),
    error_code     text,
    error_message  text,
    duration_ms    integer     NOT NULL CHECK (duration_ms >= 0),
    details        jsonb       NOT NULL DEFAULT '{}'::jsonb,   -- question, drafted/executed SQL, decision, rows, timings
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE INDEX audit_log_tenant_time_idx ON deriq.audit_log (tenant_id, occurred_at);
CREATE INDEX audit_log_request_idx ON deriq.audit_log (request_id);

-- Monthly partitions from 2024 through 2030, and a default partition for anything else.
DO $$
DECLARE
    m date := date '2024-01-01';
BEGIN
    WHILE m < date '2031-01-01' LOOP
        EXECUTE format('CREATE TABLE deriq.%I PARTITION OF deriq.audit_log FOR VALUES FROM (%L) TO (%L)',
                       'audit_log_' || to_char(m, 'YYYY_MM'), m, (m + interval '1 month')::date);
        m := (m + interval '1 month')::date;
    END LOOP;
END
$$;
CREATE TABLE deriq.audit_log_default PARTITION OF deriq.audit_log DEFAULT;

CREATE FUNCTION deriq.audit_log_is_append_only() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON deriq.audit_log
    FOR EACH ROW EXECUTE FUNCTION deriq.audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON deriq.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION deriq.audit_log_is_append_only();

REVOKE ALL ON deriq.audit_log FROM PUBLIC;
GRANT INSERT, SELECT ON deriq.audit_log TO deriq_gateway;

RESET ROLE;
