//! The 11 system roles of the platform (7 for service companies, 4 for compliance companies).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which portal a role belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Portal {
    /// The employer's own portal (operations).
    ServiceCompany,
    /// The portal of a compliance company that audits service companies.
    ComplianceCompany,
}

/// A system role. The names are the platform's stable identifiers (tokens, database, audit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    CompanyAdmin,
    SafetyManager,
    Der,
    SiteSupervisor,
    HrOnboarding,
    BillingAdmin,
    ReadOnlyAuditor,
    ComplianceManager,
    AuditManager,
    SeniorAuditor,
    Auditor,
}

/// A role name that is not one of the 11.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role '{0}'; expected one of: {list}", list = Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "))]
pub struct UnknownRole(pub String);

impl Role {
    /// Every role, service-company roles first.
    pub const ALL: [Role; 11] = [
        Role::CompanyAdmin,
        Role::SafetyManager,
        Role::Der,
        Role::SiteSupervisor,
        Role::HrOnboarding,
        Role::BillingAdmin,
        Role::ReadOnlyAuditor,
        Role::ComplianceManager,
        Role::AuditManager,
        Role::SeniorAuditor,
        Role::Auditor,
    ];

    /// The stable snake_case identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::CompanyAdmin => "company_admin",
            Role::SafetyManager => "safety_manager",
            Role::Der => "der",
            Role::SiteSupervisor => "site_supervisor",
            Role::HrOnboarding => "hr_onboarding",
            Role::BillingAdmin => "billing_admin",
            Role::ReadOnlyAuditor => "read_only_auditor",
            Role::ComplianceManager => "compliance_manager",
            Role::AuditManager => "audit_manager",
            Role::SeniorAuditor => "senior_auditor",
            Role::Auditor => "auditor",
        }
    }

    /// A human label, as the portals show it.
    pub fn label(self) -> &'static str {
        match self {
            Role::CompanyAdmin => "Company Admin",
            Role::SafetyManager => "Safety Manager",
            Role::Der => "Designated Employer Representative",
            Role::SiteSupervisor => "Site Supervisor",
            Role::HrOnboarding => "HR / Onboarding",
            Role::BillingAdmin => "Billing Admin",
            Role::ReadOnlyAuditor => "Read-only Auditor",
            Role::ComplianceManager => "Compliance Manager",
            Role::AuditManager => "Audit Manager",
            Role::SeniorAuditor => "Senior Auditor",
            Role::Auditor => "Auditor",
        }
    }

    /// The portal the role belongs to.
    pub fn portal(self) -> Portal {
        match self {
            Role::ComplianceManager | Role::AuditManager | Role::SeniorAuditor | Role::Auditor => {
                Portal::ComplianceCompany
            }
            _ => Portal::ServiceCompany,
        }
    }

    /// Idle session timeout in minutes, per the platform design: 15 minutes for
    /// administrators up to 24 hours for field roles.
    pub fn session_timeout_minutes(self) -> u32 {
        match self {
            Role::CompanyAdmin | Role::ComplianceManager | Role::BillingAdmin => 15,
            Role::SafetyManager | Role::Der | Role::HrOnboarding | Role::AuditManager => 60,
            Role::ReadOnlyAuditor | Role::SeniorAuditor | Role::Auditor => 120,
            Role::SiteSupervisor => 24 * 60,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == wanted)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_portals_split_seven_and_four() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        let service = Role::ALL.iter().filter(|r| r.portal() == Portal::ServiceCompany).count();
        assert_eq!((service, Role::ALL.len() - service), (7, 4));
        assert_eq!("Site Supervisor".parse::<Role>(), Ok(Role::SiteSupervisor));
        let err = "janitor".parse::<Role>().unwrap_err().to_string();
        assert!(err.contains("unknown role 'janitor'") && err.contains("safety_manager"), "{err}");
    }
}
