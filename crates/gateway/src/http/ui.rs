//! DER IQ Chat: the web page `deriq serve` answers at `/`, embedded in the binary (plain
//! HTML, CSS and JavaScript from `ui/`, no build step), and `GET /api/der-iq/me`, who the
//! signed-in caller is (what the page's header shows).
//!
//! The page is served with a strict Content-Security-Policy (same-origin scripts, styles
//! and requests only; no inline script or style, no framing). `index.html` is revalidated
//! on every load; it names the script and style sheet with a content hash, so those are
//! cached for a year and a new binary's assets are fetched at once.

use std::sync::OnceLock;

use axum::Json;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use deriq_core::{Portal, Tier, permissions};
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::caller::Caller;
use super::error::ApiError;
use super::handlers::MFA_FRESH_SECONDS;

const INDEX_HTML: &str = include_str!("ui/index.html");
const APP_JS: &str = include_str!("ui/app.js");
const APP_CSS: &str = include_str!("ui/app.css");

/// The placeholder in `index.html` that becomes the assets' content hash.
const VERSION_PLACEHOLDER: &str = "{{ASSET_VERSION}}";

/// The Content-Security-Policy of every page response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     form-action 'none'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// One embedded file, ready to serve.
struct Asset {
    body: String,
    content_type: &'static str,
    etag: String,
    cache_control: &'static str,
}

struct Assets {
    index: Asset,
    js: Asset,
    css: Asset,
}

/// FNV-1a, 64 bits: a content fingerprint for ETags and cache busting (not a security hash).
fn fingerprint(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= 0xff;
    }
    format!("{h:016x}")
}

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let version = fingerprint(&[APP_JS, APP_CSS]);
        let index = INDEX_HTML.replace(VERSION_PLACEHOLDER, &version);
        let asset = |body: String, content_type, cache_control| Asset { etag: format!("\"{}\"", fingerprint(&[&body])), body, content_type, cache_control };
        Assets {
            index: asset(index, "text/html; charset=utf-8", "no-cache"),
            js: asset(APP_JS.to_string(), "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"),
            css: asset(APP_CSS.to_string(), "text/css; charset=utf-8", "public, max-age=31536000, immutable"),
        }
    })
}

fn serve(asset: &'static Asset, request: &HeaderMap) -> Response {
    let fresh = request.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag));
    let mut resp = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { asset.body.clone().into_response() };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(asset.cache_control));
    if let Ok(v) = HeaderValue::from_str(&asset.etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"));
    resp
}

async fn index(headers: HeaderMap) -> Response {
    serve(&assets().index, &headers)
}

async fn app_js(headers: HeaderMap) -> Response {
    serve(&assets().js, &headers)
}

async fn app_css(headers: HeaderMap) -> Response {
    serve(&assets().css, &headers)
}

/// The page's routes and `GET /api/der-iq/me`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(index)).route("/app.js", get(app_js)).route("/app.css", get(app_css)).route("/api/der-iq/me", get(me))
}

async fn names(pool: &sqlx::PgPool, sql: &'static str, ids: &[Uuid]) -> Result<Vec<Value>, ApiError> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as(sql)
        .bind(ids)
        .fetch_all(pool)
        .await
        .map_err(|_| ApiError::unavailable("directory_unavailable", "the user directory could not be read"))?;
    Ok(rows.into_iter().map(|(id, name)| json!({ "id": id, "name": name })).collect())
}

/// `GET /api/der-iq/me`: the caller, their role and tier, the tenant the request is for,
/// the companies or locations they are limited to (for a compliance-company role: every
/// assigned company, and `narrowed_to` when `X-Tenant-ID` names one), and their session's
/// limits.
pub async fn me(axum::extract::State(s): axum::extract::State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let pool = &s.asker.directory_pool;
    let compliance = caller.role.portal() == Portal::ComplianceCompany;
    // Every assigned company, even when this request is narrowed to one of them.
    let assigned = &caller.resolved.scope.tenant_ids;
    let companies = if compliance { names(pool, "SELECT id, name FROM compliance.tenants WHERE id = ANY($1) ORDER BY name", assigned).await? } else { Vec::new() };
    let locations = match &caller.scope.location_ids {
        Some(ids) => Some(names(pool, "SELECT id, name FROM compliance.locations WHERE id = ANY($1) ORDER BY name", ids).await?),
        None => None,
    };
    let tenant_name = if caller.tenant == caller.user.tenant_id {
        caller.user.tenant_name.clone()
    } else {
        names(pool, "SELECT id, name FROM compliance.tenants WHERE id = ANY($1)", &[caller.tenant]).await?.first().and_then(|v| v["name"].as_str().map(str::to_string)).unwrap_or_default()
    };
    let tier = permissions::tier(caller.role);
    let c = &caller.claims;
    Ok(Json(json!({
        "email": caller.user.email,
        "full_name": caller.user.full_name,
        "role": caller.role.as_str(),
        "role_label": caller.role.label(),
        "tier": tier,
        "portal": if compliance { "compliance_company" } else { "service_company" },
        "tenant": { "id": caller.tenant, "name": tenant_name, "slug": caller.user.tenant_slug },
        "assigned_companies": companies,
        "narrowed_to": caller.narrowed_to,
        "locations": locations,
        "modules": permissions::modules(caller.role).into_iter().map(|m| json!({ "module": m.as_str(), "label": m.label() })).collect::<Vec<_>>(),
        "session": {
            "issued_at": c.iat,
            "expires_at": c.exp.min(c.iat + i64::from(caller.role.session_timeout_minutes()) * 60),
            "timeout_minutes": caller.role.session_timeout_minutes(),
            "mfa_at": c.mfa,
        },
        "export": { "requires_mfa": tier == Tier::Full, "mfa_fresh_seconds": MFA_FRESH_SECONDS },
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_its_assets_by_content_and_has_no_inline_code() {
        let a = assets();
        let version = fingerprint(&[APP_JS, APP_CSS]);
        assert!(a.index.body.contains(&format!("/app.js?v={version}")), "index.html must load the script by its content hash");
        assert!(a.index.body.contains(&format!("/app.css?v={version}")), "index.html must load the style sheet by its content hash");
        assert!(!a.index.body.contains(VERSION_PLACEHOLDER));
        // The CSP forbids inline code: the page must not need any.
        let lower = a.index.body.to_lowercase();
        assert!(!lower.contains("<script>") && !lower.contains("<style") && !lower.contains(" style=") && !lower.contains(" onclick="), "inline code would be blocked");
        assert_ne!(fingerprint(&["a"]), fingerprint(&["b"]));
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }
}
