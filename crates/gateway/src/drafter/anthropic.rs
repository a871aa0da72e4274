//! The Anthropic drafter: the native Messages API (`POST {base}/v1/messages`) over reqwest,
//! streamed as server-sent events.
//!
//! - The system prompt's stable prefix (rules and the role's schema) carries
//!   `cache_control: {"type": "ephemeral"}`, so repeated questions of a role read it from
//!   the prompt cache; usage records cache writes and reads.
//! - 429, 5xx and 529 answers (and connection failures) are retried with exponential backoff
//!   and jitter, waiting what `retry-after` asks when it is given. Once the first text token
//!   has streamed in, nothing is retried: an error after that point is returned as is.
//! - A connect timeout bounds each connection and a total timeout bounds the whole draft,
//!   retries and waits included.
//!
//! Configuration comes from the environment: `ANTHROPIC_API_KEY` (required),
//! `ANTHROPIC_BASE_URL`, `DERIQ_ANTHROPIC_MODEL`, `DERIQ_DRAFTER_TIMEOUT_SECS`,
//! `DERIQ_DRAFTER_MAX_RETRIES`.

use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::header::HeaderValue;
use serde::Deserialize;
use serde_json::{Value, json};

use super::parse::parse_answer;
use super::prompt::{self, RenderedPrompt};
use super::retry::{self, Limits, annotate, whole_seconds};
use super::{DraftFuture, DraftOutcome, DraftRequest, Drafter, DrafterError, Usage};

/// The provider's name in errors and audit records.
pub const PROVIDER: &str = "anthropic";
/// Where the Messages API lives unless `ANTHROPIC_BASE_URL` says otherwise.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The model used unless `DERIQ_ANTHROPIC_MODEL` says otherwise.
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-5";
/// The `anthropic-version` header.
pub const API_VERSION: &str = "2023-06-01";
/// Output budget of one answer (a query and a line of explanation).
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

/// Longest piece of an error body kept in an error message.
const ERROR_BODY_CHARS: usize = 500;

/// How to reach the Messages API.
#[derive(Clone)]
pub struct AnthropicConfig {
    pub api_key: String,
    /// Without a trailing slash, e.g. `https://api.anthropic.com`.
    pub base_url: String,
    pub model: String,
    pub max_tokens: u32,
    pub limits: Limits,
}

impl std::fmt::Debug for AnthropicConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnthropicConfig")
            .field("api_key", &"<redacted>")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("max_tokens", &self.max_tokens)
            .field("limits", &self.limits)
            .finish()
    }
}

impl AnthropicConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<AnthropicConfig, DrafterError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<AnthropicConfig, DrafterError> {
        let set = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let api_key = set("ANTHROPIC_API_KEY").ok_or_else(|| DrafterError::NotConfigured {
            provider: PROVIDER,
            message: "set ANTHROPIC_API_KEY (and optionally ANTHROPIC_BASE_URL, DERIQ_ANTHROPIC_MODEL), \
                      or use --drafter offline"
                .into(),
        })?;
        Ok(AnthropicConfig {
            api_key,
            base_url: set("ANTHROPIC_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.into()).trim_end_matches('/').to_string(),
            model: set("DERIQ_ANTHROPIC_MODEL").unwrap_or_else(|| DEFAULT_MODEL.into()),
            max_tokens: DEFAULT_MAX_TOKENS,
            limits: Limits::from_lookup(PROVIDER, lookup)?,
        })
    }
}

/// Drafts SQL with a Claude model.
#[derive(Debug, Clone)]
pub struct AnthropicDrafter {
    config: AnthropicConfig,
    api_key: HeaderValue,
    http: reqwest::Client,
}

/// What one streamed answer produced.
#[derive(Debug, Default)]
struct Streamed {
    text: String,
    usage: Usage,
    stop_reason: Option<String>,
}

/// Why one attempt failed, and whether another may be made.
enum Failure {
    Retry { error: DrafterError, retry_after: Option<Duration> },
    Fatal(DrafterError),
}

impl AnthropicDrafter {
    /// A drafter for `config`.
    pub fn new(config: AnthropicConfig) -> Result<AnthropicDrafter, DrafterError> {
        let mut api_key = HeaderValue::from_str(&config.api_key).map_err(|_| DrafterError::NotConfigured {
            provider: PROVIDER,
            message: "ANTHROPIC_API_KEY contains characters that cannot be sent in a header".into(),
        })?;
        api_key.set_sensitive(true);
        let http = reqwest::Client::builder()
            .connect_timeout(config.limits.connect_timeout)
            .build()
            .map_err(|e| DrafterError::Transport { provider: PROVIDER, message: e.to_string() })?;
        Ok(AnthropicDrafter { config, api_key, http })
    }

