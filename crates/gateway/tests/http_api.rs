//! The HTTP API against the embedded database: a real server on an ephemeral port and a
//! real HTTP client. Auth failures, tenant resolution, RBAC for every role × module, bad
//! inputs, rate limits, idempotency, metrics and graceful shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64_free::b64url;
use common::{TestApp, TestServer, demo_email};
use deriq_core::{Module, Role, permissions};
use deriq_gateway::ask::AskRequest;
use deriq_gateway::http::HttpSettings;
use deriq_gateway::http::auth::Claims;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Base64url without padding, for hand-made tokens.
mod base64_free {
    pub fn b64url(bytes: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

const QUESTION: &str = "How many drug tests did we run last quarter?";

async fn post(s: &TestServer, path: &str, token: &str, body: Value) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let r = s.client.post(s.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

async fn get(s: &TestServer, path: &str, token: Option<&str>, extra: &[(&str, String)]) -> (StatusCode, Value) {
    let mut req = s.client.get(s.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in extra {
        req = req.header(*k, v);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no error code>")
}

fn strip_volatile(mut v: Value) -> Value {
    v["timings_ms"] = Value::Null;
    v["request_id"] = Value::Null;
    v
}

#[tokio::test]
async fn query_returns_what_ask_json_prints_with_timing_headers() {
    let app = TestApp::new().await;
    let s = app.serve().await;
    let token = s.token(Role::CompanyAdmin).await;
    let r = s.client.post(s.url("/api/der-iq/query")).bearer_auth(&token).header("x-request-id", "req-123").json(&json!({ "question": QUESTION })).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-request-id"], "req-123");
    let timing = r.headers()["server-timing"].to_str().unwrap().to_string();
    for part in ["total;dur=", "draft;dur=", "db;dur=", "overhead;dur="] {
        assert!(timing.contains(part), "{timing}");
    }
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["kind"], "data", "{body}");
    assert_eq!(body["request_id"], "req-123");
    assert!(body["sql"].as_str().unwrap().to_lowercase().contains("drug_tests"));

    let direct = s.asker.ask(&AskRequest::new(demo_email(Role::CompanyAdmin), QUESTION)).await.unwrap();
    assert_eq!(strip_volatile(body), strip_volatile(serde_json::to_value(&direct).unwrap()), "the same JSON as `deriq ask --json`");

    let metrics = s.client.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("deriq_http_requests_total{route=\"/api/der-iq/query\",status=\"200\"} 1"), "{metrics}");
    assert!(metrics.contains("deriq_guard_decisions_total{decision=\"allow\"} 1"));
    assert!(metrics.contains("deriq_gateway_overhead_seconds_count{route=\"/api/der-iq/query\"} 1"));
    assert!(metrics.contains("deriq_stage_duration_seconds_bucket{stage=\"database\""));
    s.stop().await;
    app.cleanup().await;
}

#[tokio::test]
async fn health_readiness_openapi_and_unknown_paths() {
    let app = TestApp::new().await;
    let s = app.serve().await;
    let (st, v) = get(&s, "/healthz", None, &[]).await;
    assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (st, v) = get(&s, "/readyz", None, &[]).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["checks"]["primary"]["ok"], true);
    assert_eq!(v["checks"]["replica test"]["ok"], true);
    let (st, v) = get(&s, "/openapi.json", None, &[]).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["openapi"], "3.1.0");
    for p in ["/api/der-iq/query", "/api/der-iq/chat", "/api/der-iq/search", "/api/der-iq/schema", "/healthz", "/readyz", "/metrics"] {
        assert!(v["paths"].get(p).is_some(), "{p} missing from the OpenAPI document");
    }
    let (st, v) = get(&s, "/api/der-iq/nothing", None, &[]).await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    s.stop().await;
    app.cleanup().await;
}

#[tokio::test]
async fn every_auth_failure_is_refused_with_its_reason() {
    let app = TestApp::new().await;
    let s = app.serve().await;
    let email = demo_email(Role::SafetyManager);
    let good = s.claims(&email).await;
    let now = chrono::Utc::now().timestamp();
    let mint = |c: &Claims| s.keys.mint(c).unwrap();
    let other_key = deriq_gateway::http::auth::TokenKeys::hs256(b"another-secret", "deriq", "der-iq");
    let header_payload = |alg: &str| format!("{}.{}", b64url(format!("{{\"alg\":\"{alg}\",\"typ\":\"JWT\"}}").as_bytes()), b64url(&serde_json::to_vec(&good).unwrap()));
    let gulf = app.tenant("gulf-coast-energy").await;
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        ("expired", mint(&Claims { iat: now - 600, nbf: now - 600, exp: now - 60, ..good.clone() }), StatusCode::UNAUTHORIZED, "token_expired"),
        ("not yet valid", mint(&Claims { nbf: now + 600, ..good.clone() }), StatusCode::UNAUTHORIZED, "token_not_yet_valid"),
        ("wrong audience", mint(&Claims { aud: "billing".into(), ..good.clone() }), StatusCode::UNAUTHORIZED, "wrong_audience"),
        ("wrong issuer", mint(&Claims { iss: "someone".into(), ..good.clone() }), StatusCode::UNAUTHORIZED, "wrong_issuer"),
        ("wrong key", other_key.mint(&good).unwrap(), StatusCode::UNAUTHORIZED, "bad_signature"),
        ("alg none", format!("{}.", header_payload("none")), StatusCode::UNAUTHORIZED, "unsupported_token"),
        ("algorithm confusion", format!("{}.{}", header_payload("RS256"), b64url(b"not-a-real-signature")), StatusCode::UNAUTHORIZED, "algorithm_not_accepted"),
        ("HS512", format!("{}.{}", header_payload("HS512"), b64url(&[0u8; 64])), StatusCode::UNAUTHORIZED, "algorithm_not_accepted"),
        ("garbage", "abc.def".to_string(), StatusCode::UNAUTHORIZED, "unsupported_token"),
        ("session timeout (60 min for a safety manager)", mint(&Claims { iat: now - 61 * 60, nbf: now - 61 * 60, exp: now + 3600, ..good.clone() }), StatusCode::UNAUTHORIZED, "session_timeout"),
        ("unknown user", mint(&Claims { email: "nobody@nowhere.example".into(), ..good.clone() }), StatusCode::UNAUTHORIZED, "unknown_user"),
        ("role not the directory's", mint(&Claims { role: "company_admin".into(), ..good.clone() }), StatusCode::FORBIDDEN, "role_mismatch"),
        ("tenant not the user's", mint(&Claims { tenant_id: gulf, ..good.clone() }), StatusCode::FORBIDDEN, "tenant_mismatch"),
    ];
    for (what, token, status, expected) in cases {
        let (st, _, v) = post(&s, "/api/der-iq/query", &token, json!({ "question": QUESTION })).await;
        assert_eq!((st, code(&v)), (status, expected), "{what}: {v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}");
    }
    let r = s.client.post(s.url("/api/der-iq/query")).json(&json!({ "question": QUESTION })).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    let r = s.client.post(s.url("/api/der-iq/query")).header("authorization", "Basic dXNlcjpwYXNz").json(&json!({ "question": QUESTION })).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The same claims, properly signed and fresh, pass.
    let (st, _, v) = post(&s, "/api/der-iq/query", &mint(&good), json!({ "question": QUESTION })).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    s.stop().await;
    app.cleanup().await;
}

