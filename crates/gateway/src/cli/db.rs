//! `deriq db up | down | status | reset | seed`.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use deriq_gateway::config::Config;
use deriq_gateway::db::{self, Endpoints, status};
use deriq_gateway::seed::{self, SeedOptions};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Args)]
pub struct DbArgs {
    #[command(subcommand)]
    command: DbCommand,
}

#[derive(Subcommand)]
enum DbCommand {
    /// Create (first time) and start the primary and its streaming replica, and migrate. Idempotent.
    Up,
    /// Stop the embedded servers.
    Down,
    /// Show both servers, replication lag and the migration version.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Stop the embedded servers and delete their data.
    Reset,
    /// Print the connection URL of the migrating login on the primary (for scripts and psql).
    Url,
    /// Replace the business data with the deterministic demo data set.
    Seed {
        /// Employees per service company.
        #[arg(long, default_value_t = 2000)]
        employees_per_tenant: usize,
        /// The "today" of the data set (YYYY-MM-DD); default: today.
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
}

pub async fn run(args: DbArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load()?;
    match args.command {
        DbCommand::Up => {
            let started = Instant::now();
            let endpoints = db::up(&config, &|step| eprintln!("· {step}")).await?;
            let st = status::status(&endpoints).await?;
            println!("database ready in {:.1} s: primary {}, {} replica(s) streaming, migration {}",
                started.elapsed().as_secs_f64(),
                st.primary.address,
                st.replication.iter().filter(|r| r.state == "streaming").count(),
                st.migration_version.map(|v| v.to_string()).unwrap_or_else(|| "none".into()));
        }
        DbCommand::Down => {
            anyhow::ensure!(config.is_embedded(), "`deriq db down` manages the embedded servers only; DATABASE_URL is set");
            db::down(&config)?;
            println!("embedded servers stopped");
        }
        DbCommand::Reset => {
            anyhow::ensure!(config.is_embedded(), "`deriq db reset` manages the embedded servers only; DATABASE_URL is set");
            db::reset(&config)?;
            println!("embedded servers stopped and their data removed; `deriq db up` creates them again");
        }
        DbCommand::Url => match &config.database_url {
            Some(url) => println!("{url}"),
            None => {
                let s = deriq_gateway::db::secrets::Secrets::load(&config.data_dir)?;
                println!("postgres://postgres:{}@127.0.0.1:{}/{}", s.admin_password, config.primary_port, deriq_gateway::db::embedded::DATABASE);
            }
        },
        DbCommand::Status { json } => {
            let endpoints = Endpoints::resolve(&config)?;
            let st = status::status(&endpoints).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&st)?);
            } else {
                print_status(&st);
            }
            if !st.primary.reachable || st.replicas.iter().any(|r| !r.reachable) {
                return Ok(ExitCode::FAILURE);
            }
        }
        DbCommand::Seed { employees_per_tenant, as_of } => {
            let endpoints = Endpoints::resolve(&config)?;
            let admin = db::pool("primary", endpoints.admin.clone(), 2).await?;
            let as_of = as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
            let started = Instant::now();
            let bar = ProgressBar::new(0);
            bar.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} tables  {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
            let summary = seed::seed(&admin, &SeedOptions { employees_per_tenant, as_of }, &|table, i, n| {
                bar.set_length(n as u64);
                bar.set_position(i as u64);
                bar.set_message(table.to_string());
            })
            .await
            .context("seeding the demo data")?;
            bar.finish_and_clear();
            let total: usize = summary.tables.iter().map(|(_, n)| n).sum();
            println!(
                "seeded {} rows in {:.1} s (as of {}): {} tenants, {} users, {} employees, {} drug & alcohol tests, {} background checks, {} DQ files, {} OSHA cases, {} certificates, {} check-ins",
                total, started.elapsed().as_secs_f64(), summary.as_of, summary.rows("tenants"), summary.rows("users"),
                summary.rows("employees"), summary.rows("drug_tests"), summary.rows("background_checks"),
                summary.rows("driver_qualifications"), summary.rows("osha_cases"), summary.rows("training_certificates"),
                summary.rows("check_ins"),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_status(st: &status::Status) {
    let line = |s: &status::ServerStatus| {
        let state = match (s.reachable, s.in_recovery) {
            (false, _) => format!("DOWN ({})", s.error.as_deref().unwrap_or("unreachable")),
            (true, Some(true)) => "up, read-only replica (in recovery)".to_string(),
            (true, Some(false)) => "up, primary".to_string(),
            (true, None) => "up".to_string(),
        };
        println!("{:<8} {:<22} {}", s.role, s.address, state);
    };
    line(&st.primary);
    for r in &st.replicas {
        line(r);
    }
    if st.replication.is_empty() {
        println!("replication: no standby connected");
    }
    for r in &st.replication {
        println!("replication: {} {} lag {} bytes{}", r.client, r.state, r.lag_bytes.unwrap_or(0),
            r.replay_lag_ms.map(|ms| format!(", replay lag {ms:.1} ms")).unwrap_or_default());
    }
    println!("migration version: {}", st.migration_version.map(|v| v.to_string()).unwrap_or_else(|| "none".into()));
}
