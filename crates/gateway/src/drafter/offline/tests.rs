//! Unit tests of the offline drafter: plans, SQL accepted by the guard, refusals and
//! questions outside the data.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use deriq_core::{Role, Scope};
use uuid::Uuid;

use super::OfflineDrafter;
use crate::drafter::{Draft, DraftRequest};
use crate::policy::{QueryLimits, guard_policy};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 15).unwrap()
}

fn draft(role: Role, q: &str) -> Draft {
    OfflineDrafter::new().draft_now(&DraftRequest {
        question: q.into(),
        role,
        today: today(),
        prior_attempts: vec![],
        passages: vec![],
        previous: None,
    })
}

fn sql(role: Role, q: &str) -> String {
    match draft(role, q) {
        Draft::Sql { sql, .. } => {
            let scope = Scope { tenant_ids: vec![Uuid::nil()], location_ids: None, employee_id: None };
            let policy = guard_policy(role, &scope, QueryLimits::default());
            if let Err(e) = deriq_sql_guard::guard(&sql, &policy) {
                panic!("guard rejected {sql}: {e}");
            }
            sql
        }
        other => panic!("{q}: {other:?}"),
    }
}

#[test]
fn counts_with_values_state_and_calendar_window() {
    let s = sql(Role::SafetyManager, "How many random drug tests in Texas last quarter were positive?");
    assert!(s.starts_with("SELECT count(*) AS count FROM drug_tests t JOIN locations l"), "{s}");
    for part in ["t.reason = 'random'", "t.result = 'positive'", "t.test_type = 'drug'", "l.state = 'TX'", "t.collection_date >= DATE '2026-01-01'", "t.collection_date < DATE '2026-04-01'"] {
        assert!(s.contains(part), "{part} missing in {s}");
    }
}

#[test]
fn expiry_questions_use_the_expiry_column() {
    let s = sql(Role::Der, "Which drivers have a med card expiring in the next 30 days?");
    assert!(s.contains("FROM driver_qualifications t"), "{s}");
    assert!(s.contains("t.medical_card_expiration_date >= DATE '2026-06-15' AND t.medical_card_expiration_date <= DATE '2026-07-15'"), "{s}");
    assert!(s.contains("e.first_name"), "{s}");
    let s = sql(Role::SiteSupervisor, "expired certificates");
    assert!(s.contains("t.expiration_date < DATE '2026-06-15'"), "{s}");
}

#[test]
fn grouping_top_n_percent_and_people() {
    let s = sql(Role::CompanyAdmin, "OSHA recordables by location this year");
    assert!(s.contains("GROUP BY l.name") && s.contains("t.is_recordable = TRUE"), "{s}");
    let s = sql(Role::CompanyAdmin, "Which 3 sites had the most check-ins outside the zone in the last 30 days?");
    assert!(s.contains("LIMIT 3") && s.contains("t.inside_zone = FALSE"), "{s}");
    let s = sql(Role::Der, "What percentage of random tests were positive in 2025?");
    assert!(s.contains("100.0 * sum(CASE WHEN t.result = 'positive'") && s.contains("t.reason = 'random'"), "{s}");
    let s = sql(Role::Der, "How many employees had a positive drug test this year?");
    assert!(s.contains("count(DISTINCT t.employee_id)"), "{s}");
    let s = sql(Role::CompanyAdmin, "average days away per OSHA case by body part");
    assert!(s.contains("avg(t.days_away)") && s.contains("GROUP BY t.body_part"), "{s}");
}

#[test]
fn deidentified_tier_never_selects_pii() {
    let s = sql(Role::Auditor, "list drivers with expired med cards");
    assert!(!s.contains("first_name") && !s.contains("cdl_number") && s.contains("t.employee_id"), "{s}");
    let s = sql(Role::BillingAdmin, "list active employees");
    assert!(!s.contains("first_name") && !s.contains("ssn") && s.contains("t.id"), "{s}");
}

#[test]
fn refuses_modules_the_role_cannot_query() {
    for (role, q) in [
        (Role::SiteSupervisor, "How many positive drug tests did we have last month?"),
        (Role::Der, "How many OSHA recordable injuries this year?"),
        (Role::BillingAdmin, "Show background checks with adverse action"),
        (Role::HrOnboarding, "Which drivers have expired med cards?"),
    ] {
        match draft(role, q) {
            Draft::Refused { reason } => assert!(reason.contains("cannot query"), "{reason}"),
            other => panic!("{q} as {role}: {other:?}"),
        }
    }
}

#[test]
fn says_when_it_does_not_understand() {
    for q in ["What's the weather in Houston?", "Who won the Super Bowl?", "How many trucks need oil changes?", "employees who like pizza", ""] {
        match draft(Role::CompanyAdmin, q) {
            Draft::NotUnderstood { message } => assert!(message.contains("try"), "{message}"),
            other => panic!("{q}: {other:?}"),
        }
    }
}

#[test]
fn follow_ups_refine_the_previous_question() {
    let d = OfflineDrafter::new().draft_now(&DraftRequest {
        question: "only the ones in Louisiana".into(),
        role: Role::CompanyAdmin,
        today: today(),
        prior_attempts: vec![],
        passages: vec![],
        previous: Some(("How many post-accident tests this year?".into(), String::new())),
    });
    match d {
        Draft::Sql { sql, .. } => assert!(sql.contains("l.state = 'LA'") && sql.contains("post_accident"), "{sql}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn is_fast() {
    let started = std::time::Instant::now();
    for _ in 0..200 {
        let _ = draft(Role::SafetyManager, "How many random drug tests in Texas last quarter were positive?");
    }
    let per = started.elapsed().as_secs_f64() * 1000.0 / 200.0;
    assert!(per < 1.0, "{per} ms per question");
}
