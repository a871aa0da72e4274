//! `deriq ask --user <email> "<question>" [--drafter offline|anthropic|openai] [--json]`.

use std::process::ExitCode;

use clap::Args;
use deriq_gateway::app::{self, BuildOptions};
use deriq_gateway::ask::{Answer, AnswerKind, AskRequest};
use deriq_gateway::config::Config;
use deriq_gateway::drafter::DrafterKind;
use serde_json::Value;

#[derive(Args)]
pub struct AskArgs {
    /// The caller, by e-mail (`deriq users` lists them).
    #[arg(long)]
    user: String,
    /// The question, in plain English.
    question: String,
    /// Which drafter writes the SQL.
    #[arg(long, value_enum, default_value_t = DrafterKind::Offline)]
    drafter: DrafterKind,
    /// Print the answer as JSON.
    #[arg(long)]
    json: bool,
    /// Do not search the regulations (faster start: the embedding model is not loaded).
    #[arg(long)]
    no_retrieval: bool,
}

pub async fn run(args: AskArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load()?;
    let asker = app::build(&config, BuildOptions { retrieval: !args.no_retrieval, default_drafter: args.drafter, ..BuildOptions::default() }).await?;
    let mut req = AskRequest::new(args.user, args.question);
    req.drafter = Some(args.drafter);
    let answer = asker.ask(&req).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        print_answer(&answer);
    }
    Ok(match answer.kind {
        AnswerKind::Data | AnswerKind::Regulatory | AnswerKind::Mixed => ExitCode::SUCCESS,
        AnswerKind::Refused => ExitCode::from(3),
        AnswerKind::NotUnderstood => ExitCode::from(4),
    })
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn print_answer(a: &Answer) {
    println!("{}\n", a.answer);
    if !a.columns.is_empty() {
        let rows: Vec<Vec<String>> = a.rows.iter().take(50).map(|r| r.iter().map(cell).collect()).collect();
        let widths: Vec<usize> = a.columns.iter().enumerate()
            .map(|(i, c)| rows.iter().map(|r| r[i].chars().count()).chain([c.name.len()]).max().unwrap_or(0).min(40))
            .collect();
        let line = |cells: Vec<String>| cells.iter().zip(&widths).map(|(c, w)| format!("{:<w$}", c.chars().take(*w).collect::<String>(), w = *w)).collect::<Vec<_>>().join("  ");
        println!("{}", line(a.columns.iter().map(|c| c.name.clone()).collect()));
        println!("{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
        for r in rows {
            println!("{}", line(r));
        }
        if a.rows.len() > 50 {
            println!("... {} rows in all", a.rows.len());
        }
        if let Some(cap) = a.row_cap_applied
            && a.rows.len() as u64 >= cap {
                println!("(results capped at {cap} rows)");
            }
        println!();
    }
    for c in &a.citations {
        println!("[{}] {}\n  {}\n", c.citation, c.title, c.text.chars().take(400).collect::<String>());
    }
    if let Some(sql) = &a.sql {
        println!("SQL that ran:\n{sql}\n");
    }
    println!("{} ms ({} drafter, {} attempt(s), request {})", a.timings_ms.total.round(), a.drafter, a.attempts, a.request_id);
}
