//! Compiling a plan to PostgreSQL over the unqualified `compliance` tables (the guard
//! qualifies and scopes them).
//!
//! Every literal in the output comes from the semantic model's vocabularies, the state
//! table, computed dates or parsed integers, never from the question's text; quotes are
//! doubled anyway.

use deriq_core::permissions::Tier;

use super::plan::{Condition, Filter, Group, Measure, On, Plan};

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn alias(on: On) -> &'static str {
    match on {
        On::Entity => "t",
        On::Employee => "e",
        On::Location => "l",
    }
}

fn filter_sql(f: &Filter) -> String {
    let col = format!("{}.{}", alias(f.on), f.column);
    if f.sql_type == "boolean" {
        let v = f.values.first().map(String::as_str) == Some("true");
        return format!("{col} = {}", if v { "TRUE" } else { "FALSE" });
    }
    if f.sql_type.ends_with("[]") {
        let any: Vec<String> = f.values.iter().map(|v| format!("{} = ANY({col})", quote(v))).collect();
        let joined = if any.len() == 1 { any.join("") } else { format!("({})", any.join(" OR ")) };
        return if f.negated { format!("NOT {joined}") } else { joined };
    }
    match (f.values.as_slice(), f.negated) {
        ([v], false) => format!("{col} = {}", quote(v)),
        ([v], true) => format!("{col} <> {}", quote(v)),
        (vs, neg) => format!("{col} {}IN ({})", if neg { "NOT " } else { "" }, vs.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ")),
    }
}

fn condition_sql(c: &Condition) -> String {
    match c {
        Condition::Value(f) => filter_sql(f),
        Condition::Date(d) => {
            // Timestamps are compared by their date.
            let col = if d.timestamp { format!("CAST(t.{} AS DATE)", d.column) } else { format!("t.{}", d.column) };
            let mut parts = Vec::new();
            if let Some(from) = d.window.from {
                parts.push(format!("{col} >= DATE '{from}'"));
            }
            if let Some(to) = d.window.to {
                parts.push(format!("{col} {} DATE '{to}'", if d.window.to_inclusive { "<=" } else { "<" }));
            }
            parts.join(" AND ")
        }
    }
}

fn all(conditions: &[Condition]) -> String {
    if conditions.is_empty() { "TRUE".into() } else { conditions.iter().map(condition_sql).collect::<Vec<_>>().join(" AND ") }
}

fn uses(conditions: &[Condition], on: On) -> bool {
    conditions.iter().any(|c| matches!(c, Condition::Value(f) if f.on == on))
}

/// The SQL of a plan.
pub fn compile(plan: &Plan) -> String {
    let t = plan.table;
    let is_employees = t.name == "employees";
    let has_employee = t.column("employee_id").is_some();
    let has_location = t.column("location_id").is_some() && t.name != "locations";
    let inner: Vec<Condition> = match &plan.measure {
        Measure::Percent { numerator } => numerator.clone(),
        Measure::CountAnd { also, .. } => also.clone(),
        _ => Vec::new(),
    };
    let list = plan.measure == Measure::List && plan.group.is_none();
    let full = plan.tier == Tier::Full;
    let join_employee = has_employee && !is_employees && (uses(&plan.conditions, On::Employee) || uses(&inner, On::Employee) || (list && full));
    let join_location = has_location
        && (uses(&plan.conditions, On::Location) || uses(&inner, On::Location) || list || matches!(plan.group, Some(Group::State | Group::Location)));
    let join_company = matches!(plan.group, Some(Group::Company));
    let people_key = if is_employees { "t.id" } else { "t.employee_id" };

    let measure = match &plan.measure {
        Measure::List => None,
        Measure::Count { people: true } => Some(format!("count(DISTINCT {people_key}) AS employees")),
        Measure::Count { people: false } => Some("count(*) AS count".to_string()),
        Measure::CountAnd { people, also } => Some(if *people {
            format!("count(DISTINCT {people_key}) AS employees, count(DISTINCT CASE WHEN {} THEN {people_key} END) AS matching", all(also))
        } else {
            format!("count(*) AS count, sum(CASE WHEN {} THEN 1 ELSE 0 END) AS matching", all(also))
        }),
        Measure::Percent { numerator } => Some(format!("100.0 * sum(CASE WHEN {} THEN 1 ELSE 0 END) / NULLIF(count(*), 0) AS percent", all(numerator))),
        Measure::Average(c) => Some(format!("avg(t.{c}) AS average_{c}")),
        Measure::Sum(c) => Some(format!("sum(t.{c}) AS total_{c}")),
        Measure::Max(c) => Some(format!("max(t.{c}) AS max_{c}")),
        Measure::Min(c) => Some(format!("min(t.{c}) AS min_{c}")),
    };
    let group_expr = plan.group.as_ref().map(|g| match g {
        Group::Column(c) => (format!("t.{c}"), c.clone()),
        Group::State => (if t.name == "locations" { "t.state".into() } else { "l.state".into() }, "state".into()),
        Group::Location => ("l.name".into(), "location".into()),
        Group::Company => ("c.name".into(), "company".into()),
        Group::Month(c) => (format!("to_char(t.{c}, 'YYYY-MM')"), "month".into()),
    });

    let mut select: Vec<String> = Vec::new();
    if let Some((expr, name)) = &group_expr {
        select.push(format!("{expr} AS {name}"));
    }
    if let Some(m) = &measure {
        select.push(m.clone());
    }
    if list {
        if join_employee && full {
            select.push("e.first_name".into());
            select.push("e.last_name".into());
        }
        if is_employees {
            select.push("t.id".into());
        } else if has_employee {
            select.push("t.employee_id".into());
        }
        for c in &t.columns {
            if c.sql_type == "uuid" || (!full && c.is_sensitive()) {
                continue;
            }
            select.push(format!("t.{}", c.name));
        }
        if join_location {
            select.push("l.name AS location_name".into());
            select.push("l.state AS location_state".into());
        }
    }

    let mut sql = format!("SELECT {} FROM {} t", select.join(", "), t.name);
    if join_employee {
        sql.push_str(" JOIN employees e ON e.id = t.employee_id");
    }
    if join_location {
        sql.push_str(" JOIN locations l ON l.id = t.location_id");
    }
    if join_company {
        sql.push_str(" JOIN tenants c ON c.id = t.tenant_id");
    }
    if !plan.conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&all(&plan.conditions));
    }
    if let Some((expr, _)) = &group_expr {
        sql.push_str(&format!(" GROUP BY {expr}"));
        let order_measure = measure_expr(&plan.measure, people_key);
        match (plan.top, order_measure) {
            (Some((desc, n)), Some(m)) => sql.push_str(&format!(" ORDER BY {m} {}, {expr} LIMIT {n}", if desc { "DESC" } else { "ASC" })),
            _ => sql.push_str(&format!(" ORDER BY {expr}")),
        }
    }
    sql
}

/// The measure as an expression (without alias), for ORDER BY.
fn measure_expr(m: &Measure, people_key: &str) -> Option<String> {
    match m {
        Measure::List => None,
        Measure::Count { people: true } | Measure::CountAnd { people: true, .. } => Some(format!("count(DISTINCT {people_key})")),
        Measure::Count { people: false } | Measure::CountAnd { people: false, .. } => Some("count(*)".into()),
        Measure::Percent { numerator } => Some(format!("100.0 * sum(CASE WHEN {} THEN 1 ELSE 0 END) / NULLIF(count(*), 0)", all(numerator))),
        Measure::Average(c) => Some(format!("avg(t.{c})")),
        Measure::Sum(c) => Some(format!("sum(t.{c})")),
        Measure::Max(c) => Some(format!("max(t.{c})")),
        Measure::Min(c) => Some(format!("min(t.{c})")),
    }
}
