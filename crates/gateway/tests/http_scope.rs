//! Tenant resolution that narrows the scope (X-Tenant-ID and subdomains), the results
//! cache (never shared across scopes), and per-stage time limits (504 naming the stage).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod http_support;

use std::sync::Arc;
use std::time::Duration;

use common::{TEST_JWT_SECRET, TestApp, demo_email};
use deriq_core::Role;
use deriq_gateway::ask::StageTimeouts;
use deriq_gateway::directory;
use deriq_gateway::drafter::DrafterKind;
use deriq_gateway::http::GatewayOptions;
use deriq_gateway::http::auth::{Claims, TokenKeys};
use http_support::{Server, SlowDrafter};
use reqwest::StatusCode;
use serde_json::{Value, json};

const COUNT: &str = "How many drug tests did we run in 2025?";

fn keys() -> TokenKeys {
    TokenKeys::hs256(TEST_JWT_SECRET, "deriq", "der-iq")
}

async fn token(s: &Server, email: &str) -> String {
    let user = directory::find_user(&s.asker.directory_pool, email)
        .await
        .unwrap();
    keys()
        .mint(&Claims::for_user(
            &user,
            "deriq",
            "der-iq",
            chrono::Utc::now().timestamp(),
            3600,
        ))
        .unwrap()
}

async fn ask(
    s: &Server,
    token: &str,
    question: &str,
    headers: &[(&str, String)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut r = s
        .client
        .post(s.url("/api/der-iq/query"))
        .bearer_auth(token)
        .json(&json!({ "question": question }));
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    let r = r.send().await.unwrap();
    let (st, h) = (r.status(), r.headers().clone());
    (st, h, r.json().await.unwrap_or(Value::Null))
}

fn count_of(v: &Value) -> i64 {
    v["rows"][0][0]
        .as_i64()
        .unwrap_or_else(|| panic!("no count in {v}"))
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

async fn metrics(s: &Server) -> String {
    s.client
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_named_company_narrows_a_compliance_callers_scope_by_header_or_subdomain() {
    let app = TestApp::new().await;
    let options = GatewayOptions {
        tenant_base_domain: Some("deriq.test".into()),
        results_ttl: Duration::ZERO,
        ..GatewayOptions::default()
    };
    let s = http_support::start(&app, keys(), options, |_| {}).await;
    let (permian, gulf, red) = (
        app.tenant("permian-hauling").await,
        app.tenant("gulf-coast-energy").await,
        app.tenant("red-river-logistics").await,
    );
    let (_, cm_scope) = app
        .user_scope(Role::ComplianceManager, "sentinel-compliance")
        .await;
    assert!(
        cm_scope.tenant_ids.contains(&permian)
            && cm_scope.tenant_ids.contains(&gulf)
            && !cm_scope.tenant_ids.contains(&red),
        "{cm_scope:?}"
    );
    let cm = token(&s, &demo_email(Role::ComplianceManager)).await;

    // Each company's own admin sees its own count; the compliance manager sees the sum.
    let own = |slug: &'static str| {
        let s = &s;
        async move {
            count_of(
                &ask(
                    s,
                    &token(s, &format!("company_admin@{slug}.example")).await,
                    COUNT,
                    &[],
                )
                .await
                .2,
            )
        }
    };
    let (permian_own, gulf_own) = (own("permian-hauling").await, own("gulf-coast-energy").await);
    let (st, _, all) = ask(&s, &cm, COUNT, &[]).await;
    assert_eq!(st, StatusCode::OK, "{all}");
    assert_ne!(
        permian_own, gulf_own,
        "the test needs companies with different counts"
    );
    let all = count_of(&all);
    assert!(
        all >= permian_own + gulf_own,
        "all assigned companies: {all} vs {permian_own} + {gulf_own}"
    );

    // Narrowed by X-Tenant-ID: only that company's rows.
    let (st, _, v) = ask(&s, &cm, COUNT, &[("x-tenant-id", gulf.to_string())]).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        count_of(&v),
        gulf_own,
        "rows of the other assigned company must not appear"
    );
    let (_, _, v) = ask(&s, &cm, COUNT, &[("x-tenant-id", permian.to_string())]).await;
    assert_eq!(count_of(&v), permian_own);
    // Narrowed by subdomain.
    let (st, _, v) = ask(
        &s,
        &cm,
        COUNT,
        &[("host", "gulf-coast-energy.deriq.test".into())],
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(count_of(&v), gulf_own);
    let (_, _, v) = ask(
        &s,
        &cm,
        COUNT,
        &[("host", "permian-hauling.deriq.test:8080".into())],
    )
    .await;
    assert_eq!(count_of(&v), permian_own);
    // Agreeing header and subdomain are fine; disagreeing ones are a 403.
    let (st, _, _) = ask(
        &s,
        &cm,
        COUNT,
        &[
            ("host", "gulf-coast-energy.deriq.test".into()),
            ("x-tenant-id", gulf.to_string()),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, v) = ask(
        &s,
        &cm,
        COUNT,
        &[
            ("host", "gulf-coast-energy.deriq.test".into()),
            ("x-tenant-id", permian.to_string()),
        ],
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "tenant_mismatch"));
    // Not assigned: 403, never a silent switch, and nothing is audited.
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM deriq.audit_log")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let (st, _, v) = ask(&s, &cm, COUNT, &[("x-tenant-id", red.to_string())]).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::FORBIDDEN, "tenant_not_assigned")
    );
    let (st, _, v) = ask(
        &s,
        &cm,
        COUNT,
        &[("host", "red-river-logistics.deriq.test".into())],
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::FORBIDDEN, "tenant_not_assigned")
    );
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM deriq.audit_log")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(before, after);
    let (st, _, v) = ask(
        &s,
        &cm,
        COUNT,
        &[("host", "no-such-company.deriq.test".into())],
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "unknown_tenant"));
    // A service-company user: their own subdomain works, another's is a mismatch.
    let admin = token(&s, &demo_email(Role::CompanyAdmin)).await;
    let (st, _, v) = ask(
        &s,
        &admin,
        COUNT,
        &[("host", "permian-hauling.deriq.test".into())],
    )
    .await;
    assert_eq!((st, count_of(&v)), (StatusCode::OK, permian_own));
    let (st, _, v) = ask(
        &s,
        &admin,
        COUNT,
        &[("host", "gulf-coast-energy.deriq.test".into())],
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "tenant_mismatch"));
    // Hosts outside the base domain are not subdomains.
    let (st, _, v) = ask(
        &s,
        &admin,
        COUNT,
        &[("host", "gulf-coast-energy.elsewhere.test".into())],
    )
    .await;
    assert_eq!((st, count_of(&v)), (StatusCode::OK, permian_own));
    // The audit record names the narrowed tenant.
    let narrowed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deriq.audit_log WHERE details->>'tenant' = $1")
            .bind(gulf.to_string())
            .fetch_one(&app.admin)
            .await
            .unwrap();
    assert_eq!(narrowed, 3);
    s.stop().await;
    app.cleanup().await;
}

