//! From a question to a query plan: which table the question is about (its entity), what
//! to compute (measure), the filters with their values, a time window on the right date
//! column, grouping, ordering and top-N.
//!
//! The planner reads the question once, left to right: grammar words (aggregates,
//! grouping, top-N, negation), time expressions (`time.rs`), then the longest phrases of
//! the lexicon (`lexicon.rs`). Every word must be accounted for: a word that is neither a
//! function word nor part of a recognised phrase makes the question "not understood".

use chrono::NaiveDate;
use deriq_core::permissions::{self, Tier};
use deriq_core::{Module, Role, SemanticModel, semantic::Table};

use super::lexicon::{Concept, Lexicon};
use super::text::{Token, is_function_word, tokenize};
use super::time::{self, Window};
use super::vocabulary::{AMBIGUOUS_CODES, NEGATIONS, STATES};

/// Which table a filter applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    /// The entity's table (`t`).
    Entity,
    /// The employee of the record (`e`).
    Employee,
    /// The location of the record (`l`).
    Location,
}

/// A filter on a column: one of `values` (or none of them when `negated`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub on: On,
    pub column: String,
    /// The column's SQL type (`text`, `boolean`, `text[]`, ...).
    pub sql_type: String,
    pub values: Vec<String>,
    pub negated: bool,
}

/// A date window on a column of the entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFilter {
    pub column: String,
    /// The column is a timestamp (compared by its date).
    pub timestamp: bool,
    pub window: Window,
}

/// A condition of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Value(Filter),
    Date(DateFilter),
}

/// What to compute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Measure {
    /// The matching records.
    List,
    /// How many records, or how many distinct employees.
    Count { people: bool },
    /// How many, and how many of them also meet `also` ("... and how many were positive").
    CountAnd { people: bool, also: Vec<Condition> },
    /// The share (in percent) of the records that meet `numerator`.
    Percent { numerator: Vec<Condition> },
    Average(String),
    Sum(String),
    Max(String),
    Min(String),
}

/// How to group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Group {
    Column(String),
    State,
    Location,
    Company,
    /// Calendar month of a date column of the entity.
    Month(String),
}

/// A query plan, ready to compile.
#[derive(Debug, Clone)]
pub struct Plan {
    pub table: &'static Table,
    pub tier: Tier,
    pub measure: Measure,
    pub conditions: Vec<Condition>,
    pub group: Option<Group>,
    /// Top-N: (descending, N).
    pub top: Option<(bool, u32)>,
}

/// The planner's answer.
#[derive(Debug, Clone)]
pub enum Outcome {
    Plan(Box<Plan>),
    Refused(String),
    NotUnderstood(String),
}

const PEOPLE: &[&str] = &["employee", "driver", "worker", "people", "staff", "person", "who", "technician", "operator", "individual"];
const GROUP_WORDS: &[(&str, &str)] = &[
    ("state", "state"), ("location", "location"), ("site", "location"), ("yard", "location"), ("terminal", "location"),
    ("facility", "location"), ("branch", "location"), ("base", "location"), ("month", "month"), ("company", "company"),
    ("tenant", "company"), ("customer", "company"), ("client", "company"),
];
const EXAMPLES: &str = "try e.g. \"how many random drug tests were positive last quarter\", \"which drivers have a med card expiring in the next 30 days\", \"OSHA recordables by location this year\"";

fn not_understood(what: &str) -> Outcome {
    Outcome::NotUnderstood(format!("I can't map '{what}' to the data; {EXAMPLES}"))
}

/// A recognised phrase in the question.
struct Mention {
    pos: usize,
    concepts: Vec<Concept>,
    negated: bool,
}

fn is_meta(table: &str) -> bool {
    matches!(table, "tenants" | "divisions" | "locations" | "compliance_assignments")
}

fn is_expiry_column(name: &str) -> bool {
    name.contains("expiration") || name.contains("due")
}

fn is_date(sql_type: &str) -> bool {
    matches!(sql_type, "date" | "timestamptz" | "timestamp")
}

fn is_numeric(sql_type: &str) -> bool {
    matches!(sql_type, "integer" | "bigint" | "smallint" | "double precision") || sql_type.starts_with("numeric")
}

