//! Time expressions: "next 30 days", "last 90 days", "last quarter", "this year",
//! "in 2025", "since January", "Q1 2026", "in March", "overdue", "expiring".
//!
//! Conventions (the eval suite's gold SQL follows them):
//! * "last/past N days|weeks|months|years" is rolling: from today minus N units to today,
//!   both inclusive; "next/coming N ..." from today to today plus N units, inclusive.
//! * "last month/quarter/year" and "this month/quarter/year" are calendar periods, end
//!   exclusive; "in 2025", "in March" (this year, or last year when March is still
//!   ahead), "Q1 2026" likewise; "since January" is from the 1st of that month on.
//! * "expired"/"overdue" is an expiry or due date before today; "expiring"/"due" without
//!   a window means within the next 30 days.

use chrono::{Datelike, Duration, Months, NaiveDate};

use super::text::Token;
use super::vocabulary::{EXPIRED_WORDS, EXPIRING_WORDS};

/// A range of dates; `None` ends are open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Inclusive lower bound.
    pub from: Option<NaiveDate>,
    /// Upper bound, inclusive when `to_inclusive`.
    pub to: Option<NaiveDate>,
    pub to_inclusive: bool,
}

/// What the time words of a question ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeSpec {
    /// An explicit window, when one was given.
    pub window: Option<Window>,
    /// The question is about expiry or due dates ("expired", "expiring", "due", "overdue",
    /// or a window in the future).
    pub about_expiry: bool,
    /// Token positions used by time expressions.
    pub used: Vec<usize>,
}

const MONTHS: [&str; 12] = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
const MONTH_ABBR: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

fn month_of(word: &str) -> Option<u32> {
    MONTHS.iter().position(|m| *m == word).or_else(|| MONTH_ABBR.iter().position(|m| *m == word && word != "may")).map(|i| i as u32 + 1)
}

fn year_of(word: &str) -> Option<i32> {
    let y: i32 = word.parse().ok()?;
    (1990..=2100).contains(&y).then_some(y)
}

fn number_of(word: &str) -> Option<u32> {
    const WORDS: [&str; 13] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];
    word.parse().ok().or_else(|| WORDS.iter().position(|w| *w == word).map(|i| i as u32))
}

enum Unit {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

fn unit_of(stem: &str) -> Option<Unit> {
    match stem {
        "day" => Some(Unit::Day),
        "week" => Some(Unit::Week),
        "month" => Some(Unit::Month),
        "quarter" => Some(Unit::Quarter),
        "year" => Some(Unit::Year),
        _ => None,
    }
}

fn shift(d: NaiveDate, n: u32, unit: &Unit, forward: bool) -> Option<NaiveDate> {
    let months = |m: u32| if forward { d.checked_add_months(Months::new(m)) } else { d.checked_sub_months(Months::new(m)) };
    let days = |k: i64| if forward { d.checked_add_signed(Duration::days(k)) } else { d.checked_sub_signed(Duration::days(k)) };
    match unit {
        Unit::Day => days(i64::from(n)),
        Unit::Week => days(7 * i64::from(n)),
        Unit::Month => months(n),
        Unit::Quarter => months(3 * n),
        Unit::Year => months(12 * n),
    }
}

fn month_start(y: i32, m: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, 1)
}

fn quarter_start(d: NaiveDate) -> Option<NaiveDate> {
    month_start(d.year(), (d.month0() / 3) * 3 + 1)
}

