//! Paragraph depth from designators alone: `(a)` level 1, `(1)` level 2, `(i)` level 3,
//! `(A)` level 4 in the CFR (italic `(1)`/`(i)` below that), and the U.S. Code order
//! `(a)`, `(1)`, `(A)`, `(i)`, `(I)`, `(aa)`. Ambiguous tokens such as `(i)` after `(h)`
//! are resolved by sequence, then by the next designator, then by the lead-in punctuation.

/// How designators nest in a body of law.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Code of Federal Regulations: a, 1, i, A, *1*, *i*.
    Cfr,
    /// United States Code: a, 1, A, i, I, aa.
    Usc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    LowerAlpha,
    Arabic,
    LowerRoman,
    UpperAlpha,
    UpperRoman,
    DoubleLower,
    ItalicArabic,
    ItalicRoman,
}

impl Scheme {
    fn kinds(self) -> &'static [Kind] {
        match self {
            Scheme::Cfr => &[
                Kind::LowerAlpha,
                Kind::Arabic,
                Kind::LowerRoman,
                Kind::UpperAlpha,
                Kind::ItalicArabic,
                Kind::ItalicRoman,
            ],
            Scheme::Usc => &[
                Kind::LowerAlpha,
                Kind::Arabic,
                Kind::UpperAlpha,
                Kind::LowerRoman,
                Kind::UpperRoman,
                Kind::DoubleLower,
            ],
        }
    }
}

/// One designator as it appears at the start of a paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The designator without parentheses (`b`, `1`, `iv`, `A`).
    pub text: String,
    /// Whether it was printed in italics (eCFR levels 5 and 6).
    pub italic: bool,
    /// Whether the paragraph before it ended with a lead-in mark (`:` or a dash),
    /// which suggests that this one goes a level deeper.
    pub after_lead_in: bool,
}

fn roman_value(text: &str) -> Option<u32> {
    let mut total = 0u32;
    let mut prev = 0u32;
    for c in text.chars().rev() {
        let v = match c.to_ascii_lowercase() {
            'i' => 1,
            'v' => 5,
            'x' => 10,
            'l' => 50,
            'c' => 100,
            _ => return None,
        };
        if v < prev {
            total = total.checked_sub(v)?;
        } else {
            total += v;
            prev = v;
        }
    }
    // Reject non-canonical spellings such as "iiii" or "vv".
    (total > 0 && to_roman(total) == text.to_ascii_lowercase()).then_some(total)
}

fn to_roman(mut n: u32) -> String {
    const TABLE: [(u32, &str); 9] = [
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ];
    let mut out = String::new();
    for (value, letters) in TABLE {
        while n >= value {
            out.push_str(letters);
            n -= value;
        }
    }
    out
}

fn letter_value(c: char) -> u32 {
    u32::from(c) - u32::from(if c.is_ascii_lowercase() { 'a' } else { 'A' }) + 1
}

impl Kind {
    /// The position of `text` in this kind's sequence (1-based), if it belongs to it.
    fn ordinal(self, text: &str, italic: bool) -> Option<u32> {
        let italic_kind = matches!(self, Kind::ItalicArabic | Kind::ItalicRoman);
        if italic != italic_kind {
            return None;
        }
        let mut chars = text.chars();
        let first = chars.next()?;
        let single = chars.next().is_none();
        match self {
            Kind::LowerAlpha if single && first.is_ascii_lowercase() => Some(letter_value(first)),
            Kind::UpperAlpha if single && first.is_ascii_uppercase() => Some(letter_value(first)),
            Kind::Arabic | Kind::ItalicArabic if text.chars().all(|c| c.is_ascii_digit()) => {
                text.parse().ok()
            }
            Kind::LowerRoman | Kind::ItalicRoman
                if text.chars().all(|c| c.is_ascii_lowercase()) =>
            {
                roman_value(text)
            }
            Kind::UpperRoman if text.chars().all(|c| c.is_ascii_uppercase()) => roman_value(text),
            Kind::DoubleLower
                if text.len() == 2
                    && first.is_ascii_lowercase()
                    && text.chars().all(|c| c == first) =>
            {
                Some(letter_value(first))
            }
            _ => None,
        }
    }
}

/// Nesting state: the ordinal reached at each open level.
#[derive(Debug, Clone, Default)]
struct State {
    ordinals: Vec<u32>,
}

impl State {
    /// Levels (1-based) where the token could go next, with their ordinals.
    fn candidates(&self, scheme: Scheme, token: &Token) -> Vec<(usize, u32)> {
        let kinds = scheme.kinds();
        let depth = self.ordinals.len();
        let mut out = Vec::new();
        for (i, kind) in kinds.iter().enumerate() {
            let level = i + 1;
            if level > depth + 1 {
                break;
            }
            let Some(ord) = kind.ordinal(&token.text, token.italic) else {
                continue;
            };
            let fits = if level == depth + 1 {
                ord == 1
            } else {
                self.ordinals.get(i).is_some_and(|prev| ord == prev + 1)
            };
            if fits {
                out.push((level, ord));
            }
        }
        out
    }

    fn apply(&mut self, level: usize, ord: u32) {
        self.ordinals.truncate(level - 1);
        self.ordinals.push(ord);
    }

