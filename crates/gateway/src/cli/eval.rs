//! `deriq eval nl2sql`: runs the NL-to-SQL suite on the seeded demo database.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use deriq_gateway::config::{Config, project_root};
use deriq_gateway::db::{self, Endpoints, scoped};
use deriq_gateway::drafter::DrafterKind;
use deriq_gateway::drafter::offline::OfflineDrafter;
use deriq_gateway::eval::{self, EvalDatabase};

#[derive(Args)]
pub struct EvalArgs {
    #[command(subcommand)]
    command: EvalCommand,
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Scores a drafter on evals/nl2sql/questions.jsonl.
    Nl2sql {
        /// The drafter to score.
        #[arg(long, value_enum, default_value = "offline")]
        drafter: DrafterKind,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Also write the Markdown report to this file.
        #[arg(long)]
        report: Option<PathBuf>,
        /// The question file.
        #[arg(long)]
        suite: Option<PathBuf>,
        /// The data set's "today" (default: the as-of date of the seeded data).
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
    },
    /// Scores regulatory retrieval on evals/retrieval (recall@5/10, MRR, nDCG@10) for the
    /// vector-only, full-text-only and hybrid configurations.
    Retrieval(super::rag::RetrievalEvalArgs),
}

pub async fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let (drafter, json, report, suite, today) = match args.command {
        EvalCommand::Nl2sql { drafter, json, report, suite, today } => (drafter, json, report, suite, today),
        EvalCommand::Retrieval(args) => return super::rag::retrieval_eval(args).await,
    };
    if drafter != DrafterKind::Offline {
        anyhow::bail!("`deriq eval nl2sql` scores the offline drafter; the LLM drafters are scored through `deriq ask`");
    }
    let config = Config::load()?;
    let endpoints = Endpoints::resolve(&config)?;
    let suite = suite.unwrap_or_else(|| project_root().join("evals/nl2sql/questions.jsonl"));
    let questions = eval::suite::load(&suite)?;
    let admin = db::pool("primary", endpoints.admin.clone(), 2).await?;
    let today = match today {
        Some(d) => d,
        None => eval::data_as_of(&admin).await?.context("no demo data: run `deriq db seed` first")?,
    };
    let replica = endpoints.replicas.first().cloned().unwrap_or_else(|| endpoints.admin.clone());
    let query = scoped::QueryPools::connect_lazy(&replica, &endpoints.query_full_password, &endpoints.query_deid_password, 2);
    let database = EvalDatabase { admin, query, scope_key: endpoints.scope_key.clone(), statement_timeout_ms: 10_000 };
    let result = eval::run_suite(&database, &OfflineDrafter::new(), &questions, today).await?;
    if let Some(path) = report {
        std::fs::write(&path, eval::markdown(&result)).with_context(|| format!("writing {}", path.display()))?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        println!("{}", eval::markdown(&result));
    }
    Ok(ExitCode::SUCCESS)
}
