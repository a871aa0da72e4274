//! Ingest and search against PostgreSQL + pgvector (needs DERIQ_TEST_DATABASE_URL), with a
//! small deterministic embedder so that these tests exercise the store, not the model.

#![allow(clippy::panic)]

mod common;

use common::{HashEmbedder, TestDb, fixture_corpus};
use deriq_rag::store::{NoProgress, SearchMode, SearchOptions, index_metadata, ingest_sections};
use deriq_rag::{SearchFilters, ingest, load_path, search, search_with};

#[tokio::test]
async fn ingest_is_incremental_and_prunes() -> Result<(), Box<dyn std::error::Error>> {
    let db = TestDb::new().await;
    let embedder = HashEmbedder::new(64);
    let first = ingest(&db.pool, &fixture_corpus(), &embedder, &NoProgress).await?;
    assert_eq!(first.sections_seen, 4);
    assert_eq!(first.sections_written, 4);
    assert!(first.chunks_written >= 15, "{first:?}");
    assert!(first.rebuilt.is_none());

    let again = ingest(&db.pool, &fixture_corpus(), &embedder, &NoProgress).await?;
    assert_eq!((again.sections_unchanged, again.sections_written), (4, 0));

    // One changed paragraph re-embeds one section only.
    let mut sections = load_path(&fixture_corpus())?;
    sections[1].paragraphs[0].text.push_str(" Amended.");
    let changed = ingest_sections(&db.pool, &sections, &embedder, &NoProgress, None).await?;
    assert_eq!(
        (changed.sections_unchanged, changed.sections_written),
        (3, 1)
    );
    let amended: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deriq.rag_chunks WHERE body LIKE '%Amended.%'")
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(amended, 1);

    // A section whose file is gone is removed when its folder is ingested again.
    sections.truncate(3);
    let root = fixture_corpus().to_string_lossy().into_owned();
    let pruned = ingest_sections(&db.pool, &sections, &embedder, &NoProgress, Some(&root)).await?;
    assert_eq!(pruned.sections_removed, 1);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM deriq.rag_sections")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(left, 3);
    let orphans: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM deriq.rag_chunks c WHERE NOT EXISTS \
         (SELECT 1 FROM deriq.rag_sections s WHERE s.citation = c.section_citation)",
    )
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(orphans, 0);
    db.drop_db().await;
    Ok(())
}

#[tokio::test]
async fn model_change_reembeds_everything() -> Result<(), Box<dyn std::error::Error>> {
    let db = TestDb::new().await;
    ingest(
        &db.pool,
        &fixture_corpus(),
        &HashEmbedder::new(64),
        &NoProgress,
    )
    .await?;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM deriq.rag_chunks")
        .fetch_one(&db.pool)
        .await?;

    let smaller = HashEmbedder::new(32);
    let report = ingest(&db.pool, &fixture_corpus(), &smaller, &NoProgress).await?;
    let reason = report.rebuilt.unwrap_or_default();
    assert!(
        reason.contains("64 dimensions") && reason.contains("32 dimensions"),
        "{reason}"
    );
    assert_eq!(report.sections_written, 4);
    let dims: Vec<i32> =
        sqlx::query_scalar("SELECT DISTINCT vector_dims(embedding) FROM deriq.rag_chunks")
            .fetch_all(&db.pool)
            .await?;
    assert_eq!(dims, [32]);
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM deriq.rag_chunks")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(before, after);
    let meta = index_metadata(&db.pool).await?.ok_or("no metadata")?;
    assert_eq!(
        (meta.model.as_str(), meta.dimension),
        (smaller.id.as_str(), 32)
    );

    // Same dimension, different model: still a full rebuild.
    let other = HashEmbedder {
        dim: 32,
        id: "test:another-model".into(),
    };
    let report = ingest(&db.pool, &fixture_corpus(), &other, &NoProgress).await?;
    assert!(report.rebuilt.is_some());
    assert_eq!(report.sections_unchanged, 0);
    db.drop_db().await;
    Ok(())
}

