//! OpenTelemetry export: with a collector configured, a question's request span and its
//! stage spans (draft, guard, database, audit) reach the collector as one trace.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use common::TestApp;
use deriq_core::Role;
use serde_json::{Value, json};
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test]
async fn a_questions_spans_reach_the_collector_as_one_trace() {
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = received.clone();
    let collector = axum::Router::new().route(
        "/v1/traces",
        post(move |body: axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body.0);
                "{}"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, collector).await.unwrap() });

    // The test runtime has one thread, so a thread-local subscriber sees every span.
    let (layer, exporter) = deriq_gateway::http::otlp::pipeline(&endpoint);
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    tokio::spawn(exporter.run());

    let app = TestApp::new().await;
    let s = app.serve().await;
    let token = s.token(Role::CompanyAdmin).await;
    let r = s
        .client
        .post(s.url("/api/der-iq/query"))
        .bearer_auth(&token)
        .header("x-request-id", "traced-1")
        .json(&json!({ "question": "How many drug tests did we run in 2025?" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let mut spans: Vec<Value> = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        spans = received
            .lock()
            .unwrap()
            .iter()
            .flat_map(|b| {
                b["resourceSpans"][0]["scopeSpans"][0]["spans"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        if spans.iter().any(|s| s["name"] == "request") {
            break;
        }
    }
    let request =
        spans
            .iter()
            .find(|s| {
                s["name"] == "request"
                    && s["attributes"].as_array().unwrap().iter().any(|a| {
                        a["key"] == "request_id" && a["value"]["stringValue"] == "traced-1"
                    })
            })
            .unwrap_or_else(|| panic!("no request span in {spans:?}"));
    assert!(request.get("parentSpanId").is_none());
    let trace = request["traceId"].as_str().unwrap();
    for stage in ["draft", "guard", "database", "audit"] {
        let span = spans
            .iter()
            .find(|s| s["name"] == stage && s["traceId"] == trace)
            .unwrap_or_else(|| panic!("no {stage} span in the trace: {spans:?}"));
        assert!(span["parentSpanId"].is_string(), "{stage} has a parent");
        let (start, end): (u128, u128) = (
            span["startTimeUnixNano"].as_str().unwrap().parse().unwrap(),
            span["endTimeUnixNano"].as_str().unwrap().parse().unwrap(),
        );
        assert!(end >= start);
    }
    let status = request["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "status")
        .map(|a| a["value"]["stringValue"].clone());
    assert_eq!(status, Some(json!("200")));
    s.stop().await;
    app.cleanup().await;
}
