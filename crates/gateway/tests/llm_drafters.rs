//! The Anthropic and OpenAI-compatible drafters against a scripted HTTP server on loopback:
//! streaming, usage and cache tokens, retries and their waits, no retry after the first token,
//! timeouts, malformed answers, and what the prompts sent over the wire contain.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use deriq_core::{Role, SemanticModel};
use deriq_gateway::drafter::anthropic::{API_VERSION, AnthropicConfig, AnthropicDrafter};
use deriq_gateway::drafter::openai::{OpenAiConfig, OpenAiDrafter};
use deriq_gateway::drafter::prompt;
use deriq_gateway::drafter::retry::Limits;
use deriq_gateway::drafter::{Draft, DraftRequest, Drafter, DrafterError, Passage, PriorAttempt, Usage};
use deriq_gateway::policy::{QueryLimits, guard_policy};
use serde_json::{Value, json};
use support::loopback::{LoopbackServer, Recorded, Reply, SseStep};

const ANSWER: &str = "<sql>\nSELECT count(*) AS positives\nFROM drug_tests\nWHERE result = 'positive'\n</sql>\n<explanation>Counts positive tests.</explanation>";

fn limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(10),
        max_retries: 3,
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(40),
    }
}

fn anthropic(server: &LoopbackServer, limits: Limits) -> AnthropicDrafter {
    AnthropicDrafter::new(AnthropicConfig {
        api_key: "test-key".into(),
        base_url: server.base_url.clone(),
        model: "claude-test".into(),
        max_tokens: 512,
        limits,
    })
    .unwrap()
}

fn openai(server: &LoopbackServer, limits: Limits) -> OpenAiDrafter {
    OpenAiDrafter::new(OpenAiConfig {
        base_url: format!("{}/v1", server.base_url),
        api_key: Some("local-key".into()),
        model: "qwen-test".into(),
        max_tokens: 512,
        limits,
    })
    .unwrap()
}

fn ask(role: Role, question: &str) -> DraftRequest {
    DraftRequest {
        question: question.into(),
        role,
        today: NaiveDate::from_ymd_opt(2026, 6, 15).unwrap(),
        prior_attempts: vec![],
        passages: vec![],
        previous: None,
    }
}

/// A Messages API stream whose text arrives in `chunks`.
fn stream(chunks: &[&str]) -> Vec<SseStep> {
    let mut steps = vec![
        SseStep::event(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
                "content": [], "model": "claude-test", "stop_reason": null,
                "usage": {"input_tokens": 410, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 3120}}}),
        ),
        SseStep::event("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})),
        SseStep::event("ping", json!({"type": "ping"})),
    ];
    for c in chunks {
        steps.push(SseStep::event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": c}}),
        ));
    }
    steps.push(SseStep::event("content_block_stop", json!({"type": "content_block_stop", "index": 0})));
    steps.push(SseStep::event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 57}}),
    ));
    steps.push(SseStep::event("message_stop", json!({"type": "message_stop"})));
    steps
}

fn split_answer(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = rest.len().min(17);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    out
}

fn anthropic_error(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

fn positives() -> Draft {
    Draft::Sql {
        sql: "SELECT count(*) AS positives\nFROM drug_tests\nWHERE result = 'positive'".into(),
        explanation: "Counts positive tests.".into(),
    }
}

/// The system text and the user text of a recorded Messages request.
fn anthropic_prompt(r: &Recorded) -> (String, String) {
    let body = r.json();
    let system = body["system"].as_array().unwrap().iter().map(|b| b["text"].as_str().unwrap()).collect::<Vec<_>>().join("\n");
    (system, body["messages"][0]["content"].as_str().unwrap().to_string())
}

fn tokens(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map(str::to_string).collect()
}

// ---------------------------------------------------------------- Anthropic

#[tokio::test]
async fn anthropic_streams_an_answer_with_usage_and_cache_tokens() {
    let server = LoopbackServer::start(vec![Reply::Sse(stream(&split_answer(ANSWER)))]).await;
    let drafter = anthropic(&server, limits());
    let outcome = drafter.draft(&ask(Role::SafetyManager, "How many positive drug tests?")).await.unwrap();

    assert_eq!(outcome.draft, positives());
    assert_eq!(
        outcome.usage,
        Usage { input_tokens: 410, output_tokens: 57, cache_creation_input_tokens: 0, cache_read_input_tokens: 3120 }
    );
    assert_eq!(outcome.model, "anthropic:claude-test");
    assert!(outcome.provider_ms > 0.0);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/v1/messages"));
    assert_eq!(r.header("x-api-key"), Some("test-key"));
    assert_eq!(r.header("anthropic-version"), Some(API_VERSION));
    let body = r.json();
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["model"], json!("claude-test"));
    assert_eq!(body["max_tokens"], json!(512));
    assert_eq!(body["messages"][0]["role"], json!("user"));
    assert!(body["messages"][0]["content"].as_str().unwrap().ends_with("Question: How many positive drug tests?"));
}