    /// A drafter configured from the environment.
    pub fn from_env() -> Result<AnthropicDrafter, DrafterError> {
        Self::new(AnthropicConfig::from_env()?)
    }

    /// The configuration in use.
    pub fn config(&self) -> &AnthropicConfig {
        &self.config
    }

    /// The JSON body of a Messages request for a rendered prompt: the stable prefix as a
    /// cached system block, the per-question part as the user turn, streamed.
    pub fn request_body(&self, prompt: &RenderedPrompt) -> Value {
        json!({
            "model": self.config.model,
            "max_tokens": self.config.max_tokens,
            "temperature": 0,
            "stream": true,
            "system": [
                { "type": "text", "text": prompt.stable, "cache_control": { "type": "ephemeral" } }
            ],
            "messages": [
                { "role": "user", "content": prompt.question }
            ]
        })
    }

    async fn run(&self, request: &DraftRequest) -> Result<DraftOutcome, DrafterError> {
        let prompt = prompt::render(request)
            .map_err(|e| DrafterError::NotConfigured { provider: PROVIDER, message: e.to_string() })?;
        let body = self.request_body(&prompt);
        let total = self.config.limits.total_timeout;
        let started = Instant::now();
        let streamed = tokio::time::timeout(total, self.call_with_retries(&body, started + total))
            .await
            .map_err(|_| DrafterError::Timeout { provider: PROVIDER, seconds: whole_seconds(total) })??;
        let provider_ms = started.elapsed().as_secs_f64() * 1000.0;
        let draft = parse_answer(&streamed.text).map_err(|e| {
            let cut = if streamed.stop_reason.as_deref() == Some("max_tokens") { " (the answer hit max_tokens)" } else { "" };
            DrafterError::Protocol { provider: PROVIDER, message: format!("{e}{cut}") }
        })?;
        Ok(DraftOutcome { draft, usage: streamed.usage, provider_ms, model: self.name() })
    }

    async fn call_with_retries(&self, body: &Value, deadline: Instant) -> Result<Streamed, DrafterError> {
        let limits = self.config.limits;
        let mut retries = 0u32;
        loop {
            match self.attempt(body).await {
                Ok(streamed) => return Ok(streamed),
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Retry { error, .. }) if retries >= limits.max_retries => {
                    return Err(annotate(error, &format!("gave up after {} attempts", retries + 1)));
                }
                Err(Failure::Retry { error, retry_after }) => {
                    let wait = limits.delay(retries, retry_after);
                    let left = deadline.saturating_duration_since(Instant::now());
                    if wait >= left {
                        return Err(annotate(
                            error,
                            &format!("not retried: waiting {:.1} s would pass the {} s time limit", wait.as_secs_f64(), whole_seconds(limits.total_timeout)),
                        ));
                    }
                    tracing::warn!(provider = PROVIDER, retry = retries + 1, wait_ms = wait.as_millis() as u64, %error, "retrying");
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
            }
        }
    }

    /// One request and its streamed answer.
    async fn attempt(&self, body: &Value) -> Result<Streamed, Failure> {
        let response = self
            .http
            .post(format!("{}/v1/messages", self.config.base_url))
            .header("x-api-key", self.api_key.clone())
            .header("anthropic-version", API_VERSION)
            .header("accept", "text/event-stream")
            .json(body)
            .send()
            .await
            .map_err(|e| {
                let error = DrafterError::Transport { provider: PROVIDER, message: e.to_string() };
                if e.is_connect() || e.is_timeout() { Failure::Retry { error, retry_after: None } } else { Failure::Fatal(error) }
            })?;

        let status = response.status().as_u16();
        if !response.status().is_success() {
            let retry_after = retry::retry_after(response.headers());
            let text = response.text().await.unwrap_or_default();
            let error = DrafterError::Http { provider: PROVIDER, status, message: error_message(&text) };
            return Err(if retry::retryable_status(status) { Failure::Retry { error, retry_after } } else { Failure::Fatal(error) });
        }

        let mut events = response.bytes_stream().eventsource();
        let mut out = Streamed::default();
        let mut first_token = false;
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| {
                stream_failure(DrafterError::Transport { provider: PROVIDER, message: format!("reading the stream: {e}") }, first_token)
            })?;
            match event.event.as_str() {
                "message_start" => {
                    let start: MessageStart = event_data(&event.data)?;
                    start.message.usage.add_to(&mut out.usage);
                }
                "content_block_delta" => {
                    let delta: BlockDelta = event_data(&event.data)?;
                    if delta.delta.kind == "text_delta" && !delta.delta.text.is_empty() {
                        out.text.push_str(&delta.delta.text);
                        first_token = true;
                    }
                }
                "message_delta" => {
                    let delta: MessageDelta = event_data(&event.data)?;
                    delta.usage.add_to(&mut out.usage);
                    if delta.delta.stop_reason.is_some() {
                        out.stop_reason = delta.delta.stop_reason;
                    }
                }
                "message_stop" => return Ok(out),
                "error" => {
                    let envelope: ErrorEnvelope = event_data(&event.data)?;
                    let error = DrafterError::Http {
                        provider: PROVIDER,
                        status: stream_error_status(&envelope.error.kind),
                        message: format!("stream error {}: {}", envelope.error.kind, envelope.error.message),
                    };
                    return Err(stream_failure(error, first_token));
                }
                // ping, content_block_start, content_block_stop, and events added later.
                _ => {}
            }
        }
        Err(stream_failure(
            DrafterError::Transport { provider: PROVIDER, message: "the stream ended before message_stop".into() },
            first_token,
        ))
    }
}

