//! The NL-to-SQL eval suite with the offline drafter on a fresh test database: execution
//! accuracy of at least 0.90, every refusal and "not understood" right, no row outside
//! the caller's scope.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestApp, as_of};
use deriq_gateway::config::project_root;
use deriq_gateway::drafter::offline::OfflineDrafter;
use deriq_gateway::eval::{self, EvalDatabase};

#[tokio::test]
async fn offline_drafter_passes_the_suite() {
    let app = TestApp::new().await;
    let questions = eval::suite::load(&project_root().join("evals/nl2sql/questions.jsonl")).unwrap();
    assert!(questions.len() >= 200, "{} questions", questions.len());
    let db = EvalDatabase {
        admin: app.admin.clone(),
        query: app.query_pools(),
        scope_key: app.endpoints.scope_key.clone(),
        statement_timeout_ms: 10_000,
    };
    assert_eq!(eval::data_as_of(&app.admin).await.unwrap(), Some(as_of()));
    let report = eval::run_suite(&db, &OfflineDrafter::new(), &questions, as_of()).await.unwrap();
    println!("{}", eval::markdown(&report));
    db.query.close().await;
    app.cleanup().await;
    let ex = report.execution_accuracy.unwrap();
    assert!(ex >= 0.90, "execution accuracy {ex}");
    assert_eq!(report.refusal_accuracy, 1.0, "refusal accuracy");
    assert_eq!(report.out_of_scope_rows, 0, "rows outside the caller's scope");
}
