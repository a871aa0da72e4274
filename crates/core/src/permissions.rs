//! The role × module permission matrix (11 roles × 8 modules), written once.
//!
//! It follows the role tables of the platform design (service-company portal: 7 roles,
//! compliance-company portal: 4 roles). Each cell says whether the role may query the
//! module, at which tier, and with which data scope. The tier is the same for every
//! module a role can use, since one question runs under one database login role.

use serde::{Deserialize, Serialize};

use crate::{Module, Role};

/// How much of each row a role sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Every column, PII and PHI included.
    Full,
    /// No PII or PHI columns; small groups suppressed.
    Deidentified,
}

/// Which rows a role sees, per the platform's "Data Scope" column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataScope {
    /// Every employee of the caller's own company.
    AllEmployees,
    /// The divisions/locations the user is assigned to.
    DivisionLocation,
    /// Only the locations the user is assigned to (site-level roles).
    AssignedLocations,
    /// Every service company its compliance company is assigned to.
    AllAssignedCompanies,
    /// The service companies assigned to this user.
    AssignedCompanies,
    /// Headcount-level data for billing; no compliance records.
    BillingOnly,
    /// The caller's own employee record only.
    OwnRecord,
}

/// What a role may do with a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    pub tier: Tier,
    pub scope: DataScope,
}

/// The tier a role runs at (the same for all its modules).
pub fn tier(role: Role) -> Tier {
    match role {
        Role::Auditor | Role::BillingAdmin => Tier::Deidentified,
        _ => Tier::Full,
    }
}

/// The data scope of a role.
pub fn data_scope(role: Role) -> DataScope {
    match role {
        Role::CompanyAdmin | Role::Der | Role::HrOnboarding | Role::ReadOnlyAuditor => {
            DataScope::AllEmployees
        }
        Role::SafetyManager => DataScope::DivisionLocation,
        Role::SiteSupervisor => DataScope::AssignedLocations,
        Role::BillingAdmin => DataScope::BillingOnly,
        Role::ComplianceManager => DataScope::AllAssignedCompanies,
        Role::AuditManager | Role::SeniorAuditor | Role::Auditor => DataScope::AssignedCompanies,
    }
}

/// Whether `role` may query `module`, and how. `None` means the module is closed to it.
pub fn access(role: Role, module: Module) -> Option<Access> {
    use Module::*;
    let allowed = match role {
        // Full tenant control.
        Role::CompanyAdmin => true,
        // Compliance oversight of every module, for their divisions and locations.
        Role::SafetyManager => true,
        // DOT-specific: testing, Clearinghouse, driver qualification, and the people.
        Role::Der => matches!(module, DrugAlcohol | Dot | Roster | AuditReports),
        // Location management: who is on site, their training and check-ins.
        Role::SiteSupervisor => matches!(module, Training | GeoFencing | Roster),
        // Roster management and onboarding checks.
        Role::HrOnboarding => matches!(module, Background | Training | Roster),
        // Subscription management: headcount only.
        Role::BillingAdmin => matches!(module, Roster),
        // View and export across the company.
        Role::ReadOnlyAuditor => true,
        // Compliance companies audit every module of their assigned companies.
        Role::ComplianceManager | Role::AuditManager | Role::SeniorAuditor | Role::Auditor => true,
    };
    allowed.then(|| Access { tier: tier(role), scope: data_scope(role) })
}

/// The modules a role may query.
pub fn modules(role: Role) -> Vec<Module> {
    Module::ALL.into_iter().filter(|m| access(role, *m).is_some()).collect()
}

/// Why a module is closed to a role, in words a user can act on.
pub fn denial_reason(role: Role, module: Module) -> String {
    let open: Vec<&str> = modules(role).into_iter().map(Module::label).collect();
    format!(
        "the {} role cannot query {}; it can ask about: {}",
        role.label(),
        module.label(),
        if open.is_empty() { "nothing".to_string() } else { open.join(", ") }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_has_88_cells_and_follows_the_design() {
        let open_cells = Role::ALL.iter().flat_map(|r| Module::ALL.map(|m| access(*r, m))).flatten().count();
        assert_eq!(Role::ALL.len() * Module::ALL.len(), 88);
        assert_eq!(open_cells, 8 + 8 + 4 + 3 + 3 + 1 + 8 + 4 * 8);
        assert_eq!(modules(Role::CompanyAdmin).len(), 8);
        assert_eq!(modules(Role::BillingAdmin), vec![Module::Roster]);
        assert!(access(Role::Der, Module::OccupationalHealth).is_none());
        assert!(access(Role::SiteSupervisor, Module::DrugAlcohol).is_none());
        assert_eq!(access(Role::Auditor, Module::DrugAlcohol).map(|a| a.tier), Some(Tier::Deidentified));
        assert_eq!(data_scope(Role::SeniorAuditor), DataScope::AssignedCompanies);
        assert_eq!(data_scope(Role::SiteSupervisor), DataScope::AssignedLocations);
        let msg = denial_reason(Role::SiteSupervisor, Module::DrugAlcohol);
        assert!(msg.contains("cannot query Drug & Alcohol Testing") && msg.contains("Geo-Fencing"), "{msg}");
    }

    #[test]
    fn every_role_has_one_tier_for_all_its_modules() {
        for r in Role::ALL {
            let tiers: std::collections::HashSet<Tier> =
                Module::ALL.iter().filter_map(|m| access(r, *m)).map(|a| a.tier).collect();
            assert!(tiers.len() <= 1, "{r} has mixed tiers");
        }
    }
}