impl Drafter for AnthropicDrafter {
    fn name(&self) -> String {
        format!("{PROVIDER}:{}", self.config.model)
    }

    fn draft<'a>(&'a self, request: &'a DraftRequest) -> DraftFuture<'a> {
        Box::pin(self.run(request))
    }
}

/// Before the first token a failed stream may be retried; after it, never.
fn stream_failure(error: DrafterError, first_token: bool) -> Failure {
    if first_token {
        Failure::Fatal(annotate(error, "after the first streamed token; not retried"))
    } else {
        Failure::Retry { error, retry_after: None }
    }
}

fn event_data<T: for<'de> Deserialize<'de>>(data: &str) -> Result<T, Failure> {
    serde_json::from_str(data).map_err(|e| {
        Failure::Fatal(DrafterError::Protocol { provider: PROVIDER, message: format!("unreadable stream event ({e})") })
    })
}

/// The HTTP status an in-stream error stands for.
fn stream_error_status(kind: &str) -> u16 {
    match kind {
        "overloaded_error" => 529,
        "rate_limit_error" => 429,
        "api_error" => 500,
        "timeout_error" => 504,
        "request_too_large" => 413,
        "not_found_error" => 404,
        "permission_error" => 403,
        "authentication_error" => 401,
        _ => 400,
    }
}

/// The message of an Anthropic error body, or the start of the body when it is not one.
fn error_message(body: &str) -> String {
    match serde_json::from_str::<ErrorEnvelope>(body) {
        Ok(e) => format!("{}: {}", e.error.kind, e.error.message),
        Err(_) => body.chars().take(ERROR_BODY_CHARS).collect::<String>().trim().to_string(),
    }
}

#[derive(Debug, Default, Deserialize)]
struct ApiUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

impl ApiUsage {
    /// Usage figures are cumulative: a later event's value replaces an earlier one.
    fn add_to(&self, usage: &mut Usage) {
        let keep = |field: &mut u64, value: Option<u64>| {
            if let Some(v) = value {
                *field = v;
            }
        };
        keep(&mut usage.input_tokens, self.input_tokens);
        keep(&mut usage.output_tokens, self.output_tokens);
        keep(&mut usage.cache_creation_input_tokens, self.cache_creation_input_tokens);
        keep(&mut usage.cache_read_input_tokens, self.cache_read_input_tokens);
    }
}

#[derive(Debug, Deserialize)]
struct MessageStart {
    message: StartedMessage,
}

#[derive(Debug, Deserialize)]
struct StartedMessage {
    #[serde(default)]
    usage: ApiUsage,
}

#[derive(Debug, Deserialize)]
struct BlockDelta {
    delta: TextDelta,
}

#[derive(Debug, Deserialize)]
struct TextDelta {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: String,
}

#[derive(Debug, Deserialize)]
struct MessageDelta {
    #[serde(default)]
    delta: StopDelta,
    #[serde(default)]
    usage: ApiUsage,
}

#[derive(Debug, Default, Deserialize)]
struct StopDelta {
    stop_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_required_and_never_printed() {
        let err = AnthropicConfig::from_lookup(&|_| None).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("not configured") && err.contains("ANTHROPIC_API_KEY"), "{err}");
        let c = AnthropicConfig::from_lookup(&|k| match k {
            "ANTHROPIC_API_KEY" => Some("sk-ant-secret".into()),
            "ANTHROPIC_BASE_URL" => Some("http://127.0.0.1:9/".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!((c.base_url.as_str(), c.model.as_str()), ("http://127.0.0.1:9", DEFAULT_MODEL));
        assert!(!format!("{c:?}").contains("sk-ant-secret"));
    }

    #[test]
    fn error_bodies_and_stream_errors() {
        let body = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(error_message(body), "overloaded_error: Overloaded");
        assert_eq!(error_message("  upstream connect error  "), "upstream connect error");
        assert_eq!(stream_error_status("overloaded_error"), 529);
        assert_eq!(whole_seconds(Duration::from_millis(1500)), 2);
    }
}
