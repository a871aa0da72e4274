//! The walk over one statement's syntax tree: it validates every node against the policy
//! and rewrites the tree in place (scoped wrappers, `*` expansion, row cap), collecting
//! every reason for a rejection.

mod expr;
mod from;
mod query;

use std::collections::BTreeSet;

use sqlparser::ast::{Expr, Ident, Statement};

use crate::compiled::Guard;
use crate::names::fold;
use crate::namespace::{Block, Col, Lookup, RelKind, column_of};
use crate::outcome::{Reason, ReasonCode};
use crate::row_cap;

/// Expressions nested deeper than this are rejected (the walk is recursive).
pub(crate) const MAX_EXPR_DEPTH: usize = 96;

/// What an accepted statement reads, for the report.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    pub tables: BTreeSet<String>,
    pub columns_read: BTreeSet<String>,
    pub masked: BTreeSet<String>,
    pub injected: BTreeSet<String>,
    pub row_cap: u64,
}

/// A CTE name in scope with its columns (`None`: its body was rejected).
#[derive(Debug, Clone)]
pub(crate) struct CteBinding {
    pub name: String,
    pub cols: Option<Vec<Col>>,
}

/// The walker's state for one statement.
pub(crate) struct Walker<'g> {
    pub(crate) g: &'g Guard,
    reasons: Vec<Reason>,
    pub(crate) facts: Facts,
    joins: usize,
    ctes: Vec<CteBinding>,
    blocks: Vec<Block>,
    depth: usize,
    expr_depth: usize,
}

impl<'g> Walker<'g> {
    /// A walker for one statement.
    pub fn new(g: &'g Guard) -> Self {
        Walker {
            g,
            reasons: Vec::new(),
            facts: Facts::default(),
            joins: 0,
            ctes: Vec::new(),
            blocks: Vec::new(),
            depth: 0,
            expr_depth: 0,
        }
    }

    /// The reasons found, each once, in the order found.
    pub fn into_reasons(self) -> Vec<Reason> {
        let mut seen = BTreeSet::new();
        self.reasons
            .into_iter()
            .filter(|r| seen.insert(r.clone()))
            .collect()
    }

    /// Records a reason for rejecting the statement.
    pub(crate) fn reject(&mut self, code: ReasonCode, message: impl Into<String>) {
        self.reasons.push(Reason::new(code, message));
    }

    pub(crate) fn push_reason(&mut self, reason: Reason) {
        self.reasons.push(reason);
    }

    /// Folds an identifier, recording a reason when it cannot be used.
    pub(crate) fn fold(&mut self, ident: &Ident) -> Option<String> {
        match fold(ident) {
            Ok(n) => Some(n),
            Err(r) => {
                self.push_reason(r);
                None
            }
        }
    }

    /// Validates and rewrites one statement.
    pub fn statement(&mut self, statement: &mut Statement) {
        match statement {
            Statement::Query(q) => {
                let _ = self.query(q, false);
                match row_cap::apply(q, self.g.policy.row_cap) {
                    Ok(n) => self.facts.row_cap = n,
                    Err(r) => self.push_reason(r),
                }
                if self.joins > self.g.policy.max_joins {
                    let (n, max) = (self.joins, self.g.policy.max_joins);
                    self.reject(
                        ReasonCode::TooManyJoins,
                        format!("the query has {n} joins; at most {max} are allowed, so split the question or aggregate first"),
                    );
                }
            }
            Statement::Insert(_)
            | Statement::Update(_)
            | Statement::Delete(_)
            | Statement::Merge(_) => self.reject(
                ReasonCode::DataModifying,
                "only read-only queries are allowed: INSERT, UPDATE, DELETE and MERGE are not",
            ),
            Statement::Explain { .. } | Statement::ExplainTable { .. } => self.reject(
                ReasonCode::NotAQuery,
                "EXPLAIN is not allowed; send the SELECT itself",
            ),
            _ => self.reject(
                ReasonCode::NotAQuery,
                "only a single query is allowed (SELECT, WITH, UNION/INTERSECT/EXCEPT or VALUES); \
                 SET, SHOW, COPY, CALL, DO, transaction control and DDL are not",
            ),
        }
    }

    pub(crate) fn count_join(&mut self) {
        self.joins += 1;
    }

    /// The innermost query block.
    pub(crate) fn current_block(&self) -> Option<&Block> {
        self.blocks.last()
    }

    /// Resolves a column reference (`c` or `t.c`) and checks how it may be used.
    /// `allow_masked` is true only for a bare column listed in a select list.
    pub(crate) fn column_ref(
        &mut self,
        expr: &Expr,
        clause: &str,
        allow_masked: bool,
    ) -> Option<Col> {
        let idents: Vec<&Ident> = match expr {
            Expr::Identifier(i) => vec![i],
            Expr::CompoundIdentifier(parts) => parts.iter().collect(),
            _ => return None,
        };
        let mut names = Vec::with_capacity(idents.len());
        for i in &idents {
            names.push(self.fold(i)?);
        }
        let col = match names.as_slice() {
            [c] => self.resolve_unqualified(c)?,
            [t, c] => self.resolve_qualified(t, c)?,
            _ => {
                self.reject(
                    ReasonCode::UnsupportedSyntax,
                    format!("column reference {expr}: qualify columns with the table name or alias only (e.id)"),
                );
                return None;
            }
        };
        if let Some(m) = &col.masked {
            self.facts.masked.insert(m.to_string());
            if !allow_masked {
                let tier = self.g.policy.tier.label();
                self.reject(
                    ReasonCode::MaskedColumnMisuse,
                    format!(
                        "column {m} is masked for the {tier} tier (it reads as NULL): it may only be listed as it is \
                         in the select list, not used in {clause}"
                    ),
                );
            }
        }
        if let Some(b) = &col.base
            && !self.facts.columns_read.contains(b.as_ref())
        {
            self.facts.columns_read.insert(b.to_string());
        }
        Some(col)
    }

