//! The users of the platform and their assignments, as seeded or synced from the auth
//! service, and the data scope each one gets.

use deriq_core::permissions::{self, DataScope};
use deriq_core::{Role, Scope};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// A user, with the tenant they belong to.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub full_name: String,
    pub role: String,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub tenant_name: String,
}

/// Looking a user up failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("no user with the e-mail '{0}'; `deriq users` lists them")]
    UnknownUser(String),
    #[error("user {email} has the unknown role '{role}'")]
    BadRole { email: String, role: String },
    #[error("database error while {doing}: {source}")]
    Db { doing: &'static str, source: sqlx::Error },
}

const USER_SELECT: &str = "SELECT u.id, u.email, u.full_name, u.role, u.tenant_id, t.slug AS tenant_slug, t.name AS tenant_name \
     FROM compliance.users u JOIN compliance.tenants t ON t.id = u.tenant_id";

/// Every active user, by tenant and role.
pub async fn list_users(pool: &PgPool) -> Result<Vec<User>, DirectoryError> {
    let sql = format!("{USER_SELECT} WHERE u.active ORDER BY t.kind DESC, t.slug, u.email");
    sqlx::query_as(&sql).fetch_all(pool).await.map_err(|source| DirectoryError::Db { doing: "listing users", source })
}

/// One user by e-mail (case-insensitive).
pub async fn find_user(pool: &PgPool, email: &str) -> Result<User, DirectoryError> {
    let sql = format!("{USER_SELECT} WHERE lower(u.email) = lower($1) AND u.active");
    sqlx::query_as(&sql)
        .bind(email)
        .fetch_optional(pool)
        .await
        .map_err(|source| DirectoryError::Db { doing: "looking up a user", source })?
        .ok_or_else(|| DirectoryError::UnknownUser(email.to_string()))
}

/// The data scope of a user, from their role and assignments.
pub async fn scope_for(pool: &PgPool, user: &User) -> Result<(Role, Scope), DirectoryError> {
    let role: Role = user.role.parse().map_err(|_| DirectoryError::BadRole { email: user.email.clone(), role: user.role.clone() })?;
    let db = |doing| move |source| DirectoryError::Db { doing, source };
    let scope = match permissions::data_scope(role) {
        DataScope::AllEmployees | DataScope::BillingOnly => Scope { tenant_ids: vec![user.tenant_id], location_ids: None, employee_id: None },
        DataScope::DivisionLocation | DataScope::AssignedLocations => {
            let locations: Vec<Uuid> = sqlx::query_scalar("SELECT location_id FROM compliance.user_locations WHERE user_id = $1 ORDER BY 1")
                .bind(user.id)
                .fetch_all(pool)
                .await
                .map_err(db("reading location assignments"))?;
            Scope { tenant_ids: vec![user.tenant_id], location_ids: Some(locations), employee_id: None }
        }
        DataScope::AllAssignedCompanies => {
            let tenants: Vec<Uuid> = sqlx::query_scalar("SELECT tenant_id FROM compliance.compliance_assignments WHERE compliance_tenant_id = $1 ORDER BY 1")
                .bind(user.tenant_id)
                .fetch_all(pool)
                .await
                .map_err(db("reading company assignments"))?;
            Scope { tenant_ids: tenants, location_ids: None, employee_id: None }
        }
        DataScope::AssignedCompanies => {
            // Only companies that are both assigned to the user and to their compliance company.
            let tenants: Vec<Uuid> = sqlx::query_scalar(
                "SELECT a.tenant_id FROM compliance.user_company_assignments a \
                 JOIN compliance.compliance_assignments c ON c.tenant_id = a.tenant_id AND c.compliance_tenant_id = $2 \
                 WHERE a.user_id = $1 ORDER BY 1",
            )
            .bind(user.id)
            .bind(user.tenant_id)
            .fetch_all(pool)
            .await
            .map_err(db("reading company assignments"))?;
            Scope { tenant_ids: tenants, location_ids: None, employee_id: None }
        }
        DataScope::OwnRecord => {
            let employee: Option<Uuid> = sqlx::query_scalar("SELECT employee_id FROM compliance.users WHERE id = $1")
                .bind(user.id)
                .fetch_one(pool)
                .await
                .map_err(db("reading the user's employee record"))?;
            match employee {
                Some(e) => Scope { tenant_ids: vec![user.tenant_id], location_ids: None, employee_id: Some(e) },
                None => Scope::nothing(),
            }
        }
    };
    Ok((role, scope))
}
