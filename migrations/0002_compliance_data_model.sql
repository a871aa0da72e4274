-- DER IQ: the compliance data model (schema `compliance`).
-- Every table carries tenant_id; employee-level tables also carry employee_id and the
-- employee's location_id (kept in step by a trigger) so that row-level security can
-- filter by location without a join. Enumerations are text with CHECK constraints, so
-- that drafted SQL compares them as plain strings.
-- crates/core/src/semantic_model.toml describes these tables for question answering;
-- a test checks that the two agree.

SET LOCAL ROLE deriq_owner;
SET LOCAL search_path = compliance;

-- ───────────────────────────── tenancy ─────────────────────────────

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]*$'),
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('service_company', 'compliance_company')),
    usdot_number text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- For uniform RLS: a tenant row's tenant_id is its own id.
ALTER TABLE tenants ADD COLUMN tenant_id uuid GENERATED ALWAYS AS (id) STORED;

CREATE TABLE compliance_assignments (
    compliance_tenant_id uuid NOT NULL REFERENCES tenants(id),
    tenant_id            uuid NOT NULL REFERENCES tenants(id),  -- the service company audited
    assigned_on          date NOT NULL,
    PRIMARY KEY (compliance_tenant_id, tenant_id)
);

CREATE TABLE divisions (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants(id),
    name       text NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE locations (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants(id),
    division_id  uuid REFERENCES divisions(id),
    name         text NOT NULL,
    city         text NOT NULL,
    state        char(2) NOT NULL CHECK (state ~ '^[A-Z]{2}$'),
    latitude     double precision,
    longitude    double precision,
    UNIQUE (tenant_id, name)
);
-- For uniform RLS: a location row's location_id is its own id.
ALTER TABLE locations ADD COLUMN location_id uuid GENERATED ALWAYS AS (id) STORED;
CREATE INDEX locations_tenant_idx ON locations (tenant_id, state);

CREATE TABLE users (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants(id),
    email        text NOT NULL UNIQUE,
    full_name    text NOT NULL,
    role         text NOT NULL CHECK (role IN (
                    'company_admin', 'safety_manager', 'der', 'site_supervisor', 'hr_onboarding',
                    'billing_admin', 'read_only_auditor',
                    'compliance_manager', 'audit_manager', 'senior_auditor', 'auditor')),
    employee_id  uuid,
    mfa_enrolled boolean NOT NULL DEFAULT true,
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_locations (
    user_id     uuid NOT NULL REFERENCES users(id),
    location_id uuid NOT NULL REFERENCES locations(id),
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    PRIMARY KEY (user_id, location_id)
);

-- Service companies assigned to one compliance-company user (audit_manager, senior_auditor, auditor).
CREATE TABLE user_company_assignments (
    user_id    uuid NOT NULL REFERENCES users(id),
    tenant_id  uuid NOT NULL REFERENCES tenants(id),
    PRIMARY KEY (user_id, tenant_id)
);

-- ───────────────────────────── employee roster ─────────────────────────────

CREATE TABLE employees (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL REFERENCES tenants(id),
    location_id         uuid NOT NULL REFERENCES locations(id),
    division_id         uuid REFERENCES divisions(id),
    employee_number     text NOT NULL,
    first_name          text NOT NULL,
    last_name           text NOT NULL,
    date_of_birth       date NOT NULL,
    ssn_last4           char(4) NOT NULL CHECK (ssn_last4 ~ '^[0-9]{4}$'),
    email               text,
    phone               text,
    address_line1       text,
    address_city        text,
    address_state       char(2),
    address_postal_code text,
    job_title           text NOT NULL,
    employment_status   text NOT NULL CHECK (employment_status IN ('active', 'on_leave', 'suspended', 'terminated')),
    hire_date           date NOT NULL,
    termination_date    date,
    is_dot_covered      boolean NOT NULL,
    dot_agency          text CHECK (dot_agency IN ('FMCSA', 'FAA', 'FRA', 'FTA', 'PHMSA', 'USCG')),
    is_safety_sensitive boolean NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, employee_number),
    CHECK (termination_date IS NULL OR termination_date >= hire_date),
    CHECK (is_dot_covered = (dot_agency IS NOT NULL))
);
-- For uniform RLS (own-record scope): an employee row's employee_id is its own id.
ALTER TABLE employees ADD COLUMN employee_id uuid GENERATED ALWAYS AS (id) STORED;
CREATE INDEX employees_tenant_location_idx ON employees (tenant_id, location_id);
CREATE INDEX employees_tenant_status_idx ON employees (tenant_id, employment_status);

CREATE TABLE employment_events (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants(id),
    employee_id  uuid NOT NULL REFERENCES employees(id),
    location_id  uuid NOT NULL REFERENCES locations(id),
    event_type   text NOT NULL CHECK (event_type IN ('hired', 'rehired', 'transferred', 'promoted', 'leave_started', 'leave_ended', 'suspended', 'reinstated', 'terminated')),
    event_date   date NOT NULL,
    reason       text
);
CREATE INDEX employment_events_tenant_date_idx ON employment_events (tenant_id, event_date);
CREATE INDEX employment_events_employee_idx ON employment_events (employee_id);

-- Green / yellow / red per employee per compliance module.
CREATE TABLE compliance_status (
    tenant_id    uuid NOT NULL REFERENCES tenants(id),
    employee_id  uuid NOT NULL REFERENCES employees(id),
    location_id  uuid NOT NULL REFERENCES locations(id),
    module       text NOT NULL CHECK (module IN ('drug_alcohol', 'background', 'dot', 'occupational_health', 'training', 'geo_fencing')),
    status       text NOT NULL CHECK (status IN ('green', 'yellow', 'red')),
    reason       text NOT NULL,
    evaluated_at timestamptz NOT NULL,
    PRIMARY KEY (employee_id, module)
);
CREATE INDEX compliance_status_tenant_idx ON compliance_status (tenant_id, module, status);

-- ───────────────────────────── drug & alcohol testing ─────────────────────────────

CREATE TABLE random_pools (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenants(id),
    name               text NOT NULL,
    dot_agency         text CHECK (dot_agency IN ('FMCSA', 'FAA', 'FRA', 'FTA', 'PHMSA', 'USCG')),
    drug_rate_percent  numeric(5,2) NOT NULL CHECK (drug_rate_percent BETWEEN 0 AND 100),
    alcohol_rate_percent numeric(5,2) NOT NULL CHECK (alcohol_rate_percent BETWEEN 0 AND 100),
    UNIQUE (tenant_id, name)
);

CREATE TABLE random_draws (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants(id),
    pool_id        uuid NOT NULL REFERENCES random_pools(id),
    draw_date      date NOT NULL,
    period         text NOT NULL CHECK (period ~ '^[0-9]{4}-Q[1-4]$'),
    pool_size      integer NOT NULL CHECK (pool_size >= 0),
    drug_selected  integer NOT NULL CHECK (drug_selected >= 0),
    alcohol_selected integer NOT NULL CHECK (alcohol_selected >= 0),
    UNIQUE (pool_id, period)
);

CREATE TABLE drug_tests (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL REFERENCES tenants(id),
    employee_id         uuid NOT NULL REFERENCES employees(id),
    location_id         uuid NOT NULL REFERENCES locations(id),
    test_type           text NOT NULL CHECK (test_type IN ('drug', 'alcohol')),
    reason              text NOT NULL CHECK (reason IN ('pre_employment', 'random', 'post_accident', 'reasonable_suspicion', 'return_to_duty', 'follow_up')),
    is_dot              boolean NOT NULL,
    dot_agency          text CHECK (dot_agency IN ('FMCSA', 'FAA', 'FRA', 'FTA', 'PHMSA', 'USCG')),
    specimen_id         text NOT NULL,
    collection_date     date NOT NULL,
    collection_site     text NOT NULL,
    laboratory          text,
    result              text NOT NULL CHECK (result IN ('negative', 'negative_dilute', 'positive', 'positive_dilute', 'refusal', 'cancelled', 'invalid', 'pending')),
    result_date         date,
    substances          text[] NOT NULL DEFAULT '{}',    -- verified positive analytes (drug tests)
    alcohol_concentration numeric(4,3),                  -- breath alcohol concentration (alcohol tests)
    refusal_reason      text,
    mro_name            text,
    mro_verified_at     date,
    mro_verified_result text CHECK (mro_verified_result IN ('negative', 'positive', 'refusal', 'cancelled', 'test_not_performed')),
    random_draw_id      uuid REFERENCES random_draws(id),
    UNIQUE (tenant_id, specimen_id),
    CHECK (is_dot = (dot_agency IS NOT NULL)),
    CHECK (result_date IS NULL OR result_date >= collection_date)
);
CREATE INDEX drug_tests_tenant_date_idx ON drug_tests (tenant_id, collection_date);
CREATE INDEX drug_tests_tenant_reason_idx ON drug_tests (tenant_id, reason, result);
CREATE INDEX drug_tests_employee_idx ON drug_tests (employee_id);
CREATE INDEX drug_tests_location_idx ON drug_tests (location_id);

CREATE TABLE clearinghouse_queries (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants(id),
    employee_id  uuid NOT NULL REFERENCES employees(id),
    location_id  uuid NOT NULL REFERENCES locations(id),
    query_type   text NOT NULL CHECK (query_type IN ('full', 'limited')),
    query_date   date NOT NULL,
    consent_date date,
    result       text NOT NULL CHECK (result IN ('no_violations', 'violation_found', 'consent_pending', 'consent_refused'))
);
CREATE INDEX clearinghouse_queries_tenant_date_idx ON clearinghouse_queries (tenant_id, query_date);
CREATE INDEX clearinghouse_queries_employee_idx ON clearinghouse_queries (employee_id);

-- ───────────────────────────── background checks ─────────────────────────────

CREATE TABLE background_checks (
    id                         uuid PRIMARY KEY,
    tenant_id                  uuid NOT NULL REFERENCES tenants(id),
    employee_id                uuid NOT NULL REFERENCES employees(id),
    location_id                uuid NOT NULL REFERENCES locations(id),
    vendor                     text NOT NULL,
    package                    text NOT NULL CHECK (package IN ('basic', 'standard', 'dot_driver', 'executive')),
    status                     text NOT NULL CHECK (status IN ('ordered', 'in_progress', 'complete', 'cancelled')),
    ordered_date               date NOT NULL,
    completed_date             date,
    adjudication               text NOT NULL CHECK (adjudication IN ('pending', 'clear', 'consider', 'adverse')),
    adverse_action_stage       text NOT NULL CHECK (adverse_action_stage IN ('none', 'pre_adverse_notice_sent', 'waiting_period', 'final_adverse_notice_sent', 'disputed', 'closed')),
    pre_adverse_notice_date    date,
    final_adverse_notice_date  date,
    dispute_date               date,
    criminal_record_found      boolean NOT NULL DEFAULT false,
    findings_summary           text,
    CHECK (completed_date IS NULL OR completed_date >= ordered_date)
);
CREATE INDEX background_checks_tenant_status_idx ON background_checks (tenant_id, status, adverse_action_stage);
CREATE INDEX background_checks_employee_idx ON background_checks (employee_id);

-- ───────────────────────────── DOT driver qualification ─────────────────────────────

CREATE TABLE driver_qualifications (
    id                          uuid PRIMARY KEY,
    tenant_id                   uuid NOT NULL REFERENCES tenants(id),
    employee_id                 uuid NOT NULL UNIQUE REFERENCES employees(id),
    location_id                 uuid NOT NULL REFERENCES locations(id),
    cdl_number                  text NOT NULL,
    cdl_state                   char(2) NOT NULL,
    cdl_class                   text NOT NULL CHECK (cdl_class IN ('A', 'B', 'C')),
    cdl_endorsements            text NOT NULL DEFAULT '',
    cdl_expiration_date         date NOT NULL,
    medical_card_expiration_date date,
    application_date            date NOT NULL,
    road_test_date              date,
    road_test_passed            boolean,
    last_mvr_review_date        date,
    next_mvr_review_due         date,
    previous_employer_inquiry_done boolean NOT NULL DEFAULT false,
    dq_file_complete            boolean NOT NULL,
    dq_missing_items            text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX driver_qualifications_tenant_cdl_idx ON driver_qualifications (tenant_id, cdl_expiration_date);
CREATE INDEX driver_qualifications_tenant_med_idx ON driver_qualifications (tenant_id, medical_card_expiration_date);
CREATE INDEX driver_qualifications_tenant_mvr_idx ON driver_qualifications (tenant_id, next_mvr_review_due);

-- Medical examiner's certificates (the "med card"), one row per certificate issued.
CREATE TABLE medical_certificates (
    id                      uuid PRIMARY KEY,
    tenant_id               uuid NOT NULL REFERENCES tenants(id),
    employee_id             uuid NOT NULL REFERENCES employees(id),
    location_id             uuid NOT NULL REFERENCES locations(id),
    examiner_name           text NOT NULL,
    examiner_registry_number text NOT NULL,
    exam_date               date NOT NULL,
    expiration_date         date NOT NULL,
    certification_period_months integer NOT NULL CHECK (certification_period_months BETWEEN 1 AND 24),
    restrictions            text,
    CHECK (expiration_date > exam_date)
);
CREATE INDEX medical_certificates_tenant_exp_idx ON medical_certificates (tenant_id, expiration_date);
CREATE INDEX medical_certificates_employee_idx ON medical_certificates (employee_id);

CREATE TABLE mvr_reviews (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants(id),
    employee_id    uuid NOT NULL REFERENCES employees(id),
    location_id    uuid NOT NULL REFERENCES locations(id),
    review_date    date NOT NULL,
    mvr_state      char(2) NOT NULL,
    violations_count integer NOT NULL CHECK (violations_count >= 0),
    outcome        text NOT NULL CHECK (outcome IN ('qualified', 'disqualified', 'needs_review')),
    reviewer_name  text NOT NULL
);
CREATE INDEX mvr_reviews_tenant_date_idx ON mvr_reviews (tenant_id, review_date);
CREATE INDEX mvr_reviews_employee_idx ON mvr_reviews (employee_id);

-- ───────────────────────────── occupational health ─────────────────────────────

CREATE TABLE medical_exams (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants(id),
    employee_id   uuid NOT NULL REFERENCES employees(id),
    location_id   uuid NOT NULL REFERENCES locations(id),
    exam_type     text NOT NULL CHECK (exam_type IN ('baseline', 'periodic', 'exit', 'hazwoper', 'respirator_clearance', 'lead', 'silica', 'benzene')),
    exam_date     date NOT NULL,
    next_due_date date,
    result        text NOT NULL CHECK (result IN ('cleared', 'cleared_with_restrictions', 'not_cleared', 'pending')),
    clinic        text NOT NULL,
    restrictions  text
);
CREATE INDEX medical_exams_tenant_due_idx ON medical_exams (tenant_id, next_due_date);
CREATE INDEX medical_exams_employee_idx ON medical_exams (employee_id);

CREATE TABLE respirator_fit_tests (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants(id),
    employee_id    uuid NOT NULL REFERENCES employees(id),
    location_id    uuid NOT NULL REFERENCES locations(id),
    test_date      date NOT NULL,
    respirator_model text NOT NULL,
    respirator_size text NOT NULL CHECK (respirator_size IN ('small', 'medium', 'large')),
    fit_method     text NOT NULL CHECK (fit_method IN ('qualitative', 'quantitative')),
    fit_factor     integer,
    passed         boolean NOT NULL,
    next_due_date  date NOT NULL
);
CREATE INDEX respirator_fit_tests_tenant_due_idx ON respirator_fit_tests (tenant_id, next_due_date);
CREATE INDEX respirator_fit_tests_employee_idx ON respirator_fit_tests (employee_id);

CREATE TABLE audiograms (
    id                      uuid PRIMARY KEY,
    tenant_id               uuid NOT NULL REFERENCES tenants(id),
    employee_id             uuid NOT NULL REFERENCES employees(id),
    location_id             uuid NOT NULL REFERENCES locations(id),
    test_date               date NOT NULL,
    test_type               text NOT NULL CHECK (test_type IN ('baseline', 'annual', 'retest')),
    left_avg_threshold_db   numeric(5,1) NOT NULL,
    right_avg_threshold_db  numeric(5,1) NOT NULL,
    standard_threshold_shift boolean NOT NULL,
    next_due_date           date NOT NULL
);
CREATE INDEX audiograms_tenant_date_idx ON audiograms (tenant_id, test_date);
CREATE INDEX audiograms_employee_idx ON audiograms (employee_id);

-- The OSHA Form 300 log (29 CFR 1904).
CREATE TABLE osha_cases (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenants(id),
    employee_id        uuid NOT NULL REFERENCES employees(id),
    location_id        uuid NOT NULL REFERENCES locations(id),
    case_number        text NOT NULL,
    incident_date      date NOT NULL,
    log_year           integer GENERATED ALWAYS AS (extract(year FROM incident_date)::integer) STORED,
    description        text NOT NULL,
    body_part          text NOT NULL,
    case_type          text NOT NULL CHECK (case_type IN ('injury', 'skin_disorder', 'respiratory_condition', 'poisoning', 'hearing_loss', 'other_illness')),
    outcome            text NOT NULL CHECK (outcome IN ('death', 'days_away', 'job_transfer_or_restriction', 'other_recordable')),
    days_away          integer NOT NULL DEFAULT 0 CHECK (days_away BETWEEN 0 AND 180),
    days_restricted    integer NOT NULL DEFAULT 0 CHECK (days_restricted BETWEEN 0 AND 180),
    is_recordable      boolean NOT NULL,
    is_privacy_case    boolean NOT NULL,
    recorded_date      date NOT NULL,
    UNIQUE (tenant_id, case_number)
);
CREATE INDEX osha_cases_tenant_date_idx ON osha_cases (tenant_id, incident_date);
CREATE INDEX osha_cases_employee_idx ON osha_cases (employee_id);

-- ───────────────────────────── training & certifications ─────────────────────────────

CREATE TABLE training_certificates (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenants(id),
    employee_id        uuid NOT NULL REFERENCES employees(id),
    location_id        uuid NOT NULL REFERENCES locations(id),
    certificate_type   text NOT NULL,
    issuer             text NOT NULL,
    certificate_number text NOT NULL,
    issued_date        date NOT NULL,
    expiration_date    date,
    verified           boolean NOT NULL DEFAULT true,
    CHECK (expiration_date IS NULL OR expiration_date > issued_date)
);
CREATE INDEX training_certificates_tenant_exp_idx ON training_certificates (tenant_id, expiration_date);
CREATE INDEX training_certificates_tenant_type_idx ON training_certificates (tenant_id, certificate_type);
CREATE INDEX training_certificates_employee_idx ON training_certificates (employee_id);

-- ───────────────────────────── geo-fencing ─────────────────────────────

CREATE TABLE geo_zones (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants(id),
    location_id    uuid NOT NULL REFERENCES locations(id),
    name           text NOT NULL,
    zone_shape     text NOT NULL CHECK (zone_shape IN ('circle', 'polygon')),
    center_latitude  double precision,
    center_longitude double precision,
    radius_meters  integer CHECK (radius_meters > 0),
    polygon        jsonb,           -- [[lat, lng], ...] for polygon zones
    active         boolean NOT NULL DEFAULT true,
    CHECK ((zone_shape = 'circle' AND radius_meters IS NOT NULL AND center_latitude IS NOT NULL)
        OR (zone_shape = 'polygon' AND polygon IS NOT NULL))
);
CREATE INDEX geo_zones_tenant_idx ON geo_zones (tenant_id, location_id);

CREATE TABLE check_ins (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants(id),
    employee_id     uuid NOT NULL REFERENCES employees(id),
    location_id     uuid NOT NULL REFERENCES locations(id),
    zone_id         uuid NOT NULL REFERENCES geo_zones(id),
    checked_in_at   timestamptz NOT NULL,
    checked_out_at  timestamptz,
    method          text NOT NULL CHECK (method IN ('gps', 'qr')),
    latitude        double precision,
    longitude       double precision,
    inside_zone     boolean NOT NULL,
    distance_meters integer NOT NULL CHECK (distance_meters >= 0),
    CHECK (checked_out_at IS NULL OR checked_out_at >= checked_in_at)
);
CREATE INDEX check_ins_tenant_time_idx ON check_ins (tenant_id, checked_in_at);
CREATE INDEX check_ins_employee_idx ON check_ins (employee_id);
CREATE INDEX check_ins_location_idx ON check_ins (location_id);

-- ───────────────────────────── location kept in step ─────────────────────────────

-- When an employee moves, the denormalised location_id of their records follows, so that
-- a location-scoped caller (site supervisor) sees exactly the records of their people.
CREATE FUNCTION compliance.follow_employee_location() RETURNS trigger
    LANGUAGE plpgsql SET search_path = compliance, pg_temp
AS $$
BEGIN
    IF NEW.location_id IS DISTINCT FROM OLD.location_id THEN
        UPDATE employment_events     SET location_id = NEW.location_id WHERE employee_id = NEW.id;
        UPDATE compliance_status     SET location_id = NEW.location_id WHERE employee_id = NEW.id;
        UPDATE drug_tests            SET location_id = NEW.location_id WHERE employee_id = NEW.id;
        UPDATE clearinghouse_queries SET location_id = NEW.location_id WHERE employee_id = NEW.id;
        UPDATE background_checks     SET location_id = NEW.location_id WHERE employee_id = NEW.id;
        UPDATE driver_qualifications SET location_id = NEW.location_id WHERE employee_id = NEW.id;
        UPDATE medical_certificates  SET location_id = NEW.location_id WHERE employee_id = NEW.id;
        UPDATE mvr_reviews           SET location_id = NEW.location_id WHERE employee_id = NEW.id;
        UPDATE medical_exams         SET location_id = NEW.location_id WHERE employee_id = NEW.id;
        UPDATE respirator_fit_tests  SET location_id = NEW.location_id WHERE employee_id = NEW.id;
        UPDATE audiograms            SET location_id = NEW.location_id WHERE employee_id = NEW.id;
        UPDATE osha_cases            SET location_id = NEW.location_id WHERE employee_id = NEW.id;
        UPDATE training_certificates SET location_id = NEW.location_id WHERE employee_id = NEW.id;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER employees_follow_location AFTER UPDATE OF location_id ON employees
    FOR EACH ROW EXECUTE FUNCTION compliance.follow_employee_location();

RESET ROLE;
RESET search_path;