/// The column a time window applies to: a mentioned date column, else the first expiry or
/// due column for expiry questions, else the first event date of the table.
fn date_column(table: &Table, mentioned: &[String], expiry: bool) -> Option<String> {
    let dates: Vec<_> = table.columns.iter().filter(|c| is_date(&c.sql_type) && !c.is_sensitive() && c.name != "created_at").collect();
    if let Some(c) = mentioned.iter().find(|m| dates.iter().any(|d| &&d.name == m) && (!expiry || is_expiry_column(m))) {
        return Some(c.clone());
    }
    if let Some(c) = mentioned.iter().find(|m| dates.iter().any(|d| &&d.name == m))
        && (!expiry || !dates.iter().any(|d| is_expiry_column(&d.name))) {
            return Some(c.clone());
        }
    if expiry
        && let Some(c) = dates.iter().find(|d| is_expiry_column(&d.name)) {
            return Some(c.name.clone());
        }
    dates.iter().find(|d| !is_expiry_column(&d.name)).map(|d| d.name.clone())
}

/// Plans a question for a role.
pub fn plan(question: &str, role: Role, today: NaiveDate) -> Outcome {
    let tokens = tokenize(question);
    if tokens.is_empty() {
        return Outcome::NotUnderstood(format!("the question is empty; {EXAMPLES}"));
    }
    plan_tokens(&tokens, role, today)
}

/// Whether a question names something of the data itself (used for follow-ups: a
/// question that does not is read as a refinement of the previous one).
pub fn names_an_entity(question: &str) -> bool {
    let tokens = tokenize(question);
    let stems: Vec<String> = tokens.iter().map(|t| t.stem.clone()).collect();
    let lex = Lexicon::get();
    (0..stems.len()).any(|i| {
        lex.longest_match(&stems[i..]).is_some_and(|(_, cs)| cs.iter().any(|c| matches!(c, Concept::Table(_))))
    })
}

