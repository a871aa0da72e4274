//! `POST /api/der-iq/chat`: conversations. A follow-up ("only the ones in Louisiana",
//! then "and only drivers") names the conversation and refines it cumulatively: the
//! conversation keeps the question as refined so far, and a follow-up is asked as that
//! question plus the new words, with the last SQL for drafters that use it.
//!
//! With `Accept: text/event-stream` the answer comes as server-sent events as the pipeline
//! runs, in order: `conversation`; `status` `{step, done: false}` when a step starts and
//! `{step, ms, done: true}` when it ends (steps: received, retrieving, drafting, guarding,
//! running, auditing); `sql` when the guard accepts a query (before it runs); then, once the
//! audit record is written (rows are never sent before it is), `rows`, `answer_delta`
//! `{text}` chunks, `answer`, `citations` and a final `timings`. A failure is an `error`
//! event, and the stream then ends.

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
use super::handlers::{gateway_request, idempotent, pipeline_time};
use super::middleware::RequestId;
use crate::ask::{Answer, AnswerKind, MAX_QUESTION_CHARS, Progress};
use crate::drafter::DrafterKind;
use crate::drafter::offline::plan::names_an_entity;

/// How long an idle conversation is kept.
pub const CONVERSATION_IDLE: Duration = Duration::from_secs(60 * 60);

/// One conversation: whose it is and the last question that ran a query.
#[derive(Debug)]
pub struct Conversation {
    pub user_id: Uuid,
    /// The question as refined so far (the first question and every follow-up) and the
    /// SQL drafted for it.
    pub last: Option<(String, String)>,
}

/// Words that open a refinement of the previous question.
const FOLLOW_UP_CUES: &[&str] = &[
    "only", "and", "but", "just", "also", "excluding", "except", "without", "of those", "of them", "among", "what about", "how about", "now", "same", "then", "limit",
];

