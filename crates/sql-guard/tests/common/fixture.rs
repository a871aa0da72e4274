//! A fixture catalogue mirroring migrations/0002 (a subset of tables and columns), and
//! the policies of a few callers built from it.

use std::collections::BTreeMap;

use deriq_sql_guard::functions::default_allowed;
use deriq_sql_guard::{
    ColumnAccess, ColumnPolicy, Guard, Policy, ScopeFilter, ScopeParams, TablePolicy, Tier,
};

/// How sensitive a fixture column is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pii {
    No,
    /// Masked (typed NULL) for the de-identified tier.
    Mask,
    /// Rejected for the de-identified tier.
    Reject,
}

use Pii::{Mask, No, Reject};

/// A fixture column: (name, type, sensitivity).
pub type FixtureColumn = (&'static str, &'static str, Pii);

/// (table, columns), in catalogue order.
pub fn catalogue() -> Vec<(&'static str, Vec<FixtureColumn>)> {
    vec![
        (
            "tenants",
            vec![
                ("id", "uuid", No),
                ("slug", "text", No),
                ("name", "text", No),
                ("kind", "text", No),
                ("usdot_number", "text", No),
                ("created_at", "timestamptz", No),
                ("tenant_id", "uuid", No),
            ],
        ),
        (
            "locations",
            vec![
                ("id", "uuid", No),
                ("tenant_id", "uuid", No),
                ("division_id", "uuid", No),
                ("name", "text", No),
                ("city", "text", No),
                ("state", "char(2)", No),
                ("latitude", "double precision", No),
                ("longitude", "double precision", No),
                ("location_id", "uuid", No),
            ],
        ),
        (
            "employees",
            vec![
                ("id", "uuid", No),
                ("tenant_id", "uuid", No),
                ("location_id", "uuid", No),
                ("division_id", "uuid", No),
                ("employee_number", "text", Mask),
                ("first_name", "text", Mask),
                ("last_name", "text", Mask),
                ("date_of_birth", "date", Mask),
                ("ssn_last4", "char(4)", Reject),
                ("email", "text", Mask),
                ("phone", "text", Mask),
                ("job_title", "text", No),
                ("employment_status", "text", No),
                ("hire_date", "date", No),
                ("termination_date", "date", No),
                ("is_dot_covered", "boolean", No),
                ("dot_agency", "text", No),
                ("is_safety_sensitive", "boolean", No),
                ("created_at", "timestamptz", No),
                ("employee_id", "uuid", No),
            ],
        ),
        (
            "drug_tests",
            vec![
                ("id", "uuid", No),
                ("tenant_id", "uuid", No),
                ("employee_id", "uuid", No),
                ("location_id", "uuid", No),
                ("test_type", "text", No),
                ("reason", "text", No),
                ("is_dot", "boolean", No),
                ("dot_agency", "text", No),
                ("specimen_id", "text", No),
                ("collection_date", "date", No),
                ("collection_site", "text", No),
                ("result", "text", No),
                ("result_date", "date", No),
                ("substances", "text[]", No),
                ("alcohol_concentration", "numeric(4,3)", No),
                ("refusal_reason", "text", Mask),
                ("mro_verified_result", "text", No),
            ],
        ),
        (
            "background_checks",
            vec![
                ("id", "uuid", No),
                ("tenant_id", "uuid", No),
                ("employee_id", "uuid", No),
                ("location_id", "uuid", No),
                ("vendor", "text", No),
                ("package", "text", No),
                ("status", "text", No),
                ("ordered_date", "date", No),
                ("completed_date", "date", No),
                ("adjudication", "text", No),
                ("adverse_action_stage", "text", No),
                ("pre_adverse_notice_date", "date", No),
                ("final_adverse_notice_date", "date", No),
                ("criminal_record_found", "boolean", No),
                ("findings_summary", "text", Mask),
            ],
        ),
        (
            "driver_qualifications",
            vec![
                ("id", "uuid", No),
                ("tenant_id", "uuid", No),
                ("employee_id", "uuid", No),
                ("location_id", "uuid", No),
                ("cdl_number", "text", Reject),
                ("cdl_state", "char(2)", No),
                ("cdl_class", "text", No),
                ("cdl_expiration_date", "date", No),
                ("medical_card_expiration_date", "date", No),
                ("last_mvr_review_date", "date", No),
                ("next_mvr_review_due", "date", No),
                ("dq_file_complete", "boolean", No),
                ("dq_missing_items", "text[]", No),
            ],
        ),
        (
            "training_certificates",
            vec![
                ("id", "uuid", No),
                ("tenant_id", "uuid", No),
                ("employee_id", "uuid", No),
                ("location_id", "uuid", No),
                ("certificate_type", "text", No),
                ("issuer", "text", No),
                ("certificate_number", "text", Mask),
                ("issued_date", "date", No),
                ("expiration_date", "date", No),
                ("verified", "boolean", No),
            ],
        ),
        (
            "osha_cases",
            vec![
                ("id", "uuid", No),
                ("tenant_id", "uuid", No),
                ("employee_id", "uuid", No),
                ("location_id", "uuid", No),
                ("case_number", "text", No),
                ("incident_date", "date", No),
                ("log_year", "integer", No),
                ("description", "text", Mask),
                ("body_part", "text", No),
                ("case_type", "text", No),
                ("outcome", "text", No),
                ("days_away", "integer", No),
                ("days_restricted", "integer", No),
                ("is_recordable", "boolean", No),
                ("is_privacy_case", "boolean", No),
                ("recorded_date", "date", No),
            ],
        ),
        (
            "check_ins",
            vec![
                ("id", "uuid", No),
                ("tenant_id", "uuid", No),
                ("employee_id", "uuid", No),
                ("location_id", "uuid", No),
                ("zone_id", "uuid", No),
                ("checked_in_at", "timestamptz", No),
                ("checked_out_at", "timestamptz", No),
                ("method", "text", No),
                ("latitude", "double precision", Mask),
                ("longitude", "double precision", Mask),
                ("inside_zone", "boolean", No),
                ("distance_meters", "integer", No),
            ],
        ),
    ]
}