#[tokio::test]
async fn the_stable_prefix_carries_the_cache_marker_and_is_identical_across_questions() {
    let server = LoopbackServer::start(vec![Reply::Sse(stream(&[ANSWER])), Reply::Sse(stream(&[ANSWER]))]).await;
    let drafter = anthropic(&server, limits());
    let first = ask(Role::Der, "How many positive drug tests last quarter?");
    let mut second = ask(Role::Der, "Which drivers have a med card expiring in the next 30 days?");
    second.prior_attempts.push(PriorAttempt { sql: "SELECT 1".into(), feedback: "no table".into() });
    drafter.draft(&first).await.unwrap();
    drafter.draft(&second).await.unwrap();

    let requests = server.requests();
    let systems: Vec<Value> = requests.iter().map(|r| r.json()["system"].clone()).collect();
    let blocks = systems[0].as_array().unwrap();
    assert_eq!(blocks.len(), 1, "{blocks:?}");
    assert_eq!(blocks[0]["cache_control"], json!({"type": "ephemeral"}));
    let stable = blocks[0]["text"].as_str().unwrap();
    assert_eq!(stable, prompt::render(&first).unwrap().stable);
    assert!(stable.contains("Rules:") && stable.contains("## drug_tests") && stable.contains("<not_understood>"));
    assert!(!stable.contains("last quarter?"), "the question leaked into the cached prefix");
    assert_eq!(systems[0], systems[1], "the cached prefix changed between questions of one role");
    assert_ne!(requests[0].json()["messages"], requests[1].json()["messages"]);
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_then_the_answer_streams() {
    let server = LoopbackServer::start(vec![
        Reply::json_with(429, &[("retry-after", "1")], anthropic_error("rate_limit_error", "slow down")),
        Reply::Sse(stream(&split_answer(ANSWER))),
    ])
    .await;
    let drafter = anthropic(&server, limits());
    let started = Instant::now();
    let outcome = drafter.draft(&ask(Role::CompanyAdmin, "positive tests")).await.unwrap();
    assert_eq!(outcome.draft, positives());

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "one 429, one success");
    let gap = requests[1].at.duration_since(requests[0].at);
    assert!(gap >= Duration::from_millis(990), "retry-after: 1 not honoured, waited {gap:?}");
    assert!(gap < Duration::from_secs(3), "waited {gap:?}");
    assert!(outcome.provider_ms >= 990.0 && started.elapsed() < Duration::from_secs(5));
    assert_eq!(requests[0].body, requests[1].body, "the retry changed the request");
}

