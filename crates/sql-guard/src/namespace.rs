//! The names visible while the guard walks a query: range variables (FROM items) with
//! their columns, per query block, innermost last.

use std::sync::Arc;

use sqlparser::ast::Ident;

/// A column as the query sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Col {
    /// The column's name; `None` where PostgreSQL would name it `?column?`.
    pub name: Option<Arc<str>>,
    /// When the column carries a masked value: the masked base column (`employees.ssn`).
    pub masked: Option<Arc<str>>,
    /// When the column is a base-table column: `table.column`.
    pub base: Option<Arc<str>>,
}

impl Col {
    /// A computed column.
    pub fn computed(name: Option<String>) -> Col {
        Col {
            name: name.map(Arc::from),
            masked: None,
            base: None,
        }
    }

    /// Whether the column has this name.
    pub fn is(&self, name: &str) -> bool {
        self.name.as_deref() == Some(name)
    }
}

/// What a range variable reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RelKind {
    /// A policy table, through its scoped wrapper.
    Base {
        /// The table name.
        table: String,
        /// For each column of the range variable, its index among the table's visible
        /// columns (the wrapper's projection is rebuilt from the columns used).
        items: Vec<usize>,
    },
    /// A derived table, CTE reference, VALUES list or table function.
    Derived,
    /// A FROM item already rejected; references to it are not reported again.
    Poisoned,
}

/// A range variable: one FROM item with the name that the query uses for it.
#[derive(Debug, Clone)]
pub(crate) struct Rel {
    /// The folded name (alias, or table name), `None` for an unaliased subquery.
    pub name: Option<String>,
    /// The alias as written, used to qualify expanded `*` columns.
    pub alias: Option<Ident>,
    /// The columns, in order.
    pub cols: Vec<Col>,
    /// Which columns the query references (the scoped wrapper projects only those).
    pub used: Vec<bool>,
    /// What it reads.
    pub kind: RelKind,
}

impl Rel {
    /// A range variable.
    pub fn new(name: Option<String>, alias: Option<Ident>, cols: Vec<Col>, kind: RelKind) -> Rel {
        let used = vec![false; cols.len()];
        Rel {
            name,
            alias,
            cols,
            used,
            kind,
        }
    }

    /// A poisoned range variable.
    pub fn poisoned(name: Option<String>, alias: Option<Ident>) -> Rel {
        Rel::new(name, alias, Vec::new(), RelKind::Poisoned)
    }
}

/// The namespace of one query block (one SELECT).
#[derive(Debug, Clone, Default)]
pub(crate) struct Block {
    /// The FROM items, in order.
    pub rels: Vec<Rel>,
    /// Columns merged by `JOIN ... USING`: an unqualified reference is not ambiguous.
    pub merged: Vec<String>,
    /// Named windows of the `WINDOW` clause.
    pub windows: Vec<String>,
}

/// The outcome of looking a column name up.
pub(crate) enum Lookup {
    /// Exactly one column (or a merged USING column), with where it is.
    Found(Col, usize, usize),
    /// Found in a poisoned range variable: already reported.
    Poisoned,
    /// More than one column matches.
    Ambiguous,
    /// No column matches.
    Missing,
}

impl Block {
    /// Looks an unqualified column up in this block.
    pub fn lookup(&self, name: &str) -> Lookup {
        let mut found: Option<(&Col, usize, usize)> = None;
        let mut count = 0;
        let mut poisoned = false;
        let mut masked: Option<&Arc<str>> = None;
        for (ri, rel) in self.rels.iter().enumerate() {
            if rel.kind == RelKind::Poisoned {
                poisoned = true;
                continue;
            }
            for (ci, col) in rel.cols.iter().enumerate().filter(|(_, c)| c.is(name)) {
                count += 1;
                found.get_or_insert((col, ri, ci));
                if masked.is_none() {
                    masked = col.masked.as_ref();
                }
            }
        }
        match (found, count) {
            (Some((col, ri, ci)), 1) => Lookup::Found(col.clone(), ri, ci),
            (Some((col, ri, ci)), _) if self.merged.iter().any(|m| m == name) => {
                let mut c = col.clone();
                c.masked = masked.cloned();
                Lookup::Found(c, ri, ci)
            }
            (Some(_), _) => Lookup::Ambiguous,
            (None, _) if poisoned => Lookup::Poisoned,
            (None, _) => Lookup::Missing,
        }
    }

    /// Whether a column of this name exists in the block (for GROUP BY / ORDER BY rules).
    pub fn has_input(&self, name: &str) -> bool {
        !matches!(self.lookup(name), Lookup::Missing)
    }

    /// The range variables of this block with this name.
    pub fn rels_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Rel> + 'a {
        self.rels
            .iter()
            .filter(move |r| r.name.as_deref() == Some(name))
    }

    /// Marks every column with this name as used (USING columns).
    pub fn mark_all(&mut self, name: &str) {
        for rel in &mut self.rels {
            for (ci, col) in rel.cols.iter().enumerate() {
                if col.is(name) {
                    rel.used[ci] = true;
                }
            }
        }
    }
}

/// A column of a range variable by name, with its index.
pub(crate) fn column_of(rel: &Rel, name: &str) -> Lookup {
    if rel.kind == RelKind::Poisoned {
        return Lookup::Poisoned;
    }
    let mut it = rel.cols.iter().enumerate().filter(|(_, c)| c.is(name));
    match (it.next(), it.next()) {
        (Some((ci, c)), None) => Lookup::Found(c.clone(), 0, ci),
        (Some(_), Some(_)) => Lookup::Ambiguous,
        (None, _) => Lookup::Missing,
    }
}
