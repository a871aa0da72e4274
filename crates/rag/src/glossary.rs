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
    (r"\bbreath techs?\b", "breath alcohol technician"),
    (r"\b(?:pee|urine samples?)\b", "urine specimen"),
    (r"\bwatered[- ]down\b", "dilute specimen"),
    (
        r"\btamper(?:ed|ing)?\b",
        "adulterated or substituted specimen",
    ),
    (
        r"\b(?:hang|hold) on to\b|\bhow long (?:do|must|should) (?:we|i) keep\b",
        "retention of records",
    ),
    (
        r"\bpull (?:him|her|them|a driver|the driver|\w+) off\b|\boff the road\b|\btake (?:him|her|a driver|the driver) off duty\b",
        "remove from safety-sensitive functions",
    ),
    (
        r"\b(?:drive|driving|work) (?:for us )?again\b|\bback (?:to work|to driving|behind the wheel)\b|\bcoming back after\b",
        "return-to-duty",
    ),
    (
        r"\b(?:walked|walks|walk) out\b|\bleft the collection site\b",
        "refusal to test; leave the testing site",
    ),
    (
        r"\b(?:pull|rescind|withdraw)(?:ing)? the (?:job )?offer\b|\breject(?:ed)? (?:him|her|the applicant|the candidate)\b",
        "adverse action",
    ),
    (
        r"\b(?:opioids?|oxycodone|hydrocodone|painkillers?)\b",
        "narcotic controlled substance",
    ),
    (r"\b(?:challenge|dispute|contest)\b", "petition to correct"),
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
