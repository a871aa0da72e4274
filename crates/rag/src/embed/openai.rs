//! Any OpenAI-compatible `/embeddings` endpoint (OpenAI, Azure-style gateways, vLLM, Ollama,
//! text-embeddings-inference), for production deployments.

use std::sync::Arc;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::embeddings::{CreateEmbeddingRequest, EmbeddingInput};

use super::{Embedder, normalize};
use crate::chunking::EMBEDDING_TOKEN_LIMIT;
use crate::error::EmbedError;
use crate::tokens::{TiktokenCounter, TokenCounter};

/// Inputs per request.
const REQUEST_BATCH: usize = 64;

/// Connection settings for an OpenAI-compatible embeddings endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiEmbedderConfig {
    /// Base URL up to and including `/v1` (`https://api.openai.com/v1`).
    pub base_url: String,
    /// Bearer key; may be empty for local servers.
    pub api_key: String,
    /// Model name (`text-embedding-3-small`).
    pub model: String,
    /// Vector length the model returns (or is asked for).
    pub dimension: usize,
    /// Send `dimensions` in the request (text-embedding-3 models can shorten vectors).
    pub request_dimensions: bool,
}

/// Embeddings from a remote OpenAI-compatible endpoint.
pub struct OpenAiEmbedder {
    client: Client<OpenAIConfig>,
    config: OpenAiEmbedderConfig,
    model_id: String,
    counter: Arc<TiktokenCounter>,
}

impl OpenAiEmbedder {
    /// Builds a client; no request is made until the first embedding.
    pub fn new(config: OpenAiEmbedderConfig) -> Self {
        let client = Client::with_config(
            OpenAIConfig::new()
                .with_api_base(config.base_url.clone())
                .with_api_key(config.api_key.clone()),
        );
        Self {
            model_id: format!("openai-compatible:{}", config.model),
            client,
            config,
            counter: Arc::new(TiktokenCounter::default()),
        }
    }

    fn request(&self, input: Vec<String>) -> Result<CreateEmbeddingRequest, EmbedError> {
        let dimensions = if self.config.request_dimensions {
            Some(
                u32::try_from(self.config.dimension)
                    .map_err(|e| EmbedError::Remote(e.to_string()))?,
            )
        } else {
            None
        };
        Ok(CreateEmbeddingRequest {
            model: self.config.model.clone(),
            input: EmbeddingInput::StringArray(input),
            encoding_format: None,
            user: None,
            dimensions,
        })
    }
}

#[async_trait::async_trait]
impl Embedder for OpenAiEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.config.dimension
    }

    fn token_counter(&self) -> Arc<dyn TokenCounter> {
        self.counter.clone()
    }

    fn max_input_tokens(&self) -> usize {
        // Remote models accept far more, but chunks stay passage-sized for citations.
        EMBEDDING_TOKEN_LIMIT
    }

    async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(REQUEST_BATCH) {
            let response = self
                .client
                .embeddings()
                .create(self.request(batch.to_vec())?)
                .await
                .map_err(|e| EmbedError::Remote(e.to_string()))?;
            let mut data = response.data;
            if data.len() != batch.len() {
                return Err(EmbedError::Remote(format!(
                    "sent {} inputs, got {} embeddings",
                    batch.len(),
                    data.len()
                )));
            }
            data.sort_by_key(|d| d.index);
            for d in data {
                let mut v = d.embedding;
                if v.len() != self.config.dimension {
                    return Err(EmbedError::Dimension {
                        expected: self.config.dimension,
                        got: v.len(),
                    });
                }
                normalize(&mut v);
                out.push(v);
            }
        }
        Ok(out)
    }
}