fn period(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Option<Window> {
    Some(Window { from: Some(from?), to: Some(to?), to_inclusive: false })
}

/// The calendar period "this/last/next <unit>".
fn calendar(today: NaiveDate, unit: &Unit, offset: i32) -> Option<Window> {
    let start = match unit {
        Unit::Month => month_start(today.year(), today.month()),
        Unit::Quarter => quarter_start(today),
        Unit::Year => month_start(today.year(), 1),
        Unit::Week => today.checked_sub_signed(Duration::days(i64::from(today.weekday().num_days_from_monday()))),
        Unit::Day => Some(today),
    }?;
    let step = |d: NaiveDate, k: i32| -> Option<NaiveDate> {
        let months = match unit {
            Unit::Month => 1,
            Unit::Quarter => 3,
            Unit::Year => 12,
            Unit::Week => return d.checked_add_signed(Duration::days(7 * i64::from(k))),
            Unit::Day => return d.checked_add_signed(Duration::days(i64::from(k))),
        };
        if k >= 0 { d.checked_add_months(Months::new(months * k as u32)) } else { d.checked_sub_months(Months::new(months * (-k) as u32)) }
    };
    period(step(start, offset), step(start, offset + 1))
}

/// Reads the time expressions of a question.
pub fn parse(tokens: &[Token], today: NaiveDate) -> TimeSpec {
    let mut spec = TimeSpec::default();
    let w = |i: usize| tokens.get(i).map(|t| t.word.as_str()).unwrap_or("");
    let s = |i: usize| tokens.get(i).map(|t| t.stem.as_str()).unwrap_or("");
    let mut i = 0;
    while i < tokens.len() {
        let word = w(i);
        // "past due" before "past N days".
        if word == "past" && w(i + 1) == "due" {
            spec.about_expiry = true;
            spec.window = Some(Window { from: None, to: Some(today), to_inclusive: false });
            spec.used.extend([i, i + 1]);
            i += 2;
            continue;
        }
        if EXPIRED_WORDS.contains(&word) {
            spec.about_expiry = true;
            if spec.window.is_none() {
                spec.window = Some(Window { from: None, to: Some(today), to_inclusive: false });
            }
            spec.used.push(i);
            i += 1;
            continue;
        }
        if EXPIRING_WORDS.contains(&word) || word == "expiring" || word == "expire" {
            spec.about_expiry = true;
            spec.used.push(i);
            i += 1;
            continue;
        }
        if word == "soon" {
            spec.about_expiry = true;
            spec.used.push(i);
            i += 1;
            continue;
        }
        let forward = matches!(word, "next" | "coming" | "upcoming" | "within");
        let backward = matches!(word, "last" | "past" | "previous" | "prior" | "trailing");
        if forward || backward {
            // "within the next 30 days" / "in the last 6 months".
            let mut j = i + 1;
            if w(j) == "the" || (word == "within" && matches!(w(j), "next" | "coming")) {
                j += 1;
            }
            if word == "within" && matches!(w(j), "next" | "coming") {
                j += 1;
            }
            if let (Some(n), Some(unit)) = (number_of(w(j)), unit_of(s(j + 1))) {
                let window = if forward {
                    shift(today, n, &unit, true).map(|to| Window { from: Some(today), to: Some(to), to_inclusive: true })
                } else {
                    shift(today, n, &unit, false).map(|from| Window { from: Some(from), to: Some(today), to_inclusive: true })
                };
                if forward {
                    spec.about_expiry = true;
                }
                spec.window = window.or(spec.window);
                spec.used.extend(i..=j + 1);
                i = j + 2;
                continue;
            }
            if let Some(unit) = unit_of(s(j))
                && word != "within" {
                    // "last quarter" (calendar), "next month"; "past year" is the rolling year.
                    let window = if word == "past" || word == "trailing" {
                        shift(today, 1, &unit, false).map(|from| Window { from: Some(from), to: Some(today), to_inclusive: true })
                    } else {
                        calendar(today, &unit, if forward { 1 } else { -1 })
                    };
                    if forward {
                        spec.about_expiry = true;
                    }
                    spec.window = window.or(spec.window);
                    spec.used.extend(i..=j);
                    i = j + 1;
                    continue;
                }
        }
        if (word == "this" || word == "current")
            && let Some(unit) = unit_of(s(i + 1)) {
                spec.window = calendar(today, &unit, 0).or(spec.window);
                spec.used.extend([i, i + 1]);
                i += 2;
                continue;
            }
        if word == "ytd" || (word == "year" && w(i + 1) == "to" && w(i + 2) == "date") {
            spec.window = Some(Window { from: month_start(today.year(), 1), to: Some(today), to_inclusive: true });
            let n = if word == "ytd" { 1 } else { 3 };
            spec.used.extend(i..i + n);
            i += n;
            continue;
        }
        if word == "today" {
            spec.window = Some(Window { from: Some(today), to: Some(today), to_inclusive: true });
            spec.used.push(i);
            i += 1;
            continue;
        }
        // "Q1 2026", "Q3".
        if word.len() == 2 && word.starts_with('q')
            && let Some(q) = word[1..].parse::<u32>().ok().filter(|q| (1..=4).contains(q)) {
                let (year, n) = match year_of(w(i + 1)) {
                    Some(y) => (y, 2),
                    None => (today.year(), 1),
                };
                let start = month_start(year, (q - 1) * 3 + 1);
                spec.window = period(start, start.and_then(|d| d.checked_add_months(Months::new(3)))).or(spec.window);
                spec.used.extend(i..i + n);
                i += n;
                continue;
            }
        // "since January", "since March 2025", "since 2024".
        if word == "since" {
            let from = if let Some(m) = month_of(w(i + 1)) {
                let (year, n) = match year_of(w(i + 2)) {
                    Some(y) => (y, 3),
                    None => (if m > today.month() { today.year() - 1 } else { today.year() }, 2),
                };
                month_start(year, m).map(|d| (d, n))
            } else {
                year_of(w(i + 1)).and_then(|y| month_start(y, 1)).map(|d| (d, 2))
            };
            if let Some((d, n)) = from {
                spec.window = Some(Window { from: Some(d), to: None, to_inclusive: false });
                spec.used.extend(i..i + n);
                i += n;
                continue;
            }
        }
        // "in March", "in March 2025", "March 2025".
        if let Some(m) = month_of(word).filter(|_| word != "may" || i > 0 && matches!(w(i - 1), "in" | "during" | "since")) {
            let (year, n) = match year_of(w(i + 1)) {
                Some(y) => (y, 2),
                None => (if m > today.month() { today.year() - 1 } else { today.year() }, 1),
            };
            let start = month_start(year, m);
            spec.window = period(start, start.and_then(|d| d.checked_add_months(Months::new(1)))).or(spec.window);
            spec.used.extend(i..i + n);
            i += n;
            continue;
        }
        // "in 2025", "for 2024", "2025".
        if let Some(y) = year_of(word) {
            spec.window = period(month_start(y, 1), month_start(y + 1, 1)).or(spec.window);
            spec.used.push(i);
            i += 1;
            continue;
        }
        i += 1;
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::super::text::tokenize;
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn window(q: &str) -> Option<Window> {
        parse(&tokenize(q), d(2026, 6, 15)).window
    }

    #[test]
    fn rolling_and_calendar_windows() {
        assert_eq!(window("in the next 30 days"), Some(Window { from: Some(d(2026, 6, 15)), to: Some(d(2026, 7, 15)), to_inclusive: true }));
        assert_eq!(window("over the last 90 days"), Some(Window { from: Some(d(2026, 3, 17)), to: Some(d(2026, 6, 15)), to_inclusive: true }));
        assert_eq!(window("last quarter"), Some(Window { from: Some(d(2026, 1, 1)), to: Some(d(2026, 4, 1)), to_inclusive: false }));
        assert_eq!(window("this year"), Some(Window { from: Some(d(2026, 1, 1)), to: Some(d(2027, 1, 1)), to_inclusive: false }));
        assert_eq!(window("in 2025"), Some(Window { from: Some(d(2025, 1, 1)), to: Some(d(2026, 1, 1)), to_inclusive: false }));
        assert_eq!(window("since January"), Some(Window { from: Some(d(2026, 1, 1)), to: None, to_inclusive: false }));
        assert_eq!(window("since September"), Some(Window { from: Some(d(2025, 9, 1)), to: None, to_inclusive: false }));
        assert_eq!(window("in Q3 2025"), Some(Window { from: Some(d(2025, 7, 1)), to: Some(d(2025, 10, 1)), to_inclusive: false }));
        assert_eq!(window("last month"), Some(Window { from: Some(d(2026, 5, 1)), to: Some(d(2026, 6, 1)), to_inclusive: false }));
        assert_eq!(window("in the past 6 months"), Some(Window { from: Some(d(2025, 12, 15)), to: Some(d(2026, 6, 15)), to_inclusive: true }));
        assert_eq!(window("how many employees"), None);
    }

    #[test]
    fn expiry_words() {
        let s = parse(&tokenize("expired med cards"), d(2026, 6, 15));
        assert!(s.about_expiry);
        assert_eq!(s.window, Some(Window { from: None, to: Some(d(2026, 6, 15)), to_inclusive: false }));
        let s = parse(&tokenize("certificates expiring soon"), d(2026, 6, 15));
        assert!(s.about_expiry && s.window.is_none());
    }
}
