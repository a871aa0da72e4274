//! The OpenAI-compatible drafter: chat completions through async-openai, against OpenAI or
//! any server that speaks the same protocol (vLLM, Ollama, llama.cpp's server).
//!
//! The stable part of the prompt is the system message and comes first, so servers with
//! prefix caching (OpenAI, vLLM) reuse it; cached prompt tokens are reported as cache reads.
//! Retries are async-openai's own retry layer (429, 5xx and connection failures, honouring
//! `retry-after`, exponential backoff), configured with `DERIQ_DRAFTER_MAX_RETRIES`; the
//! connect timeout is reqwest's and the total timeout bounds the whole call.
//!
//! Configuration: `OPENAI_BASE_URL` (default `https://api.openai.com/v1`; for local servers
//! e.g. `http://127.0.0.1:8000/v1`), `OPENAI_API_KEY` (required for the default URL, optional
//! for local servers), `DERIQ_OPENAI_MODEL` (required for a non-default URL),
//! `DERIQ_DRAFTER_TIMEOUT_SECS`, `DERIQ_DRAFTER_MAX_RETRIES`.

use std::time::Instant;

use async_openai::Client;
use async_openai::config::OpenAIConfig as ClientConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::ReqwestService;
use async_openai::middleware::retry::OpenAIRetryLayer;
use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
};

use super::parse::parse_answer;
use super::prompt::{self, RenderedPrompt};
use super::retry::{Limits, annotate, retryable_status, whole_seconds};
use super::{DraftFuture, DraftOutcome, DraftRequest, Drafter, DrafterError, Usage};

/// The provider's name in errors and audit records.
pub const PROVIDER: &str = "openai";
/// OpenAI's own endpoint, used unless `OPENAI_BASE_URL` says otherwise.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The model used against OpenAI's endpoint unless `DERIQ_OPENAI_MODEL` says otherwise.
pub const DEFAULT_MODEL: &str = "gpt-4.1-mini";
/// Output budget of one answer.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

/// How to reach an OpenAI-compatible server.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// Including the API prefix, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    /// Not needed by most local servers.
    pub api_key: Option<String>,
    pub model: String,
    pub max_tokens: u32,
    pub limits: Limits,
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("max_tokens", &self.max_tokens)
            .field("limits", &self.limits)
            .finish()
    }
}

impl OpenAiConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<OpenAiConfig, DrafterError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<OpenAiConfig, DrafterError> {
        let set = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let base_url = set("OPENAI_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.into()).trim_end_matches('/').to_string();
        let official = base_url == DEFAULT_BASE_URL;
        let api_key = set("OPENAI_API_KEY");
        if official && api_key.is_none() {
            return Err(DrafterError::NotConfigured {
                provider: PROVIDER,
                message: "set OPENAI_API_KEY for api.openai.com, or OPENAI_BASE_URL and DERIQ_OPENAI_MODEL \
                          for a local server, or use --drafter offline"
                    .into(),
            });
        }
        let model = match set("DERIQ_OPENAI_MODEL") {
            Some(m) => m,
            None if official => DEFAULT_MODEL.into(),
            None => {
                return Err(DrafterError::NotConfigured {
                    provider: PROVIDER,
                    message: format!("set DERIQ_OPENAI_MODEL to the name of a model served at {base_url}"),
                });
            }
        };
        Ok(OpenAiConfig { base_url, api_key, model, max_tokens: DEFAULT_MAX_TOKENS, limits: Limits::from_lookup(PROVIDER, lookup)? })
    }
}

/// Drafts SQL with a model behind an OpenAI-compatible chat-completions endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiDrafter {
    config: OpenAiConfig,
    client: Client<ClientConfig>,
}

