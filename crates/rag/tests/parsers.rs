//! The official-format parsers and the corpus loader, on small hand-made samples.

#![allow(clippy::panic)]

use std::path::{Path, PathBuf};

use deriq_rag::corpus::{ecfr, load_path, uslm};
use deriq_rag::{Section, corpus};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn paths(section: &Section) -> Vec<String> {
    section
        .paragraphs
        .iter()
        .map(|p| p.path.join("."))
        .collect()
}

fn text_at<'a>(section: &'a Section, path: &str) -> Vec<&'a str> {
    section
        .paragraphs
        .iter()
        .filter(|p| p.path.join(".") == path)
        .map(|p| p.text.as_str())
        .collect()
}

#[test]
fn ecfr_sections_subparts_and_depths() -> Result<(), Box<dyn std::error::Error>> {
    let path = fixture("ecfr_part382_sample.xml");
    let sections = ecfr::parse(&std::fs::read_to_string(&path)?, &path)?;
    assert_eq!(sections.len(), 2);
    let s = &sections[0];
    assert_eq!(s.citation.to_string(), "49 CFR 382.303");
    assert_eq!(s.title, "Post-accident testing.");
    assert_eq!(s.regulation, "49 CFR Part 382");
    assert_eq!(s.part, "382");
    assert_eq!(s.subpart.as_deref(), Some("C"));
    assert_eq!(s.subpart_title.as_deref(), Some("Tests Required"));
    assert_eq!(
        paths(s),
        [
            "a", "a.1", "a.2", "a.2.i", "a.2.ii", "b", "d", "d.1", "d.2", "e", "f", "g", "h",
            "h.1", "h.2", "i", "i.1"
        ]
    );
    assert_eq!(
        text_at(s, "d.1"),
        [
            "Alcohol tests. If a test required by this section is not administered within two hours following the accident, the employer shall prepare and maintain on file a record stating the reasons the test was not promptly administered."
        ]
    );
    // Entities are decoded; the CITA element is not text.
    assert!(text_at(s, "e")[0].contains("testing & may"));
    assert!(s.paragraphs.iter().all(|p| !p.text.contains("66 FR")));

    let defs = &sections[1];
    assert_eq!(defs.citation.to_string(), "49 CFR 382.107");
    assert_eq!(defs.subpart.as_deref(), Some("A"));
    assert_eq!(paths(defs), ["", "", ""]);
    assert!(
        defs.paragraphs[0]
            .text
            .starts_with("Words or phrases used in this part are defined in §§ 386.2")
    );
    Ok(())
}

#[test]
fn ecfr_title_from_metadata_and_italic_levels() -> Result<(), Box<dyn std::error::Error>> {
    let path = fixture("ecfr_italic_levels_sample.xml");
    let sections = ecfr::parse(&std::fs::read_to_string(&path)?, &path)?;
    assert_eq!(sections.len(), 1);
    let s = &sections[0];
    assert_eq!(s.citation.to_string(), "29 CFR 1904.7");
    assert_eq!(
        paths(s),
        [
            "b",
            "b.1",
            "b.1.i",
            "b.1.ii",
            "b.1.ii.A",
            "b.1.ii.A.1",
            "b.1.ii.A.2",
            "b.1.ii.B",
            "b.2"
        ]
    );
    assert_eq!(text_at(s, "b.1.ii.A.1"), ["Italic level five."]);
    Ok(())
}

/// In a definitions section, the numbered items under a definition are not paragraphs of the
/// section: `(i)` after `(2) Exclusions` must not become § 382.107(i), nor the definitions
/// after it § 382.107(i).
#[test]
fn ecfr_definitions_keep_their_items() -> Result<(), Box<dyn std::error::Error>> {
    let xml = r#"<DIV5 N="382" TYPE="PART" hierarchy_metadata="{&quot;title&quot;:&quot;49&quot;,&quot;part&quot;:&quot;382&quot;,&quot;citation&quot;:&quot;49 CFR Part 382&quot;}">
 <HEAD>PART 382&#8212;CONTROLLED SUBSTANCES AND ALCOHOL USE AND TESTING</HEAD>
 <DIV8 N="&#167; 382.107" TYPE="SECTION">
  <HEAD>&#167; 382.107   Definitions.</HEAD>
  <P>Words or phrases used in this part are defined in &#167; 40.3 of this title.</P>
  <P><I>Disabling damage</I> means damage which precludes departure of a motor vehicle.</P>
  <P>(1) <I>Inclusions.</I> Damage to motor vehicles that could have been driven.</P>
  <P>(2) <I>Exclusions.</I></P>
  <P>(i) Damage which can be remedied temporarily at the scene.</P>
  <P>(ii) Tire disablement without other damage.</P>
  <P><I>Employer</I> means a person or entity employing one or more employees.</P>
 </DIV8>
</DIV5>"#;
    let sections = ecfr::parse(xml, Path::new("definitions.xml"))?;
    let s = &sections[0];
    assert_eq!(s.citation.to_string(), "49 CFR 382.107");
    assert!(paths(s).iter().all(String::is_empty), "{:?}", paths(s));
    assert_eq!(s.paragraphs.len(), 7);
    assert!(s.paragraphs[6].text.starts_with("Employer means"));
    Ok(())
}

