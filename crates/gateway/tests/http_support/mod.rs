//! Helpers of the HTTP tests: a server with chosen token keys, options and drafters, and
//! a slow drafter for timing tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use deriq_gateway::ask::Asker;
use deriq_gateway::drafter::offline::OfflineDrafter;
use deriq_gateway::drafter::{DraftFuture, DraftOutcome, DraftRequest, Drafter, Usage};
use deriq_gateway::http::auth::TokenKeys;
use deriq_gateway::http::{self, AppState, GatewayOptions, HttpSettings, HttpState};

use super::common::TestApp;

/// A running server.
pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub asker: Arc<Asker>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// The URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Stops the server.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        self.task.await.unwrap();
    }
}

/// Generous rate limits.
pub fn settings() -> HttpSettings {
    HttpSettings {
        tenant_per_minute: 100_000,
        user_per_minute: 100_000,
        body_limit_bytes: http::DEFAULT_BODY_LIMIT,
        caller_ttl: Duration::from_secs(30),
    }
}

/// Starts a server over `app` with `keys` and `options`; `tweak` may change the pipeline
/// (add drafters).
pub async fn start(
    app: &TestApp,
    keys: TokenKeys,
    options: GatewayOptions,
    tweak: impl FnOnce(&mut Asker),
) -> Server {
    start_with(app, keys, settings(), options, tweak).await
}

/// Starts a server with HTTP settings too.
pub async fn start_with(
    app: &TestApp,
    keys: TokenKeys,
    settings: HttpSettings,
    options: GatewayOptions,
    tweak: impl FnOnce(&mut Asker),
) -> Server {
    let mut asker = app.asker().await;
    tweak(&mut asker);
    let asker = Arc::new(asker);
    let state =
        HttpState::with_options(asker.clone(), keys, Vec::new(), settings, options).unwrap();
    let (base, tx, task) = super::common::listen(state.clone()).await;
    Server {
        base,
        client: reqwest::Client::new(),
        state,
        asker,
        shutdown: tx,
        task,
    }
}

/// The offline drafter, after a pause.
pub struct SlowDrafter(pub Duration);

impl Drafter for SlowDrafter {
    fn name(&self) -> String {
        "slow-offline".into()
    }

    fn draft<'a>(&'a self, request: &'a DraftRequest) -> DraftFuture<'a> {
        Box::pin(async move {
            tokio::time::sleep(self.0).await;
            Ok(DraftOutcome {
                draft: OfflineDrafter::new().draft_now(request),
                usage: Usage::default(),
                provider_ms: 0.0,
                model: "slow-offline".into(),
            })
        })
    }
}
