//! The 8 modules that permissions are granted on: the six compliance modules, the
//! employee roster, and audit/reports.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A module of the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Module {
    DrugAlcohol,
    Background,
    Dot,
    OccupationalHealth,
    Training,
    GeoFencing,
    Roster,
    AuditReports,
}

/// A module name that is not one of the 8.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown module '{0}'; expected one of: drug_alcohol, background, dot, occupational_health, training, geo_fencing, roster, audit_reports")]
pub struct UnknownModule(pub String);

impl Module {
    /// Every module.
    pub const ALL: [Module; 8] = [
        Module::DrugAlcohol,
        Module::Background,
        Module::Dot,
        Module::OccupationalHealth,
        Module::Training,
        Module::GeoFencing,
        Module::Roster,
        Module::AuditReports,
    ];

    /// The stable snake_case identifier (used in the semantic model).
    pub fn as_str(self) -> &'static str {
        match self {
            Module::DrugAlcohol => "drug_alcohol",
            Module::Background => "background",
            Module::Dot => "dot",
            Module::OccupationalHealth => "occupational_health",
            Module::Training => "training",
            Module::GeoFencing => "geo_fencing",
            Module::Roster => "roster",
            Module::AuditReports => "audit_reports",
        }
    }

    /// A human label.
    pub fn label(self) -> &'static str {
        match self {
            Module::DrugAlcohol => "Drug & Alcohol Testing",
            Module::Background => "Background Checks",
            Module::Dot => "DOT Driver Qualification",
            Module::OccupationalHealth => "Occupational Health",
            Module::Training => "Training & Certifications",
            Module::GeoFencing => "Geo-Fencing",
            Module::Roster => "Employee Roster",
            Module::AuditReports => "Audit & Reports",
        }
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Module {
    type Err = UnknownModule;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Module::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownModule(s.to_string()))
    }
}
