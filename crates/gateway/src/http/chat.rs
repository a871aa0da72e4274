//! `POST /api/der-iq/chat`: conversations. A follow-up ("only the ones in Louisiana")
//! names the conversation, and the pipeline gets the previous question and its SQL.
//! With `Accept: text/event-stream` the answer comes as server-sent events, in order:
//! `conversation`, `status` (one per pipeline step, with its time), `sql`, `rows`,
//! `answer`, `citations`, and a final `timings`; a failure is an `error` event, and the
//! stream then ends. (The pipeline reports its steps when it finishes; the events are
//! cut from its answer.)

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use deriq_core::Module;
use moka::sync::Cache;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::body::JsonBody;
use super::caller::Caller;
use super::error::ApiError;
use super::handlers::{ask_request, idempotent, pipeline_time};
use super::middleware::RequestId;
use crate::ask::{Answer, AnswerKind};
use crate::drafter::DrafterKind;

/// How long an idle conversation is kept.
pub const CONVERSATION_IDLE: Duration = Duration::from_secs(60 * 60);

/// One conversation: whose it is and the last question that ran a query.
#[derive(Debug)]
pub struct Conversation {
    pub user_id: Uuid,
    /// The last question and the SQL drafted for it.
    pub last: Option<(String, String)>,
}

/// Conversations by id.
pub type Conversations = Cache<Uuid, Arc<Mutex<Conversation>>>;

/// A new conversation store.
pub fn conversations() -> Conversations {
    Cache::builder().time_to_idle(CONVERSATION_IDLE).max_capacity(100_000).build()
}

/// The body of `POST /api/der-iq/chat`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatBody {
    /// The conversation to continue; absent: a new one.
    #[serde(default)]
    pub conversation_id: Option<Uuid>,
    /// The message, in plain English.
    pub message: String,
    #[serde(default)]
    pub drafter: Option<DrafterKind>,
    #[serde(default)]
    pub module: Option<Module>,
}

fn lock(c: &Mutex<Conversation>) -> std::sync::MutexGuard<'_, Conversation> {
    match c.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn remember(conv: &Mutex<Conversation>, question: &str, answer: &Answer) {
    if (answer.kind == AnswerKind::Data || answer.kind == AnswerKind::Mixed)
        && let Some(sql) = answer.drafted_sql.clone().or_else(|| answer.sql.clone())
    {
        lock(conv).last = Some((question.trim().to_string(), sql));
    }
}

/// The handler.
pub async fn chat(
    State(s): State<AppState>,
    Extension(rid): Extension<RequestId>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    caller: Caller,
    headers: HeaderMap,
    body: JsonBody<ChatBody>,
) -> Result<Response, ApiError> {
    let b = &body.value;
    if let Some(m) = b.module {
        caller.require(m)?;
    }
    let (id, conv) = match b.conversation_id {
        Some(id) => {
            let conv = s.conversations.get(&id).filter(|c| lock(c).user_id == caller.user.id).ok_or_else(|| {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_conversation", format!("no conversation {id} of yours (conversations end after {} minutes idle)", CONVERSATION_IDLE.as_secs() / 60))
                    .hint("omit conversation_id to start a new conversation")
            })?;
            (id, conv)
        }
        None => {
            let id = Uuid::new_v4();
            let conv = Arc::new(Mutex::new(Conversation { user_id: caller.user.id, last: None }));
            s.conversations.insert(id, conv.clone());
            (id, conv)
        }
    };
    let mut req = ask_request(&caller, &b.message, b.drafter, &rid, Some(peer), &headers);
    req.previous = lock(&conv).last.clone();
    let wants_stream = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/event-stream"));
    if wants_stream {
        return Ok(stream(s, id, conv, req).into_response());
    }
    idempotent(&s, &caller, "chat", &headers, &body.raw, async {
        let answer = s.asker.ask(&req).await?;
        remember(&conv, &req.question, &answer);
        s.metrics.record_answer(&answer);
        let mut resp = Json(json!({ "conversation_id": id, "answer": answer })).into_response();
        resp.extensions_mut().insert(pipeline_time(&answer));
        Ok(resp)
    })
    .await
}

fn event(name: &str, data: &Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

/// The events of an answer, in order.
pub fn answer_events(a: &Answer) -> Vec<Event> {
    let t = &a.timings_ms;
    let mut events = Vec::new();
    for (step, ms) in [("retrieving", t.retrieval), ("drafting", t.draft), ("guarding", t.guard), ("running", t.database), ("auditing", t.audit)] {
        if ms > 0.0 {
            events.push(event("status", &json!({ "step": step, "ms": ms, "done": true })));
        }
    }
    if a.sql.is_some() || a.drafted_sql.is_some() {
        events.push(event("sql", &json!({ "sql": a.sql, "drafted_sql": a.drafted_sql, "explanation": a.explanation })));
    }
    if !a.columns.is_empty() {
        events.push(event("rows", &json!({ "columns": a.columns, "rows": a.rows, "row_cap_applied": a.row_cap_applied })));
    }
    events.push(event("answer", &json!({ "kind": a.kind, "text": a.answer, "reasons": a.reasons })));
    if !a.citations.is_empty() {
        events.push(event("citations", &json!(a.citations)));
    }
    events.push(event("timings", &json!({ "request_id": a.request_id, "timings_ms": a.timings_ms, "usage": a.usage, "attempts": a.attempts })));
    events
}

fn stream(s: AppState, id: Uuid, conv: Arc<Mutex<Conversation>>, req: crate::ask::AskRequest) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(16);
    tokio::spawn(async move {
        let _ = tx.send(event("conversation", &json!({ "conversation_id": id }))).await;
        let _ = tx.send(event("status", &json!({ "step": "received", "done": false }))).await;
        match s.asker.ask(&req).await {
            Ok(answer) => {
                remember(&conv, &req.question, &answer);
                s.metrics.record_answer(&answer);
                for e in answer_events(&answer) {
                    if tx.send(e).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                let e = ApiError::from(e);
                let _ = tx.send(event("error", &e.body()["error"])).await;
            }
        }
    });
    let events = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) });
    Sse::new(events).keep_alive(KeepAlive::default())
}
