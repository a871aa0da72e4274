//! The demo data generator: pure, deterministic, no I/O.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::SeedOptions;
use super::copy::{CopyTable, TextArray};

use super::demo::*;

const NS: Uuid = Uuid::from_u128(0x6465_7269_712d_6465_6d6f_2d64_6174_6131);

/// The stable id of a demo tenant.
pub fn tenant_id(slug: &str) -> Uuid {
    Uuid::new_v5(&NS, format!("tenant:{slug}").as_bytes())
}

struct Tables {
    tenants: CopyTable,
    compliance_assignments: CopyTable,
    divisions: CopyTable,
    locations: CopyTable,
    users: CopyTable,
    user_locations: CopyTable,
    user_company_assignments: CopyTable,
    employees: CopyTable,
    employment_events: CopyTable,
    compliance_status: CopyTable,
    random_pools: CopyTable,
    random_draws: CopyTable,
    drug_tests: CopyTable,
    clearinghouse_queries: CopyTable,
    background_checks: CopyTable,
    driver_qualifications: CopyTable,
    medical_certificates: CopyTable,
    mvr_reviews: CopyTable,
    medical_exams: CopyTable,
    respirator_fit_tests: CopyTable,
    audiograms: CopyTable,
    osha_cases: CopyTable,
    training_certificates: CopyTable,
    geo_zones: CopyTable,
    check_ins: CopyTable,
}

impl Tables {
    fn new() -> Self {
        Tables {
            tenants: CopyTable::new("tenants", &["id", "slug", "name", "kind", "usdot_number"]),
            compliance_assignments: CopyTable::new("compliance_assignments", &["compliance_tenant_id", "tenant_id", "assigned_on"]),
            divisions: CopyTable::new("divisions", &["id", "tenant_id", "name"]),
            locations: CopyTable::new("locations", &["id", "tenant_id", "division_id", "name", "city", "state", "latitude", "longitude"]),
            users: CopyTable::new("users", &["id", "tenant_id", "email", "full_name", "role", "mfa_enrolled"]),
            user_locations: CopyTable::new("user_locations", &["user_id", "location_id", "tenant_id"]),
            user_company_assignments: CopyTable::new("user_company_assignments", &["user_id", "tenant_id"]),
            employees: CopyTable::new("employees", &[
                "id", "tenant_id", "location_id", "division_id", "employee_number", "first_name", "last_name", "date_of_birth",
                "ssn_last4", "email", "phone", "address_line1", "address_city", "address_state", "address_postal_code", "job_title",
                "employment_status", "hire_date", "termination_date", "is_dot_covered", "dot_agency", "is_safety_sensitive",
            ]),
            employment_events: CopyTable::new("employment_events", &["id", "tenant_id", "employee_id", "location_id", "event_type", "event_date", "reason"]),
            compliance_status: CopyTable::new("compliance_status", &["tenant_id", "employee_id", "location_id", "module", "status", "reason", "evaluated_at"]),
            random_pools: CopyTable::new("random_pools", &["id", "tenant_id", "name", "dot_agency", "drug_rate_percent", "alcohol_rate_percent"]),
            random_draws: CopyTable::new("random_draws", &["id", "tenant_id", "pool_id", "draw_date", "period", "pool_size", "drug_selected", "alcohol_selected"]),
            drug_tests: CopyTable::new("drug_tests", &[
                "id", "tenant_id", "employee_id", "location_id", "test_type", "reason", "is_dot", "dot_agency", "specimen_id",
                "collection_date", "collection_site", "laboratory", "result", "result_date", "substances", "alcohol_concentration",
                "refusal_reason", "mro_name", "mro_verified_at", "mro_verified_result", "random_draw_id",
            ]),
            clearinghouse_queries: CopyTable::new("clearinghouse_queries", &["id", "tenant_id", "employee_id", "location_id", "query_type", "query_date", "consent_date", "result"]),
            background_checks: CopyTable::new("background_checks", &[
                "id", "tenant_id", "employee_id", "location_id", "vendor", "package", "status", "ordered_date", "completed_date",
                "adjudication", "adverse_action_stage", "pre_adverse_notice_date", "final_adverse_notice_date", "dispute_date",
                "criminal_record_found", "findings_summary",
            ]),
            driver_qualifications: CopyTable::new("driver_qualifications", &[
                "id", "tenant_id", "employee_id", "location_id", "cdl_number", "cdl_state", "cdl_class", "cdl_endorsements",
                "cdl_expiration_date", "medical_card_expiration_date", "application_date", "road_test_date", "road_test_passed",
                "last_mvr_review_date", "next_mvr_review_due", "previous_employer_inquiry_done", "dq_file_complete", "dq_missing_items",
            ]),
            medical_certificates: CopyTable::new("medical_certificates", &[
                "id", "tenant_id", "employee_id", "location_id", "examiner_name", "examiner_registry_number", "exam_date",
                "expiration_date", "certification_period_months", "restrictions",
            ]),
            mvr_reviews: CopyTable::new("mvr_reviews", &["id", "tenant_id", "employee_id", "location_id", "review_date", "mvr_state", "violations_count", "outcome", "reviewer_name"]),
            medical_exams: CopyTable::new("medical_exams", &["id", "tenant_id", "employee_id", "location_id", "exam_type", "exam_date", "next_due_date", "result", "clinic", "restrictions"]),
            respirator_fit_tests: CopyTable::new("respirator_fit_tests", &[
                "id", "tenant_id", "employee_id", "location_id", "test_date", "respirator_model", "respirator_size", "fit_method",
                "fit_factor", "passed", "next_due_date",
            ]),
            audiograms: CopyTable::new("audiograms", &[
                "id", "tenant_id", "employee_id", "location_id", "test_date", "test_type", "left_avg_threshold_db",
                "right_avg_threshold_db", "standard_threshold_shift", "next_due_date",
            ]),
            osha_cases: CopyTable::new("osha_cases", &[
                "id", "tenant_id", "employee_id", "location_id", "case_number", "incident_date", "description", "body_part",
                "case_type", "outcome", "days_away", "days_restricted", "is_recordable", "is_privacy_case", "recorded_date",
            ]),
            training_certificates: CopyTable::new("training_certificates", &[
                "id", "tenant_id", "employee_id", "location_id", "certificate_type", "issuer", "certificate_number", "issued_date",
                "expiration_date", "verified",
            ]),
            geo_zones: CopyTable::new("geo_zones", &[
                "id", "tenant_id", "location_id", "name", "zone_shape", "center_latitude", "center_longitude", "radius_meters", "polygon", "active",
            ]),
            check_ins: CopyTable::new("check_ins", &[
                "id", "tenant_id", "employee_id", "location_id", "zone_id", "checked_in_at", "checked_out_at", "method",
                "latitude", "longitude", "inside_zone", "distance_meters",
            ]),
        }
    }

