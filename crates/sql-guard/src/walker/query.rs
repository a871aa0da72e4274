//! Queries, CTEs, set operations, SELECT blocks, select lists, GROUP BY and ORDER BY.

use sqlparser::ast::{
    Distinct, Expr, GroupByExpr, NamedWindowDefinition, NamedWindowExpr, OrderBy, OrderByExpr,
    OrderByKind, OrderBySort, Query, Select, SelectFlavor, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, SetOperator, SetQuantifier, TableAliasColumnDef,
    Value, WildcardAdditionalOptions,
};

use super::{CteBinding, Walker};
use crate::names::{ident_for, output_name, parts};
use crate::namespace::{Block, Col, RelKind};
use crate::outcome::ReasonCode;
use crate::row_cap;

impl Walker<'_> {
    /// Walks a query (any nesting level). `restricted` is true inside expression subqueries,
    /// where a masked column may not even be listed. Returns the output columns, or `None`
    /// when they cannot be known because part of the query was rejected.
    pub(crate) fn query(&mut self, q: &mut Query, restricted: bool) -> Option<Vec<Col>> {
        self.depth += 1;
        let out = if self.depth > self.g.policy.max_depth + 1 {
            let max = self.g.policy.max_depth;
            self.reject(
                ReasonCode::TooDeep,
                format!("subqueries are nested more than {max} levels deep; flatten the query"),
            );
            None
        } else {
            self.query_inner(q, restricted)
        };
        self.depth -= 1;
        out
    }

    fn query_inner(&mut self, q: &mut Query, restricted: bool) -> Option<Vec<Col>> {
        if !q.locks.is_empty() {
            self.reject(
                ReasonCode::LockingClause,
                "FOR UPDATE / FOR SHARE locks are not allowed: queries are read-only",
            );
        }
        if q.for_clause.is_some()
            || q.settings.is_some()
            || q.format_clause.is_some()
            || !q.pipe_operators.is_empty()
        {
            self.reject(
                ReasonCode::UnsupportedSyntax,
                "FOR XML/JSON, SETTINGS, FORMAT and pipe operators are not PostgreSQL",
            );
        }
        let cte_mark = self.ctes.len();
        if let Some(with) = &mut q.with {
            if with.recursive && !self.g.policy.allow_recursive_cte {
                self.reject(
                    ReasonCode::RecursiveCte,
                    "WITH RECURSIVE is not allowed for this role; use a plain WITH or joins",
                );
                self.ctes.truncate(cte_mark);
                return None;
            }
            let recursive = with.recursive;
            for cte in &mut with.cte_tables {
                let Some(name) = self.fold(&cte.alias.name) else {
                    continue;
                };
                if self.ctes[cte_mark..].iter().any(|c| c.name == name) {
                    self.reject(
                        ReasonCode::UnsupportedSyntax,
                        format!("WITH query name {name} is used twice"),
                    );
                    continue;
                }
                if cte.from.is_some() || cte.alias.at.is_some() {
                    self.reject(
                        ReasonCode::UnsupportedSyntax,
                        "this form of WITH is not PostgreSQL",
                    );
                    continue;
                }
                let cols = if recursive {
                    // The recursive term sees the CTE with the columns of the first term.
                    let provisional = match cte.query.body.as_ref() {
                        SetExpr::SetOperation { left, .. } => {
                            let mut left = left.clone();
                            let joins = self.joins;
                            self.depth += 1;
                            let cols = self.set_expr(&mut left, false);
                            self.depth -= 1;
                            self.joins = joins;
                            cols
                        }
                        _ => None,
                    };
                    let provisional = provisional
                        .and_then(|c| self.alias_columns(c, &cte.alias.columns, false, &name));
                    self.ctes.push(CteBinding {
                        name: name.clone(),
                        cols: provisional,
                    });
                    let cols = self.query(&mut cte.query, false);
                    self.ctes.pop();
                    cols
                } else {
                    self.query(&mut cte.query, false)
                };
                let values_body = matches!(cte.query.body.as_ref(), SetExpr::Values(_));
                let cols = cols
                    .and_then(|c| self.alias_columns(c, &cte.alias.columns, values_body, &name));
                self.ctes.push(CteBinding { name, cols });
            }
        }

        let outputs = match q.body.as_mut() {
            SetExpr::Select(s) => {
                let (outputs, block) = self.select(s, restricted);
                self.blocks.push(block);
                if let Some(order_by) = &mut q.order_by {
                    self.order_by(order_by, outputs.as_deref(), true);
                }
                let block = self.blocks.pop().unwrap_or_default();
                self.finish_select(s, &block);
                outputs
            }
            other => {
                let outputs = self.set_expr(other, restricted);
                if let Some(order_by) = &mut q.order_by {
                    self.order_by(order_by, outputs.as_deref(), false);
                }
                outputs
            }
        };
        if let Err(r) = row_cap::normalise(q) {
            self.push_reason(r);
        }
        self.ctes.truncate(cte_mark);
        outputs
    }

    /// Checks a table alias column list: allowed when it only repeats the column names, or
    /// names columns that have no name (computed ones, a VALUES list, a table function);
    /// renaming a named column is rejected.
    pub(crate) fn alias_columns(
        &mut self,
        mut cols: Vec<Col>,
        alias_cols: &[TableAliasColumnDef],
        may_rename: bool,
        what: &str,
    ) -> Option<Vec<Col>> {
        if alias_cols.is_empty() {
            return Some(cols);
        }
        if alias_cols.len() > cols.len() {
            self.reject(
                ReasonCode::AliasColumnList,
                format!("{what} has more alias column names than columns"),
            );
            return None;
        }
        for (i, ac) in alias_cols.iter().enumerate() {
            if ac.data_type.is_some() {
                self.reject(
                    ReasonCode::AliasColumnList,
                    format!("{what}: typed alias column lists are not supported"),
                );
                return None;
            }
            let new = self.fold(&ac.name)?;
            if may_rename || cols[i].name.is_none() {
                cols[i].name = Some(new.into());
            } else if !cols[i].is(&new) {
                self.reject(
                    ReasonCode::AliasColumnList,
                    format!("{what}({}): alias column lists may not rename columns; rename them with AS in the select list", new),
                );
                return None;
            }
        }
        Some(cols)
    }

    /// Walks a query body.
    pub(crate) fn set_expr(&mut self, body: &mut SetExpr, restricted: bool) -> Option<Vec<Col>> {
        match body {
            SetExpr::Select(s) => {
                let (outputs, block) = self.select(s, restricted);
                self.finish_select(s, &block);
                outputs
            }
            SetExpr::Query(q) => self.query(q, restricted),
            SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => {
                if !matches!(
                    op,
                    SetOperator::Union | SetOperator::Except | SetOperator::Intersect
                ) {
                    self.reject(
                        ReasonCode::UnsupportedSyntax,
                        "only UNION, INTERSECT and EXCEPT are supported",
                    );
                }
                if !matches!(
                    set_quantifier,
                    SetQuantifier::All | SetQuantifier::Distinct | SetQuantifier::None
                ) {
                    self.reject(
                        ReasonCode::UnsupportedSyntax,
                        "set operations BY NAME are not PostgreSQL",
                    );
                }
                let l = self.set_expr(left, restricted);
                let r = self.set_expr(right, restricted);
                let (mut l, r) = (l?, r?);
                for (lc, rc) in l.iter_mut().zip(r) {
                    lc.base = None;
                    if lc.masked.is_none() {
                        lc.masked = rc.masked;
                    }
                }
                Some(l)
            }
            SetExpr::Values(v) => {
                if v.explicit_row || v.value_keyword {
                    self.reject(ReasonCode::UnsupportedSyntax, "write VALUES (...), (...)");
                }
                let width = v.rows.first().map_or(0, |r| r.len());
                for row in &mut v.rows {
                    for e in row.iter_mut() {
                        self.expr(e, "VALUES");
                    }
                }
                Some(
                    (1..=width)
                        .map(|i| Col::computed(Some(format!("column{i}"))))
                        .collect(),
                )
            }
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {
                self.reject(
                    ReasonCode::DataModifying,
                    "data-modifying statements are not allowed, also not inside WITH: queries are read-only",
                );
                None
            }
            SetExpr::Table(_) => {
                self.reject(
                    ReasonCode::UnsupportedSyntax,
                    "TABLE x is not supported; write SELECT ... FROM x",
                );
                None
            }
        }
    }

    /// Walks one SELECT block. Returns its output columns and its namespace (for ORDER BY).
    pub(crate) fn select(&mut self, s: &mut Select, restricted: bool) -> (Option<Vec<Col>>, Block) {
        if s.into.is_some() {
            self.reject(
                ReasonCode::SelectInto,
                "SELECT ... INTO creates a table and is not allowed; use a plain SELECT",
            );
        }
        let dialect_only = !s.optimizer_hints.is_empty()
            || s.select_modifiers.as_ref().is_some_and(|m| m.is_any_set())
            || s.top.is_some()
            || s.exclude.is_some()
            || !s.lateral_views.is_empty()
            || s.prewhere.is_some()
            || !s.connect_by.is_empty()
            || !s.cluster_by.is_empty()
            || !s.distribute_by.is_empty()
            || !s.sort_by.is_empty()
            || s.qualify.is_some()
            || s.value_table_mode.is_some()
            || s.flavor != SelectFlavor::Standard;
        if dialect_only {
            self.reject(
                ReasonCode::UnsupportedSyntax,
                "this SELECT uses syntax that is not PostgreSQL",
            );
        }

        let block = self.walk_from(&mut s.from);
        self.blocks.push(block);

        let mut window_names = Vec::new();
        for NamedWindowDefinition(name, wexpr) in &mut s.named_window {
            if let Some(n) = self.fold(name) {
                window_names.push(n);
            }
            match wexpr {
                NamedWindowExpr::WindowSpec(spec) => self.window_spec(spec),
                NamedWindowExpr::NamedWindow(_) => {
                    self.reject(ReasonCode::UnsupportedSyntax, "WINDOW w AS other_window is not PostgreSQL; use WINDOW w AS (other_window ...)")
                }
            }
        }
        if let Some(b) = self.blocks.last_mut() {
            b.windows = window_names;
        }

        if let Some(w) = &mut s.selection {
            self.expr(w, "WHERE");
        }
        let outputs = self.projection(&mut s.projection, restricted);

        match &mut s.group_by {
            GroupByExpr::All(_) => self.reject(
                ReasonCode::UnsupportedSyntax,
                "GROUP BY ALL is not PostgreSQL; list the grouping columns",
            ),
            GroupByExpr::Expressions(exprs, modifiers) => {
                if !modifiers.is_empty() {
                    self.reject(
                        ReasonCode::UnsupportedSyntax,
                        "GROUP BY ... WITH ROLLUP/CUBE/TOTALS is not PostgreSQL; use ROLLUP(...)",
                    );
                }
                for e in exprs.iter_mut() {
                    self.group_by_item(e, outputs.as_deref());
                }
            }
        }
        if let Some(h) = &mut s.having {
            self.expr(h, "HAVING");
        }
        if let Some(Distinct::On(exprs)) = &mut s.distinct {
            for e in exprs.iter_mut() {
                self.sort_key(e, outputs.as_deref(), true, "DISTINCT ON");
            }
        }
        let block = self.blocks.pop().unwrap_or_default();
        (outputs, block)
    }

    fn projection(&mut self, items: &mut Vec<SelectItem>, restricted: bool) -> Option<Vec<Col>> {
        let mut outputs = Some(Vec::with_capacity(items.len()));
        let mut rewritten = Vec::with_capacity(items.len());
        for item in std::mem::take(items) {
            match item {
                SelectItem::Wildcard(opts) => {
                    self.wildcard_options(&opts);
                    let expanded = self.expand_star(None, restricted);
                    push_expanded(&mut outputs, &mut rewritten, expanded);
                }
                SelectItem::QualifiedWildcard(
                    SelectItemQualifiedWildcardKind::ObjectName(name),
                    opts,
                ) => {
                    self.wildcard_options(&opts);
                    let rel = match parts(&name) {
                        Ok(p) if p.len() == 1 => self.fold(p[0]),
                        Ok(_) => {
                            self.reject(
                                ReasonCode::UnsupportedSyntax,
                                format!("{name}.*: use the table alias alone (e.*)"),
                            );
                            None
                        }
                        Err(r) => {
                            self.push_reason(r);
                            None
                        }
                    };
                    let expanded = match rel {
                        Some(r) => self.expand_star(Some(&r), restricted),
                        None => None,
                    };
                    push_expanded(&mut outputs, &mut rewritten, expanded);
                }
                SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::Expr(_), _) => {
                    self.reject(
                        ReasonCode::WholeRowReference,
                        "(expression).* expands a whole row; list the columns you need",
                    );
                    outputs = None;
                }
                SelectItem::UnnamedExpr(mut e) => {
                    let col = self.select_expr(&mut e, restricted);
                    let name = output_name(&e).map(std::sync::Arc::from);
                    if let (Some(o), Some(c)) = (outputs.as_mut(), col) {
                        o.push(Col { name, ..c });
                    } else {
                        outputs = None;
                    }
                    rewritten.push(SelectItem::UnnamedExpr(e));
                }
                SelectItem::ExprWithAlias { mut expr, alias } => {
                    let col = self.select_expr(&mut expr, restricted);
                    let name = self.fold(&alias);
                    match (outputs.as_mut(), col, name) {
                        (Some(o), Some(c), Some(n)) => o.push(Col {
                            name: Some(n.into()),
                            base: None,
                            ..c
                        }),
                        _ => outputs = None,
                    }
                    rewritten.push(SelectItem::ExprWithAlias { expr, alias });
                }
                SelectItem::ExprWithAliases { .. } => {
                    self.reject(
                        ReasonCode::UnsupportedSyntax,
                        "AS (a, b) in a select list is not PostgreSQL",
                    );
                    outputs = None;
                }
            }
        }
        *items = rewritten;
        outputs
    }

    fn wildcard_options(&mut self, opts: &WildcardAdditionalOptions) {
        if opts.opt_ilike.is_some()
            || opts.opt_exclude.is_some()
            || opts.opt_except.is_some()
            || opts.opt_replace.is_some()
            || opts.opt_rename.is_some()
            || opts.opt_alias.is_some()
        {
            self.reject(
                ReasonCode::UnsupportedSyntax,
                "* with EXCLUDE/EXCEPT/REPLACE/RENAME/ILIKE is not PostgreSQL",
            );
        }
    }

    /// Expands `*` (or `rel.*`) of the current block into explicit column references.
    fn expand_star(
        &mut self,
        only: Option<&str>,
        restricted: bool,
    ) -> Option<Vec<(SelectItem, Col)>> {
        let block = self.current_block()?;
        let rels: Vec<_> = block
            .rels
            .iter()
            .filter(|r| only.is_none() || r.name.as_deref() == only)
            .map(|r| {
                (
                    r.name.clone(),
                    r.alias.clone(),
                    r.cols.clone(),
                    r.kind.clone(),
                )
            })
            .collect();
        if rels.is_empty() {
            match only {
                Some(r) => self.reject(
                    ReasonCode::UnknownColumn,
                    format!("{r}.*: there is no table or alias {r} in this FROM clause"),
                ),
                None => self.reject(
                    ReasonCode::UnsupportedSyntax,
                    "SELECT * needs a FROM clause",
                ),
            }
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for (name, alias, cols, kind) in rels {
            if kind == RelKind::Poisoned {
                ok = false;
                continue;
            }
            for c in &cols {
                let Some(cname) = &c.name else {
                    self.reject(
                        ReasonCode::UnsupportedSyntax,
                        "* over a subquery with unnamed columns: give every column of the subquery a name with AS",
                    );
                    ok = false;
                    break;
                };
                if cols.iter().filter(|o| o.is(cname)).count() > 1 {
                    self.reject(
                        ReasonCode::AmbiguousColumn,
                        format!("* would list column {cname} twice from the same subquery; select the columns by name"),
                    );
                    ok = false;
                    break;
                }
                let expr = match (&name, &alias) {
                    (Some(_), Some(a)) => {
                        Expr::CompoundIdentifier(vec![a.clone(), ident_for(cname)])
                    }
                    _ => Expr::Identifier(ident_for(cname)),
                };
                // Inside an expression subquery (EXISTS, IN, scalar), where a masked column
                // may not be named, * leaves masked columns out.
                if restricted && c.masked.is_some() {
                    continue;
                }
                match self.column_ref(&expr, "the select list", !restricted) {
                    Some(col) => out.push((
                        SelectItem::UnnamedExpr(expr),
                        Col {
                            name: Some(cname.clone()),
                            ..col
                        },
                    )),
                    None => ok = false,
                }
            }
        }
        if ok && out.is_empty() {
            self.reject(
                ReasonCode::MaskedColumnMisuse,
                "* here would list only masked columns; select other columns",
            );
            return None;
        }
        ok.then_some(out)
    }

    /// A select-list expression: a bare column may be a masked one (it reads as NULL);
    /// anything else is an ordinary expression.
    fn select_expr(&mut self, e: &mut Expr, restricted: bool) -> Option<Col> {
        match e {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                self.column_ref(e, "an expression", !restricted)
            }
            _ => {
                self.expr(e, "an expression of the select list");
                Some(Col::computed(None))
            }
        }
    }

    fn group_by_item(&mut self, e: &mut Expr, outputs: Option<&[Col]>) {
        match e {
            Expr::GroupingSets(sets) | Expr::Cube(sets) | Expr::Rollup(sets) => {
                for set in sets.iter_mut() {
                    for item in set.iter_mut() {
                        self.sort_key(item, outputs, true, "GROUP BY");
                    }
                }
            }
            Expr::Identifier(i) => {
                // An input column first, then an output column name (PostgreSQL's rule).
                let name = self.fold(i);
                let is_input = name
                    .as_deref()
                    .is_some_and(|n| self.current_block().is_some_and(|b| b.has_input(n)));
                if is_input {
                    self.expr(e, "GROUP BY");
                } else {
                    self.sort_key(e, outputs, true, "GROUP BY");
                }
            }
            _ => self.sort_key(e, outputs, true, "GROUP BY"),
        }
    }

    fn order_by(&mut self, order_by: &mut OrderBy, outputs: Option<&[Col]>, has_block: bool) {
        if order_by.interpolate.is_some() {
            self.reject(
                ReasonCode::UnsupportedSyntax,
                "INTERPOLATE is not PostgreSQL",
            );
        }
        match &mut order_by.kind {
            OrderByKind::All(_) => self.reject(
                ReasonCode::UnsupportedSyntax,
                "ORDER BY ALL is not PostgreSQL",
            ),
            OrderByKind::Expressions(items) => {
                for item in items.iter_mut() {
                    self.order_by_options(item);
                    self.sort_key(&mut item.expr, outputs, has_block, "ORDER BY");
                }
            }
        }
    }

    /// Checks the options of one ORDER BY item (`USING <operator>` and WITH FILL are not
    /// allowed).
    pub(crate) fn order_by_options(&mut self, item: &OrderByExpr) {
        if matches!(item.options.sort, Some(OrderBySort::Using(_))) {
            self.reject(
                ReasonCode::OperatorNotAllowed,
                "ORDER BY ... USING <operator> is not allowed; use ASC or DESC",
            );
        }
        if item.with_fill.is_some() {
            self.reject(ReasonCode::UnsupportedSyntax, "WITH FILL is not PostgreSQL");
        }
    }

    /// An ORDER BY / GROUP BY / DISTINCT ON key: a position, an output column name, or an
    /// expression over the input columns (only output names and positions after a set
    /// operation).
    fn sort_key(&mut self, e: &mut Expr, outputs: Option<&[Col]>, has_block: bool, clause: &str) {
        if let Expr::Value(v) = e
            && let Value::Number(n, false) = &v.value
        {
            let Some(outputs) = outputs else { return };
            match n.parse::<usize>() {
                Ok(i) if i >= 1 && i <= outputs.len() => {
                    if let Some(m) = &outputs[i - 1].masked {
                        let tier = self.g.policy.tier.label();
                        self.reject(
                                ReasonCode::MaskedColumnMisuse,
                                format!("column {m} is masked for the {tier} tier (it reads as NULL) and may not be used in {clause}"),
                            );
                    }
                }
                _ => self.reject(
                    ReasonCode::UnknownColumn,
                    format!(
                        "{clause} position {n} is not in the select list (1 to {})",
                        outputs.len()
                    ),
                ),
            }
            return;
        }
        if let Expr::Identifier(i) = e
            && let (Some(name), Some(outputs)) = (crate::names::fold(i).ok(), outputs)
        {
            let matches: Vec<&Col> = outputs.iter().filter(|c| c.is(&name)).collect();
            let input = has_block && self.current_block().is_some_and(|b| b.has_input(&name));
            if matches.len() > 1 && !input {
                self.reject(
                    ReasonCode::AmbiguousColumn,
                    format!("{clause} {name} is ambiguous: the select list has it twice"),
                );
                return;
            }
            if let Some(c) = matches.first()
                && (clause != "GROUP BY" || !input)
            {
                if let Some(m) = &c.masked {
                    let tier = self.g.policy.tier.label();
                    self.reject(
                                ReasonCode::MaskedColumnMisuse,
                                format!("column {m} is masked for the {tier} tier (it reads as NULL) and may not be used in {clause}"),
                            );
                }
                return;
            }
        }
        if has_block {
            self.expr(e, clause);
        } else {
            self.reject(
                ReasonCode::UnsupportedSyntax,
                format!("{clause} after UNION/INTERSECT/EXCEPT or VALUES may use only output column names or positions"),
            );
        }
    }
}

fn push_expanded(
    outputs: &mut Option<Vec<Col>>,
    rewritten: &mut Vec<SelectItem>,
    expanded: Option<Vec<(SelectItem, Col)>>,
) {
    match expanded {
        Some(items) => {
            for (item, col) in items {
                if let Some(o) = outputs.as_mut() {
                    o.push(col);
                }
                rewritten.push(item);
            }
        }
        None => *outputs = None,
    }
}
