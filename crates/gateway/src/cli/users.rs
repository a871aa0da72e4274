//! `deriq users`.

use std::process::ExitCode;

use clap::Args;
use deriq_gateway::config::Config;
use deriq_gateway::db::{self, Endpoints};
use deriq_gateway::directory;

#[derive(Args)]
pub struct UsersArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: UsersArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load()?;
    let endpoints = Endpoints::resolve(&config)?;
    let pool = db::pool("primary", endpoints.gateway.clone(), 1).await?;
    let users = directory::list_users(&pool).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&users)?);
    } else {
        println!("{:<48} {:<20} TENANT", "EMAIL", "ROLE");
        for u in &users {
            println!("{:<48} {:<20} {}", u.email, u.role, u.tenant_name);
        }
    }
    Ok(ExitCode::SUCCESS)
}
