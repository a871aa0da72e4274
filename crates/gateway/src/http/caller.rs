//! The caller of a request: the verified token, the directory entry it must agree with,
//! the tenant the request is for, and the rate limits it is counted against.
//!
//! Tenant resolution, in this order: the token's `tenantId`, then `X-Tenant-ID` (only for
//! compliance-company roles, and only for a company assigned to the caller), then the
//! subdomain (`<slug>.<DERIQ_TENANT_BASE_DOMAIN>` in the Host header). A header or
//! subdomain naming another tenant than the caller may use, or two of them disagreeing, is
//! a 403, never a silent switch. A compliance-company caller who names one assigned
//! company gets its scope narrowed to that company.

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
pub type Resolved = crate::ask::ResolvedCaller;

/// An authenticated, tenant-resolved, rate-limited caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub role: Role,
    pub scope: Scope,
    pub claims: Claims,
    /// The tenant the request is for.
    pub tenant: Uuid,
    /// The one tenant the caller's scope is narrowed to (a compliance-company caller naming
    /// an assigned company by header or subdomain).
    pub narrowed_to: Option<Uuid>,
    /// The cached directory entry (the pipeline uses it instead of reading the directory).
    pub resolved: Arc<Resolved>,
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

/// The tenant slug of the Host header, when it is `<slug>.<base>`.
fn subdomain(parts: &Parts, base: Option<&str>) -> Option<String> {
    let base = base?;
    let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok()).or_else(|| parts.uri.host())?;
    let host = host.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h).to_ascii_lowercase();
    let slug = host.strip_suffix(base)?.strip_suffix('.')?;
    (!slug.is_empty() && !slug.contains('.')).then(|| slug.to_string())
}

async fn tenant_by_slug(state: &AppState, slug: &str) -> Result<Uuid, ApiError> {
    if let Some(id) = state.tenant_slugs.get(slug) {
        return Ok(id);
    }
    let id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM compliance.tenants WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&state.asker.directory_pool)
        .await
        .map_err(|_| ApiError::unavailable("directory_unavailable", "the tenant directory could not be read"))?;
    let id = id.ok_or_else(|| ApiError::new(axum::http::StatusCode::NOT_FOUND, "unknown_tenant", format!("no tenant has the subdomain '{slug}'")))?;
    state.tenant_slugs.insert(slug.to_string(), id);
    Ok(id)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let auth = parts.headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or_default());
        let token = bearer(auth)?;
        let (claims, role) = state.keys.verify_token(token, unix_now()).await?;
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
        let header_tenant = match parts.headers.get("x-tenant-id") {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(|s| s.trim().parse::<Uuid>().ok())
                    .ok_or_else(|| ApiError::bad_request("bad_tenant_header", "X-Tenant-ID must be a tenant UUID"))?,
            ),
        };
        let subdomain_tenant = match subdomain(parts, state.options.tenant_base_domain.as_deref()) {
            None => None,
            Some(slug) => Some(tenant_by_slug(state, &slug).await?),
        };
        if let (Some(h), Some(d)) = (header_tenant, subdomain_tenant)
            && h != d
        {
            return Err(ApiError::forbidden("tenant_mismatch", "X-Tenant-ID and the subdomain name different tenants"));
        }
        let (tenant, narrowed_to) = match header_tenant.or(subdomain_tenant) {
            None => (claims.tenant_id, None),
            Some(id) if id == claims.tenant_id => (id, None),
            Some(_) if role.portal() != Portal::ComplianceCompany => {
                return Err(ApiError::forbidden("tenant_mismatch", "the request names another tenant than the token's; only compliance-company roles may name an assigned company"));
            }
            Some(id) if !resolved.scope.tenant_ids.contains(&id) => {
                return Err(ApiError::forbidden("tenant_not_assigned", "the request names a company that is not assigned to you"));
            }
            Some(id) => (id, Some(id)),
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
        let scope = match narrowed_to {
            Some(t) => Scope { tenant_ids: vec![t], ..resolved.scope.clone() },
            None => resolved.scope.clone(),
        };
        Ok(Caller { user: resolved.user.clone(), role, scope, claims, tenant, narrowed_to, resolved })
    }
}
