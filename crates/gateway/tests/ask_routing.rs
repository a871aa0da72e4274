//! Where a question goes. Its words route it first; a question with no regulatory words that
//! the data side cannot answer still reaches the regulations. Real retrieval: the local model
//! over the retrieval crate's fixture corpus (four sections), ingested into the test database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{TestApp, demo_email};
use deriq_core::Role;
use deriq_gateway::ask::{AnswerKind, AskRequest, Asker, classify};
use deriq_gateway::retrieval::Retrieval;
use deriq_rag::LocalEmbedder;
use deriq_rag::store::NoProgress;

async fn asker_with_retrieval(app: &TestApp) -> Asker {
    let embedder = Arc::new(LocalEmbedder::load_default().expect("the local model (scripts/setup installs it)"));
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rag/tests/fixtures/corpus");
    deriq_rag::store::ingest(&app.admin, &corpus, embedder.as_ref(), &NoProgress).await.unwrap();
    let mut asker = app.asker().await;
    asker.retrieval = Some(Retrieval { pool: asker.directory_pool.clone(), embedder });
    asker
}

#[tokio::test]
async fn questions_without_regulatory_words_that_the_data_cannot_answer_reach_the_regulations() {
    let app = TestApp::new().await;
    let asker = asker_with_retrieval(&app).await;
    let der = demo_email(Role::Der);

    // No regulatory cue, and nothing in it the data side can map.
    let walked_out = "Driver walked out of the collection site before giving a specimen, what now?";
    assert_eq!(classify(walked_out), (false, true));
    let a = asker.ask(&AskRequest::new(der.clone(), walked_out)).await.unwrap();
    assert_eq!(a.kind, AnswerKind::Regulatory, "{}", a.answer);
    assert!(a.citations[0].citation.starts_with("49 CFR 40.191"), "{:?}", a.citations);
    assert!(a.answer.contains("40.191"), "{}", a.answer);

    // A data question stays one, and brings no passages.
    let count = "How many random drug tests did we run in Texas last quarter?";
    let a = asker.ask(&AskRequest::new(der.clone(), count)).await.unwrap();
    assert_eq!(a.kind, AnswerKind::Data, "{}", a.answer);
    assert!(a.citations.is_empty(), "{:?}", a.citations);

    // A question about the rules that touches a module the role may not query: answered from
    // the regulations, with the refusal noted.
    let certify = "Who at the company has to certify the annual OSHA summary?";
    let a = asker.ask(&AskRequest::new(der.clone(), certify)).await.unwrap();
    assert_eq!(a.kind, AnswerKind::Regulatory, "{}", a.answer);
    assert!(a.citations[0].citation.starts_with("29 CFR 1904.32"), "{:?}", a.citations);
    assert!(a.answer.contains("Your data was not queried: ") && a.answer.contains("cannot query Occupational Health"), "{}", a.answer);

    // A data question the role may not ask is refused, with no passages beside it.
    let a = asker.ask(&AskRequest::new(der.clone(), "How many OSHA recordable injuries this year?")).await.unwrap();
    assert_eq!(a.kind, AnswerKind::Refused, "{}", a.answer);
    assert!(a.citations.is_empty(), "{:?}", a.citations);

    // Neither the data nor the regulations: the answer says so for both.
    let a = asker.ask(&AskRequest::new(der.clone(), "What's the weather in Houston?")).await.unwrap();
    assert_eq!(a.kind, AnswerKind::NotUnderstood, "{}", a.answer);
    assert!(a.citations.is_empty(), "{:?}", a.citations);
    assert!(a.answer.contains("do not cover it"), "{}", a.answer);

    // A request is not a question about the rules, whatever passages resemble it.
    let a = asker.ask(&AskRequest::new(der.clone(), "Delete all positive drug tests")).await.unwrap();
    assert_ne!(a.kind, AnswerKind::Regulatory, "{}", a.answer);
    assert!(a.citations.is_empty(), "{:?}", a.citations);

    app.cleanup().await;
}

#[test]
fn a_bare_citation_is_a_regulatory_question() {
    assert_eq!(classify("1904.32(b)(1)"), (true, false));
    assert_eq!(classify("what about 49 CFR 40.191"), (true, false));
}