impl OpenAiDrafter {
    /// A drafter for `config`.
    pub fn new(config: OpenAiConfig) -> Result<OpenAiDrafter, DrafterError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.limits.connect_timeout)
            .timeout(config.limits.total_timeout)
            .build()
            .map_err(|e| DrafterError::Transport { provider: PROVIDER, message: e.to_string() })?;
        let mut client_config = ClientConfig::new().with_api_base(config.base_url.clone());
        // Local servers ignore the key; async-openai sends an empty bearer token without one.
        client_config = client_config.with_api_key(config.api_key.clone().unwrap_or_default());
        let retries = usize::try_from(config.limits.max_retries).unwrap_or(usize::MAX);
        let service = tower::ServiceBuilder::new().layer(OpenAIRetryLayer::new(retries)).service(ReqwestService::new(http.clone()));
        let client = Client::build(http, client_config).with_http_service(service);
        Ok(OpenAiDrafter { config, client })
    }

    /// A drafter configured from the environment.
    pub fn from_env() -> Result<OpenAiDrafter, DrafterError> {
        Self::new(OpenAiConfig::from_env()?)
    }

    /// The configuration in use.
    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// The chat-completions request for a rendered prompt: the stable part as the system
    /// message, the per-question part as the user message, deterministic sampling.
    pub fn request(&self, prompt: &RenderedPrompt) -> Result<CreateChatCompletionRequest, DrafterError> {
        let messages: Vec<ChatCompletionRequestMessage> = vec![
            ChatCompletionRequestSystemMessage::from(prompt.stable.as_str()).into(),
            ChatCompletionRequestUserMessage::from(prompt.question.as_str()).into(),
        ];
        CreateChatCompletionRequestArgs::default()
            .model(self.config.model.clone())
            .messages(messages)
            .temperature(0.0)
            .max_tokens(self.config.max_tokens)
            .build()
            .map_err(|e| DrafterError::Protocol { provider: PROVIDER, message: format!("building the request: {e}") })
    }

    async fn run(&self, request: &DraftRequest) -> Result<DraftOutcome, DrafterError> {
        let prompt = prompt::render(request)
            .map_err(|e| DrafterError::NotConfigured { provider: PROVIDER, message: e.to_string() })?;
        let body = self.request(&prompt)?;
        let total = self.config.limits.total_timeout;
        let started = Instant::now();
        let response = tokio::time::timeout(total, self.client.chat().create(body))
            .await
            .map_err(|_| DrafterError::Timeout { provider: PROVIDER, seconds: whole_seconds(total) })?
            .map_err(|e| self.map_error(e))?;
        let provider_ms = started.elapsed().as_secs_f64() * 1000.0;

        let usage = response
            .usage
            .as_ref()
            .map(|u| Usage {
                input_tokens: u64::from(u.prompt_tokens),
                output_tokens: u64::from(u.completion_tokens),
                cache_creation_input_tokens: 0,
                cache_read_input_tokens: u
                    .prompt_tokens_details
                    .as_ref()
                    .and_then(|d| d.cached_tokens)
                    .map(u64::from)
                    .unwrap_or(0),
            })
            .unwrap_or_default();
        let choice = response
            .choices
            .first()
            .ok_or_else(|| DrafterError::Protocol { provider: PROVIDER, message: "the answer has no choices".into() })?;
        let text = match (&choice.message.content, &choice.message.refusal) {
            (Some(text), _) if !text.trim().is_empty() => text.as_str(),
            (_, Some(refusal)) => {
                return Err(DrafterError::Protocol { provider: PROVIDER, message: format!("the model declined: {refusal}") });
            }
            _ => return Err(DrafterError::Protocol { provider: PROVIDER, message: "the answer has no text".into() }),
        };
        let draft = parse_answer(text).map_err(|e| DrafterError::Protocol { provider: PROVIDER, message: e.to_string() })?;
        Ok(DraftOutcome { draft, usage, provider_ms, model: self.name() })
    }

    fn map_error(&self, error: OpenAIError) -> DrafterError {
        match error {
            OpenAIError::ApiError(e) => {
                let status = e.status_code.as_u16();
                let message = e.api_error.message.chars().take(500).collect::<String>().trim().to_string();
                let error = DrafterError::Http { provider: PROVIDER, status, message };
                if retryable_status(status) {
                    annotate(error, &format!("after up to {} retries", self.config.limits.max_retries))
                } else {
                    error
                }
            }
            OpenAIError::Reqwest(e) if e.is_timeout() => {
                DrafterError::Timeout { provider: PROVIDER, seconds: whole_seconds(self.config.limits.total_timeout) }
            }
            OpenAIError::Reqwest(e) => DrafterError::Transport { provider: PROVIDER, message: e.to_string() },
            OpenAIError::Boxed(e) => DrafterError::Transport { provider: PROVIDER, message: e.to_string() },
            OpenAIError::JSONDeserialize(e, _) => {
                DrafterError::Protocol { provider: PROVIDER, message: format!("unreadable answer: {e}") }
            }
            other => DrafterError::Protocol { provider: PROVIDER, message: other.to_string() },
        }
    }
}

impl Drafter for OpenAiDrafter {
    fn name(&self) -> String {
        format!("{PROVIDER}:{}", self.config.model)
    }

    fn draft<'a>(&'a self, request: &'a DraftRequest) -> DraftFuture<'a> {
        Box::pin(self.run(request))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn configuration_for_openai_and_local_servers() {
        let err = OpenAiConfig::from_lookup(&env(&[])).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("OPENAI_API_KEY"), "{err}");
        let c = OpenAiConfig::from_lookup(&env(&[("OPENAI_API_KEY", "sk-x")])).unwrap();
        assert_eq!((c.base_url.as_str(), c.model.as_str()), (DEFAULT_BASE_URL, DEFAULT_MODEL));
        assert!(!format!("{c:?}").contains("sk-x"));
        let err = OpenAiConfig::from_lookup(&env(&[("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")])).err();
        assert!(err.map(|e| e.to_string()).unwrap_or_default().contains("DERIQ_OPENAI_MODEL"));
        let c = OpenAiConfig::from_lookup(&env(&[("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1/"), ("DERIQ_OPENAI_MODEL", "qwen2.5-coder")]))
            .unwrap();
        assert_eq!((c.base_url.as_str(), c.api_key.as_deref()), ("http://127.0.0.1:11434/v1", None));
    }
}