    fn into_vec(self) -> Vec<CopyTable> {
        vec![
            self.tenants, self.compliance_assignments, self.divisions, self.locations, self.users, self.user_locations,
            self.user_company_assignments, self.employees, self.employment_events, self.compliance_status, self.random_pools,
            self.random_draws, self.drug_tests, self.clearinghouse_queries, self.background_checks, self.driver_qualifications,
            self.medical_certificates, self.mvr_reviews, self.medical_exams, self.respirator_fit_tests, self.audiograms,
            self.osha_cases, self.training_certificates, self.geo_zones, self.check_ins,
        ]
    }
}

struct Gen {
    rng: ChaCha8Rng,
    as_of: NaiveDate,
}

impl Gen {
    fn id(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(self.rng.r#gen()).into_uuid()
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p.clamp(0.0, 1.0))
    }
    fn days_ago(&mut self, lo: i64, hi: i64) -> NaiveDate {
        self.as_of - Duration::days(self.rng.gen_range(lo..=hi))
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *items.choose(&mut self.rng).unwrap_or(&items[0])
    }
    fn between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days().max(0);
        from + Duration::days(self.rng.gen_range(0..=span))
    }
}

struct Location {
    id: Uuid,
    division_id: Uuid,
    city: &'static str,
    state: &'static str,
    lat: f64,
    lng: f64,
    zones: Vec<Uuid>,
}

/// Module statuses of one employee, worked out while generating their records.
#[derive(Default)]
struct Flags {
    drug: Option<(&'static str, &'static str)>,
    background: Option<(&'static str, &'static str)>,
    dot: Option<(&'static str, &'static str)>,
    health: Option<(&'static str, &'static str)>,
    training: Option<(&'static str, &'static str)>,
    geo: Option<(&'static str, &'static str)>,
}

fn worse(current: Option<(&'static str, &'static str)>, new: (&'static str, &'static str)) -> Option<(&'static str, &'static str)> {
    let rank = |s: &str| match s {
        "red" => 2,
        "yellow" => 1,
        _ => 0,
    };
    match current {
        Some(c) if rank(c.0) >= rank(new.0) => Some(c),
        _ => Some(new),
    }
}

/// Generates every table's rows, in foreign-key order.
pub fn generate(options: &SeedOptions) -> Vec<CopyTable> {
    let mut t = Tables::new();
    let as_of = options.as_of;
    let compliance_id = tenant_id(COMPLIANCE_TENANT.slug);
    t.tenants.row(&[&compliance_id, &COMPLIANCE_TENANT.slug, &COMPLIANCE_TENANT.name, &COMPLIANCE_TENANT.kind, &None::<&str>]);
    for st in &SERVICE_TENANTS {
        t.tenants.row(&[&tenant_id(st.slug), &st.slug, &st.name, &st.kind, &st.usdot]);
    }
    for slug in ASSIGNED {
        t.compliance_assignments.row(&[&compliance_id, &tenant_id(slug), &(as_of - Duration::days(400))]);
    }
    // Compliance-company users.
    let mut g = Gen { rng: ChaCha8Rng::seed_from_u64(7), as_of };
    for role in ["compliance_manager", "audit_manager", "senior_auditor", "auditor"] {
        let uid = g.id();
        let email = format!("{role}@{}.example", COMPLIANCE_TENANT.slug);
        let name = format!("{} {}", g.pick(&FIRST_NAMES), g.pick(&LAST_NAMES));
        t.users.row(&[&uid, &compliance_id, &email, &name, &role, &true]);
        let assigned: &[&str] = match role {
            "audit_manager" | "senior_auditor" => &ASSIGNED,
            "auditor" => &ASSIGNED[..1],
            _ => &[],
        };
        for slug in assigned {
            t.user_company_assignments.row(&[&uid, &tenant_id(slug)]);
        }
    }
    for (i, st) in SERVICE_TENANTS.iter().enumerate() {
        let mut g = Gen { rng: ChaCha8Rng::seed_from_u64(1000 + i as u64), as_of };
        service_tenant(&mut t, &mut g, st, options.employees_per_tenant);
    }
    t.into_vec()
}