#[tokio::test]
async fn citations_go_straight_to_the_cited_text() -> Result<(), Box<dyn std::error::Error>> {
    let db = TestDb::new().await;
    let embedder = HashEmbedder::new(64);
    ingest(&db.pool, &fixture_corpus(), &embedder, &NoProgress).await?;
    let none = SearchFilters::default();

    let hits = search(&db.pool, &embedder, "§ 382.303(d)(1)", 5, &none).await?;
    assert_eq!(hits[0].citation, "49 CFR 382.303(d)");
    assert!(hits[0].cited && hits[0].covers_subtree);
    assert_eq!(hits[0].score, 1.0);
    assert!(hits[0].text.contains("within two hours"));

    // A whole section comes back as one result, its passages joined in document order, then
    // ordinary results from other sections fill the list.
    let hits = search(&db.pool, &embedder, "49 CFR 40.191", 10, &none).await?;
    assert_eq!(hits[0].citation, "49 CFR 40.191");
    assert!(hits[0].cited && hits[0].covers_subtree);
    let (a, b) = (hits[0].text.find("(a)"), hits[0].text.find("(b)"));
    assert!(a.is_some() && b.is_some() && a < b, "{}", hits[0].text);
    assert!(hits[1..].iter().all(|h| !h.cited));
    let mut sections: Vec<&str> = hits.iter().map(|h| h.section_citation.as_str()).collect();
    sections.sort_unstable();
    sections.dedup();
    assert_eq!(sections.len(), hits.len(), "one result per section");

    // Without collapsing, the cited passages come one by one in document order.
    let passages = SearchOptions {
        k: 10,
        collapse_sections: false,
        ..SearchOptions::default()
    };
    let hits = search_with(&db.pool, &embedder, "49 CFR 40.191", &passages).await?;
    let cited: Vec<&str> = hits
        .iter()
        .filter(|h| h.cited)
        .map(|h| h.citation.as_str())
        .collect();
    assert!(cited.len() >= 3, "{cited:?}");
    assert!(cited.iter().all(|c| c.starts_with("49 CFR 40.191")));
    assert_eq!(cited[0], "49 CFR 40.191(a)");
    assert!(hits.iter().take(cited.len()).all(|h| h.cited));

    // A title that does not match finds no cited text.
    let hits = search(&db.pool, &embedder, "29 CFR 382.303", 5, &none).await?;
    assert!(hits.iter().all(|h| !h.cited));
    db.drop_db().await;
    Ok(())
}

#[tokio::test]
async fn filters_and_modes() -> Result<(), Box<dyn std::error::Error>> {
    let db = TestDb::new().await;
    let embedder = HashEmbedder::new(64);
    ingest(&db.pool, &fixture_corpus(), &embedder, &NoProgress).await?;
    for mode in [SearchMode::Hybrid, SearchMode::Vector, SearchMode::FullText] {
        let options = SearchOptions {
            k: 5,
            mode,
            filters: SearchFilters {
                parts: vec!["1904".into()],
                regulations: vec![],
            },
            ..SearchOptions::default()
        };
        let hits = search_with(
            &db.pool,
            &embedder,
            "employer records posting summary",
            &options,
        )
        .await?;
        assert!(!hits.is_empty(), "{mode:?}");
        assert!(hits.iter().all(|h| h.part == "1904"), "{mode:?}");
        // Scores never increase down the list.
        assert!(
            hits.windows(2).all(|w| w[0].score >= w[1].score),
            "{mode:?}"
        );
    }
    let text_only = SearchOptions {
        k: 3,
        mode: SearchMode::FullText,
        ..SearchOptions::default()
    };
    let hits = search_with(
        &db.pool,
        &embedder,
        "annual summary posted February",
        &text_only,
    )
    .await?;
    assert_eq!(hits[0].section_citation, "29 CFR 1904.32");
    assert!(hits[0].text_rank.is_some_and(|r| r > 0.0 && r < 1.0));
    assert!(hits[0].similarity.is_none());

    // Only stop words: no full-text match, no error.
    let hits = search_with(&db.pool, &embedder, "the of and", &text_only).await?;
    assert!(hits.is_empty());

    assert!(
        search(&db.pool, &embedder, "x", 0, &SearchFilters::default())
            .await
            .is_err()
    );
    assert!(
        search(&db.pool, &embedder, "   ", 5, &SearchFilters::default())
            .await
            .is_err()
    );
    db.drop_db().await;
    Ok(())
}

