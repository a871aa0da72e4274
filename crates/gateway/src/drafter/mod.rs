//! Drafters turn a question into SQL (or say they cannot). One trait, three
//! implementations chosen by configuration: the offline semantic parser (default, no
//! network), Anthropic's Messages API, and any OpenAI-compatible server.
//!
//! A drafter's output is untrusted: the SQL guard decides what runs.

pub mod anthropic;
pub mod openai;
pub mod parse;
pub mod prompt;
pub mod retry;

pub mod offline;

use std::future::Future;
use std::pin::Pin;

use chrono::NaiveDate;
use deriq_core::Role;
use serde::{Deserialize, Serialize};

/// Which drafter to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum DrafterKind {
    Offline,
    Anthropic,
    Openai,
}

/// A regulatory passage given to a drafter as context.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Passage {
    pub citation: String,
    pub title: String,
    pub text: String,
}

/// An earlier attempt at the same question and why it was not accepted; drafters use it
/// to correct themselves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PriorAttempt {
    pub sql: String,
    /// The guard's reasons, or a sanitised database error (never values from rows).
    pub feedback: String,
}

/// What a drafter is asked.
#[derive(Debug, Clone)]
pub struct DraftRequest {
    pub question: String,
    /// The caller's role: the drafter may only use the tables of its modules
    /// (`SemanticModel::tables_for(role)`), and must refuse questions about other modules.
    pub role: Role,
    /// "Today" for relative dates ("next 30 days", "last quarter").
    pub today: NaiveDate,
    /// Earlier failed attempts at this question, oldest first.
    pub prior_attempts: Vec<PriorAttempt>,
    /// Regulatory passages retrieved for the question, when relevant.
    pub passages: Vec<Passage>,
    /// The previous question and SQL of the conversation, for follow-ups ("only in Louisiana").
    pub previous: Option<(String, String)>,
}

/// What a drafter answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Draft {
    /// A query and a one-line explanation of what it computes.
    Sql { sql: String, explanation: String },
    /// The question is about data the role may not query; `reason` says which and what it can ask.
    Refused { reason: String },
    /// The drafter could not map the question to the data; `message` says what it did not
    /// understand and what to try ("I can't map 'X' to the data; try ...").
    NotUnderstood { message: String },
}

/// Token usage of an LLM call (zero for the offline drafter).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
}

/// A draft with its cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DraftOutcome {
    pub draft: Draft,
    pub usage: Usage,
    /// Time spent waiting for the provider (for "gateway overhead = total - provider").
    pub provider_ms: f64,
    /// Model or drafter name, for the audit record.
    pub model: String,
}

/// A drafter failed to produce anything (network, protocol, configuration).
#[derive(Debug, thiserror::Error)]
pub enum DrafterError {
    #[error("the {provider} drafter is not configured: {message}")]
    NotConfigured { provider: &'static str, message: String },
    #[error("the {provider} API returned HTTP {status}: {message}")]
    Http { provider: &'static str, status: u16, message: String },
    #[error("the {provider} API could not be reached: {message}")]
    Transport { provider: &'static str, message: String },
    #[error("the {provider} API timed out after {seconds} s")]
    Timeout { provider: &'static str, seconds: u64 },
    #[error("the {provider} answer could not be understood: {message}")]
    Protocol { provider: &'static str, message: String },
}

/// A boxed future, so that drafters can be used as trait objects.
pub type DraftFuture<'a> = Pin<Box<dyn Future<Output = Result<DraftOutcome, DrafterError>> + Send + 'a>>;

/// Turns questions into SQL.
pub trait Drafter: Send + Sync {
    /// The drafter's name ("offline", "anthropic:claude-...", "openai:gpt-...").
    fn name(&self) -> String;
    /// Drafts SQL for one question.
    fn draft<'a>(&'a self, request: &'a DraftRequest) -> DraftFuture<'a>;
}