fn service_tenant(t: &mut Tables, g: &mut Gen, st: &DemoTenant, employees: usize) {
    let tid = tenant_id(st.slug);
    let mut locations = Vec::new();
    for (division, sites) in st.divisions {
        let did = g.id();
        t.divisions.row(&[&did, &tid, division]);
        for (name, city, state, lat, lng) in sites.iter() {
            let lid = g.id();
            t.locations.row(&[&lid, &tid, &did, name, city, state, lat, lng]);
            let mut zones = Vec::new();
            for (n, zone) in ["Main Gate", "Yard"].iter().enumerate() {
                let zid = g.id();
                let zname = format!("{name} {zone}");
                if n == 0 {
                    t.geo_zones.row(&[&zid, &tid, &lid, &zname, &"circle", lat, lng, &250i32, &None::<&str>, &true]);
                } else {
                    let poly = format!("[[{:.4},{:.4}],[{:.4},{:.4}],[{:.4},{:.4}],[{:.4},{:.4}]]",
                        lat - 0.003, lng - 0.003, lat - 0.003, lng + 0.003, lat + 0.003, lng + 0.003, lat + 0.003, lng - 0.003);
                    t.geo_zones.row(&[&zid, &tid, &lid, &zname, &"polygon", &None::<f64>, &None::<f64>, &None::<i32>, &poly, &true]);
                }
                zones.push(zid);
            }
            locations.push(Location { id: lid, division_id: did, city, state, lat: *lat, lng: *lng, zones });
        }
    }
    // One user per service-company role.
    for role in ["company_admin", "safety_manager", "der", "site_supervisor", "hr_onboarding", "billing_admin", "read_only_auditor"] {
        let uid = g.id();
        let email = format!("{role}@{}.example", st.slug);
        let name = format!("{} {}", g.pick(&FIRST_NAMES), g.pick(&LAST_NAMES));
        t.users.row(&[&uid, &tid, &email, &name, &role, &true]);
        let first_division = locations.first().map(|l| l.division_id);
        let assigned: Vec<Uuid> = match role {
            "safety_manager" => locations.iter().filter(|l| Some(l.division_id) == first_division).map(|l| l.id).collect(),
            "site_supervisor" => locations.first().map(|l| vec![l.id]).unwrap_or_default(),
            _ => Vec::new(),
        };
        for lid in assigned {
            t.user_locations.row(&[&uid, &lid, &tid]);
        }
    }
    // Random pools and quarterly draws for the last three years.
    let dot_pool = g.id();
    let non_dot_pool = g.id();
    t.random_pools.row(&[&dot_pool, &tid, &"FMCSA drivers", &"FMCSA", &"50.00", &"10.00"]);
    t.random_pools.row(&[&non_dot_pool, &tid, &"Non-DOT safety-sensitive", &None::<&str>, &"25.00", &"5.00"]);
    let mut draws: Vec<(Uuid, NaiveDate, NaiveDate, bool)> = Vec::new(); // (id, quarter start, draw date, dot)
    let (y, q) = (g.as_of.year(), (g.as_of.month0() / 3) as i32);
    for back in 0..12 {
        let idx = y * 4 + q - back;
        let (yy, qq) = (idx.div_euclid(4), idx.rem_euclid(4));
        let start = NaiveDate::from_ymd_opt(yy, (qq * 3 + 1) as u32, 1).unwrap_or(g.as_of);
        let draw_date = start + Duration::days(3);
        if draw_date > g.as_of {
            continue;
        }
        let period = format!("{yy}-Q{}", qq + 1);
        for (pool, dot, size, rate) in [(dot_pool, true, employees * 48 / 100, 50), (non_dot_pool, false, employees * 40 / 100, 25)] {
            let did = g.id();
            let drug_sel = (size * rate / 100 / 4) as i32;
            let alc_sel = (size * if dot { 10 } else { 5 } / 100 / 4) as i32;
            t.random_draws.row(&[&did, &tid, &pool, &draw_date, &period, &(size as i32), &drug_sel, &alc_sel]);
            draws.push((did, start, draw_date, dot));
        }
    }
    let mut specimen_seq = 0u32;
    let mut case_seq = 0u32;
    let job_weights: u32 = JOBS.iter().map(|j| j.3).sum();
    for n in 0..employees {
        let eid = g.id();
        let loc = &locations[g.rng.gen_range(0..locations.len())];
        let mut pick = g.rng.gen_range(0..job_weights);
        let job = JOBS.iter().find(|j| {
            if pick < j.3 {
                true
            } else {
                pick -= j.3;
                false
            }
        }).copied().unwrap_or(JOBS[0]);
        let (title, dot, sensitive, _) = job;
        let first = g.pick(&FIRST_NAMES);
        let last = g.pick(&LAST_NAMES);
        let hire = g.days_ago(20, 12 * 365);
        let dob = hire - Duration::days(g.rng.gen_range(19 * 365..55 * 365));
        let roll: f64 = g.rng.r#gen();
        let status = if roll < 0.84 { "active" } else if roll < 0.88 { "on_leave" } else if roll < 0.89 { "suspended" } else { "terminated" };
        let end = if status == "terminated" { Some(g.between(hire + Duration::days(10), g.as_of)) } else { None };
        let last_day = end.unwrap_or(g.as_of);
        let number = format!("{}-{:05}", &st.slug[..2].to_uppercase(), n + 1);
        let email = format!("{}.{}{}@mail.example", first.to_lowercase(), last.to_lowercase(), n);
        let phone = format!("({}) 555-{:04}", 200 + g.rng.gen_range(0..700), g.rng.gen_range(0..10000));
        let street = format!("{} {}", g.rng.gen_range(100..9999), g.pick(&STREETS));
        let postal = format!("{:05}", g.rng.gen_range(70000..79999));
        let ssn4 = format!("{:04}", g.rng.gen_range(0..10000));
        let agency = dot.then_some("FMCSA");
        t.employees.row(&[
            &eid, &tid, &loc.id, &loc.division_id, &number, &first, &last, &dob, &ssn4, &email, &phone, &street, &loc.city,
            &loc.state, &postal, &title, &status, &hire, &end, &dot, &agency, &sensitive,
        ]);
        let mut flags = Flags::default();
        // Lifecycle.
        t.employment_events.row(&[&g.id(), &tid, &eid, &loc.id, &"hired", &hire, &None::<&str>]);
        if g.chance(0.08) {
            let d = g.between(hire, last_day);
            t.employment_events.row(&[&g.id(), &tid, &eid, &loc.id, &"transferred", &d, &Some("site staffing")]);
        }
        match status {
            "on_leave" => {
                let d = g.days_ago(5, 120);
                t.employment_events.row(&[&g.id(), &tid, &eid, &loc.id, &"leave_started", &d.max(hire), &Some("medical leave")]);
            }
            "suspended" => {
                let d = g.days_ago(5, 90);
                t.employment_events.row(&[&g.id(), &tid, &eid, &loc.id, &"suspended", &d.max(hire), &Some("pending investigation")]);
            }
            "terminated" => {
                let reason = g.pick(&["resigned", "laid off", "policy violation", "retired"]);
                t.employment_events.row(&[&g.id(), &tid, &eid, &loc.id, &"terminated", &last_day, &Some(reason)]);
            }
            _ => {}
        }
        // Drug and alcohol tests.
        let mut test = |g: &mut Gen, t: &mut Tables, flags: &mut Flags, kind: &'static str, reason: &'static str, date: NaiveDate, draw: Option<Uuid>| -> &'static str {
            specimen_seq += 1;
            let specimen = format!("{}{:08}", if kind == "drug" { "D" } else { "A" }, specimen_seq);
            let recent = (g.as_of - date).num_days() < 4;
            let r: f64 = g.rng.r#gen();
            let result = if recent && g.chance(0.6) {
                "pending"
            } else if kind == "alcohol" {
                if r < 0.985 { "negative" } else if r < 0.993 { "positive" } else if r < 0.997 { "refusal" } else { "cancelled" }
            } else {
                let pos = if matches!(reason, "post_accident" | "reasonable_suspicion") { 0.08 } else { 0.017 };
                if r < pos { "positive" } else if r < pos + 0.005 { "refusal" } else if r < pos + 0.015 { "cancelled" }
                else if r < pos + 0.02 { "invalid" } else if r < pos + 0.045 { "negative_dilute" } else { "negative" }
            };
            let substances: Vec<&str> = if kind == "drug" && result == "positive" {
                let mut s = vec![g.pick(&SUBSTANCES)];
                if g.chance(0.15) {
                    let other = g.pick(&SUBSTANCES);
                    if other != s[0] {
                        s.push(other);
                    }
                }
                s
            } else {
                Vec::new()
            };
            let bac = (kind == "alcohol" && result != "pending" && result != "refusal" && result != "cancelled")
                .then(|| if result == "positive" { format!("0.{:03}", g.rng.gen_range(40..120)) } else { "0.000".to_string() });
            let refusal = (result == "refusal").then(|| g.pick(&["failed to appear within the required time", "adulterated specimen", "left the collection site before completion", "refused to sign the ATF"]));
            let result_date = (result != "pending").then(|| date + Duration::days(if kind == "alcohol" { 0 } else { g.rng.gen_range(1..5) }));
            let verified = kind == "drug" && matches!(result, "positive" | "refusal" | "cancelled" | "negative_dilute" | "invalid");
            let mro = verified.then(|| g.pick(&MROS));
            let mro_at = if verified { result_date.map(|d| d + Duration::days(g.rng.gen_range(1..4))) } else { None };
            let mro_result = verified.then_some(match result {
                "positive" => "positive",
                "refusal" => "refusal",
                "cancelled" | "invalid" => "cancelled",
                _ => "negative",
            });
            let lab = (kind == "drug").then(|| g.pick(&LABS));
            let site = format!("{} {}", g.pick(&CLINICS), loc.city);
            let dot_agency = dot.then_some("FMCSA");
            t.drug_tests.row(&[
                &g.id(), &tid, &eid, &loc.id, &kind, &reason, &dot, &dot_agency, &specimen, &date, &site, &lab, &result,
                &result_date, &TextArray(&substances), &bac, &refusal, &mro, &mro_at, &mro_result, &draw,
            ]);
            match result {
                "positive" | "refusal" => flags.drug = worse(flags.drug.take(), ("red", "verified positive or refusal; removed from safety-sensitive duty")),
                "pending" => flags.drug = worse(flags.drug.take(), ("yellow", "test result pending")),
                _ => {}
            }
            result
        };
        if sensitive {
            { let d = hire - Duration::days(g.rng.gen_range(2..10)); test(g, t, &mut flags, "drug", "pre_employment", d, None); }
            for (did, start, draw_date, pool_dot) in draws.clone() {
                if pool_dot != dot || draw_date < hire || draw_date > last_day {
                    continue;
                }
                let rate = if dot { 0.125 } else { 0.0625 };
                if g.chance(rate) {
                    let date = (draw_date + Duration::days(g.rng.gen_range(1..20))).min(g.as_of);
                    let r = test(g, t, &mut flags, "drug", "random", date, Some(did));
                    if matches!(r, "positive" | "refusal") && g.chance(0.5) && date + Duration::days(45) < g.as_of {
                        // SAP process: return-to-duty, then follow-ups; the employee is back to green.
                        let rtd = date + Duration::days(g.rng.gen_range(30..45));
                        test(g, t, &mut flags, "drug", "return_to_duty", rtd, None);
                        let mut fu = rtd + Duration::days(60);
                        while fu < g.as_of && fu < rtd + Duration::days(365) {
                            test(g, t, &mut flags, "drug", "follow_up", fu, None);
                            fu += Duration::days(75);
                        }
                        flags.drug = Some(("green", "completed return-to-duty process"));
                    }
                }
                if g.chance(if dot { 0.025 } else { 0.0125 }) {
                    let date = (start + Duration::days(g.rng.gen_range(5..80))).min(g.as_of);
                    test(g, t, &mut flags, "alcohol", "random", date, Some(did));
                }
            }
            if g.chance(0.05) {
                let d = g.between(hire, last_day);
                test(g, t, &mut flags, "drug", "post_accident", d, None);
                test(g, t, &mut flags, "alcohol", "post_accident", d, None);
            }
            if g.chance(0.015) {
                let d = g.between(hire, last_day);
                test(g, t, &mut flags, "drug", "reasonable_suspicion", d, None);
            }
        } else if g.chance(0.5) {
            { let d = hire - Duration::days(g.rng.gen_range(2..10)); test(g, t, &mut flags, "drug", "pre_employment", d, None); }
        }
        // Background check at hire.
        {
            let ordered = hire - Duration::days(g.rng.gen_range(7..25));
            let recent = (g.as_of - ordered).num_days() < 20;
            let (status_bg, adjudication) = if recent && g.chance(0.5) {
                ("in_progress", "pending")
            } else if g.chance(0.01) {
                ("cancelled", "pending")
            } else {
                let r: f64 = g.rng.r#gen();
                ("complete", if r < 0.86 { "clear" } else if r < 0.97 { "consider" } else { "adverse" })
            };
            let completed = (status_bg == "complete").then(|| ordered + Duration::days(g.rng.gen_range(2..10)));
            let stage = if adjudication == "adverse" {
                g.pick(&["pre_adverse_notice_sent", "waiting_period", "final_adverse_notice_sent", "disputed", "closed"])
            } else if adjudication == "consider" && g.chance(0.3) {
                g.pick(&["pre_adverse_notice_sent", "waiting_period", "closed"])
            } else {
                "none"
            };
            let pre = (stage != "none").then(|| completed.unwrap_or(ordered) + Duration::days(1));
            let fin = matches!(stage, "final_adverse_notice_sent" | "closed" | "disputed").then(|| pre.unwrap_or(ordered) + Duration::days(g.rng.gen_range(6..12)));
            let dispute = (stage == "disputed").then(|| fin.unwrap_or(ordered) + Duration::days(g.rng.gen_range(2..20)));
            let criminal = adjudication != "clear" && adjudication != "pending" && g.chance(0.7);
            let findings = criminal.then(|| g.pick(&["misdemeanor conviction, 2016", "felony conviction, 2011", "pending charge", "DUI conviction, 2019"]));
            let package = if dot { "dot_driver" } else { g.pick(&["basic", "standard", "standard", "executive"]) };
            let vendor = g.pick(&VENDORS);
            t.background_checks.row(&[
                &g.id(), &tid, &eid, &loc.id, &vendor, &package, &status_bg, &ordered, &completed, &adjudication, &stage, &pre,
                &fin, &dispute, &criminal, &findings,
            ]);
            flags.background = Some(match (adjudication, status_bg) {
                ("adverse", _) => ("red", "adverse background check"),
                (_, "in_progress") => ("yellow", "background check in progress"),
                ("consider", _) => ("yellow", "background check needs review"),
                _ => ("green", "background check clear"),
            });
        }
        // DOT driver qualification.
        if dot {
            let med_exp = g.as_of + Duration::days(g.rng.gen_range(-60..700));
            let cdl_exp = g.as_of + Duration::days(g.rng.gen_range(-20..5 * 365));
            let last_mvr = g.days_ago(0, 420).max(hire);
            let next_mvr = last_mvr + Duration::days(365);
            let road = g.chance(0.9).then(|| hire - Duration::days(g.rng.gen_range(1..5)));
            let mut missing: Vec<&str> = Vec::new();
            if road.is_none() {
                missing.push("road_test");
            }
            let inquiry = g.chance(0.93);
            if !inquiry {
                missing.push("previous_employer_inquiry");
            }
            if next_mvr < g.as_of {
                missing.push("annual_review");
            }
            if med_exp < g.as_of {
                missing.push("medical_certificate");
            }
            let class = g.pick(&["A", "A", "A", "B", "B", "C"]);
            let endorse = g.pick(&["", "N", "H", "T", "X", "HN", "NT"]);
            let cdl_no = format!("{}{:08}", loc.state, g.rng.gen_range(0..100_000_000u32));
            t.driver_qualifications.row(&[
                &g.id(), &tid, &eid, &loc.id, &cdl_no, &loc.state, &class, &endorse, &cdl_exp, &med_exp,
                &(hire - Duration::days(14)), &road, &road.map(|_| true), &last_mvr, &next_mvr, &inquiry, &missing.is_empty(),
                &TextArray(&missing),
            ]);
            // Med card history: the current one and up to two before it.
            let mut exp = med_exp;
            for _ in 0..g.rng.gen_range(1..=3) {
                let months = g.pick(&[24, 24, 24, 12, 3]);
                let exam = exp - Duration::days(months as i64 * 30);
                if exam < hire - Duration::days(30) {
                    break;
                }
                let restriction = g.chance(0.12).then(|| g.pick(&["corrective lenses", "hearing aid", "insulin-treated diabetes, ITDM form on file"]));
                let examiner = g.pick(&EXAMINERS);
                let registry = format!("{:010}", g.rng.gen_range(1_000_000_000u64..9_999_999_999));
                t.medical_certificates.row(&[&g.id(), &tid, &eid, &loc.id, &examiner, &registry, &exam, &exp, &months, &restriction]);
                exp = exam;
            }
            let mut d = last_mvr;
            while d >= hire && d > g.as_of - Duration::days(3 * 365) {
                let violations = if g.chance(0.8) { 0 } else { g.rng.gen_range(1..4) };
                let outcome = if violations >= 3 { "needs_review" } else { "qualified" };
                t.mvr_reviews.row(&[&g.id(), &tid, &eid, &loc.id, &d, &loc.state, &violations, &outcome, &"Safety Department"]);
                d -= Duration::days(365);
            }
            flags.dot = Some(if med_exp < g.as_of || cdl_exp < g.as_of {
                ("red", "medical card or CDL expired")
            } else if (med_exp - g.as_of).num_days() <= 30 || !missing.is_empty() {
                ("yellow", "medical card expiring within 30 days or DQ file incomplete")
            } else {
                ("green", "driver qualified")
            });
            // Clearinghouse: a full query at hire, limited queries each year after.
            let ch_start = NaiveDate::from_ymd_opt(2020, 1, 6).unwrap_or(hire);
            if hire >= ch_start {
                let res = if g.chance(0.01) { "violation_found" } else { "no_violations" };
                t.clearinghouse_queries.row(&[&g.id(), &tid, &eid, &loc.id, &"full", &(hire - Duration::days(3)), &Some(hire - Duration::days(4)), &res]);
            }
            let mut q = hire.max(ch_start) + Duration::days(365);
            while q <= last_day {
                let res = if g.chance(0.005) { "consent_pending" } else { "no_violations" };
                t.clearinghouse_queries.row(&[&g.id(), &tid, &eid, &loc.id, &"limited", &q, &Some(hire), &res]);
                q += Duration::days(365);
            }
        }
        // Occupational health for field workers.
        if sensitive {
            if g.chance(0.35) {
                let exam_type = g.pick(&["baseline", "periodic", "hazwoper", "respirator_clearance", "silica", "lead"]);
                let date = g.between(hire, last_day);
                let due = date + Duration::days(365);
                let result = g.pick(&["cleared", "cleared", "cleared", "cleared_with_restrictions", "not_cleared"]);
                let restriction = (result != "cleared").then(|| g.pick(&["no lifting over 50 lb", "no respirator use pending review", "hearing protection required"]));
                let clinic = g.pick(&CLINICS);
                t.medical_exams.row(&[&g.id(), &tid, &eid, &loc.id, &exam_type, &date, &Some(due), &result, &clinic, &restriction]);
                if status != "terminated" {
                    flags.health = worse(flags.health.take(), overdue(g.as_of, due, "medical exam"));
                }
            }
            if g.chance(0.3) {
                let date = g.days_ago(0, 500).max(hire);
                let due = date + Duration::days(365);
                let passed = g.chance(0.96);
                let model = g.pick(&["3M 6000 half-face", "3M 7500 half-face", "Honeywell North 7700", "MSA Advantage 200 LS"]);
                let size = g.pick(&["small", "medium", "medium", "large"]);
                let method = g.pick(&["qualitative", "quantitative"]);
                let factor = (method == "quantitative").then(|| g.rng.gen_range(if passed { 100..2000 } else { 20..99 }));
                t.respirator_fit_tests.row(&[&g.id(), &tid, &eid, &loc.id, &date, &model, &size, &method, &factor, &passed, &due]);
                if status != "terminated" {
                    flags.health = worse(flags.health.take(), overdue(g.as_of, due, "respirator fit test"));
                }
            }
            if g.chance(0.4) {
                let base = hire + Duration::days(g.rng.gen_range(0..30));
                let mut d = base;
                let mut first = true;
                while d <= last_day.min(g.as_of) {
                    let sts = !first && g.chance(0.04);
                    let left = format!("{:.1}", g.rng.gen_range(5.0..35.0));
                    let right = format!("{:.1}", g.rng.gen_range(5.0..35.0));
                    let ty = if first { "baseline" } else if sts && g.chance(0.3) { "retest" } else { "annual" };
                    t.audiograms.row(&[&g.id(), &tid, &eid, &loc.id, &d, &ty, &left, &right, &sts, &(d + Duration::days(365))]);
                    first = false;
                    d += Duration::days(365);
                }
            }
            // OSHA 300 cases: about 3% of field workers a year.
            let years = ((last_day - hire).num_days() as f64 / 365.0).min(5.0);
            if g.chance(0.03 * years) {
                case_seq += 1;
                let date = g.between(hire.max(g.as_of - Duration::days(5 * 365)), last_day);
                let body = g.pick(&BODY_PARTS);
                let case_type = g.pick(&["injury", "injury", "injury", "injury", "skin_disorder", "respiratory_condition", "hearing_loss", "poisoning", "other_illness"]);
                let outcome = g.pick(&["days_away", "job_transfer_or_restriction", "other_recordable", "other_recordable", "days_away"]);
                let days_away = if outcome == "days_away" { g.rng.gen_range(1..45) } else { 0 };
                let restricted = if outcome == "job_transfer_or_restriction" || (outcome == "days_away" && g.chance(0.4)) { g.rng.gen_range(1..30) } else { 0 };
                let privacy = matches!(case_type, "other_illness") && g.chance(0.5);
                let description = format!("{} to {} while {}", g.pick(&["strain", "laceration", "contusion", "fracture", "burn"]), body,
                    g.pick(&["loading equipment", "climbing down from the cab", "handling pipe", "walking on the yard", "working at the wellsite"]));
                let case_no = format!("{}-{:04}", date.year(), case_seq);
                t.osha_cases.row(&[
                    &g.id(), &tid, &eid, &loc.id, &case_no, &date, &description, &body, &case_type, &outcome, &days_away,
                    &restricted, &true, &privacy, &(date + Duration::days(g.rng.gen_range(0..7))),
                ]);
            }
        }
        // Training certificates.
        for (ctype, issuer, months, who) in CERTIFICATES {
            let eligible = match who {
                2 => dot,
                1 => sensitive,
                _ => true,
            };
            let p = match ctype {
                "DER Training" | "Reasonable Suspicion Supervisor" => 0.03,
                "OSHA 10" => 0.7,
                _ => 0.35,
            };
            if !eligible || !g.chance(p) {
                continue;
            }
            let issued = g.between(hire, last_day.min(g.as_of));
            let issued = if months > 0 { issued.max(g.as_of - Duration::days(months as i64 * 30 + 90)) } else { issued };
            let expires = (months > 0).then(|| issued + Duration::days(months as i64 * 30));
            let number = format!("{}-{:07}", &ctype[..2].to_uppercase(), g.rng.gen_range(0..10_000_000));
            t.training_certificates.row(&[&g.id(), &tid, &eid, &loc.id, &ctype, &issuer, &number, &issued, &expires, &g.chance(0.97)]);
            if let Some(e) = expires
                && status != "terminated" {
                    flags.training = worse(flags.training.take(), overdue(g.as_of, e, "certificate"));
                }
        }
        // Check-ins over the last 60 days for active field workers.
        if sensitive && status == "active" {
            for _ in 0..g.rng.gen_range(4..14) {
                let day = g.days_ago(0, 60).max(hire);
                let start = Utc.from_utc_datetime(&day.and_hms_opt(g.rng.gen_range(5..10), g.rng.gen_range(0..60), 0).unwrap_or_default());
                let out: Option<DateTime<Utc>> = (g.as_of - day).num_days().gt(&0).then(|| start + Duration::minutes(g.rng.gen_range(240..660)));
                let zone = g.pick(&loc.zones);
                let inside = g.chance(0.94);
                let distance = if inside { g.rng.gen_range(0..240) } else { g.rng.gen_range(260..5000) };
                let method = if g.chance(0.7) { "gps" } else { "qr" };
                let lat = loc.lat + g.rng.gen_range(-0.002..0.002);
                let lng = loc.lng + g.rng.gen_range(-0.002..0.002);
                t.check_ins.row(&[&g.id(), &tid, &eid, &loc.id, &zone, &start, &out, &method, &lat, &lng, &inside, &distance]);
                if !inside && (g.as_of - day).num_days() <= 30 {
                    flags.geo = Some(("yellow", "checked in outside the zone in the last 30 days"));
                }
            }
        }
        let evaluated = Utc.from_utc_datetime(&g.as_of.and_hms_opt(6, 0, 0).unwrap_or_default());
        for (module, flag, default) in [
            ("drug_alcohol", flags.drug, "no open testing issues"),
            ("background", flags.background, "background check clear"),
            ("dot", flags.dot, "not a DOT-covered driver"),
            ("occupational_health", flags.health, "no surveillance due"),
            ("training", flags.training, "certificates current"),
            ("geo_fencing", flags.geo, "check-ins inside zones"),
        ] {
            let (s, reason) = flag.unwrap_or(("green", default));
            t.compliance_status.row(&[&tid, &eid, &loc.id, &module, &s, &reason, &evaluated]);
        }
    }
    let _ = st.usdot;
}

