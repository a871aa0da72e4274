//! The caller of a request: the verified token, the directory entry it must agree with,
//! the tenant the request is for, and the rate limits it is counted against.
//!
//! Tenant resolution: the token's `tenantId`, then `X-Tenant-ID` (only for
//! compliance-company roles, and only for a company assigned to the caller). Any other
//! mismatch is a 403, never a silent switch.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use deriq_core::{Module, Portal, Role, Scope, permissions};
use uuid::Uuid;

use super::AppState;
use super::auth::{Claims, bearer};
use super::error::ApiError;
use crate::directory::{self, User};

/// A directory entry with its role and scope, as cached.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub user: User,
    pub role: Role,
    pub scope: Scope,
}

/// An authenticated, tenant-resolved, rate-limited caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub role: Role,
    pub scope: Scope,
    pub claims: Claims,
    /// The tenant the request is for.
    pub tenant: Uuid,
}

impl Caller {
    /// RBAC: whether the caller's role may query `module`, else 403 with the reason.
    pub fn require(&self, module: Module) -> Result<(), ApiError> {
        match permissions::access(self.role, module) {
            Some(_) => Ok(()),
            None => Err(ApiError::forbidden("module_not_permitted", permissions::denial_reason(self.role, module))),
        }
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn resolve(state: &AppState, email: &str) -> Result<Arc<Resolved>, ApiError> {
    let key = email.to_ascii_lowercase();
    if let Some(r) = state.callers.get(&key) {
        state.metrics.cache.with_label_values(&["caller", "hit"]).inc();
        return Ok(r);
    }
    state.metrics.cache.with_label_values(&["caller", "miss"]).inc();
    let pool = &state.asker.directory_pool;
    let user = directory::find_user(pool, email).await.map_err(|e| match e {
        directory::DirectoryError::UnknownUser(_) => ApiError::unauthorized("unknown_user", "the token's user is not an active user of the platform"),
        other => ApiError::from(other),
    })?;
    let (role, scope) = directory::scope_for(pool, &user).await?;
    let r = Arc::new(Resolved { user, role, scope });
    state.callers.insert(key, r.clone());
    Ok(r)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let auth = parts.headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or_default());
        let token = bearer(auth)?;
        let (claims, role) = state.keys.verify(token, unix_now())?;
        let resolved = resolve(state, &claims.email).await?;
        if resolved.user.id.to_string() != claims.sub {
            return Err(ApiError::unauthorized("subject_mismatch", "the token's subject is not the user with its e-mail"));
        }
        if resolved.role != role {
            return Err(ApiError::forbidden("role_mismatch", format!("the token says {} but the directory says {}", role, resolved.role)).hint("sign in again to get a token with your current role"));
        }
        if resolved.user.tenant_id != claims.tenant_id {
            return Err(ApiError::forbidden("tenant_mismatch", "the token's tenantId is not the user's tenant"));
        }
        let tenant = match parts.headers.get("x-tenant-id") {
            None => claims.tenant_id,
            Some(v) => {
                let id: Uuid = v
                    .to_str()
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .ok_or_else(|| ApiError::bad_request("bad_tenant_header", "X-Tenant-ID must be a tenant UUID"))?;
                if id == claims.tenant_id {
                    id
                } else if role.portal() != Portal::ComplianceCompany {
                    return Err(ApiError::forbidden("tenant_mismatch", "X-Tenant-ID may name another tenant only for compliance-company roles"));
                } else if !resolved.scope.tenant_ids.contains(&id) {
                    return Err(ApiError::forbidden("tenant_not_assigned", "X-Tenant-ID names a company that is not assigned to you"));
                } else {
                    id
                }
            }
        };
        let now = Instant::now();
        if let Err(wait) = state.tenant_limit.check(&tenant.to_string(), now) {
            state.metrics.rate_limited.with_label_values(&["tenant"]).inc();
            return Err(ApiError::rate_limited("tenant", state.tenant_limit.per_minute(), wait));
        }
        if let Err(wait) = state.user_limit.check(&resolved.user.id.to_string(), now) {
            state.metrics.rate_limited.with_label_values(&["user"]).inc();
            return Err(ApiError::rate_limited("user", state.user_limit.per_minute(), wait));
        }
        Ok(Caller { user: resolved.user.clone(), role, scope: resolved.scope.clone(), claims, tenant })
    }
}
