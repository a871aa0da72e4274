//! `deriq token --user <email> [--ttl 1h] [--mfa]`: a development bearer token for a user.

use std::process::ExitCode;

use clap::Args;
use deriq_gateway::app;
use deriq_gateway::config::Config;
use deriq_gateway::db;
use deriq_gateway::directory;
use deriq_gateway::http::auth::{Claims, TokenKeys};

#[derive(Args)]
pub struct TokenArgs {
    /// The user, by e-mail (`deriq users` lists them).
    #[arg(long)]
    user: String,
    /// Lifetime: a number with s, m, h or d (the role's session timeout still applies).
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    ttl: i64,
    /// Mark the token as having passed MFA now (for PII exports).
    #[arg(long)]
    mfa: bool,
}

/// Parses `90s`, `15m`, `1h`, `2d` into seconds.
pub fn parse_ttl(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().map_err(|_| format!("'{s}' is not a duration such as 30m or 1h"))?;
    let per = match unit {
        "s" => 1,
        "m" | "" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit '{unit}' in '{s}'; use s, m, h or d")),
    };
    if n <= 0 || n > 30 * 86_400 / per {
        return Err(format!("'{s}' must be positive and at most 30 days"));
    }
    Ok(n * per)
}

pub async fn run(args: TokenArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load()?;
    let secret = super::serve::jwt_secret(&config)?;
    let endpoints = app::endpoints(&config)?;
    let pool = db::pool("primary", endpoints.gateway.clone(), 1).await?;
    let user = directory::find_user(&pool, &args.user).await?;
    let now = chrono::Utc::now().timestamp();
    let mut claims = Claims::for_user(&user, &config.jwt_issuer, &config.jwt_audience, now, args.ttl);
    if args.mfa {
        claims.mfa = Some(now);
    }
    let token = TokenKeys::hs256(secret.as_bytes(), &config.jwt_issuer, &config.jwt_audience).mint(&claims)?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}
