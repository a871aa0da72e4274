//! The names visible while the guard walks a query: range variables (FROM items) with
//! their columns, per query block, innermost last.

use sqlparser::ast::Ident;

/// A column as the query sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Col {
    /// The column's name; `None` where PostgreSQL would name it `?column?`.
    pub name: Option<String>,
    /// When the column carries a masked value: the masked base column (`employees.ssn`).
    pub masked: Option<String>,
    /// When the column is a base-table column: `table.column`.
    pub base: Option<String>,
}

impl Col {
    /// A computed column.
    pub fn computed(name: Option<String>) -> Col {
        Col { name, masked: None, base: None }
    }
}

/// What a range variable reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RelKind {
    /// A policy table, through its scoped wrapper.
    Base {
        /// The table name.
        table: String,
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
    /// What it reads.
    pub kind: RelKind,
}

impl Rel {
    /// A poisoned range variable.
    pub fn poisoned(name: Option<String>, alias: Option<Ident>) -> Rel {
        Rel { name, alias, cols: Vec::new(), kind: RelKind::Poisoned }
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
    /// Exactly one column.
    Found(Col),
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
        let mut found: Option<&Col> = None;
        let mut count = 0;
        let mut poisoned = false;
        let mut masked: Option<&String> = None;
        for rel in &self.rels {
            if rel.kind == RelKind::Poisoned {
                poisoned = true;
                continue;
            }
            for col in rel.cols.iter().filter(|c| c.name.as_deref() == Some(name)) {
                count += 1;
                found.get_or_insert(col);
                if masked.is_none() {
                    masked = col.masked.as_ref();
                }
            }
        }
        match (found, count) {
            (Some(col), 1) => Lookup::Found(col.clone()),
            (Some(col), _) if self.merged.iter().any(|m| m == name) => {
                let mut c = col.clone();
                c.masked = masked.cloned();
                Lookup::Found(c)
            }
            (Some(_), _) => Lookup::Ambiguous,
            (None, _) if poisoned => Lookup::Poisoned,
            (None, _) => Lookup::Missing,
        }
    }

    /// The range variables of this block with this name.
    pub fn rels_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Rel> + 'a {
        self.rels.iter().filter(move |r| r.name.as_deref() == Some(name))
    }
}

/// A column of a range variable by name.
pub(crate) fn column_of(rel: &Rel, name: &str) -> Lookup {
    if rel.kind == RelKind::Poisoned {
        return Lookup::Poisoned;
    }
    let mut it = rel.cols.iter().filter(|c| c.name.as_deref() == Some(name));
    match (it.next(), it.next()) {
        (Some(c), None) => Lookup::Found(c.clone()),
        (Some(_), Some(_)) => Lookup::Ambiguous,
        (None, _) => Lookup::Missing,
    }
}