#[test]
fn ecfr_without_title_is_an_error() {
    let xml = r#"<DIV5 N="382" TYPE="PART"><DIV8 N="§ 382.101" TYPE="SECTION"><HEAD>§ 382.101 Purpose.</HEAD><P>Text.</P></DIV8></DIV5>"#;
    let err = ecfr::parse(xml, Path::new("part.xml"));
    assert!(err.is_err());
    let ok = ecfr::parse(xml, Path::new("title-49-part-382.xml"));
    assert_eq!(
        ok.ok().map(|s| s[0].citation.to_string()),
        Some("49 CFR 382.101".to_string())
    );
}

#[test]
fn ecfr_malformed_xml_is_an_error() {
    let xml = r#"<DIV5 N="382" TYPE="PART"><DIV8 TYPE="SECTION"><P>open</DIV8>"#;
    assert!(ecfr::parse(xml, Path::new("title-49.xml")).is_err());
}

#[test]
fn uslm_structure() -> Result<(), Box<dyn std::error::Error>> {
    let path = fixture("uslm_fcra_sample.xml");
    let xml = std::fs::read_to_string(&path)?;
    assert!(uslm::looks_like_uslm(&xml));
    let sections = uslm::parse(&xml, &path)?;
    assert_eq!(sections.len(), 1);
    let s = &sections[0];
    assert_eq!(s.citation.to_string(), "15 U.S.C. 1681b");
    assert_eq!(s.title, "Permissible purposes of consumer reports");
    assert_eq!(s.part, "1681");
    assert_eq!(s.regulation, "15 U.S.C. Chapter 41, Subchapter III");
    assert_eq!(
        s.subpart_title.as_deref(),
        Some("CREDIT REPORTING AGENCIES")
    );
    assert_eq!(
        paths(s),
        [
            "a", "a.1", "a.3", "a.3.B", "b", "b.3", "b.3.A", "b.3.A.i", "b.3.A.ii", "b.3.A"
        ]
    );
    assert_eq!(
        text_at(s, "a")[0],
        "In general. Subject to subsection (c), any consumer reporting agency may furnish a consumer report under the following circumstances and no other:"
    );
    assert_eq!(
        text_at(s, "b.3.A")[1],
        "This text continues subparagraph (A) after its clauses."
    );
    assert!(
        s.paragraphs
            .iter()
            .all(|p| !p.text.contains("Pub. L.") && !p.text.contains("Not part"))
    );
    Ok(())
}

#[test]
fn loader_tells_formats_apart() -> Result<(), Box<dyn std::error::Error>> {
    let sections = corpus::load_file(&fixture("uslm_fcra_sample.xml"))?;
    assert_eq!(sections[0].source, "USLM XML");
    let sections = corpus::load_file(&fixture("ecfr_part382_sample.xml"))?;
    assert_eq!(sections[0].source, "eCFR XML");
    let sections = load_path(&fixture("corpus"))?;
    let cites: Vec<String> = sections.iter().map(|s| s.citation.to_string()).collect();
    assert_eq!(
        cites,
        [
            "29 CFR 1904.32",
            "49 CFR 382.303",
            "49 CFR 382.305",
            "49 CFR 40.191"
        ]
    );
    assert!(
        sections
            .iter()
            .all(|s| s.restatement && !s.paragraphs.is_empty())
    );
    Ok(())
}

/// `deriq ingest --check`: every file is read and every bad one reported, not only the first.
#[test]
fn check_reports_every_bad_file() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("deriq-check-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let good = std::fs::read_to_string(fixture("corpus/cfr49/382/382.303.md"))?;
    std::fs::write(dir.join("a_good.md"), &good)?;
    let bad_key = good.replacen(
        "\n---\n",
        "\nquestions:\n  \"(z)(9)\":\n    - \"Is there such a paragraph?\"\n---\n",
        1,
    );
    std::fs::write(dir.join("b_bad_key.md"), bad_key)?;
    std::fs::write(
        dir.join("c_no_front_matter.md"),
        "# § 382.999 Nothing.\n\n(a) Text.\n",
    )?;
    let report = corpus::check_path(&dir)?;
    std::fs::remove_dir_all(&dir)?;
    assert_eq!((report.files, report.sections), (3, 1));
    let messages: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages[0].contains("b_bad_key.md") && messages[0].contains("(z)(9)"),
        "{}",
        messages[0]
    );
    assert!(
        messages[1].contains("c_no_front_matter.md"),
        "{}",
        messages[1]
    );
    Ok(())
}

/// The project's own corpus, when present: every file loads, citations are unique, and
/// every designated paragraph has a well-formed path.
#[test]
fn project_corpus_loads() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus");
    let sections = load_path(&root)?;
    assert!(
        sections.len() >= 200,
        "corpus has {} sections",
        sections.len()
    );
    let mut seen = std::collections::HashSet::new();
    for s in &sections {
        assert!(
            seen.insert(s.citation.to_string()),
            "duplicate {}",
            s.citation
        );
        assert!(!s.title.is_empty(), "{} has no title", s.citation);
        assert!(
            s.paragraphs.iter().any(|p| !p.text.is_empty()),
            "{} has no text",
            s.citation
        );
        // Search ranks sections by their editors' questions too, so a section without any
        // would be outranked by the others: every section carries some.
        assert!(
            s.questions.len() >= 2,
            "{} has {} editors' questions; give it at least 2",
            s.citation,
            s.questions.len()
        );
    }
    Ok(())
}