#[tokio::test]
async fn a_section_cited_by_a_top_passage_follows_it() -> Result<(), Box<dyn std::error::Error>> {
    let db = TestDb::new().await;
    let embedder = HashEmbedder::new(64);
    let mut sections = load_path(&fixture_corpus())?;
    let template = sections
        .iter()
        .find(|s| s.citation.section == "40.191")
        .cloned()
        .unwrap_or_else(|| panic!("fixture 40.191"));
    let section = |number: &str, title: &str, text: &str| {
        let mut s = template.clone();
        s.citation.section = number.into();
        s.title = title.into();
        s.source_file = None;
        s.paragraphs = vec![deriq_rag::Paragraph {
            path: vec!["a".into()],
            text: text.into(),
        }];
        s
    };
    sections.push(section(
        "40.900",
        "Marmalade xylophone procedures",
        "An employer handling marmalade xylophone matters must follow the procedures in § 382.901.",
    ));
    let mut cited = section(
        "382.901",
        "Quokka waivers",
        "A quokka waiver lasts two years and names a narwhal.",
    );
    cited.part = "382".into();
    cited.regulation = "49 CFR Part 382".into();
    sections.push(cited);
    ingest_sections(&db.pool, &sections, &embedder, &NoProgress, None).await?;
    let question = "marmalade xylophone procedures for employers";
    let with = SearchOptions {
        k: 4,
        ..SearchOptions::default()
    };
    let hits = search_with(&db.pool, &embedder, question, &with).await?;
    let order: Vec<&str> = hits.iter().map(|h| h.section_citation.as_str()).collect();
    assert_eq!(order[..2], ["49 CFR 40.900", "49 CFR 382.901"], "{order:?}");
    assert!((hits[1].score - deriq_rag::store::REFERENCE_WEIGHT * hits[0].score).abs() < 1e-4);

    // Without following references the cited section, which shares no word with the
    // question, is not pulled up.
    let without = SearchOptions {
        follow_references: false,
        ..with.clone()
    };
    let hits = search_with(&db.pool, &embedder, question, &without).await?;
    assert_eq!(hits[0].section_citation, "49 CFR 40.900");
    assert_ne!(
        hits.get(1).map(|h| h.section_citation.as_str()),
        Some("49 CFR 382.901")
    );

    // A part filter that excludes the cited section keeps it out.
    let filtered = SearchOptions {
        filters: SearchFilters {
            parts: vec!["40".into()],
            regulations: vec![],
        },
        ..with
    };
    let hits = search_with(&db.pool, &embedder, question, &filtered).await?;
    assert_eq!(hits[0].section_citation, "49 CFR 40.900");
    assert!(hits.iter().all(|h| h.part == "40"), "{hits:?}");
    db.drop_db().await;
    Ok(())
}

/// A made-up section of Part 40 (the fixture § 40.191 renamed) with the given paragraphs, so
/// that its words occur nowhere else in the fixture corpus.
fn invented_section(
    sections: &[deriq_rag::Section],
    number: &str,
    paragraphs: &[(&str, &str)],
) -> deriq_rag::Section {
    let mut section = sections
        .iter()
        .find(|s| s.citation.section == "40.191")
        .cloned()
        .unwrap_or_else(|| panic!("fixture 40.191"));
    section.citation.section = number.into();
    section.title = "Quokka waivers".into();
    section.source_file = None;
    section.paragraphs = paragraphs
        .iter()
        .map(|(label, text)| deriq_rag::Paragraph {
            path: vec![label.to_string()],
            text: text.to_string(),
        })
        .collect();
    section
}

#[tokio::test]
async fn a_result_brings_the_passages_of_its_section_that_score_nearly_as_well()
-> Result<(), Box<dyn std::error::Error>> {
    let db = TestDb::new().await;
    let embedder = HashEmbedder::new(64);
    let mut sections = load_path(&fixture_corpus())?;
    let section = invented_section(
        &sections,
        "40.901",
        &[
            (
                "a",
                "(a) A quokka waiver names the narwhal marmalade keeper.",
            ),
            (
                "b",
                "(b) A quokka waiver lasts two years for the narwhal marmalade keeper.",
            ),
            (
                "c",
                "(c) Records of xylophone tuning are kept in the office.",
            ),
        ],
    );
    sections.push(section);
    ingest_sections(&db.pool, &sections, &embedder, &NoProgress, None).await?;
    let question = "quokka waiver for a narwhal marmalade keeper";
    let hits = search_with(&db.pool, &embedder, question, &SearchOptions::default()).await?;
    let first = &hits[0];
    assert_eq!(first.section_citation, "49 CFR 40.901", "{hits:?}");
    let mut shown: Vec<&str> = std::iter::once(first.citation.as_str())
        .chain(first.companions.iter().map(|c| c.citation.as_str()))
        .collect();
    shown.sort_unstable();
    assert_eq!(
        shown,
        ["49 CFR 40.901(a)", "49 CFR 40.901(b)"],
        "(c) shares no word: {first:?}"
    );
    assert!(
        first.companions.iter().all(|c| c.score <= first.score
            && c.score >= first.score - deriq_rag::store::COMPANION_MARGIN)
    );
    assert!(
        hits.iter()
            .skip(1)
            .all(|h| h.section_citation != "49 CFR 40.901"),
        "still one result per section"
    );
    let json = deriq_rag::store::results_json(&hits);
    assert_eq!(
        json["results"][0]["companions"][0]["citation"],
        first.companions[0].citation.as_str()
    );

    let without = SearchOptions {
        companions: false,
        ..SearchOptions::default()
    };
    let hits = search_with(&db.pool, &embedder, question, &without).await?;
    assert!(hits.iter().all(|h| h.companions.is_empty()));
    db.drop_db().await;
    Ok(())
}