#[tokio::test]
async fn tenant_header_only_for_compliance_roles_and_assigned_companies() {
    let app = TestApp::new().await;
    let s = app.serve().await;
    let (permian, gulf, red) = (app.tenant("permian-hauling").await, app.tenant("gulf-coast-energy").await, app.tenant("red-river-logistics").await);
    let cm = s.token(Role::ComplianceManager).await;
    let admin = s.token(Role::CompanyAdmin).await;
    let h = |t: uuid::Uuid| vec![("x-tenant-id", t.to_string())];
    assert_eq!(get(&s, "/api/der-iq/schema", Some(&cm), &h(gulf)).await.0, StatusCode::OK);
    assert_eq!(get(&s, "/api/der-iq/schema", Some(&cm), &h(permian)).await.0, StatusCode::OK);
    let (st, v) = get(&s, "/api/der-iq/schema", Some(&cm), &h(red)).await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "tenant_not_assigned"));
    let (st, v) = get(&s, "/api/der-iq/schema", Some(&admin), &h(gulf)).await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "tenant_mismatch"));
    assert_eq!(get(&s, "/api/der-iq/schema", Some(&admin), &h(permian)).await.0, StatusCode::OK, "one's own tenant is fine");
    let (st, v) = get(&s, "/api/der-iq/schema", Some(&admin), &[("x-tenant-id", "permian".into())]).await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "bad_tenant_header"));
    // A senior auditor is limited to the companies assigned to them, not all of the firm's.
    let senior = s.token(Role::SeniorAuditor).await;
    let (_, scope) = app.user_scope(Role::SeniorAuditor, "sentinel-compliance").await;
    for t in [permian, gulf] {
        let expected = if scope.tenant_ids.contains(&t) { StatusCode::OK } else { StatusCode::FORBIDDEN };
        assert_eq!(get(&s, "/api/der-iq/schema", Some(&senior), &h(t)).await.0, expected);
    }
    s.stop().await;
    app.cleanup().await;
}

