//! `POST /api/der-iq/chat`: conversations with follow-ups, and server-sent events.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestApp, TestServer};
use deriq_core::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn chat(s: &TestServer, token: &str, body: Value) -> (StatusCode, Value) {
    let r = s.client.post(s.url("/api/der-iq/chat")).bearer_auth(token).json(&body).send().await.unwrap();
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

/// The (event, data) pairs of an SSE body, keep-alive comments left out.
fn events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut name = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = Some(n.trim().to_string());
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            name.map(|n| (n, serde_json::from_str(&data).unwrap_or(Value::Null)))
        })
        .collect()
}

#[tokio::test]
async fn follow_ups_refine_the_previous_question_of_the_same_conversation() {
    let app = TestApp::new().await;
    let s = app.serve().await;
    let token = s.token(Role::CompanyAdmin).await;
    let (st, first) = chat(&s, &token, json!({ "message": "How many post-accident tests this year?" })).await;
    assert_eq!(st, StatusCode::OK, "{first}");
    assert_eq!(first["answer"]["kind"], "data");
    let id = first["conversation_id"].as_str().unwrap().to_string();

    let (st, follow) = chat(&s, &token, json!({ "conversation_id": id, "message": "only the ones in Louisiana" })).await;
    assert_eq!(st, StatusCode::OK, "{follow}");
    assert_eq!(follow["conversation_id"], id.as_str());
    let sql = follow["answer"]["drafted_sql"].as_str().unwrap();
    assert!(sql.contains("'LA'") && sql.contains("post_accident"), "{sql}");

    // Without the conversation, the same words do not know about post-accident tests.
    let (_, fresh) = chat(&s, &token, json!({ "message": "only the ones in Louisiana" })).await;
    assert_ne!(fresh["conversation_id"], id.as_str());
    assert!(!fresh["answer"]["drafted_sql"].as_str().unwrap_or_default().contains("post_accident"), "{fresh}");

    // Unknown ids, and other users' conversations, are 404s.
    let (st, v) = chat(&s, &token, json!({ "conversation_id": uuid::Uuid::new_v4(), "message": "and in Texas?" })).await;
    assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_conversation")));
    let other = s.token(Role::Der).await;
    let (st, _) = chat(&s, &other, json!({ "conversation_id": id, "message": "and in Texas?" })).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "a conversation belongs to its user");
    let (st, v) = chat(&s, &token, json!({ "conversation_id": "not-a-uuid", "message": "x" })).await;
    assert_eq!((st, v["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_fields")));
    s.stop().await;
    app.cleanup().await;
}

