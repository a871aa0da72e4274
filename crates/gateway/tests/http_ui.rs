//! DER IQ Chat's server side against the embedded database: the page and its assets
//! (content types, CSP, cache headers, revalidation), `GET /api/der-iq/me`, and the
//! development sign-in routes, which exist only when development sign-in is on.
//! (The page itself is tested in headless Chromium by e2e/.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{TEST_JWT_SECRET, TestApp, demo_email};
use deriq_core::Role;
use deriq_gateway::db;
use deriq_gateway::http::auth::TokenKeys;
use deriq_gateway::http::{self, HttpSettings, HttpState};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A server with development sign-in on; returns its base URL and a stopper.
async fn serve_with_dev_sign_in(app: &TestApp) -> (String, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let asker = Arc::new(app.asker().await);
    let keys = TokenKeys::hs256(TEST_JWT_SECRET, "deriq", "der-iq");
    let probe = db::pool("primary", app.login("deriq_query_full"), 1).await.unwrap();
    let settings = HttpSettings { tenant_per_minute: 10_000, user_per_minute: 10_000, body_limit_bytes: http::DEFAULT_BODY_LIMIT, caller_ttl: std::time::Duration::from_secs(30) };
    let state = HttpState::new(asker, keys, vec![("test".into(), probe)], settings).unwrap();
    assert!(state.dev_sign_in.enable("deriq", "der-iq"));
    assert!(!state.dev_sign_in.enable("other", "other"), "enabled once");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        http::serve(listener, state, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (base, tx, task)
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_with_csp_and_cache_headers() {
    let app = TestApp::new().await;
    let s = app.serve().await;
    let r = s.client.get(s.url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["cache-control"], "no-cache");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let html = r.text().await.unwrap();
    let asset = |prefix: &str| {
        let start = html.find(prefix).unwrap();
        html[start..].split('"').next().unwrap().to_string()
    };
    for (path, content_type) in [(asset("/app.js?v="), "text/javascript; charset=utf-8"), (asset("/app.css?v="), "text/css; charset=utf-8")] {
        let r = s.client.get(s.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(r.headers()["content-type"], content_type);
        assert!(r.headers()["cache-control"].to_str().unwrap().contains("immutable"));
        let etag = r.headers()["etag"].clone();
        assert!(!r.bytes().await.unwrap().is_empty());
        let again = s.client.get(s.url(&path)).header("if-none-match", etag).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }
    s.stop().await;
    app.cleanup().await;
}

#[tokio::test]
async fn me_names_the_caller_role_tenant_and_scope() {
    let app = TestApp::new().await;
    let s = app.serve().await;
    let r = s.client.get(s.url("/api/der-iq/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "only for a signed-in caller");

    let me: Value = s.client.get(s.url("/api/der-iq/me")).bearer_auth(s.token(Role::SafetyManager).await).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["email"], demo_email(Role::SafetyManager));
    assert_eq!((me["role_label"].as_str(), me["tier"].as_str()), (Some("Safety Manager"), Some("full")));
    assert_eq!(me["export"]["requires_mfa"], true);
    let (_, scope) = app.user_scope(Role::SafetyManager, "permian-hauling").await;
    let locations = me["locations"].as_array().unwrap();
    assert_eq!(locations.len(), scope.location_ids.unwrap().len(), "{me}");
    assert_eq!(me["tenant"]["id"], json!(app.tenant("permian-hauling").await));

    let auditor: Value = s.client.get(s.url("/api/der-iq/me")).bearer_auth(s.token(Role::Auditor).await).send().await.unwrap().json().await.unwrap();
    let (_, scope) = app.user_scope(Role::Auditor, "sentinel-compliance").await;
    let companies: Vec<Value> = auditor["assigned_companies"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect();
    let mut expected: Vec<Value> = scope.tenant_ids.iter().map(|t| json!(t)).collect();
    let mut got = companies.clone();
    expected.sort_by_key(Value::to_string);
    got.sort_by_key(Value::to_string);
    assert_eq!(got, expected);
    assert_eq!((auditor["tier"].as_str(), auditor["export"]["requires_mfa"].as_bool()), (Some("deidentified"), Some(false)));

    // A compliance manager narrowed to one company still sees every assigned company listed.
    let cm = s.token(Role::ComplianceManager).await;
    let gulf = app.tenant("gulf-coast-energy").await;
    let all: Value = s.client.get(s.url("/api/der-iq/me")).bearer_auth(&cm).send().await.unwrap().json().await.unwrap();
    let narrowed: Value = s.client.get(s.url("/api/der-iq/me")).bearer_auth(&cm).header("x-tenant-id", gulf.to_string()).send().await.unwrap().json().await.unwrap();
    assert!(all["narrowed_to"].is_null());
    assert_eq!(narrowed["narrowed_to"], json!(gulf));
    assert_eq!(narrowed["assigned_companies"], all["assigned_companies"]);
    assert!(all["assigned_companies"].as_array().unwrap().len() >= 2);
    s.stop().await;
    app.cleanup().await;
}

#[tokio::test]
async fn development_sign_in_exists_only_when_enabled() {
    let app = TestApp::new().await;
    // Off (the default, and what a production secret gives): the paths are unknown.
    let s = app.serve().await;
    let r = s.client.get(s.url("/api/der-iq/dev/users")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = s.client.post(s.url("/api/der-iq/dev/token")).json(&json!({ "email": demo_email(Role::CompanyAdmin) })).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    s.stop().await;

    let (base, stop, task) = serve_with_dev_sign_in(&app).await;
    let client = reqwest::Client::new();
    let users: Value = client.get(format!("{base}/api/der-iq/dev/users")).send().await.unwrap().json().await.unwrap();
    let users = users["users"].as_array().unwrap();
    let email = demo_email(Role::SafetyManager);
    let sm = users.iter().find(|u| u["email"] == email.as_str()).expect("the safety manager is listed");
    assert_eq!((sm["role_label"].as_str(), sm["tenant_slug"].as_str(), sm["tier"].as_str()), (Some("Safety Manager"), Some("permian-hauling"), Some("full")));
    assert!(users.iter().any(|u| u["portal"] == "compliance_company"));

    let token = |body: Value| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let r = client.post(format!("{base}/api/der-iq/dev/token")).json(&body).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let (st, t) = token(json!({ "email": email.to_uppercase(), "mfa": true })).await;
    assert_eq!(st, StatusCode::OK, "{t}");
    let me: Value = client.get(format!("{base}/api/der-iq/me")).bearer_auth(t["token"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["email"], email.as_str(), "the minted token is accepted");
    assert!(me["session"]["mfa_at"].as_i64().is_some(), "mfa: true marks the token");
    let ttl = me["session"]["expires_at"].as_i64().unwrap() - me["session"]["issued_at"].as_i64().unwrap();
    assert_eq!(ttl, 60 * 60, "the default lifetime is the role's session timeout");

    let (st, t) = token(json!({ "email": email })).await;
    assert_eq!(st, StatusCode::OK);
    assert!(t["mfa"].is_null());
    let (st, v) = token(json!({ "email": email, "ttl_seconds": 61 * 60 })).await;
    assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_ttl")));
    let (st, v) = token(json!({ "email": "nobody@nowhere.example" })).await;
    assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_user")));
    let (st, _) = token(json!({ "email": email, "role": "company_admin" })).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "no claims can be chosen beyond the user");
    let _ = stop.send(());
    task.await.unwrap();
    app.cleanup().await;
}