#[tokio::test]
async fn rbac_for_all_88_role_module_cells() {
    let app = TestApp::new().await;
    let s = app.serve().await;
    let mut checked = 0;
    for role in Role::ALL {
        let token = s.token(role).await;
        for module in Module::ALL {
            let (st, v) = get(&s, &format!("/api/der-iq/schema?module={}", module.as_str()), Some(&token), &[]).await;
            match permissions::access(role, module) {
                Some(_) => {
                    assert_eq!(st, StatusCode::OK, "{role} × {module}: {v}");
                    assert_eq!(v["modules"].as_array().map(Vec::len), Some(1));
                    assert_eq!(v["modules"][0]["module"], module.as_str());
                }
                None => {
                    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "module_not_permitted"), "{role} × {module}");
                    assert_eq!(v["error"]["message"], permissions::denial_reason(role, module));
                }
            }
            checked += 1;
        }
        let (st, v) = get(&s, "/api/der-iq/schema", Some(&token), &[]).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["modules"].as_array().map(Vec::len), Some(permissions::modules(role).len()), "{role}");
    }
    assert_eq!(checked, 88);
    // RBAC is checked before the pipeline runs: no audit row for a refused module.
    let token = s.token(Role::SiteSupervisor).await;
    let (st, _, v) = post(&s, "/api/der-iq/query", &token, json!({ "question": QUESTION, "module": "drug_alcohol" })).await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "module_not_permitted"));
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM deriq.audit_log").fetch_one(&app.admin).await.unwrap();
    assert_eq!(audited, 0);
    let (st, _, v) = get_schema_bad_module(&s, &token).await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "unknown_module"));
    s.stop().await;
    app.cleanup().await;
}

async fn get_schema_bad_module(s: &TestServer, token: &str) -> (StatusCode, (), Value) {
    let (st, v) = get(s, "/api/der-iq/schema?module=payroll", Some(token), &[]).await;
    (st, (), v)
}

