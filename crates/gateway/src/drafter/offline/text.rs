//! Tokenising a question: lower case, punctuation to spaces, a light plural stemmer, and
//! the function words that carry no meaning for the data.

/// One word of a question: its stem (used for matching) and its surface form (used in
/// messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub stem: String,
    pub word: String,
    /// The word was written in capitals ("LA", "OK"), which tells a state code from a word.
    pub upper: bool,
}

/// Splits text into tokens. Hyphens, slashes and punctuation separate words; an
/// apostrophe is dropped ("driver's" → "drivers"); "&" becomes "and".
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut cleaned = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\'' | '\u{2019}' => {}
            '&' => cleaned.push_str(" and "),
            '%' => cleaned.push_str(" percent "),
            c if c.is_alphanumeric() || c == '.' => cleaned.push(c),
            _ => cleaned.push(' '),
        }
    }
    cleaned
        .split_whitespace()
        .map(|w| w.trim_matches('.'))
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_lowercase();
            Token { stem: stem(&lower), upper: w.len() > 1 && w.chars().all(|c| c.is_ascii_uppercase()), word: lower }
        })
        .collect()
}

/// A light stemmer: plural and a few verb endings, enough to match "tests" to "test" and
/// "expiring" to "expir". Applied the same way to questions and to vocabulary phrases.
pub fn stem(word: &str) -> String {
    let w = word;
    if w.len() > 5 && w.ends_with("ing") {
        return w[..w.len() - 3].to_string();
    }
    if w.len() > 4 && w.ends_with("ies") {
        return format!("{}y", &w[..w.len() - 3]);
    }
    if w.len() > 5 && (w.ends_with("uses") || w.ends_with("sses")) {
        return w[..w.len() - 2].to_string();
    }
    if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") {
        return w[..w.len() - 1].to_string();
    }
    w.to_string()
}

/// The stems of a phrase.
pub fn stems(phrase: &str) -> Vec<String> {
    tokenize(phrase).into_iter().map(|t| t.stem).collect()
}

/// Words that carry no meaning for the data: articles, pronouns, auxiliaries,
/// prepositions, politeness. A question may contain any of them; any other word must be
/// understood, or the drafter says so.
pub const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "the", "of", "in", "on", "at", "for", "to", "from", "with", "and", "or", "by", "per", "each", "every",
    "do", "does", "did", "we", "our", "us", "i", "me", "my", "you", "your", "they", "their", "them", "it", "its", "there",
    "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "get", "got", "currently", "current", "now",
    "right", "please", "can", "could", "would", "will", "should", "tell", "give", "show", "list", "what", "whats", "which",
    "who", "whose", "how", "many", "much", "number", "count", "total", "that", "those", "these", "this", "all", "any",
    "so", "far", "far", "some", "still", "yet", "ever", "already", "about", "as", "out", "up", "into", "than", "within",
    "under", "over", "between", "during", "across", "when", "where", "whom", "anyone", "anybody", "someone", "one", "ones",
    "only", "just", "also", "then", "since", "over", "need", "needs", "needed", "did", "done", "record", "records",
    "data", "see", "find", "pull", "report", "let", "know", "breakdown", "broken", "down", "split", "group", "grouped",
    "overall", "company", "wide", "companywide", "here", "so", "far", "date", "dates", "been", "happened", "happen",
    "occurred", "have", "having", "came", "come", "back", "result", "results", "resulted", "end", "ended", "up",
    "on", "file", "files", "logged", "recorded", "entered", "took", "taken", "take", "run", "ran", "done", "conducted",
    "performed", "completed", "happened", "person", "individual", "individuals", "name", "names", "along", "showed", "shown", "shows",
];

/// Whether a stem is a function word.
pub fn is_function_word(stem_: &str) -> bool {
    FUNCTION_WORDS.iter().any(|w| stem(w) == stem_)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_and_stems() {
        let t: Vec<String> = tokenize("How many DOT-covered drivers' med cards are expiring?").into_iter().map(|t| t.stem).collect();
        assert_eq!(t, vec!["how", "many", "dot", "covered", "driver", "med", "card", "are", "expir"]);
        assert_eq!(stem("companies"), "company");
        assert_eq!(stem("status"), "status");
        assert_eq!(stem("class"), "class");
    }
}
