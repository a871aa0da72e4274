//! An independent check of the guard's output, written against the policy and the parser
//! only (not the guard's internals): the statement is one query, every relation is a
//! policy table read through a scoped wrapper with the exact scope predicates, no masked or
//! rejected column is mentioned inside a wrapper, every function is allowed, no bind
//! parameter appears outside a wrapper, no lock or INTO, and the outer LIMIT is capped.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use deriq_sql_guard::{ColumnAccess, Policy, ScopeFilter};
use sqlparser::ast::{
    BinaryOperator, Expr, LimitClause, ObjectNamePart, Query, SelectItem, SetExpr, Statement,
    TableFactor, Value, Visit, Visitor,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// The scope predicates a policy demands for a table, each as printed.
pub fn expected_conjuncts(policy: &Policy, table: &str) -> BTreeSet<String> {
    let mut n = 1;
    let loc = policy.scope.location_ids.as_ref().map(|_| {
        n += 1;
        n
    });
    let emp = policy.scope.employee_id.as_ref().map(|_| {
        n += 1;
        n
    });
    let mut out = BTreeSet::new();
    for f in &policy.tables[table].scope {
        match f {
            ScopeFilter::Tenant { column } => {
                out.insert(format!("{column} = ANY($1::UUID[])"));
            }
            ScopeFilter::Locations { column } => {
                if let Some(n) = loc {
                    out.insert(format!("{column} = ANY(${n}::UUID[])"));
                }
            }
            ScopeFilter::Employee { column } => {
                if let Some(n) = emp {
                    out.insert(format!("{column} = ${n}::UUID"));
                }
            }
        }
    }
    out
}

fn conjuncts(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        Expr::Nested(inner) => conjuncts(inner, out),
        other => out.push(other.to_string()),
    }
}

fn plain_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(i) => Some(if i.quote_style.is_some() {
            i.value.clone()
        } else {
            i.value.to_ascii_lowercase()
        }),
        _ => None,
    }
}

struct Checker<'p> {
    policy: &'p Policy,
    relations: usize,
    wrappers: usize,
    wrapper_params: usize,
    params: usize,
    ctes: BTreeSet<String>,
    errors: Vec<String>,
}

impl Checker<'_> {
    fn wrapper_table(&self, q: &Query) -> Option<String> {
        let SetExpr::Select(s) = q.body.as_ref() else {
            return None;
        };
        let [twj] = s.from.as_slice() else {
            return None;
        };
        if !twj.joins.is_empty() {
            return None;
        }
        let TableFactor::Table {
            name, args: None, ..
        } = &twj.relation
        else {
            return None;
        };
        match name.0.as_slice() {
            [
                ObjectNamePart::Identifier(schema),
                ObjectNamePart::Identifier(t),
            ] if schema.value == self.policy.schema => Some(t.value.clone()),
            _ => None,
        }
    }

    fn check_wrapper(&mut self, table: &str, q: &Query) {
        let Some(tp) = self.policy.tables.get(table) else {
            self.errors
                .push(format!("table {table} is not in the policy"));
            return;
        };
        let SetExpr::Select(s) = q.body.as_ref() else {
            return;
        };
        let mut got = Vec::new();
        match &s.selection {
            Some(sel) => conjuncts(sel, &mut got),
            None => self.errors.push(format!("wrapper of {table} has no WHERE")),
        }
        let got: BTreeSet<String> = got.into_iter().collect();
        let want = expected_conjuncts(self.policy, table);
        if got != want {
            self.errors.push(format!(
                "wrapper of {table} has predicates {got:?}, expected {want:?}"
            ));
        }
        self.wrapper_params += want.len();
        for item in &s.projection {
            let (expr, alias) = match item {
                SelectItem::UnnamedExpr(e) => (e, None),
                SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.clone())),
                other => {
                    self.errors
                        .push(format!("wrapper of {table} projects {other}"));
                    continue;
                }
            };
            if let Some(name) = plain_name(expr) {
                match tp
                    .columns
                    .iter()
                    .find(|c| c.name == name)
                    .map(|c| &c.access)
                {
                    Some(ColumnAccess::Allowed) => {}
                    other => self.errors.push(format!(
                        "wrapper of {table} reads column {name} ({other:?})"
                    )),
                }
            } else if let Expr::Cast { expr, .. } = expr {
                let is_null = matches!(expr.as_ref(), Expr::Value(v) if v.value == Value::Null);
                let masked = alias
                    .as_ref()
                    .and_then(|a| tp.columns.iter().find(|c| &c.name == a));
                if !is_null || !matches!(masked.map(|c| &c.access), Some(ColumnAccess::Masked)) {
                    self.errors
                        .push(format!("wrapper of {table} projects {expr} AS {alias:?}"));
                }
            } else {
                self.errors
                    .push(format!("wrapper of {table} projects {expr}"));
            }
        }
    }
}