fn overdue(as_of: NaiveDate, due: NaiveDate, what: &'static str) -> (&'static str, &'static str) {
    let days = (due - as_of).num_days();
    if days < 0 {
        ("red", match what { "certificate" => "a certificate has expired", "medical exam" => "medical exam overdue", _ => "respirator fit test overdue" })
    } else if days <= 30 {
        ("yellow", match what { "certificate" => "a certificate expires within 30 days", "medical exam" => "medical exam due within 30 days", _ => "respirator fit test due within 30 days" })
    } else {
        ("green", match what { "certificate" => "certificates current", "medical exam" => "surveillance current", _ => "fit test current" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(n: usize) -> SeedOptions {
        SeedOptions { employees_per_tenant: n, as_of: NaiveDate::from_ymd_opt(2026, 6, 15).unwrap() }
    }

    #[test]
    fn same_options_give_the_same_rows() {
        let a = generate(&opts(50));
        let b = generate(&opts(50));
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.data, y.data, "{} differs", x.name);
        }
        let c = generate(&SeedOptions { as_of: NaiveDate::from_ymd_opt(2026, 6, 16).unwrap(), ..opts(50) });
        assert_ne!(a[7].data, c[7].data, "a different as-of date moves the dates");
    }

    #[test]
    fn every_row_has_the_width_of_its_table_and_the_mix_is_realistic() {
        let tables = generate(&opts(300));
        for t in &tables {
            for line in t.data.lines() {
                assert_eq!(line.split('\t').count(), t.columns.len(), "{}: {line}", t.name);
            }
        }
        let rows = |n: &str| tables.iter().find(|t| t.name == n).unwrap().rows;
        assert_eq!(rows("employees"), 900);
        assert_eq!(rows("users"), 7 * 3 + 4);
        assert_eq!(rows("compliance_status"), 900 * 6);
        assert!(rows("drug_tests") > 900, "{}", rows("drug_tests"));
        assert!(rows("driver_qualifications") > 250);
        let tests = &tables.iter().find(|t| t.name == "drug_tests").unwrap().data;
        for needle in ["\tpositive\t", "\trefusal\t", "\tcancelled\t", "\trandom\t", "\tpost_accident\t", "\treturn_to_duty\t"] {
            assert!(tests.contains(needle), "no {needle} test");
        }
        let bg = &tables.iter().find(|t| t.name == "background_checks").unwrap().data;
        for stage in ["pre_adverse_notice_sent", "waiting_period", "final_adverse_notice_sent", "disputed", "closed"] {
            assert!(bg.contains(stage), "no background check at stage {stage}");
        }
    }
}