/// Whether `message` refines the conversation's question rather than starting a new one:
/// it opens with a refinement word, or names nothing of the data by itself.
pub fn is_follow_up(message: &str) -> bool {
    let m = message.trim().to_lowercase();
    let opens = FOLLOW_UP_CUES.iter().any(|c| m.strip_prefix(c).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', ',', ':'])));
    opens || !names_an_entity(&m)
}

/// The question to ask for a message: the conversation's question so far plus the message
/// when it is a follow-up, else the message.
pub fn effective_question(previous: Option<&(String, String)>, message: &str) -> String {
    match previous {
        Some((question, _)) if is_follow_up(message) => format!("{} {}", question.trim(), message.trim()),
        _ => message.trim().to_string(),
    }
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
    let previous = lock(&conv).last.clone();
    let question = effective_question(previous.as_ref(), &b.message);
    if question.chars().count() > MAX_QUESTION_CHARS && b.message.chars().count() <= MAX_QUESTION_CHARS {
        return Err(ApiError::unprocessable("conversation_too_long", format!("the conversation's question has grown past {MAX_QUESTION_CHARS} characters")).hint("start a new conversation (omit conversation_id)"));
    }
    let mut req = gateway_request(&s, &caller, &question, b.drafter, &rid, Some(peer), &headers);
    req.previous = previous;
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

/// The events of a finished answer that follow the live steps, in order: `sql` (only when
/// no live `sql` event was sent), `rows`, `answer_delta` chunks, `answer`, `citations`,
/// `timings`.
pub fn answer_events(a: &Answer, sql_sent: bool) -> Vec<Event> {
    let mut events = Vec::new();
    if !sql_sent && (a.sql.is_some() || a.drafted_sql.is_some()) {
        events.push(event("sql", &json!({ "sql": a.sql, "drafted_sql": a.drafted_sql, "explanation": a.explanation })));
    }
    if !a.columns.is_empty() {
        events.push(event("rows", &json!({ "columns": a.columns, "rows": a.rows, "row_cap_applied": a.row_cap_applied })));
    }
    for chunk in answer_chunks(&a.answer) {
        events.push(event("answer_delta", &json!({ "text": chunk })));
    }
    events.push(event("answer", &json!({ "kind": a.kind, "text": a.answer, "reasons": a.reasons })));
    if !a.citations.is_empty() {
        events.push(event("citations", &json!(a.citations)));
    }
    events.push(event("timings", &json!({ "request_id": a.request_id, "timings_ms": a.timings_ms, "usage": a.usage, "attempts": a.attempts })));
    events
}

/// The answer text in chunks of a few words (concatenated, they are the text).
pub fn answer_chunks(text: &str) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut words = 0;
    for piece in text.split_inclusive(' ') {
        current.push_str(piece);
        words += 1;
        if words == 8 {
            chunks.push(std::mem::take(&mut current));
            words = 0;
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// The live event of a progress report, if it has one.
fn progress_event(p: &Progress) -> Option<Event> {
    match p {
        Progress::Started(stage) => Some(event("status", &json!({ "step": stage.step(), "done": false }))),
        Progress::Finished(stage, ms) => Some(event("status", &json!({ "step": stage.step(), "ms": ms, "done": true }))),
        Progress::Sql { sql, drafted_sql, explanation } => Some(event("sql", &json!({ "sql": sql, "drafted_sql": drafted_sql, "explanation": explanation }))),
        // Citations keep their place after the answer.
        Progress::Citations(_) => None,
    }
}

fn stream(s: AppState, id: Uuid, conv: Arc<Mutex<Conversation>>, mut req: crate::ask::AskRequest) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(64);
    let span = tracing::Span::current();
    tokio::spawn(tracing::Instrument::instrument(async move {
        let _ = tx.send(event("conversation", &json!({ "conversation_id": id }))).await;
        let _ = tx.send(event("status", &json!({ "step": "received", "done": false }))).await;
        let (ptx, mut prx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
        req.progress = Some(ptx);
        let mut sql_sent = false;
        let result = {
            let ask = s.asker.ask(&req);
            tokio::pin!(ask);
            loop {
                tokio::select! {
                    biased;
                    Some(p) = prx.recv() => {
                        sql_sent |= matches!(p, Progress::Sql { .. });
                        if let Some(e) = progress_event(&p) && tx.send(e).await.is_err() {
                            return;
                        }
                    }
                    r = &mut ask => break r,
                }
            }
        };
        while let Ok(p) = prx.try_recv() {
            sql_sent |= matches!(p, Progress::Sql { .. });
            if let Some(e) = progress_event(&p) {
                let _ = tx.send(e).await;
            }
        }
        match result {
            Ok(answer) => {
                remember(&conv, &req.question, &answer);
                s.metrics.record_answer(&answer);
                for e in answer_events(&answer, sql_sent) {
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
    }, span));
    let events = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) });
    Sse::new(events).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_ups_extend_the_question_and_new_questions_start_over() {
        let prev = ("How many post-accident tests this year?".to_string(), "SELECT 1".to_string());
        assert_eq!(effective_question(Some(&prev), "only the ones in Louisiana"), "How many post-accident tests this year? only the ones in Louisiana");
        let chained = (effective_question(Some(&prev), "only the ones in Louisiana"), "SELECT 2".to_string());
        assert_eq!(effective_question(Some(&chained), "and only drivers"), "How many post-accident tests this year? only the ones in Louisiana and only drivers");
        assert_eq!(effective_question(Some(&chained), "How many employees do we have?"), "How many employees do we have?");
        assert_eq!(effective_question(None, " only drivers "), "only drivers");
        assert!(!is_follow_up("andrew's tests"), "a cue is a whole word");
    }

    #[test]
    fn answer_chunks_join_to_the_text() {
        let text = "count: 12 rows of drug tests in Louisiana this year, of which three were positive and two were refusals.";
        let chunks = answer_chunks(text);
        assert!(chunks.len() > 1);
        assert_eq!(chunks.concat(), text);
        assert!(answer_chunks("").is_empty());
    }
}
