//! Query expansion with the compliance trade's shorthand: acronyms and everyday words that
//! the regulations spell differently (`MVR` → motor vehicle record, `crash` → accident).
//! The expansion is appended to the question before it is embedded and matched, so the
//! original words still count.

use std::sync::LazyLock;

use regex::Regex;

/// (pattern, regulatory wording). Patterns are case-insensitive whole words.
const ENTRIES: &[(&str, &str)] = &[
    (r"\bmvrs?\b", "motor vehicle record"),
    (r"\bdq ?files?\b|\bdqfs?\b", "driver qualification file"),
    (r"\bcdls?\b", "commercial driver's license"),
    (r"\bcmvs?\b", "commercial motor vehicle"),
    (r"\bders?\b", "designated employer representative"),
    (r"\bmros?\b", "medical review officer"),
    (r"\bsaps?\b", "substance abuse professional"),
    (r"\bbats?\b", "breath alcohol technician"),
    (r"\bstts?\b", "screening test technician"),
    (r"\bebts?\b", "evidential breath testing device"),
    (r"\basds?\b", "alcohol screening device"),
    (r"\bccfs?\b", "custody and control form"),
    (
        r"\bc/?tpas?\b|\bthird[- ]party administrators?\b",
        "consortium third-party administrator",
    ),
    (r"\brtd\b", "return-to-duty"),
    (r"\bdrug screens?\b", "drug test"),
    (r"\bbreathalyz\w*", "breath alcohol test"),
    (
        r"\b(?:dot physicals?|medical cards?|med cards?)\b",
        "medical examiner's certificate",
    ),
    (
        r"\bcrash(?:es|ed)?\b|\bwrecks?\b|\bcollisions?\b",
        "accident",
    ),
    (r"\btickets?\b|\bticketed\b", "citation"),
    (r"\bdui\b|\bdwi\b", "driving under the influence"),
    (
        r"\bbackground (?:checks?|reports?|screens?)\b",
        "consumer report",
    ),
    (
        r"\b(?:background check|background screening|screening) compan(?:y|ies)\b",
        "consumer reporting agency",
    ),
    (r"\bosha logs?\b", "OSHA 300 log"),
    (r"\b300a\b", "annual summary"),
    (r"\bshy bladder\b", "insufficient amount of urine"),
];

static COMPILED: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    ENTRIES
        .iter()
        .filter_map(|(p, e)| Regex::new(&format!("(?i){p}")).ok().map(|r| (r, *e)))
        .collect()
});

/// The question with the regulatory wording of any shorthand appended in parentheses, or
/// the question unchanged when it uses none.
pub fn expand(question: &str) -> String {
    let extra: Vec<&str> = COMPILED
        .iter()
        .filter(|(re, _)| re.is_match(question))
        .map(|(_, e)| *e)
        .collect();
    if extra.is_empty() {
        question.to_string()
    } else {
        format!("{question} ({})", extra.join("; "))
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn expands_shorthand_once() {
        assert_eq!(
            expand("How often must we pull MVRs?"),
            "How often must we pull MVRs? (motor vehicle record)"
        );
        assert_eq!(
            expand("drug screen after a crash"),
            "drug screen after a crash (drug test; accident)"
        );
        assert_eq!(expand("post-accident testing"), "post-accident testing");
        // Whole words only: "order" does not contain DER as a word.
        assert_eq!(expand("in order to"), "in order to");
        assert_eq!(COMPILED.len(), ENTRIES.len());
    }
}