#[tokio::test]
async fn bad_inputs_get_a_4xx_that_says_what_was_wrong() {
    let app = TestApp::new().await;
    let s = app.serve().await;
    let token = s.token(Role::CompanyAdmin).await;
    let raw = |body: Vec<u8>, ct: &'static str| {
        s.client.post(s.url("/api/der-iq/query")).bearer_auth(&token).header("content-type", ct).body(body).send()
    };
    let cases: Vec<(&str, Vec<u8>, &'static str, StatusCode, &str)> = vec![
        ("malformed JSON", b"{\"question\": ".to_vec(), "application/json", StatusCode::BAD_REQUEST, "malformed_json"),
        ("missing field", b"{}".to_vec(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "invalid_fields"),
        ("unknown field", b"{\"question\": \"x\", \"sql\": \"DROP TABLE x\"}".to_vec(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "invalid_fields"),
        ("wrong type", b"{\"question\": 42}".to_vec(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "invalid_fields"),
        ("invalid UTF-8", b"{\"question\": \"caf\xe9\"}".to_vec(), "application/json", StatusCode::BAD_REQUEST, "invalid_utf8"),
        ("empty body", Vec::new(), "application/json", StatusCode::BAD_REQUEST, "empty_body"),
        ("empty question", b"{\"question\": \"   \"}".to_vec(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "empty_question"),
        ("long question", serde_json::to_vec(&json!({ "question": "a".repeat(2001) })).unwrap(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "question_too_long"),
        ("10 MB question", serde_json::to_vec(&json!({ "question": "a".repeat(10 * 1024 * 1024) })).unwrap(), "application/json", StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
        ("form body", b"question=hi".to_vec(), "application/x-www-form-urlencoded", StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        ("unknown module", b"{\"question\": \"x\", \"module\": \"payroll\"}".to_vec(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "invalid_fields"),
        ("unconfigured drafter", b"{\"question\": \"x\", \"drafter\": \"anthropic\"}".to_vec(), "application/json", StatusCode::BAD_REQUEST, "drafter_unavailable"),
    ];
    for (what, body, ct, status, expected) in cases {
        let r = raw(body, ct).await.unwrap();
        let st = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!((st, code(&v)), (status, expected), "{what}: {v}");
    }
    let (st, _, v) = post(&s, "/api/der-iq/search", &token, json!({ "query": "" })).await;
    assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "empty_query"));
    let (st, _, v) = post(&s, "/api/der-iq/search", &token, json!({ "query": "random testing rate", "k": 99 })).await;
    assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "bad_k"));
    let (st, _, v) = post(&s, "/api/der-iq/search", &token, json!({ "query": "random testing rate" })).await;
    assert_eq!((st, code(&v)), (StatusCode::SERVICE_UNAVAILABLE, "retrieval_disabled"), "this test server has no retrieval");
    s.stop().await;
    app.cleanup().await;
}

#[tokio::test]
async fn rate_limits_per_tenant_and_per_user_answer_429_with_retry_after() {
    let app = TestApp::new().await;
    let s = app.serve_with(HttpSettings { tenant_per_minute: 5, user_per_minute: 3, body_limit_bytes: 64 * 1024, caller_ttl: Duration::from_secs(30) }).await;
    let admin = s.token(Role::CompanyAdmin).await;
    let der = s.token(Role::Der).await;
    for _ in 0..3 {
        assert_eq!(get(&s, "/api/der-iq/schema", Some(&admin), &[]).await.0, StatusCode::OK);
    }
    let r = s.client.get(s.url("/api/der-iq/schema")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry), "{retry}");
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("user rate limit of 3"), "{v}");
    // The tenant had 5: the admin's 4 calls used 4 of them; the DER (same tenant) gets one more.
    assert_eq!(get(&s, "/api/der-iq/schema", Some(&der), &[]).await.0, StatusCode::OK);
    let (st, v) = get(&s, "/api/der-iq/schema", Some(&der), &[]).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    assert!(v["error"]["message"].as_str().unwrap().contains("tenant rate limit of 5"), "{v}");
    // Another tenant is not affected.
    let other = s.token_for("company_admin@gulf-coast-energy.example").await;
    assert_eq!(get(&s, "/api/der-iq/schema", Some(&other), &[]).await.0, StatusCode::OK);
    let metrics = s.client.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("deriq_rate_limit_rejections_total{limit=\"user\"} 1"), "{metrics}");
    assert!(metrics.contains("deriq_rate_limit_rejections_total{limit=\"tenant\"} 1"));
    s.stop().await;
    app.cleanup().await;
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_response() {
    let app = TestApp::new().await;
    let s = app.serve().await;
    let token = s.token(Role::CompanyAdmin).await;
    let send = |key: &'static str, q: &'static str| s.client.post(s.url("/api/der-iq/query")).bearer_auth(&token).header("idempotency-key", key).json(&json!({ "question": q })).send();
    let first = send("k-1", QUESTION).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = send("k-1", QUESTION).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(first, again, "the retry gets the first response, request id and timings included");
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM deriq.audit_log").fetch_one(&app.admin).await.unwrap();
    assert_eq!(audited, 1, "the pipeline ran once");
    let reused = send("k-1", "How many employees do we have?").await.unwrap();
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Keys are per user: another user's k-1 runs.
    let other = s.token(Role::Der).await;
    let r = s.client.post(s.url("/api/der-iq/query")).bearer_auth(&other).header("idempotency-key", "k-1").json(&json!({ "question": QUESTION })).send().await.unwrap();
    assert!(r.headers().get("idempotent-replayed").is_none());
    s.stop().await;
    app.cleanup().await;
}

#[tokio::test]
async fn pii_exports_need_a_recent_mfa_for_full_tier_roles() {
    let app = TestApp::new().await;
    let s = app.serve().await;
    let now = chrono::Utc::now().timestamp();
    let claims = s.claims(&demo_email(Role::CompanyAdmin)).await;
    let export = |token: String| {
        let r = s.client.post(s.url("/api/der-iq/query")).bearer_auth(token).json(&json!({ "question": QUESTION, "export": true })).send();
        async move {
            let r = r.await.unwrap();
            let (st, ct) = (r.status(), r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default());
            (st, ct, r.text().await.unwrap())
        }
    };
    let (st, _, body) = export(s.keys.mint(&claims).unwrap()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("mfa_required") && body.contains("MFA required"), "{body}");
    let (st, _, body) = export(s.keys.mint(&Claims { mfa: Some(now - 20 * 60), ..claims.clone() }).unwrap()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "a 20-minute-old MFA is too old: {body}");
    let (st, ct, csv) = export(s.keys.mint(&Claims { mfa: Some(now - 60), ..claims.clone() }).unwrap()).await;
    assert_eq!(st, StatusCode::OK, "{csv}");
    assert!(ct.starts_with("text/csv"), "{ct}");
    let (_, _, json_answer) = post(&s, "/api/der-iq/query", &s.keys.mint(&claims).unwrap(), json!({ "question": QUESTION })).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], json_answer["columns"][0]["name"].as_str().unwrap());
    assert_eq!(lines[1], json_answer["rows"][0][0].to_string(), "the CSV holds the same rows");
    // The de-identified tier sees no PII, so its exports need no MFA.
    let (st, _, body) = export(s.token(Role::Auditor).await).await;
    assert_ne!(st, StatusCode::FORBIDDEN, "{body}");
    s.stop().await;
    app.cleanup().await;
}