fn selects_have_no_into(body: &SetExpr) -> bool {
    match body {
        SetExpr::Select(s) => s.into.is_none(),
        SetExpr::SetOperation { left, right, .. } => {
            selects_have_no_into(left) && selects_have_no_into(right)
        }
        SetExpr::Query(q) => selects_have_no_into(&q.body),
        SetExpr::Values(_) => true,
        _ => false,
    }
}

impl Visitor for Checker<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if !q.locks.is_empty() {
            self.errors.push("a locking clause".into());
        }
        if !selects_have_no_into(&q.body) {
            self.errors.push("SELECT INTO or a write".into());
        }
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.clone());
            }
        }
        if let Some(t) = self.wrapper_table(q) {
            self.wrappers += 1;
            self.check_wrapper(&t, q);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, tf: &TableFactor) -> ControlFlow<()> {
        match tf {
            TableFactor::Table {
                name, args: None, ..
            } if matches!(name.0.as_slice(), [ObjectNamePart::Identifier(c)] if self.ctes.contains(&c.value)) =>
                {}
            TableFactor::Table {
                name, args: None, ..
            } => {
                self.relations += 1;
                let ok = matches!(name.0.as_slice(),
                    [ObjectNamePart::Identifier(s), ObjectNamePart::Identifier(t)]
                        if s.value == self.policy.schema && self.policy.tables.contains_key(&t.value));
                if !ok {
                    self.errors
                        .push(format!("relation {name} is not a policy table"));
                }
            }
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            }
            | TableFactor::Function { name, .. } => {
                let ok = matches!(name.0.as_slice(), [ObjectNamePart::Identifier(f)]
                    if self.policy.functions.contains(&f.value.to_ascii_lowercase()) && f.quote_style.is_none());
                if !ok {
                    self.errors
                        .push(format!("table function {name} is not allowed"));
                }
            }
            TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. }
            | TableFactor::UNNEST { .. } => {}
            other => self.errors.push(format!("FROM item {other}")),
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        match e {
            Expr::Function(f) => {
                let ok = matches!(f.name.0.as_slice(), [ObjectNamePart::Identifier(i)]
                    if self.policy.functions.contains(&if i.quote_style.is_some() { i.value.clone() } else { i.value.to_ascii_lowercase() }));
                if !ok {
                    self.errors
                        .push(format!("function {} is not allowed", f.name));
                }
            }
            Expr::Value(v) => {
                if let Value::Placeholder(_) = v.value {
                    self.params += 1;
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// Checks an accepted statement against the policy; `Err` lists what is wrong.
pub fn verify(sql: &str, policy: &Policy) -> Result<(), String> {
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .map_err(|e| format!("does not re-parse: {e}"))?;
    let [Statement::Query(q)] = statements.as_slice() else {
        return Err(format!("not exactly one query: {sql}"));
    };
    let mut errors = Vec::new();
    match &q.limit_clause {
        Some(LimitClause::LimitOffset {
            limit: Some(Expr::Value(v)),
            ..
        }) => match &v.value {
            Value::Number(n, _) if n.parse::<u64>().is_ok_and(|n| n <= policy.row_cap) => {}
            other => errors.push(format!("outer LIMIT {other} is above the cap")),
        },
        other => errors.push(format!("no outer LIMIT: {other:?}")),
    }
    if q.fetch.is_some() {
        errors.push("FETCH in the output".into());
    }
    let mut checker = Checker {
        policy,
        relations: 0,
        wrappers: 0,
        wrapper_params: 0,
        params: 0,
        ctes: BTreeSet::new(),
        errors,
    };
    let _ = statements.visit(&mut checker);
    if checker.relations != checker.wrappers {
        checker.errors.push(format!(
            "{} relations but {} scoped wrappers",
            checker.relations, checker.wrappers
        ));
    }
    if checker.params != checker.wrapper_params {
        checker.errors.push(format!(
            "{} bind parameters, {} of them in wrappers",
            checker.params, checker.wrapper_params
        ));
    }
    if checker.errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n  in: {sql}", checker.errors.join("; ")))
    }
}