#[tokio::test]
async fn overloaded_and_server_errors_are_retried_then_given_up_with_a_clear_error() {
    let server = LoopbackServer::start(vec![
        Reply::json(529, anthropic_error("overloaded_error", "Overloaded")),
        Reply::text(500, "upstream exploded"),
        Reply::json(529, anthropic_error("overloaded_error", "Overloaded")),
        Reply::Sse(stream(&[ANSWER])),
    ])
    .await;
    let drafter = anthropic(&server, Limits { max_retries: 2, ..limits() });
    let err = drafter.draft(&ask(Role::CompanyAdmin, "positive tests")).await.unwrap_err();
    match &err {
        DrafterError::Http { status: 529, message, .. } => {
            assert!(message.contains("Overloaded") && message.contains("gave up after 3 attempts"), "{message}");
        }
        other => panic!("expected HTTP 529, got {other:?}"),
    }
    assert!(err.to_string().contains("anthropic API returned HTTP 529"), "{err}");
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "max_retries 2 means three attempts");
    for pair in requests.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(gap >= Duration::from_millis(5), "no backoff between attempts: {gap:?}");
    }
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = LoopbackServer::start(vec![
        Reply::json(401, anthropic_error("authentication_error", "invalid x-api-key")),
        Reply::Sse(stream(&[ANSWER])),
    ])
    .await;
    let err = anthropic(&server, limits()).draft(&ask(Role::Der, "positive tests")).await.unwrap_err();
    assert!(matches!(&err, DrafterError::Http { status: 401, message, .. } if message.contains("invalid x-api-key")), "{err:?}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn an_error_event_after_the_first_token_is_not_retried() {
    let mut steps = stream(&["<sql>\nSELECT count(*)"]);
    steps.truncate(4); // message_start, content_block_start, ping, the first delta
    steps.push(SseStep::event("error", anthropic_error("overloaded_error", "Overloaded")));
    let server = LoopbackServer::start(vec![Reply::Sse(steps), Reply::Sse(stream(&[ANSWER]))]).await;
    let err = anthropic(&server, limits()).draft(&ask(Role::Der, "positive tests")).await.unwrap_err();
    match &err {
        DrafterError::Http { status: 529, message, .. } => assert!(message.contains("not retried"), "{message}"),
        other => panic!("expected the stream error, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 1, "retried after the first token");
}

#[tokio::test]
async fn a_stream_cut_after_the_first_token_is_not_retried_but_one_cut_before_it_is() {
    let mut cut_late = stream(&["<sql>SELECT"]);
    cut_late.truncate(4);
    cut_late.push(SseStep::Drop);
    let server = LoopbackServer::start(vec![Reply::Sse(cut_late), Reply::Sse(stream(&[ANSWER]))]).await;
    let err = anthropic(&server, limits()).draft(&ask(Role::Der, "positive tests")).await.unwrap_err();
    assert!(matches!(&err, DrafterError::Transport { message, .. } if message.contains("not retried")), "{err:?}");
    assert_eq!(server.requests().len(), 1);

    let mut early = stream(&[]);
    early.truncate(1); // message_start only
    early.push(SseStep::event("error", anthropic_error("overloaded_error", "Overloaded")));
    let server = LoopbackServer::start(vec![Reply::Sse(early), Reply::Sse(stream(&split_answer(ANSWER)))]).await;
    let outcome = anthropic(&server, limits()).draft(&ask(Role::Der, "positive tests")).await.unwrap();
    assert_eq!(outcome.draft, positives());
    assert_eq!(server.requests().len(), 2, "an error before any token is retried");
}

#[tokio::test]
async fn a_silent_or_stalled_server_times_out() {
    let server = LoopbackServer::start(vec![Reply::Silence]).await;
    let drafter = anthropic(&server, Limits { total_timeout: Duration::from_millis(800), ..limits() });
    let started = Instant::now();
    let err = drafter.draft(&ask(Role::Der, "positive tests")).await.unwrap_err();
    assert!(matches!(err, DrafterError::Timeout { seconds: 1, .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());

    let mut stalled = stream(&["<sql>SELECT"]);
    stalled.truncate(4);
    stalled.push(SseStep::Pause(Duration::from_secs(30)));
    let server = LoopbackServer::start(vec![Reply::Sse(stalled)]).await;
    let drafter = anthropic(&server, Limits { total_timeout: Duration::from_millis(800), ..limits() });
    let err = drafter.draft(&ask(Role::Der, "positive tests")).await.unwrap_err();
    assert!(matches!(err, DrafterError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn a_retry_after_longer_than_the_time_limit_is_not_waited() {
    let server = LoopbackServer::start(vec![
        Reply::json_with(429, &[("retry-after", "30")], anthropic_error("rate_limit_error", "slow down")),
        Reply::Sse(stream(&[ANSWER])),
    ])
    .await;
    let drafter = anthropic(&server, Limits { total_timeout: Duration::from_secs(2), ..limits() });
    let started = Instant::now();
    let err = drafter.draft(&ask(Role::Der, "positive tests")).await.unwrap_err();
    assert!(matches!(&err, DrafterError::Http { status: 429, message, .. } if message.contains("time limit")), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_malformed_answer_is_a_protocol_error_and_refusals_are_drafts() {
    let server = LoopbackServer::start(vec![
        Reply::Sse(stream(&["Sure! Here is the query: SELECT count(*) FROM drug_tests"])),
        Reply::Sse(stream(&["<refused>Drug testing is not open to site supervisors; ask about ", "training or check-ins.</refused>"])),
        Reply::Sse(stream(&["<not_understood>I can't map 'weather' to the data; try check-ins by site.</not_understood>"])),
    ])
    .await;
    let drafter = anthropic(&server, limits());
    let err = drafter.draft(&ask(Role::SiteSupervisor, "positive tests")).await.unwrap_err();
    assert!(matches!(&err, DrafterError::Protocol { message, .. } if message.contains("no <sql>")), "{err:?}");
    assert_eq!(server.requests().len(), 1, "a malformed answer must not be retried");

    let refused = drafter.draft(&ask(Role::SiteSupervisor, "positive tests")).await.unwrap();
    assert_eq!(
        refused.draft,
        Draft::Refused { reason: "Drug testing is not open to site supervisors; ask about training or check-ins.".into() }
    );
    let not_understood = drafter.draft(&ask(Role::SiteSupervisor, "weather tomorrow")).await.unwrap();
    assert!(matches!(not_understood.draft, Draft::NotUnderstood { ref message } if message.contains("'weather'")));
}

#[tokio::test]
async fn a_missing_key_is_not_configured() {
    let err = AnthropicConfig::from_lookup(&|_| None).unwrap_err();
    assert!(matches!(err, DrafterError::NotConfigured { provider: "anthropic", .. }));
    assert!(err.to_string().contains("ANTHROPIC_API_KEY"), "{err}");
}

// ---------------------------------------------------------------- What the prompt contains

#[tokio::test]
async fn a_roles_prompt_names_only_its_tables() {
    let model = SemanticModel::get();
    for role in [Role::SiteSupervisor, Role::HrOnboarding, Role::Der, Role::BillingAdmin] {
        let server = LoopbackServer::start(vec![Reply::Sse(stream(&[ANSWER]))]).await;
        anthropic(&server, limits()).draft(&ask(role, "How many random drug tests and positives last quarter?")).await.unwrap();
        let body_tokens = tokens(&server.requests()[0].body);
        let visible: BTreeSet<&str> = model.tables_for(role).map(|t| t.name.as_str()).collect();
        for table in &model.tables {
            let present = body_tokens.contains(&table.name);
            assert_eq!(present, visible.contains(table.name.as_str()), "{role}: table {} present={present}", table.name);
        }
    }
    let server = LoopbackServer::start(vec![Reply::Sse(stream(&[ANSWER]))]).await;
    anthropic(&server, limits()).draft(&ask(Role::SiteSupervisor, "positive drug tests")).await.unwrap();
    let (system, user) = anthropic_prompt(&server.requests()[0]);
    assert!(!system.contains("drug_tests") && !user.contains("drug_tests"));
    assert!(system.contains("## check_ins") && system.contains("may not ask about: ") && system.contains("Drug & Alcohol Testing"));
}

#[tokio::test]
async fn an_auditors_prompt_has_no_pii_or_phi_columns() {
    let model = SemanticModel::get();
    let server = LoopbackServer::start(vec![Reply::Sse(stream(&[ANSWER])), Reply::Sse(stream(&[ANSWER]))]).await;
    let drafter = anthropic(&server, limits());
    drafter.draft(&ask(Role::Auditor, "Who has a med card expiring in the next 30 days?")).await.unwrap();
    drafter.draft(&ask(Role::CompanyAdmin, "Who has a med card expiring in the next 30 days?")).await.unwrap();
    let requests = server.requests();
    let (auditor, auditor_user) = anthropic_prompt(&requests[0]);
    let (admin, _) = anthropic_prompt(&requests[1]);

    let mut withheld = 0;
    for table in &model.tables {
        let section = |system: &str| -> String {
            let start = system.find(&format!("\n## {} (", table.name)).map(|i| i + 1);
            start.map(|s| system[s..].split("\n## ").next().unwrap_or_default().to_string()).unwrap_or_default()
        };
        let (a, full) = (section(&auditor), section(&admin));
        assert!(!a.is_empty() && !full.is_empty(), "{} missing", table.name);
        for column in &table.columns {
            let line = format!("\n- {} {}", column.name, column.sql_type);
            assert_eq!(a.contains(&line), !column.is_sensitive(), "auditor, {}.{}", table.name, column.name);
            assert!(full.contains(&line), "company admin lost {}.{}", table.name, column.name);
            withheld += usize::from(column.is_sensitive());
        }
    }
    assert!(withheld >= 20, "only {withheld} sensitive columns checked");
    let words = tokens(&format!("{auditor}\n{auditor_user}"));
    for name in ["ssn_last4", "date_of_birth", "first_name", "last_name", "cdl_number", "refusal_reason", "findings_summary", "certificate_number", "employee_number"] {
        assert!(!words.contains(name), "{name} in the auditor's prompt");
    }
    assert!(!auditor.contains("[PII]") && admin.contains("[PII]"));
    assert!(auditor.contains("de-identified"));
}

#[tokio::test]
async fn prior_attempts_passages_and_the_previous_turn_go_into_the_question_part() {
    // First draft, then the guard "rejects" it: the next request must carry the feedback.
    let server = LoopbackServer::start(vec![
        Reply::Sse(stream(&["<sql>SELECT count(*) FROM drug_test</sql><explanation>Counts tests.</explanation>"])),
        Reply::Sse(stream(&split_answer(ANSWER))),
    ])
    .await;
    let drafter = anthropic(&server, limits());
    let mut request = ask(Role::Der, "How many positive tests?");
    let Draft::Sql { sql, .. } = drafter.draft(&request).await.unwrap().draft else { panic!("expected SQL") };
    request.prior_attempts.push(PriorAttempt { sql, feedback: "unknown table drug_test; the tables are listed in the schema".into() });
    request.passages.push(Passage {
        citation: "49 CFR 382.305(b)(1)".into(),
        title: "Random testing rates".into(),
        text: "The minimum annual percentage rate for random drug testing shall be 50 percent.".into(),
    });
    request.previous = Some(("How many tests in Texas?".into(), "SELECT count(*) FROM drug_tests".into()));
    assert_eq!(drafter.draft(&request).await.unwrap().draft, positives());

    let requests = server.requests();
    let (first_system, first_user) = anthropic_prompt(&requests[0]);
    let (system, user) = anthropic_prompt(&requests[1]);
    assert!(!first_user.contains("not accepted"));
    assert!(user.contains("Attempt 1:\n<sql>\nSELECT count(*) FROM drug_test\n</sql>"), "{user}");
    assert!(user.contains("Not accepted because: unknown table drug_test; the tables are listed in the schema"), "{user}");
    assert!(user.contains("[49 CFR 382.305(b)(1)] Random testing rates") && user.contains("50 percent"));
    assert!(user.contains("The previous question in this conversation was: How many tests in Texas?"));
    assert_eq!(system, first_system, "per-question context leaked into the cached prefix");
}

#[tokio::test]
async fn every_example_is_accepted_by_the_guard_for_a_role_that_may_read_its_tables() {
    let scope = deriq_core::Scope { tenant_ids: vec![uuid::Uuid::nil()], location_ids: None, employee_id: None };
    let policy = guard_policy(Role::CompanyAdmin, &scope, QueryLimits::default());
    let model = SemanticModel::get();
    for example in prompt::examples().unwrap() {
        if let Err(rejected) = deriq_sql_guard::guard(&example.sql, &policy) {
            panic!("{}: {rejected:?}", example.question);
        }
        let used: BTreeSet<String> =
            tokens(&example.sql).into_iter().filter(|w| model.table(w).is_some()).collect();
        let declared: BTreeSet<String> = example.tables.iter().cloned().collect();
        assert_eq!(used, declared, "{}: declared tables differ from the SQL", example.question);
    }
}

// ---------------------------------------------------------------- OpenAI-compatible

fn completion(text: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_760_000_000u32, "model": "qwen-test",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop", "logprobs": null}],
        "usage": {"prompt_tokens": 2900, "completion_tokens": 61, "total_tokens": 2961, "prompt_tokens_details": {"cached_tokens": 2560}}
    })
}

fn openai_error(message: &str, kind: &str, code: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

#[tokio::test]
async fn openai_compatible_success_with_usage() {
    let server = LoopbackServer::start(vec![Reply::json(200, completion(ANSWER))]).await;
    let drafter = openai(&server, limits());
    let outcome = drafter.draft(&ask(Role::SafetyManager, "How many positive drug tests?")).await.unwrap();
    assert_eq!(outcome.draft, positives());
    assert_eq!(
        outcome.usage,
        Usage { input_tokens: 2900, output_tokens: 61, cache_creation_input_tokens: 0, cache_read_input_tokens: 2560 }
    );
    assert_eq!(outcome.model, "openai:qwen-test");

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/v1/chat/completions"));
    assert_eq!(r.header("authorization"), Some("Bearer local-key"));
    let body = r.json();
    assert_eq!(body["model"], json!("qwen-test"));
    assert_eq!(body["temperature"], json!(0.0));
    assert_eq!(body["messages"][0]["role"], json!("system"));
    assert_eq!(body["messages"][1]["role"], json!("user"));
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert_eq!(system, prompt::render(&ask(Role::SafetyManager, "x")).unwrap().stable);
    assert!(body["messages"][1]["content"].as_str().unwrap().ends_with("Question: How many positive drug tests?"));
}

#[tokio::test]
async fn openai_compatible_errors_retries_and_malformed_answers() {
    // A client error: reported with its status and message, not retried.
    let server = LoopbackServer::start(vec![
        Reply::json(400, openai_error("model 'qwen-test' not found", "invalid_request_error", "model_not_found")),
        Reply::json(200, completion(ANSWER)),
    ])
    .await;
    let err = openai(&server, limits()).draft(&ask(Role::Der, "positive tests")).await.unwrap_err();
    assert!(matches!(&err, DrafterError::Http { provider: "openai", status: 400, message } if message.contains("not found")), "{err:?}");
    assert_eq!(server.requests().len(), 1);

    // Server errors: retried up to the configured count, then reported.
    let server = LoopbackServer::start(vec![
        Reply::text(500, "boom"),
        Reply::text(502, "bad gateway"),
        Reply::text(500, "boom again"),
        Reply::json(200, completion(ANSWER)),
    ])
    .await;
    let err = openai(&server, Limits { max_retries: 2, ..limits() }).draft(&ask(Role::Der, "positive tests")).await.unwrap_err();
    assert!(matches!(&err, DrafterError::Http { status: 500, message, .. } if message.contains("boom again")), "{err:?}");
    assert_eq!(server.requests().len(), 3);

    // A rate limit with retry-after: waited out, then the answer.
    let server = LoopbackServer::start(vec![
        Reply::json_with(429, &[("retry-after", "1")], openai_error("Rate limit reached", "requests", "rate_limit_exceeded")),
        Reply::json(200, completion(ANSWER)),
    ])
    .await;
    let outcome = openai(&server, limits()).draft(&ask(Role::Der, "positive tests")).await.unwrap();
    assert_eq!(outcome.draft, positives());
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let gap = requests[1].at.duration_since(requests[0].at);
    assert!(gap >= Duration::from_millis(990), "retry-after not honoured: {gap:?}");

    // A reply that is not in the agreed format.
    let server = LoopbackServer::start(vec![Reply::json(200, completion("SELECT count(*) FROM drug_tests"))]).await;
    let err = openai(&server, limits()).draft(&ask(Role::Der, "positive tests")).await.unwrap_err();
    assert!(matches!(err, DrafterError::Protocol { provider: "openai", .. }), "{err:?}");

    // A body that is not a chat completion at all.
    let server = LoopbackServer::start(vec![Reply::json(200, json!({"hello": "world"}))]).await;
    let err = openai(&server, limits()).draft(&ask(Role::Der, "positive tests")).await.unwrap_err();
    assert!(matches!(err, DrafterError::Protocol { .. }), "{err:?}");
}

#[tokio::test]
async fn openai_compatible_timeout() {
    let server = LoopbackServer::start(vec![Reply::Silence]).await;
    let drafter = openai(&server, Limits { total_timeout: Duration::from_millis(800), ..limits() });
    let started = Instant::now();
    let err = drafter.draft(&ask(Role::Der, "positive tests")).await.unwrap_err();
    assert!(matches!(err, DrafterError::Timeout { provider: "openai", .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}
