//! Development sign-in for DER IQ Chat: list the demo users and mint a bearer token for
//! one, so the page can be tried without an identity provider.
//!
//! - `GET /api/der-iq/dev/users`: every active user with their role, tier and tenant.
//! - `POST /api/der-iq/dev/token` `{ "email": ..., "mfa": false, "ttl_seconds": 3600 }`:
//!   a token for that user, exactly as `deriq token --user <email> [--mfa]` mints it.
//!
//! The routes exist only when development sign-in is on ([`DevMode::enable`]). `deriq
//! serve` turns it on when [`crate::config::Config::dev_sign_in`] says so: the embedded
//! installation signing with its generated development secret. With `DERIQ_JWT_SECRET`
//! (or an external database) it is off and these paths answer 404 like any unknown path.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use deriq_core::{Portal, Role, permissions};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::Claims;
use super::body::JsonBody;
use super::caller::unix_now;
use super::error::ApiError;
use crate::directory::{self, DirectoryError, User};

/// The claims development tokens are minted with.
#[derive(Debug, Clone)]
pub struct DevSignIn {
    /// The `iss` claim (the server's configured issuer).
    pub issuer: String,
    /// The `aud` claim (the server's configured audience).
    pub audience: String,
}

/// Whether development sign-in is on; off unless [`DevMode::enable`] was called.
#[derive(Debug, Default)]
pub struct DevMode(OnceLock<DevSignIn>);

impl DevMode {
    /// Turns development sign-in on (before the router is built). Returns false when it
    /// was already on.
    pub fn enable(&self, issuer: &str, audience: &str) -> bool {
        self.0.set(DevSignIn { issuer: issuer.to_string(), audience: audience.to_string() }).is_ok()
    }

    /// The settings, when development sign-in is on.
    pub fn settings(&self) -> Option<&DevSignIn> {
        self.0.get()
    }
}

/// The development routes, or none when development sign-in is off.
pub fn routes(state: &AppState) -> Router<AppState> {
    if state.dev_sign_in.settings().is_none() {
        return Router::new();
    }
    Router::new().route("/api/der-iq/dev/users", get(users)).route("/api/der-iq/dev/token", post(token))
}

fn describe(user: &User) -> Value {
    let role: Option<Role> = user.role.parse().ok();
    json!({
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "role_label": role.map(Role::label),
        "tier": role.map(permissions::tier),
        "portal": role.map(|r| if r.portal() == Portal::ComplianceCompany { "compliance_company" } else { "service_company" }),
        "session_timeout_minutes": role.map(Role::session_timeout_minutes),
        "tenant_slug": user.tenant_slug,
        "tenant_name": user.tenant_name,
    })
}

/// `GET /api/der-iq/dev/users`: the users one may sign in as.
pub async fn users(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let users = directory::list_users(&s.asker.directory_pool).await?;
    Ok(Json(json!({ "users": users.iter().map(describe).collect::<Vec<_>>() })))
}

/// The body of `POST /api/der-iq/dev/token`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// The user, by e-mail.
    pub email: String,
    /// Mark the token as having passed MFA now (PII exports of full-tier roles need it).
    #[serde(default)]
    pub mfa: bool,
    /// Lifetime in seconds; default and maximum: the role's session timeout.
    #[serde(default)]
    pub ttl_seconds: Option<i64>,
}

/// `POST /api/der-iq/dev/token`: a development token for a user.
pub async fn token(State(s): State<AppState>, body: JsonBody<TokenBody>) -> Result<Json<Value>, ApiError> {
    let settings = s.dev_sign_in.settings().ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint"))?;
    let b = &body.value;
    let user = directory::find_user(&s.asker.directory_pool, b.email.trim()).await.map_err(|e| match e {
        DirectoryError::UnknownUser(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_user", format!("no active user with the e-mail '{}'", b.email.trim()))
            .hint("GET /api/der-iq/dev/users lists them"),
        other => ApiError::from(other),
    })?;
    let role: Role = user.role.parse().map_err(|_| ApiError::forbidden("unknown_role", format!("the user's role '{}' is not a platform role", user.role)))?;
    let timeout = i64::from(role.session_timeout_minutes()) * 60;
    let ttl = match b.ttl_seconds {
        None => timeout,
        Some(t) if (1..=timeout).contains(&t) => t,
        Some(t) => return Err(ApiError::unprocessable("bad_ttl", format!("ttl_seconds must be between 1 and the {} role's session timeout of {timeout} seconds, got {t}", role.label()))),
    };
    let now = unix_now();
    let mut claims = Claims::for_user(&user, &settings.issuer, &settings.audience, now, ttl);
    if b.mfa {
        claims.mfa = Some(now);
    }
    let token = s.keys.mint(&claims).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "mint_failed", e.to_string()))?;
    Ok(Json(json!({ "token": token, "expires_at": claims.exp, "mfa": claims.mfa, "user": describe(&user) })))
}