pub const TENANT_A: &str = "11111111-1111-4111-8111-111111111111";
pub const TENANT_B: &str = "22222222-2222-4222-8222-222222222222";
pub const LOCATION_A1: &str = "33333333-3333-4333-8333-333333333333";
pub const EMPLOYEE_A1: &str = "44444444-4444-4444-8444-444444444444";

/// A policy over the fixture catalogue.
pub fn policy(role: &str, tier: Tier, scope: ScopeParams) -> Policy {
    let mut tables = BTreeMap::new();
    for (table, cols) in catalogue() {
        let columns = cols
            .iter()
            .map(|(name, ty, pii)| ColumnPolicy {
                name: name.to_string(),
                sql_type: ty.to_string(),
                access: match (tier, pii) {
                    (Tier::Full, _) | (_, No) => ColumnAccess::Allowed,
                    (Tier::Deidentified, Mask) => ColumnAccess::Masked,
                    (Tier::Deidentified, Reject) => ColumnAccess::Rejected {
                        hint: format!("use {table}.id to identify the record"),
                    },
                },
            })
            .collect::<Vec<_>>();
        let has = |c: &str| cols.iter().any(|(n, _, _)| *n == c);
        let mut scope_filters = vec![ScopeFilter::Tenant {
            column: "tenant_id".into(),
        }];
        if has("location_id") {
            scope_filters.push(ScopeFilter::Locations {
                column: "location_id".into(),
            });
        }
        if has("employee_id") {
            scope_filters.push(ScopeFilter::Employee {
                column: "employee_id".into(),
            });
        }
        tables.insert(
            table.to_string(),
            TablePolicy {
                columns,
                scope: scope_filters,
            },
        );
    }
    Policy {
        role: role.to_string(),
        tier,
        schema: "compliance".to_string(),
        tables,
        functions: default_allowed(),
        row_cap: 1000,
        max_joins: 6,
        max_depth: 4,
        allow_recursive_cte: false,
        scope,
    }
}

/// A compliance-company auditor: de-identified, two assigned companies, all locations.
pub fn auditor() -> Policy {
    policy(
        "auditor",
        Tier::Deidentified,
        ScopeParams {
            tenant_ids: vec![TENANT_A.into(), TENANT_B.into()],
            location_ids: None,
            employee_id: None,
        },
    )
}

/// A site supervisor: full tier, one tenant, one location.
pub fn site_supervisor() -> Policy {
    policy(
        "site_supervisor",
        Tier::Full,
        ScopeParams {
            tenant_ids: vec![TENANT_A.into()],
            location_ids: Some(vec![LOCATION_A1.into()]),
            employee_id: None,
        },
    )
}

/// An employee looking at their own records: full tier, own record only.
pub fn employee_self() -> Policy {
    policy(
        "employee",
        Tier::Full,
        ScopeParams {
            tenant_ids: vec![TENANT_A.into()],
            location_ids: None,
            employee_id: Some(EMPLOYEE_A1.into()),
        },
    )
}

/// A compiled guard for a policy.
#[allow(clippy::unwrap_used)]
pub fn compiled(policy: Policy) -> Guard {
    Guard::new(policy).unwrap()
}