#[tokio::test]
async fn an_editors_question_leads_to_the_paragraph_it_is_filed_under()
-> Result<(), Box<dyn std::error::Error>> {
    use deriq_rag::{QuestionTarget, SectionQuestion};
    let db = TestDb::new().await;
    let embedder = HashEmbedder::new(256);
    let mut sections = load_path(&fixture_corpus())?;
    let mut section = invented_section(
        &sections,
        "40.902",
        &[
            ("a", "A quokka waiver names its keeper."),
            ("b", "A quokka waiver lapses after two years."),
        ],
    );
    section.questions = vec![SectionQuestion {
        target: QuestionTarget::Paragraph(vec!["b".into()]),
        text: "When does the marsupial permit run out?".into(),
    }];
    sections.push(section.clone());
    let report = ingest_sections(&db.pool, &sections, &embedder, &NoProgress, None).await?;
    assert_eq!(report.questions_written, 1);
    let filed: Vec<String> = sqlx::query_scalar(
        "SELECT c.citation FROM deriq.rag_questions q JOIN deriq.rag_chunks c ON c.id = q.chunk_id",
    )
    .fetch_all(&db.pool)
    .await?;
    assert_eq!(filed, ["49 CFR 40.902(b)"]);

    // The words are the question's, not the regulation's.
    let asked = "when does a marsupial permit run out";
    let vector = SearchOptions {
        mode: SearchMode::Vector,
        citation_routing: false,
        collapse_sections: false,
        follow_references: false,
        ..SearchOptions::default()
    };
    let hits = search_with(&db.pool, &embedder, asked, &vector).await?;
    assert_eq!(hits[0].citation, "49 CFR 40.902(b)", "{hits:?}");
    assert!(hits[0].score > 0.5, "{hits:?}");
    assert!(
        !hits.iter().any(|h| h.text.contains("marsupial")),
        "the question is a key, never a passage: {hits:?}"
    );
    let full_text = SearchOptions {
        mode: SearchMode::FullText,
        ..vector.clone()
    };
    let hits = search_with(&db.pool, &embedder, asked, &full_text).await?;
    assert_eq!(hits[0].citation, "49 CFR 40.902(b)", "{hits:?}");
    let hybrid = search_with(&db.pool, &embedder, asked, &SearchOptions::default()).await?;
    assert_eq!(hybrid[0].citation, "49 CFR 40.902(b)", "{hybrid:?}");
    let without = SearchOptions {
        question_weight: None,
        ..vector
    };
    let plain = search_with(&db.pool, &embedder, asked, &without).await?;
    assert!(
        plain.iter().all(|h| h.score < 0.5),
        "without questions nothing matches the words: {plain:?}"
    );
    let without = SearchOptions {
        question_text_weight: None,
        ..full_text
    };
    let plain = search_with(&db.pool, &embedder, asked, &without).await?;
    assert!(
        plain.iter().all(|h| h.section_citation != "49 CFR 40.902"),
        "{plain:?}"
    );

    // Re-ingesting the section without its question removes the question.
    section.questions.clear();
    let last = sections.len() - 1;
    sections[last] = section;
    ingest_sections(&db.pool, &sections, &embedder, &NoProgress, None).await?;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM deriq.rag_questions")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(left, 0);
    db.drop_db().await;
    Ok(())
}