#[tokio::test]
async fn results_are_cached_per_scope_and_never_shared() {
    let app = TestApp::new().await;
    let s = http_support::start(
        &app,
        keys(),
        GatewayOptions {
            results_ttl: Duration::from_secs(60),
            ..GatewayOptions::default()
        },
        |_| {},
    )
    .await;
    let permian = token(&s, "company_admin@permian-hauling.example").await;
    let gulf = token(&s, "company_admin@gulf-coast-energy.example").await;
    let (st, h1, p1) = ask(&s, &permian, COUNT, &[]).await;
    assert_eq!(st, StatusCode::OK, "{p1}");
    assert!(
        !h1["server-timing"]
            .to_str()
            .unwrap()
            .contains("cache;desc=hit")
    );
    // The same question from another tenant: the same guard SQL, other parameters and scope.
    let (_, h2, g1) = ask(&s, &gulf, COUNT, &[]).await;
    assert_eq!(
        g1["sql"], p1["sql"],
        "the guard's SQL text is the same for both tenants"
    );
    assert!(
        !h2["server-timing"]
            .to_str()
            .unwrap()
            .contains("cache;desc=hit"),
        "another scope does not hit"
    );
    assert_ne!(
        count_of(&g1),
        count_of(&p1),
        "each tenant gets its own rows"
    );
    // Each tenant's answer is what the uncached pipeline gives it.
    for (email, v) in [
        ("company_admin@permian-hauling.example", &p1),
        ("company_admin@gulf-coast-energy.example", &g1),
    ] {
        let direct = s
            .asker
            .ask(&deriq_gateway::ask::AskRequest::new(email, COUNT))
            .await
            .unwrap();
        assert_eq!(
            v["rows"],
            serde_json::to_value(&direct.rows).unwrap(),
            "{email}"
        );
    }
    // Asking again hits the cache: the same rows, no database time.
    let (_, h3, p2) = ask(&s, &permian, COUNT, &[]).await;
    assert!(
        h3["server-timing"]
            .to_str()
            .unwrap()
            .contains("cache;desc=hit"),
        "{:?}",
        h3["server-timing"]
    );
    assert_eq!(p2["rows"], p1["rows"]);
    let m = metrics(&s).await;
    assert!(
        m.contains("deriq_cache_total{cache=\"results\",outcome=\"hit\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("deriq_cache_total{cache=\"results\",outcome=\"miss\"} 2"),
        "{m}"
    );
    // Every request is still audited.
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM deriq.audit_log")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(audited, 5);
    s.stop().await;
    app.cleanup().await;
}

#[tokio::test]
async fn a_stage_over_its_time_limit_is_a_504_that_names_it() {
    let app = TestApp::new().await;
    let options = GatewayOptions {
        timeouts: StageTimeouts {
            drafter: Some(Duration::from_millis(100)),
            database: Some(Duration::from_secs(10)),
            retrieval: Some(Duration::from_secs(5)),
        },
        ..GatewayOptions::default()
    };
    let s = http_support::start(&app, keys(), options, |a| {
        a.drafters.insert(
            DrafterKind::Openai,
            Arc::new(SlowDrafter(Duration::from_millis(400))),
        );
    })
    .await;
    let admin = token(&s, &demo_email(Role::CompanyAdmin)).await;
    let r = s
        .client
        .post(s.url("/api/der-iq/query"))
        .bearer_auth(&admin)
        .json(&json!({ "question": COUNT, "drafter": "openai" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (code(&v), v["error"]["stage"].as_str()),
        ("stage_timeout", Some("drafter")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("drafter stage did not finish within 100 ms"),
        "{v}"
    );
    // The offline drafter is within the limit.
    assert_eq!(ask(&s, &admin, COUNT, &[]).await.0, StatusCode::OK);
    s.stop().await;

    let options = GatewayOptions {
        timeouts: StageTimeouts {
            drafter: None,
            database: Some(Duration::from_micros(1)),
            retrieval: None,
        },
        results_ttl: Duration::ZERO,
        ..GatewayOptions::default()
    };
    let s = http_support::start(&app, keys(), options, |_| {}).await;
    let admin = token(&s, &demo_email(Role::CompanyAdmin)).await;
    let (st, _, v) = ask(&s, &admin, COUNT, &[]).await;
    assert_eq!(
        (st, code(&v), v["error"]["stage"].as_str()),
        (
            StatusCode::GATEWAY_TIMEOUT,
            "stage_timeout",
            Some("database")
        ),
        "{v}"
    );
    s.stop().await;
    app.cleanup().await;
}

/// An embedder that never answers in time.
struct StuckEmbedder;

struct WordCounter;

impl deriq_rag::tokens::TokenCounter for WordCounter {
    fn count(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }
}

type EmbedFuture<'a, T> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<T, deriq_rag::error::EmbedError>> + Send + 'a>,
>;

// The trait is declared with `async_trait`; this is its expanded form.
impl deriq_rag::Embedder for StuckEmbedder {
    fn model_id(&self) -> &str {
        "stuck"
    }
    fn dimension(&self) -> usize {
        384
    }
    fn token_counter(&self) -> Arc<dyn deriq_rag::tokens::TokenCounter> {
        Arc::new(WordCounter)
    }
    fn max_input_tokens(&self) -> usize {
        256
    }
    fn embed_batch<'a, 'b, 'c>(&'a self, texts: &'b [String]) -> EmbedFuture<'c, Vec<Vec<f32>>>
    where
        'a: 'c,
        'b: 'c,
        Self: 'c,
    {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(texts.iter().map(|_| vec![0.0; 384]).collect())
        })
    }
}

#[tokio::test]
async fn regulatory_retrieval_over_its_time_limit_is_a_504_naming_retrieval() {
    let app = TestApp::new().await;
    let options = GatewayOptions {
        timeouts: StageTimeouts {
            retrieval: Some(Duration::from_millis(150)),
            ..GatewayOptions::default().timeouts
        },
        ..GatewayOptions::default()
    };
    let s = http_support::start(&app, keys(), options, |a| {
        a.retrieval = Some(deriq_gateway::retrieval::Retrieval {
            pool: a.directory_pool.clone(),
            embedder: Arc::new(StuckEmbedder),
        });
    })
    .await;
    let der = token(&s, &demo_email(Role::Der)).await;
    let started = std::time::Instant::now();
    let (st, _, v) = ask(
        &s,
        &der,
        "How soon after an accident must the alcohol test happen according to Part 382?",
        &[],
    )
    .await;
    assert_eq!(
        (st, code(&v), v["error"]["stage"].as_str()),
        (
            StatusCode::GATEWAY_TIMEOUT,
            "stage_timeout",
            Some("retrieval")
        ),
        "{v}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered at the limit, not when the embedder gave up"
    );
    s.stop().await;
    app.cleanup().await;
}