    /// Lenient placement for an out-of-sequence designator (a gap such as a reserved
    /// paragraph): the level closest to the current depth whose kind accepts the token.
    fn lenient(&self, scheme: Scheme, token: &Token) -> Option<(usize, u32)> {
        let depth = self.ordinals.len();
        scheme
            .kinds()
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < depth + 1)
            .filter_map(|(i, k)| k.ordinal(&token.text, token.italic).map(|o| (i + 1, o)))
            .min_by_key(|(level, _)| depth.abs_diff(*level))
    }
}

/// Whether a string is a designator in some position of the scheme.
pub fn is_designator(scheme: Scheme, text: &str, italic: bool) -> bool {
    scheme
        .kinds()
        .iter()
        .any(|k| k.ordinal(text, italic).is_some())
}

/// Assigns a nesting level (1 = outermost) to each designator of one section, in order.
/// Returns `None` for a token that fits no level of the scheme.
pub fn assign_levels(scheme: Scheme, tokens: &[Token]) -> Vec<Option<usize>> {
    let mut state = State::default();
    let mut levels = Vec::with_capacity(tokens.len());
    for (i, token) in tokens.iter().enumerate() {
        let candidates = state.candidates(scheme, token);
        let chosen = match candidates.as_slice() {
            [] => state.lenient(scheme, token),
            [only] => Some(*only),
            many => Some(resolve(scheme, &state, many, token, tokens.get(i + 1))),
        };
        match chosen {
            Some((level, ord)) => {
                state.apply(level, ord);
                levels.push(Some(level));
            }
            None => levels.push(None),
        }
    }
    levels
}

/// Picks among several valid placements: the one under which the next designator also
/// fits; failing that, deeper after a lead-in mark, else shallower.
fn resolve(
    scheme: Scheme,
    state: &State,
    candidates: &[(usize, u32)],
    token: &Token,
    next: Option<&Token>,
) -> (usize, u32) {
    let deepest = candidates.iter().copied().max_by_key(|c| c.0);
    let shallowest = candidates.iter().copied().min_by_key(|c| c.0);
    let (Some(deepest), Some(shallowest)) = (deepest, shallowest) else {
        return (1, 1);
    };
    if let Some(next) = next {
        let viable: Vec<(usize, u32)> = candidates
            .iter()
            .copied()
            .filter(|&(level, ord)| {
                let mut s = state.clone();
                s.apply(level, ord);
                !s.candidates(scheme, next).is_empty()
            })
            .collect();
        if let [only] = viable.as_slice() {
            return *only;
        }
    }
    if token.after_lead_in {
        deepest
    } else {
        shallowest
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn tokens(list: &[&str]) -> Vec<Token> {
        list.iter()
            .map(|t| Token {
                text: t.to_string(),
                italic: false,
                after_lead_in: false,
            })
            .collect()
    }

    fn levels(scheme: Scheme, list: &[&str]) -> Vec<usize> {
        assign_levels(scheme, &tokens(list))
            .into_iter()
            .map(|l| l.unwrap_or(0))
            .collect()
    }

    #[test]
    fn cfr_basic_nesting() {
        assert_eq!(
            levels(Scheme::Cfr, &["a", "1", "i", "A", "B", "ii", "2", "b"]),
            [1, 2, 3, 4, 4, 3, 2, 1]
        );
    }

    #[test]
    fn letter_i_after_h_is_level_one() {
        assert_eq!(levels(Scheme::Cfr, &["g", "h", "i", "j"]), [1, 1, 1, 1]);
        assert_eq!(levels(Scheme::Cfr, &["h", "1", "i", "1"]), [1, 2, 1, 2]);
    }

    #[test]
    fn roman_i_under_h_paragraph() {
        assert_eq!(
            levels(Scheme::Cfr, &["h", "1", "i", "ii", "2"]),
            [1, 2, 3, 3, 2]
        );
        assert_eq!(levels(Scheme::Cfr, &["u", "1", "v", "w"]), [1, 2, 1, 1]);
    }

    #[test]
    fn tie_broken_by_lead_in() {
        let mut t = tokens(&["h", "1", "i"]);
        t[2].after_lead_in = true;
        assert_eq!(assign_levels(Scheme::Cfr, &t), [Some(1), Some(2), Some(3)]);
        t[2].after_lead_in = false;
        assert_eq!(assign_levels(Scheme::Cfr, &t), [Some(1), Some(2), Some(1)]);
    }

    #[test]
    fn usc_order() {
        assert_eq!(
            levels(
                Scheme::Usc,
                &["a", "1", "A", "i", "I", "II", "ii", "B", "2", "b"]
            ),
            [1, 2, 3, 4, 5, 5, 4, 3, 2, 1]
        );
        assert_eq!(
            levels(Scheme::Usc, &["b", "3", "A", "i", "ii", "B"]),
            [1, 2, 3, 4, 4, 3]
        );
    }

    #[test]
    fn italic_levels() {
        let mut t = tokens(&["a", "1", "i", "A", "1", "2"]);
        t[4].italic = true;
        t[5].italic = true;
        assert_eq!(
            assign_levels(Scheme::Cfr, &t),
            [Some(1), Some(2), Some(3), Some(4), Some(5), Some(5)]
        );
    }

    #[test]
    fn roman_values() {
        assert_eq!(roman_value("iv"), Some(4));
        assert_eq!(roman_value("xiv"), Some(14));
        assert_eq!(roman_value("iiii"), None);
        assert!(!is_designator(Scheme::Cfr, "or", false));
    }
}