#[tokio::test]
async fn event_stream_sends_steps_sql_rows_answer_and_timings_in_order() {
    let app = TestApp::new().await;
    let s = app.serve().await;
    let token = s.token(Role::CompanyAdmin).await;
    let r = s
        .client
        .post(s.url("/api/der-iq/chat"))
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .json(&json!({ "message": "Drug tests by reason this year" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let text = r.text().await.unwrap(); // returns once the stream has ended
    let evs = events(&text);
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"conversation"), "{names:?}");
    assert_eq!(names.last(), Some(&"timings"), "{names:?}");
    let pos = |n: &str| names.iter().position(|x| *x == n).unwrap_or_else(|| panic!("no {n} event in {names:?}"));
    assert!(pos("status") < pos("sql") && pos("sql") < pos("rows") && pos("rows") < pos("answer") && pos("answer") < pos("timings"), "{names:?}");
    let steps: Vec<&str> = evs.iter().filter(|(n, _)| n == "status").filter_map(|(_, d)| d["step"].as_str()).collect();
    assert_eq!(&steps[..2], &["received", "drafting"], "{steps:?}");
    assert!(steps.contains(&"guarding") && steps.contains(&"running"), "{steps:?}");
    let rows = &evs[pos("rows")].1;
    assert!(!rows["rows"].as_array().unwrap().is_empty());
    assert_eq!(evs[pos("answer")].1["kind"], "data");
    assert!(evs[pos("timings")].1["timings_ms"]["total"].as_f64().unwrap() > 0.0);

    // A failure comes as an error event, and the stream ends.
    let r = s
        .client
        .post(s.url("/api/der-iq/chat"))
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .json(&json!({ "message": "Drug tests by reason this year", "drafter": "anthropic" }))
        .send()
        .await
        .unwrap();
    let evs = events(&r.text().await.unwrap());
    let last = evs.last().unwrap();
    assert_eq!(last.0, "error", "{evs:?}");
    assert_eq!(last.1["code"], "drafter_unavailable");
    s.stop().await;
    app.cleanup().await;
}

mod http_support;

#[tokio::test]
async fn chained_follow_ups_refine_cumulatively_until_a_new_question() {
    let app = TestApp::new().await;
    let s = app.serve().await;
    let token = s.token(Role::CompanyAdmin).await;
    let (_, first) = chat(&s, &token, json!({ "message": "How many post-accident tests this year?" })).await;
    let id = first["conversation_id"].as_str().unwrap().to_string();
    let (_, la) = chat(&s, &token, json!({ "conversation_id": id, "message": "only the ones in Louisiana" })).await;
    let (st, drivers) = chat(&s, &token, json!({ "conversation_id": id, "message": "and only drivers" })).await;
    assert_eq!(st, StatusCode::OK, "{drivers}");
    let sql = drivers["answer"]["drafted_sql"].as_str().unwrap_or_default();
    assert!(sql.contains("post_accident") && sql.contains("'LA'") && sql.contains("is_dot_covered"), "all three turns apply: {sql}");
    let count = |v: &Value| v["answer"]["rows"][0][0].as_i64().unwrap();
    assert!(count(&drivers) <= count(&la) && count(&la) <= count(&first), "each turn narrows: {} {} {}", count(&first), count(&la), count(&drivers));
    // A question that stands on its own starts over.
    let (_, fresh) = chat(&s, &token, json!({ "conversation_id": id, "message": "How many employees do we have?" })).await;
    let sql = fresh["answer"]["drafted_sql"].as_str().unwrap_or_default();
    assert!(!sql.contains("'LA'") && !sql.contains("post_accident"), "{sql}");
    let (_, after) = chat(&s, &token, json!({ "conversation_id": id, "message": "only the ones in Texas" })).await;
    let sql = after["answer"]["drafted_sql"].as_str().unwrap_or_default();
    assert!(sql.contains("'TX'") && !sql.contains("'LA'") && !sql.contains("post_accident"), "refines the new question: {sql}");
    s.stop().await;
    app.cleanup().await;
}

#[tokio::test]
async fn events_are_sent_as_the_pipeline_runs_not_after_it() {
    use futures_util::StreamExt;
    use std::time::{Duration, Instant};
    let app = TestApp::new().await;
    let keys = deriq_gateway::http::auth::TokenKeys::hs256(common::TEST_JWT_SECRET, "deriq", "der-iq");
    let pause = Duration::from_millis(700);
    let s = http_support::start(&app, keys.clone(), deriq_gateway::http::GatewayOptions::default(), |a| {
        a.drafters.insert(deriq_gateway::drafter::DrafterKind::Openai, std::sync::Arc::new(http_support::SlowDrafter(pause)));
    })
    .await;
    let user = deriq_gateway::directory::find_user(&s.asker.directory_pool, &common::demo_email(Role::CompanyAdmin)).await.unwrap();
    let token = keys.mint(&deriq_gateway::http::auth::Claims::for_user(&user, "deriq", "der-iq", chrono::Utc::now().timestamp(), 3600)).unwrap();
    let started = Instant::now();
    let r = s
        .client
        .post(s.url("/api/der-iq/chat"))
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .json(&json!({ "message": "Drug tests by reason this year", "drafter": "openai" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut body = r.bytes_stream();
    let mut buffer = String::new();
    let mut arrivals: Vec<(String, Value, Duration)> = Vec::new();
    while let Some(chunk) = body.next().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            for (name, data) in events(&block) {
                arrivals.push((name, data, started.elapsed()));
            }
        }
    }
    let names: Vec<String> = arrivals.iter().map(|(n, d, _)| if n == "status" { format!("{}:{}", d["step"].as_str().unwrap(), d["done"]) } else { n.clone() }).collect();
    let pos = |n: &str| names.iter().position(|x| x == n).unwrap_or_else(|| panic!("no {n} in {names:?}"));
    let order = ["conversation", "received:false", "drafting:false", "drafting:true", "guarding:false", "guarding:true", "sql", "running:false", "running:true", "auditing:false", "auditing:true", "rows", "answer_delta", "answer", "timings"];
    for w in order.windows(2) {
        assert!(pos(w[0]) < pos(w[1]), "{} before {}: {names:?}", w[0], w[1]);
    }
    assert_eq!(names.last().map(String::as_str), Some("timings"));
    let at = |n: &str| arrivals[pos(n)].2;
    assert!(at("drafting:false") < pause / 2, "the first steps arrive before the drafter is done: {:?}", at("drafting:false"));
    assert!(at("timings") >= pause, "{:?}", at("timings"));
    assert!(at("drafting:true") >= pause);
    let deltas: String = arrivals.iter().filter(|(n, _, _)| n == "answer_delta").map(|(_, d, _)| d["text"].as_str().unwrap().to_string()).collect();
    assert_eq!(deltas, arrivals[pos("answer")].1["text"].as_str().unwrap(), "the chunks make up the answer text");
    s.stop().await;
    app.cleanup().await;
}

/// Shutting down stops the listener but finishes a request already in the pipeline: the drafter
/// pauses, so the request is certainly in flight when the shutdown starts.
#[tokio::test]
async fn graceful_shutdown_finishes_requests_in_flight() {
    use std::time::Duration;
    let app = TestApp::new().await;
    let keys = deriq_gateway::http::auth::TokenKeys::hs256(common::TEST_JWT_SECRET, "deriq", "der-iq");
    let pause = Duration::from_millis(600);
    let s = http_support::start(&app, keys.clone(), deriq_gateway::http::GatewayOptions::default(), |a| {
        a.drafters.insert(deriq_gateway::drafter::DrafterKind::Openai, std::sync::Arc::new(http_support::SlowDrafter(pause)));
    })
    .await;
    let user = deriq_gateway::directory::find_user(&s.asker.directory_pool, &common::demo_email(Role::CompanyAdmin)).await.unwrap();
    let token = keys.mint(&deriq_gateway::http::auth::Claims::for_user(&user, "deriq", "der-iq", chrono::Utc::now().timestamp(), 3600)).unwrap();
    let request = s.client.post(s.url("/api/der-iq/query")).bearer_auth(&token).json(&json!({ "question": "How many employees do we have?", "drafter": "openai" }));
    let in_flight = tokio::spawn(async move { request.send().await.map(|r| r.status()) });
    tokio::time::sleep(pause / 3).await;
    let health = s.url("/healthz");
    s.stop().await;
    assert_eq!(in_flight.await.unwrap().unwrap(), StatusCode::OK, "the request in flight was answered");
    assert!(reqwest::get(health).await.is_err(), "the listener is closed");
    app.cleanup().await;
}
