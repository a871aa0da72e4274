//! `deriq serve [--addr 127.0.0.1:8080] [--no-retrieval]`: the HTTP API.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use deriq_gateway::app::{self, BuildOptions};
use deriq_gateway::config::Config;
use deriq_gateway::drafter::DrafterKind;
use deriq_gateway::http::auth::TokenKeys;
use deriq_gateway::http::jwks::{Jwks, JwksSource};
use deriq_gateway::http::{self, GatewayOptions, HttpSettings, HttpState};
use sqlx::postgres::PgPoolOptions;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (default: DERIQ_HTTP_ADDR, else 127.0.0.1:8080).
    #[arg(long)]
    addr: Option<String>,
    /// The default drafter.
    #[arg(long, value_enum, default_value_t = DrafterKind::Offline)]
    drafter: DrafterKind,
    /// Do not load the embedding model: /api/der-iq/search answers 503 and questions get no citations.
    #[arg(long)]
    no_retrieval: bool,
}

/// The HS256 secret: `DERIQ_JWT_SECRET`, else the embedded installation's development secret.
pub fn jwt_secret(config: &Config) -> anyhow::Result<String> {
    if let Some(s) = &config.jwt_secret {
        return Ok(s.clone());
    }
    let endpoints = app::endpoints(config)?;
    endpoints.dev_jwt_secret.context("set DERIQ_JWT_SECRET: there is no development secret outside the embedded installation")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!(target: "deriq::http", "shutting down: finishing requests in flight");
}

/// The token keys: the HS256 secret (unless only a JWKS is configured) and the JWKS keys.
async fn token_keys(config: &Config) -> anyhow::Result<TokenKeys> {
    let jwks = match &config.jwks {
        Some(source) => Some(Jwks::load(JwksSource::parse(source)).await?),
        None => None,
    };
    let secret = match (&config.jwt_secret, &jwks) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(_)) => app::endpoints(config).ok().and_then(|e| e.dev_jwt_secret),
        (None, None) => Some(jwt_secret(config)?),
    };
    let keys = match (secret, jwks) {
        (Some(s), Some(j)) => TokenKeys::hs256(s.as_bytes(), &config.jwt_issuer, &config.jwt_audience).with_jwks(j),
        (Some(s), None) => TokenKeys::hs256(s.as_bytes(), &config.jwt_issuer, &config.jwt_audience),
        (None, Some(j)) => TokenKeys::jwks(j, &config.jwt_issuer, &config.jwt_audience),
        (None, None) => anyhow::bail!("set DERIQ_JWT_SECRET or DERIQ_JWKS"),
    };
    Ok(keys)
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load()?;
    let keys = token_keys(&config).await?;
    let asker = app::build(&config, BuildOptions { retrieval: !args.no_retrieval, default_drafter: args.drafter, ..BuildOptions::default() }).await?;
    let endpoints = app::endpoints(&config)?;
    let probes = endpoints
        .replicas
        .iter()
        .map(|r| {
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(2))
                .connect_lazy_with(r.clone().username("deriq_query_full").password(&endpoints.query_full_password));
            (format!("{}:{}", r.get_host(), r.get_port()), pool)
        })
        .collect();
    let state = HttpState::with_options(Arc::new(asker), keys, probes, HttpSettings::from_config(&config), GatewayOptions::from_config(&config))?;
    if config.dev_sign_in() {
        state.dev_sign_in.enable(&config.jwt_issuer, &config.jwt_audience);
    }
    let addr = args.addr.unwrap_or_else(|| config.http_addr.clone());
    let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    tracing::info!(target: "deriq::http", addr = %local, "listening");
    eprintln!("DER IQ listening on http://{local} (token: `deriq token --user <email>`)");
    http::serve(listener, state, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