fn plan_tokens(tokens: &[Token], role: Role, today: NaiveDate) -> Outcome {
    let n = tokens.len();
    let word = |i: usize| tokens.get(i).map(|t| t.word.as_str()).unwrap_or("");
    let stem = |i: usize| tokens.get(i).map(|t| t.stem.as_str()).unwrap_or("");
    let mut used = vec![false; n];

    // Time expressions.
    let spec = time::parse(tokens, today);
    let time_pos = spec.used.iter().copied().min();
    for &i in &spec.used {
        used[i] = true;
    }

    // Aggregate, grouping and top-N words.
    let mut measure_word: Option<(&str, usize)> = None;
    let mut second_count: Option<usize> = None;
    let mut group_word: Option<(&str, usize)> = None;
    let mut top_n: Option<u32> = None;
    let mut direction: Option<bool> = None;
    let mut people = false;
    let mut i = 0;
    while i < n {
        if used[i] {
            i += 1;
            continue;
        }
        let w = word(i);
        let next = word(i + 1);
        if (w == "how" && next == "many") || (w == "number" && next == "of") {
            if measure_word.is_some_and(|(m, _)| m == "count") {
                second_count = Some(i);
            } else if measure_word.is_none() {
                measure_word = Some(("count", i));
            }
            if PEOPLE.contains(&stem(i + 2)) {
                people = true;
            }
            used[i] = true;
            used[i + 1] = true;
            i += 2;
            continue;
        }
        match w {
            "count" | "tally" => measure_word = measure_word.or(Some(("count", i))),
            "average" | "avg" | "mean" => measure_word = Some(("average", i)),
            "total" | "sum" | "combined" => {
                if measure_word.is_none() {
                    measure_word = Some(("sum", i));
                }
            }
            "maximum" | "max" | "longest" => measure_word = Some(("max", i)),
            "minimum" | "min" | "shortest" => measure_word = Some(("min", i)),
            "percent" | "percentage" | "share" | "proportion" | "fraction" | "rate" => measure_word = Some(("percent", i)),
            "top" => {
                let mut j = i + 1;
                if let Ok(k) = next.parse::<u32>() {
                    top_n = Some(k);
                    used[i + 1] = true;
                    j += 1;
                }
                if let Some((_, g)) = GROUP_WORDS.iter().find(|(g, _)| *g == stem(j)) {
                    group_word = Some((g, j));
                    used[j] = true;
                }
            }
            "most" | "highest" | "largest" | "biggest" | "worst" => direction = direction.or(Some(true)),
            "fewest" | "least" | "lowest" | "smallest" | "best" => direction = direction.or(Some(false)),
            "monthly" => group_word = Some(("month", i)),
            "by" | "per" | "each" | "every" | "across" => {
                let mut j = i + 1;
                if matches!(word(j), "the" | "each" | "every") {
                    j += 1;
                }
                if let Some((_, g)) = GROUP_WORDS.iter().find(|(g, _)| *g == stem(j)) {
                    group_word = Some((g, j));
                    used[i] = true;
                    used[j] = true;
                    i = j + 1;
                    continue;
                }
                if w == "by" && !matches!(word(j), "number" | "count" | "the") {
                    // "by reason", "by body part": a column, resolved once the table is known.
                    group_word = Some(("column", j));
                    used[i] = true;
                    i += 1;
                    continue;
                }
            }
            "which" | "what" => {
                // "which location has the most ...", "which 3 sites ...", "what state ...".
                let (k, j) = match next.parse::<u32>() {
                    Ok(k) => (Some(k), i + 2),
                    Err(_) => (None, i + 1),
                };
                if let Some((_, g)) = GROUP_WORDS.iter().find(|(g, _)| *g == stem(j)) {
                    group_word = Some((g, j));
                    used[j] = true;
                    if let Some(k) = k {
                        top_n = Some(k);
                        used[i + 1] = true;
                    }
                }
            }
            _ => {
                used[i] = false;
                i += 1;
                continue;
            }
        }
        used[i] = true;
        i += 1;
    }
    if measure_word.is_none() && tokens.first().is_some_and(|t| PEOPLE.contains(&t.stem.as_str())) {
        people = true;
    }
    if tokens.iter().take(3).any(|t| matches!(t.word.as_str(), "which" | "who" | "list" | "show" | "names")) && PEOPLE.iter().any(|p| tokens.iter().take(4).any(|t| t.stem == *p)) {
        people = true;
    }

    // Phrases of the lexicon; negations attach to the phrase that follows them.
    let lex = Lexicon::get();
    let stems: Vec<String> = tokens.iter().map(|t| t.stem.clone()).collect();
    let mut mentions: Vec<Mention> = Vec::new();
    let mut unknown: Vec<&str> = Vec::new();
    let mut negate_next = false;
    let mut i = 0;
    while i < n {
        if used[i] {
            i += 1;
            continue;
        }
        let t = &tokens[i];
        if t.upper && AMBIGUOUS_CODES.contains(&t.word.to_uppercase().as_str()) && STATES.iter().any(|(_, c)| c.eq_ignore_ascii_case(&t.word)) {
            mentions.push(Mention { pos: i, concepts: vec![Concept::State(t.word.to_uppercase())], negated: false });
            used[i] = true;
            i += 1;
            continue;
        }
        // Stop a phrase at the first token used by the grammar.
        let end = (i..n).find(|&k| used[k]).unwrap_or(n);
        if let Some((len, concepts)) = lex.longest_match(&stems[i..end]) {
            mentions.push(Mention { pos: i, concepts: concepts.to_vec(), negated: negate_next });
            negate_next = false;
            for u in used.iter_mut().skip(i).take(len) {
                *u = true;
            }
            i += len;
            continue;
        }
        if NEGATIONS.contains(&t.word.as_str()) {
            negate_next = true;
            used[i] = true;
        } else if !is_function_word(&t.stem) && t.word.parse::<f64>().is_err() {
            unknown.push(&t.word);
        }
        i += 1;
    }

    // The entity: the table with the strongest evidence.
    let model = SemanticModel::get();
    let mut scores: Vec<(&'static Table, i32, usize)> = Vec::new();
    for m in &mentions {
        let named: Vec<&str> = m.concepts.iter().filter_map(|c| if let Concept::Table(t) = c { Some(t.as_str()) } else { None }).collect();
        for c in &m.concepts {
            let Some(name) = c.table() else { continue };
            // A phrase that names a table counts once for it ("injuries": the table, not also the value).
            if matches!(c, Concept::Value { .. }) && named.contains(&name) {
                continue;
            }
            let Some(table) = model.table(name) else { continue };
            let weight = match c {
                Concept::Table(t) if t == "employees" => 4,
                Concept::Table(t) if is_meta(t) => 1,
                Concept::Table(_) => 10,
                Concept::Value { .. } => 3,
                Concept::Column { column, .. } if spec.about_expiry && is_expiry_column(column) => 12,
                Concept::Column { .. } => 2,
                Concept::State(_) => 0,
            };
            match scores.iter_mut().find(|(t, _, _)| t.name == table.name) {
                Some(s) => s.1 += weight,
                None => scores.push((table, weight, m.pos)),
            }
        }
    }
    scores.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    let Some(&(table, _, _)) = scores.first() else {
        let what = tokens.iter().filter(|t| !is_function_word(&t.stem)).map(|t| t.word.as_str()).collect::<Vec<_>>().join(" ");
        return not_understood(if what.is_empty() { "the question" } else { &what });
    };
    // A question that names a closed module's table is refused even with words beyond
    // the data; one that only brushes it with a value word ("failed") is not understood.
    let named = mentions.iter().any(|m| m.concepts.contains(&Concept::Table(table.name.clone())));
    if let (Some(w), false) = (unknown.first(), named) {
        return not_understood(w);
    }
    if permissions::access(role, table.module).is_none() {
        return Outcome::Refused(permissions::denial_reason(role, table.module));
    }
    if let Some(w) = unknown.first() {
        return not_understood(w);
    }
    let tier = permissions::tier(role);
    let has = |c: &str| table.column(c).is_some();
    let employees = model.table("employees");

    // Conditions: values of the entity (or of its employee), states, the time window.
    let mut conditions: Vec<(usize, Condition)> = Vec::new();
    let mut mentioned_columns: Vec<String> = Vec::new();
    let add_filter = |pos: usize, f: Filter, conditions: &mut Vec<(usize, Condition)>| {
        if let Some((_, Condition::Value(existing))) = conditions.iter_mut().find(|(_, c)| matches!(c, Condition::Value(x) if x.on == f.on && x.column == f.column && x.negated == f.negated && x.sql_type != "boolean")) {
            for v in f.values {
                if !existing.values.contains(&v) {
                    existing.values.push(v);
                }
            }
        } else {
            conditions.push((pos, Condition::Value(f)));
        }
    };
    for m in &mentions {
        let mut took_value = false;
        for c in &m.concepts {
            match c {
                Concept::Value { table: t, column, values } if t == &table.name && !took_value => {
                    let Some(col) = table.column(column) else { continue };
                    took_value = true;
                    add_filter(m.pos, value_filter(On::Entity, &col.sql_type, column, values, m.negated), &mut conditions);
                }
                Concept::Column { table: t, column } if t == &table.name => mentioned_columns.push(column.clone()),
                Concept::State(code) => {
                    let on = if table.name == "locations" { On::Entity } else { On::Location };
                    if on == On::Location && !has("location_id") {
                        return not_understood(&format!("{} by state", table.name.replace('_', " ")));
                    }
                    add_filter(m.pos, Filter { on, column: "state".into(), sql_type: "char(2)".into(), values: vec![code.clone()], negated: m.negated }, &mut conditions);
                }
                _ => {}
            }
        }
        if !took_value && table.name != "employees" && has("employee_id")
            && let Some(Concept::Value { column, values, .. }) = m.concepts.iter().find(|c| matches!(c, Concept::Value { table: t, .. } if t == "employees"))
                && let Some(col) = employees.and_then(|e| e.column(column))
                    && (tier == Tier::Full || !col.is_sensitive()) {
                        add_filter(m.pos, value_filter(On::Employee, &col.sql_type, column, values, m.negated), &mut conditions);
                    }
    }
    let date_col = date_column(table, &mentioned_columns, spec.about_expiry);
    let window = spec.window.or_else(|| spec.about_expiry.then(|| default_expiring(today)).flatten());
    if let Some(window) = window {
        let Some(column) = date_col.clone() else {
            return not_understood(&format!("a time window on {}", table.name.replace('_', " ")));
        };
        let timestamp = table.column(&column).is_some_and(|c| c.sql_type.starts_with("timestamp"));
        conditions.push((time_pos.unwrap_or(0), Condition::Date(DateFilter { column, timestamp, window })));
    }

    // Grouping.
    let group = match group_word {
        None => None,
        Some(("state", _)) if has("location_id") || table.name == "locations" => Some(Group::State),
        Some(("location", _)) if has("location_id") => Some(Group::Location),
        Some(("company", _)) if has("tenant_id") => Some(Group::Company),
        Some(("month", _)) => match date_column(table, &mentioned_columns, false) {
            Some(c) => Some(Group::Month(c)),
            None => return not_understood(&format!("{} by month", table.name.replace('_', " "))),
        },
        Some(("column", pos)) => {
            let col = mentions.iter().find(|m| m.pos == pos).and_then(|m| {
                m.concepts.iter().find_map(|c| match c {
                    Concept::Column { table: t, column } if t == &table.name => Some(column.clone()),
                    Concept::Value { table: t, column, .. } if t == &table.name => Some(column.clone()),
                    _ => None,
                })
            });
            match col {
                Some(c) if table.column(&c).is_some_and(|c| tier == Tier::Full || !c.is_sensitive()) => {
                    conditions.retain(|(p, _)| *p != pos);
                    Some(Group::Column(c))
                }
                _ => return not_understood(&format!("by {}", word(pos))),
            }
        }
        Some((other, _)) => return not_understood(&format!("{} by {other}", table.name.replace('_', " "))),
    };

    // The measure.
    let numeric = mentioned_columns.iter().find(|c| table.column(c).is_some_and(|c| is_numeric(&c.sql_type))).cloned();
    let people = people && table.name != "employees" && has("employee_id");
    if let (Some(col), Some(("average" | "sum" | "max" | "min" | "count", _))) = (&numeric, measure_word) {
        // "average days away": the phrase names the measured column, not also a filter.
        let at: Vec<usize> = mentions.iter().filter(|m| m.concepts.iter().any(|c| matches!(c, Concept::Column { column, .. } if column == col))).map(|m| m.pos).collect();
        conditions.retain(|(p, _)| !at.contains(p));
    }
    let split_after = |start: usize| -> usize {
        (start..n).find(|&k| matches!(word(k), "were" | "was" | "are" | "is" | "came" | "have" | "has" | "had" | "tested" | "got" | "with")).unwrap_or(n)
    };
    let measure = match measure_word {
        Some(("percent", at)) => {
            let split = split_after(at);
            let values_after = conditions.iter().any(|(p, c)| *p > split && matches!(c, Condition::Value(_)));
            let (num, base): (Vec<_>, Vec<_>) = conditions.drain(..).partition(|(p, c)| *p > split && (matches!(c, Condition::Value(_)) || !values_after));
            let (num, base) = if num.is_empty() {
                // "positivity rate of random tests": the condition nearest the word.
                let mut base = base;
                let nearest = base.iter().enumerate().filter(|(_, (_, c))| matches!(c, Condition::Value(_))).min_by_key(|(_, (p, _))| p.abs_diff(at)).map(|(k, _)| k);
                match nearest {
                    Some(k) => (vec![base.remove(k)], base),
                    None => return not_understood("the share of what"),
                }
            } else {
                (num, base)
            };
            conditions = base;
            Measure::Percent { numerator: num.into_iter().map(|(_, c)| c).collect() }
        }
        Some(("average", _)) => match numeric {
            Some(c) => Measure::Average(c),
            None => return not_understood("the average of what (name a numeric column such as days away or fit factor)"),
        },
        Some(("max", _)) => match numeric {
            Some(c) => Measure::Max(c),
            None => return not_understood("the maximum of what"),
        },
        Some(("min", _)) => match numeric {
            Some(c) => Measure::Min(c),
            None => return not_understood("the minimum of what"),
        },
        Some(("sum", _)) => match numeric {
            Some(c) => Measure::Sum(c),
            None => Measure::Count { people },
        },
        Some(("count", at)) => {
            // "how many days away ..." sums a numeric column named right after the words.
            let summed = numeric.as_ref().filter(|_| mentions.iter().any(|m| m.pos == at + 2 && m.concepts.iter().any(|c| matches!(c, Concept::Column { column, .. } if Some(column) == numeric.as_ref()))));
            match (summed, second_count) {
                (Some(c), _) => Measure::Sum(c.clone()),
                (None, Some(second)) => {
                    let (also, base): (Vec<_>, Vec<_>) = conditions.drain(..).partition(|(p, _)| *p > second);
                    conditions = base;
                    Measure::CountAnd { people, also: also.into_iter().map(|(_, c)| c).collect() }
                }
                (None, None) => Measure::Count { people },
            }
        }
        _ if group.is_some() => Measure::Count { people },
        _ => Measure::List,
    };
    let top = match (group.is_some(), top_n, direction) {
        (false, _, _) | (true, None, None) => None,
        (true, n, d) => Some((d.unwrap_or(true), n.unwrap_or(1))),
    };
    Outcome::Plan(Box::new(Plan { table, tier, measure, conditions: conditions.into_iter().map(|(_, c)| c).collect(), group, top }))
}

fn default_expiring(today: NaiveDate) -> Option<Window> {
    today.checked_add_signed(chrono::Duration::days(30)).map(|to| Window { from: Some(today), to: Some(to), to_inclusive: true })
}

fn value_filter(on: On, sql_type: &str, column: &str, values: &[String], negated: bool) -> Filter {
    if sql_type == "boolean" && negated {
        let flipped = values.iter().map(|v| if v == "true" { "false".to_string() } else { "true".to_string() }).collect();
        return Filter { on, column: column.into(), sql_type: sql_type.into(), values: flipped, negated: false };
    }
    Filter { on, column: column.into(), sql_type: sql_type.into(), values: values.to_vec(), negated }
}

/// The module a question is about, if the planner can tell (for messages and tests).
pub fn module_of(plan: &Plan) -> Module {
    plan.table.module
}
