//! The HTTP API of DER IQ (`deriq serve`): the ask pipeline and regulatory retrieval
//! behind JWT auth, tenant resolution, RBAC, rate limits and idempotency keys, with
//! Prometheus metrics, `Server-Timing` headers, request ids and an OpenAPI document.
//!
//! Handlers are thin: they parse, check, call [`crate::ask::Asker`] and shape the answer.

pub mod audit_batch;
pub mod auth;
pub mod body;
pub mod caller;
pub mod chat;
pub mod dev;
pub mod error;
pub mod handlers;
pub mod idempotency;
pub mod jwks;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod otlp;
pub mod rate_limit;
pub mod schema;
pub mod ui;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use moka::sync::Cache;
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::ask::{Asker, PipelineCaches, StageTimeouts};
use crate::config::Config;
use auth::TokenKeys;
use caller::Resolved;
use idempotency::IdempotencyStore;
use metrics::{Metrics, MetricsError};
use rate_limit::RateLimiter;

/// The largest request body accepted, in bytes.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Background audit writers (each has one batch insert in flight).
pub const AUDIT_WRITERS: usize = 4;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub tenant_per_minute: u32,
    pub user_per_minute: u32,
    pub body_limit_bytes: usize,
    /// How long a caller's directory entry and scope are cached.
    pub caller_ttl: Duration,
}

impl HttpSettings {
    /// The settings from the configuration.
    pub fn from_config(config: &Config) -> Self {
        HttpSettings {
            tenant_per_minute: config.rate_limit_tenant_per_minute,
            user_per_minute: config.rate_limit_user_per_minute,
            body_limit_bytes: DEFAULT_BODY_LIMIT,
            caller_ttl: Duration::from_secs(30),
        }
    }
}

/// Further settings of the gateway, with defaults (`HttpState::new` uses them).
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Time limits of the slow pipeline stages (a 504 names the stage).
    pub timeouts: StageTimeouts,
    /// How long a query result is reused for the same SQL, parameters and scope (zero:
    /// not at all).
    pub results_ttl: Duration,
    /// Tenant subdomains: a request to `<slug>.<base domain>` is for that tenant.
    pub tenant_base_domain: Option<String>,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            timeouts: StageTimeouts { retrieval: Some(Duration::from_secs(5)), drafter: Some(Duration::from_secs(60)), database: Some(Duration::from_secs(10)) },
            results_ttl: Duration::from_secs(10),
            tenant_base_domain: None,
        }
    }
}

impl GatewayOptions {
    /// The options from the configuration.
    pub fn from_config(config: &Config) -> Self {
        let d = GatewayOptions::default();
        let ms = |v: Option<u64>, default: Option<Duration>| v.map(Duration::from_millis).or(default);
        GatewayOptions {
            timeouts: StageTimeouts {
                retrieval: ms(config.timeout_retrieval_ms, d.timeouts.retrieval),
                drafter: ms(config.timeout_drafter_ms, d.timeouts.drafter),
                database: ms(config.timeout_database_ms, d.timeouts.database),
            },
            results_ttl: config.results_cache_ttl_ms.map(Duration::from_millis).unwrap_or(d.results_ttl),
            tenant_base_domain: config.tenant_base_domain.clone(),
        }
    }
}

/// Everything a request handler may use.
pub struct HttpState {
    pub asker: Arc<Asker>,
    pub keys: TokenKeys,
    pub tenant_limit: RateLimiter,
    pub user_limit: RateLimiter,
    pub idempotency: IdempotencyStore,
    pub metrics: Metrics,
    /// Directory entries and scopes by lower-case e-mail.
    pub callers: Cache<String, Arc<Resolved>>,
    /// Tenant ids by slug (for subdomains).
    pub tenant_slugs: Cache<String, uuid::Uuid>,
    /// Compiled guards and query results shared by requests.
    pub caches: Arc<PipelineCaches>,
    /// The batching audit writer (none outside a Tokio runtime).
    pub audit: Option<Arc<audit_batch::AuditBatcher>>,
    pub options: GatewayOptions,
    /// Chat conversations.
    pub conversations: chat::Conversations,
    /// Replicas to probe in /readyz, by name.
    pub replica_probes: Vec<(String, PgPool)>,
    pub settings: HttpSettings,
    /// Development sign-in (DER IQ Chat's demo-user picker); off unless enabled.
    pub dev_sign_in: dev::DevMode,
}

/// The shared state.
pub type AppState = Arc<HttpState>;

impl HttpState {
    /// The state for a pipeline, token keys and settings, with default options.
    pub fn new(asker: Arc<Asker>, keys: TokenKeys, replica_probes: Vec<(String, PgPool)>, settings: HttpSettings) -> Result<AppState, MetricsError> {
        Self::with_options(asker, keys, replica_probes, settings, GatewayOptions::default())
    }

    /// The state with options.
    pub fn with_options(asker: Arc<Asker>, keys: TokenKeys, replica_probes: Vec<(String, PgPool)>, settings: HttpSettings, options: GatewayOptions) -> Result<AppState, MetricsError> {
        let audit = tokio::runtime::Handle::try_current().ok().map(|_| audit_batch::AuditBatcher::start(asker.clone(), asker.directory_pool.clone(), AUDIT_WRITERS));
        Ok(Arc::new(HttpState {
            asker,
            audit,
            keys,
            tenant_limit: RateLimiter::new(settings.tenant_per_minute),
            user_limit: RateLimiter::new(settings.user_per_minute),
            idempotency: IdempotencyStore::default(),
            metrics: Metrics::new()?,
            callers: Cache::builder().time_to_live(settings.caller_ttl).max_capacity(100_000).build(),
            tenant_slugs: Cache::builder().time_to_live(Duration::from_secs(300)).max_capacity(100_000).build(),
            caches: Arc::new(PipelineCaches::new(options.results_ttl)),
            options,
            conversations: chat::conversations(),
            replica_probes,
            settings,
            dev_sign_in: dev::DevMode::default(),
        }))
    }
}

/// The router with every route and layer.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(handlers::metrics))
        .route("/openapi.json", get(handlers::openapi))
        .route("/api/der-iq/query", post(handlers::query))
        .route("/api/der-iq/search", post(handlers::search))
        .route("/api/der-iq/schema", get(handlers::schema))
        .route("/api/der-iq/chat", post(chat::chat))
        .merge(ui::routes())
        .merge(dev::routes(&state))
        .fallback(handlers::not_found)
        .layer(DefaultBodyLimit::max(state.settings.body_limit_bytes))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::observe))
        .with_state(state)
}

/// The server failed.
#[derive(Debug, thiserror::Error)]
#[error("the HTTP server failed: {0}")]
pub struct ServeError(#[from] std::io::Error);

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
    axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown).await?;
    Ok(())
}
