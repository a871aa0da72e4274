//! Command-line parsing and dispatch. Each command is a thin layer over the library.

mod ask;
mod db;
mod eval;
mod guard;
mod rag;
mod serve;
mod token;
mod users;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// DER IQ: natural-language answers over compliance data, scoped to who is asking.
#[derive(Parser)]
#[command(name = "deriq", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Manage the databases (embedded primary + read replica by default).
    Db(db::DbArgs),
    /// List the users (one per role per tenant in the demo data).
    Users(users::UsersArgs),
    /// Ask a question as a user: the answer, with the SQL that ran or the citations.
    Ask(ask::AskArgs),
    /// Show the SQL guard's decision for a caller and a statement (exit 0 allow, 3 reject).
    Guard(guard::GuardArgs),
    /// Load the regulatory corpus into the search index (incremental).
    Ingest(rag::IngestArgs),
    /// Search the regulations: hybrid vector + full-text, or straight to a cited section.
    Search(rag::SearchArgs),
    /// Score a drafter on the NL-to-SQL eval suite (evals/nl2sql).
    Eval(eval::EvalArgs),
    /// Serve the HTTP API (JSON logs on stderr).
    Serve(serve::ServeArgs),
    /// Mint a development bearer token for a user, signed with the configured secret.
    Token(token::TokenArgs),
}

/// Parses the arguments, runs the command, and maps errors to exit codes:
/// 0 success, 1 failure, 2 bad usage.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut otlp_exporter = None;
    if matches!(cli.command, Command::Serve(_)) {
        let endpoint = deriq_gateway::config::Config::load().ok().and_then(|c| c.otlp_endpoint);
        otlp_exporter = deriq_gateway::http::otlp::init_serve_logging(endpoint.as_deref());
    } else {
        tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_env("DERIQ_LOG")).with_writer(std::io::stderr).init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(exporter) = otlp_exporter {
        runtime.spawn(exporter.run());
    }
    let result = runtime.block_on(async {
        match cli.command {
            Command::Db(args) => db::run(args).await,
            Command::Eval(args) => eval::run(args).await,
            Command::Users(args) => users::run(args).await,
            Command::Ask(args) => ask::run(args).await,
            Command::Guard(args) => guard::run(args).await,
            Command::Ingest(args) => rag::ingest(args).await,
            Command::Search(args) => rag::search_cmd(args).await,
            Command::Serve(args) => serve::run(args).await,
            Command::Token(args) => token::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