    fn resolve_unqualified(&mut self, name: &str) -> Option<Col> {
        let outcome = self
            .blocks
            .iter()
            .enumerate()
            .rev()
            .map(|(bi, b)| (bi, b.lookup(name)))
            .find(|(_, l)| !matches!(l, Lookup::Missing));
        match outcome {
            Some((bi, Lookup::Found(c, ri, ci))) => {
                let block = &mut self.blocks[bi];
                if block.merged.iter().any(|m| m == name) {
                    block.mark_all(name);
                } else {
                    block.rels[ri].used[ci] = true;
                }
                return Some(c);
            }
            Some((_, Lookup::Poisoned)) => return None,
            Some((_, Lookup::Ambiguous)) => {
                self.reject(
                    ReasonCode::AmbiguousColumn,
                    format!("column {name} is ambiguous: it exists in more than one table; qualify it (e.{name})"),
                );
                return None;
            }
            Some((_, Lookup::Missing)) | None => {}
        }
        if self
            .blocks
            .iter()
            .any(|b| b.rels_named(name).next().is_some())
        {
            self.reject(
                ReasonCode::WholeRowReference,
                format!("{name} refers to a whole row; list the columns you need instead ({name}.id, ...)"),
            );
            return None;
        }
        if let Some(reason) = self.rejected_column_reason(None, name) {
            self.push_reason(reason);
            return None;
        }
        let available = self.available_columns();
        self.reject(
            ReasonCode::UnknownColumn,
            format!("column {name} does not exist in the tables of this query; available columns: {available}"),
        );
        None
    }

    fn resolve_qualified(&mut self, table: &str, name: &str) -> Option<Col> {
        enum Outcome {
            Col(Lookup),
            Missing { base: Option<String>, cols: String },
            TwoRels,
            NoRel,
        }
        let mut outcome = Outcome::NoRel;
        let mut place = None;
        for (bi, block) in self.blocks.iter().enumerate().rev() {
            let mut rels = block
                .rels
                .iter()
                .enumerate()
                .filter(|(_, r)| r.name.as_deref() == Some(table));
            if let Some((ri, rel)) = rels.next() {
                outcome = if rels.next().is_some() {
                    Outcome::TwoRels
                } else {
                    place = Some((bi, ri));
                    match column_of(rel, name) {
                        Lookup::Missing => Outcome::Missing {
                            base: match &rel.kind {
                                RelKind::Base { table, .. } => Some(table.clone()),
                                _ => None,
                            },
                            cols: rel
                                .cols
                                .iter()
                                .filter_map(|c| c.name.as_deref())
                                .collect::<Vec<_>>()
                                .join(", "),
                        },
                        other => Outcome::Col(other),
                    }
                };
                break;
            }
        }
        match outcome {
            Outcome::Col(Lookup::Found(c, _, ci)) => {
                if let Some((bi, ri)) = place {
                    self.blocks[bi].rels[ri].used[ci] = true;
                }
                return Some(c);
            }
            Outcome::Col(Lookup::Poisoned) | Outcome::Col(Lookup::Missing) => {}
            Outcome::Col(Lookup::Ambiguous) => {
                self.reject(
                    ReasonCode::AmbiguousColumn,
                    format!("{table}.{name} names more than one column"),
                );
            }
            Outcome::TwoRels => self.reject(
                ReasonCode::AmbiguousColumn,
                format!("table name {table} is used more than once in FROM; give each an alias"),
            ),
            Outcome::NoRel => self.reject(
                ReasonCode::UnknownColumn,
                format!("{table}.{name}: there is no table or alias {table} in the FROM clause"),
            ),
            Outcome::Missing { base, cols } => {
                match base
                    .as_deref()
                    .and_then(|b| self.rejected_column_reason(Some(b), name))
                {
                    Some(reason) => self.push_reason(reason),
                    None => self.reject(
                        ReasonCode::UnknownColumn,
                        format!("{table} has no column {name}; its columns are: {cols}"),
                    ),
                }
            }
        }
        None
    }

    /// The reason for a column that exists in a base table of the query but is not
    /// available to the caller.
    fn rejected_column_reason(&self, only: Option<&str>, name: &str) -> Option<Reason> {
        let role = &self.g.policy.role;
        for block in self.blocks.iter().rev() {
            for rel in &block.rels {
                let RelKind::Base { table, .. } = &rel.kind else {
                    continue;
                };
                if only.is_some_and(|o| o != table) {
                    continue;
                }
                let Some(ct) = self.g.tables.get(table) else {
                    continue;
                };
                if let Some((_, hint)) = ct.rejected.iter().find(|(c, _)| c == name) {
                    let hint = if hint.is_empty() {
                        "it cannot be queried".to_string()
                    } else {
                        hint.clone()
                    };
                    return Some(Reason::new(
                        ReasonCode::ColumnNotAllowed,
                        format!(
                            "column {table}.{name} is not available to the {role} role; {hint}"
                        ),
                    ));
                }
            }
        }
        None
    }

    fn available_columns(&self) -> String {
        let mut out = Vec::new();
        if let Some(block) = self.blocks.last() {
            for rel in &block.rels {
                for c in &rel.cols {
                    if let Some(n) = &c.name {
                        match &rel.name {
                            Some(r) => out.push(format!("{r}.{n}")),
                            None => out.push(n.to_string()),
                        }
                    }
                }
            }
        }
        if out.is_empty() {
            "none (there is no FROM clause here)".to_string()
        } else {
            out.join(", ")
        }
    }
}
