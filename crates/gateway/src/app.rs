//! Builds the ask pipeline from the configuration: pools, executor, audit, drafters and
//! retrieval. Shared by `deriq ask`, `deriq serve` and the eval suite.

use std::collections::HashMap;
use std::sync::Arc;

use deriq_rag::{CachedEmbedder, Embedder, LocalEmbedder};

use crate::ask::Asker;
use crate::audit::AuditLog;
use crate::config::Config;
use crate::db::{self, DbError, Endpoints};
use crate::drafter::{Drafter, DrafterKind};
use crate::executor::{ExecLimits, Executor};
use crate::policy::QueryLimits;
use crate::retrieval::Retrieval;

/// The pipeline could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the embedding model could not be loaded: {0}; run scripts/setup")]
    Embedder(String),
}

/// Options for building the pipeline.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Load the local embedding model and search the regulatory corpus.
    pub retrieval: bool,
    pub default_drafter: DrafterKind,
    pub max_attempts: usize,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions { retrieval: true, default_drafter: DrafterKind::Offline, max_attempts: 3 }
    }
}

/// The drafters that are configured: offline always; the LLM drafters when their
/// settings are present (otherwise asking for them says what is missing).
pub fn drafters() -> HashMap<DrafterKind, Arc<dyn Drafter>> {
    let mut map: HashMap<DrafterKind, Arc<dyn Drafter>> = HashMap::new();
    map.insert(DrafterKind::Offline, Arc::new(crate::drafter::offline::OfflineDrafter::new()));
    match crate::drafter::anthropic::AnthropicDrafter::from_env() {
        Ok(d) => {
            map.insert(DrafterKind::Anthropic, Arc::new(d));
        }
        Err(e) => tracing::debug!(error = %e, "Anthropic drafter not configured"),
    }
    match crate::drafter::openai::OpenAiDrafter::from_env() {
        Ok(d) => {
            map.insert(DrafterKind::Openai, Arc::new(d));
        }
        Err(e) => tracing::debug!(error = %e, "OpenAI-compatible drafter not configured"),
    }
    map
}

/// Builds the pipeline.
pub async fn build(config: &Config, options: BuildOptions) -> Result<Asker, BuildError> {
    let endpoints = Endpoints::resolve(config)?;
    let gateway = db::pool("primary", endpoints.gateway.clone(), 8).await?;
    let retrieval = if options.retrieval {
        let local = LocalEmbedder::load_default().map_err(|e| BuildError::Embedder(e.to_string()))?;
        let embedder: Arc<dyn Embedder> = Arc::new(CachedEmbedder::new(local, 10_000));
        Some(Retrieval { pool: gateway.clone(), embedder })
    } else {
        None
    };
    Ok(Asker {
        directory_pool: gateway.clone(),
        executor: Executor::new(&endpoints, config.replica_fallback_to_primary, ExecLimits::default()),
        audit: AuditLog::new(gateway, config.data_dir.join("audit-spool.jsonl")),
        drafters: drafters(),
        default_drafter: options.default_drafter,
        limits: QueryLimits::default(),
        max_attempts: options.max_attempts,
        retrieval,
    })
}

/// Connection settings, for commands that need them directly.
pub fn endpoints(config: &Config) -> Result<Endpoints, DbError> {
    Endpoints::resolve(config)
}
