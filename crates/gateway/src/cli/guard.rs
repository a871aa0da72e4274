//! `deriq guard --user <email> --sql "<sql>" [--json]`: the guard's decision for a caller.
//! Exit status 0 allow, 3 reject, 2 bad usage.

use std::process::ExitCode;

use clap::Args;
use deriq_core::{Role, Scope};
use deriq_gateway::config::Config;
use deriq_gateway::db::{self, Endpoints};
use deriq_gateway::directory;
use deriq_gateway::policy::{QueryLimits, guard_policy};
use deriq_sql_guard::Decision;

#[derive(Args)]
pub struct GuardArgs {
    /// The caller, by e-mail (`deriq users` lists them).
    #[arg(long, conflicts_with_all = ["role", "tenant"])]
    user: Option<String>,
    /// The caller's role, when no user is at hand (with --tenant).
    #[arg(long, requires = "tenant")]
    role: Option<Role>,
    /// The caller's tenant slug (with --role): tenant-wide scope.
    #[arg(long, requires = "role")]
    tenant: Option<String>,
    /// The SQL to check.
    #[arg(long)]
    sql: String,
    /// Print the decision as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: GuardArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load()?;
    let endpoints = Endpoints::resolve(&config)?;
    let pool = db::pool("primary", endpoints.gateway.clone(), 1).await?;
    let (role, scope) = match (&args.user, args.role, &args.tenant) {
        (Some(email), _, _) => {
            let user = directory::find_user(&pool, email).await?;
            directory::scope_for(&pool, &user).await?
        }
        (None, Some(role), Some(slug)) => {
            let tenant: Option<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM compliance.tenants WHERE slug = $1").bind(slug).fetch_optional(&pool).await?;
            let tenant = tenant.ok_or_else(|| anyhow::anyhow!("no tenant with the slug '{slug}'"))?;
            (role, Scope { tenant_ids: vec![tenant], location_ids: None, employee_id: None })
        }
        _ => {
            eprintln!("error: give --user <email>, or --role <role> with --tenant <slug>");
            return Ok(ExitCode::from(2));
        }
    };
    let policy = guard_policy(role, &scope, QueryLimits::default());
    let result = deriq_sql_guard::guard(&args.sql, &policy);
    let decision = Decision::from_result(&result);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&decision.to_json())?);
    } else {
        match &result {
            Ok(a) => {
                println!("ALLOW for {} ({} tier)\n\n{}\n", role.as_str(), policy.tier.label(), a.sql);
                for p in &a.injected {
                    println!("  scope: {p}");
                }
                if !a.masked.is_empty() {
                    println!("  masked: {}", a.masked.join(", "));
                }
            }
            Err(r) => {
                println!("REJECT for {}", role.as_str());
                for reason in &r.reasons {
                    println!("  - {}", reason.message);
                }
            }
        }
    }
    Ok(ExitCode::from(decision.exit_code() as u8))
}
