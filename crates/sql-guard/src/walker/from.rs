//! FROM items and joins: base tables become scoped wrappers, everything else is checked.

use sqlparser::ast::{
    FunctionArg, FunctionArgExpr, Ident, JoinConstraint, JoinOperator, ObjectName, Query, SetExpr,
    TableAlias, TableFactor, TableWithJoins,
};

use super::Walker;
use crate::compiled::{CompiledTable, alias_for_table};
use crate::names::{fold, ident_for, parts};
use crate::namespace::{Block, Col, Rel, RelKind};
use crate::outcome::ReasonCode;

impl<'g> Walker<'g> {
    /// Walks a FROM clause and returns the namespace it creates.
    pub(crate) fn walk_from(&mut self, from: &mut [TableWithJoins]) -> Block {
        let mut block = Block::default();
        for (i, twj) in from.iter_mut().enumerate() {
            if i > 0 {
                self.count_join();
            }
            self.table_with_joins(twj, &mut block);
        }
        block
    }

    fn table_with_joins(&mut self, twj: &mut TableWithJoins, block: &mut Block) {
        self.factor(&mut twj.relation, block);
        for join in &mut twj.joins {
            self.count_join();
            if join.global {
                self.reject(
                    ReasonCode::UnsupportedSyntax,
                    "GLOBAL JOIN is not PostgreSQL",
                );
            }
            let (constraint, cross) = match &mut join.join_operator {
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::FullOuter(c) => (c, false),
                JoinOperator::CrossJoin(c) => (c, true),
                _ => {
                    self.reject(
                        ReasonCode::UnsupportedSyntax,
                        "only [INNER|LEFT|RIGHT|FULL] JOIN ... ON/USING and CROSS JOIN are supported",
                    );
                    self.factor(&mut join.relation, block);
                    continue;
                }
            };
            let before = block.rels.len();
            self.factor(&mut join.relation, block);
            match constraint {
                JoinConstraint::On(e) if !cross => {
                    self.blocks.push(std::mem::take(block));
                    self.expr(e, "a JOIN condition");
                    *block = self.blocks.pop().unwrap_or_default();
                }
                JoinConstraint::Using(names) if !cross => {
                    for n in names.iter() {
                        let name = match parts(n) {
                            Ok(p) if p.len() == 1 => self.fold(p[0]),
                            _ => {
                                self.reject(
                                    ReasonCode::UnsupportedSyntax,
                                    format!("USING ({n}): name plain columns"),
                                );
                                None
                            }
                        };
                        if let Some(name) = name {
                            self.using_column(block, before, &name);
                        }
                    }
                }
                JoinConstraint::None if cross => {}
                JoinConstraint::Natural => self.reject(
                    ReasonCode::UnsupportedSyntax,
                    "NATURAL JOIN is not allowed; join with ON and name the columns",
                ),
                _ => self.reject(
                    ReasonCode::UnsupportedSyntax,
                    "a JOIN needs an ON or USING condition (CROSS JOIN takes none)",
                ),
            }
        }
    }

    /// Checks a `USING (col)` column on both sides of the join and merges it.
    fn using_column(&mut self, block: &mut Block, split: usize, name: &str) {
        let left = Block {
            rels: block.rels[..split].to_vec(),
            merged: block.merged.clone(),
            windows: vec![],
        };
        let right = Block {
            rels: block.rels[split..].to_vec(),
            merged: vec![],
            windows: vec![],
        };
        for side in [left, right] {
            self.blocks.push(side);
            let col = self.column_ref(
                &sqlparser::ast::Expr::Identifier(ident_for(name)),
                "a JOIN condition",
                false,
            );
            self.blocks.pop();
            if col.is_none() {
                return;
            }
        }
        block.merged.push(name.to_string());
        block.mark_all(name);
    }

    /// Walks one FROM item and adds its range variables to the block.
    fn factor(&mut self, tf: &mut TableFactor, block: &mut Block) {
        match tf {
            TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                with_ordinality,
                partitions,
                json_path,
                sample,
                index_hints,
            } => {
                if !with_hints.is_empty()
                    || version.is_some()
                    || !partitions.is_empty()
                    || json_path.is_some()
                    || sample.is_some()
                    || !index_hints.is_empty()
                {
                    self.reject(
                        ReasonCode::UnsupportedSyntax,
                        format!(
                            "table hints, TABLESAMPLE and time travel are not allowed on {name}"
                        ),
                    );
                    block.rels.push(Rel::poisoned(None, None));
                    return;
                }
                if let Some(args) = args {
                    if args.settings.is_some() {
                        self.reject(ReasonCode::UnsupportedSyntax, "SETTINGS is not PostgreSQL");
                    }
                    let name = name.clone();
                    let alias = alias.clone();
                    self.table_function(
                        &name,
                        &mut args.args,
                        *with_ordinality,
                        alias.as_ref(),
                        block,
                    );
                    return;
                }
                if *with_ordinality {
                    self.reject(
                        ReasonCode::UnsupportedSyntax,
                        "WITH ORDINALITY applies to functions, not tables",
                    );
                }
                let alias = alias.clone();
                let name = name.clone();
                self.table(tf, &name, alias.as_ref(), block);
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
                sample,
            } => {
                if sample.is_some() {
                    self.reject(ReasonCode::UnsupportedSyntax, "TABLESAMPLE is not allowed");
                }
                if !*lateral
                    && let Some(a) = alias
                        .as_ref()
                        .filter(|a| a.columns.is_empty() && a.at.is_none())
                    && let Some((ct, items)) = self.recognise_wrapper(subquery)
                {
                    let a = a.name.clone();
                    self.add_base(ct, a, items, block);
                    return;
                }
                let cols = if *lateral {
                    self.blocks.push(std::mem::take(block));
                    let cols = self.query(subquery, false);
                    *block = self.blocks.pop().unwrap_or_default();
                    cols
                } else {
                    self.query(subquery, false)
                };
                let values_body = matches!(subquery.body.as_ref(), SetExpr::Values(_));
                self.add_derived(cols, alias.as_ref(), values_body, block);
            }
            TableFactor::Function {
                lateral: _,
                name,
                args,
                with_ordinality,
                alias,
            } => {
                let name = name.clone();
                let alias = alias.clone();
                self.table_function(&name, args, *with_ordinality, alias.as_ref(), block);
            }
            TableFactor::UNNEST {
                alias,
                array_exprs,
                with_offset,
                with_offset_alias,
                with_ordinality,
            } => {
                if *with_offset || with_offset_alias.is_some() {
                    self.reject(
                        ReasonCode::UnsupportedSyntax,
                        "UNNEST ... WITH OFFSET is not PostgreSQL; use WITH ORDINALITY",
                    );
                }
                if !self.g.policy.functions.contains("unnest") {
                    self.reject(
                        ReasonCode::FunctionNotAllowed,
                        format!(
                            "function unnest is not allowed; {}",
                            self.allowed_functions()
                        ),
                    );
                }
                self.blocks.push(std::mem::take(block));
                for e in array_exprs.iter_mut() {
                    self.expr(e, "a function argument");
                }
                *block = self.blocks.pop().unwrap_or_default();
                let alias = alias.clone();
                self.add_function_rel("unnest", *with_ordinality, alias.as_ref(), block);
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                if alias.is_some() {
                    self.reject(
                        ReasonCode::UnsupportedSyntax,
                        "an alias on a parenthesised join is not supported",
                    );
                }
                self.table_with_joins(table_with_joins, block);
            }
            _ => {
                self.reject(
                    ReasonCode::UnsupportedSyntax,
                    "this FROM item is not supported; use tables, subqueries, CTEs and joins",
                );
                block.rels.push(Rel::poisoned(None, None));
            }
        }
    }

    /// A named relation: a CTE in scope, or a policy table (replaced by its wrapper).
    fn table(
        &mut self,
        tf: &mut TableFactor,
        name: &ObjectName,
        alias: Option<&TableAlias>,
        block: &mut Block,
    ) {
        let alias_name = match alias {
            Some(a) => match self.fold(&a.name) {
                Some(n) => Some(n),
                None => {
                    block.rels.push(Rel::poisoned(None, None));
                    return;
                }
            },
            None => None,
        };
        let poisoned = |block: &mut Block| {
            block.rels.push(Rel::poisoned(
                alias_name.clone(),
                alias.map(|a| a.name.clone()),
            ))
        };
        if alias.is_some_and(|a| a.at.is_some()) {
            self.reject(
                ReasonCode::UnsupportedSyntax,
                "AT in a table alias is not PostgreSQL",
            );
        }
        let idents = match parts(name) {
            Ok(p) => p,
            Err(r) => {
                self.push_reason(r);
                poisoned(block);
                return;
            }
        };
        if let [only] = idents.as_slice()
            && only.quote_style.is_none()
            && only.value.eq_ignore_ascii_case("only")
        {
            self.reject(
                ReasonCode::UnsupportedSyntax,
                "FROM ONLY is not supported (the parser does not model it); write FROM employees",
            );
            poisoned(block);
            return;
        }
        let mut folded = Vec::with_capacity(idents.len());
        for i in &idents {
            match self.fold(i) {
                Some(n) => folded.push(n),
                None => {
                    poisoned(block);
                    return;
                }
            }
        }
        let table = match folded.as_slice() {
            [t] => {
                if let Some(cte) = self.ctes.iter().rev().find(|c| &c.name == t) {
                    let cols = cte.cols.clone();
                    let alias_ident = alias
                        .map(|a| a.name.clone())
                        .unwrap_or_else(|| idents[0].clone());
                    let cols = match (cols, alias) {
                        (Some(c), Some(a)) => self.alias_columns(c, &a.columns, false, t),
                        (c, _) => c,
                    };
                    let rel_name = fold(&alias_ident).ok();
                    match cols {
                        Some(cols) => block.rels.push(Rel::new(
                            rel_name,
                            Some(alias_ident),
                            cols,
                            RelKind::Derived,
                        )),
                        None => block.rels.push(Rel::poisoned(rel_name, Some(alias_ident))),
                    }
                    return;
                }
                t.clone()
            }
            [s, t] => {
                if *s != self.g.policy.schema {
                    let schema = &self.g.policy.schema;
                    self.reject(
                        ReasonCode::SchemaNotAllowed,
                        format!("schema {s} is not available; query the tables of schema {schema} only ({})", self.allowed_tables()),
                    );
                    poisoned(block);
                    return;
                }
                t.clone()
            }
            _ => {
                self.reject(
                    ReasonCode::SchemaNotAllowed,
                    format!("{name}: use a table name, optionally qualified with its schema"),
                );
                poisoned(block);
                return;
            }
        };
        let g = self.g;
        let Some(ct) = g.tables.get(&table) else {
            let role = &self.g.policy.role;
            self.reject(
                ReasonCode::RelationNotAllowed,
                format!(
                    "relation {name} is not available to the {role} role; it may query: {}",
                    self.allowed_tables()
                ),
            );
            poisoned(block);
            return;
        };
        if let Some(a) = alias
            && !a.columns.is_empty()
        {
            let cols: Vec<Col> = ct.base_cols.clone();
            if self
                .alias_columns(cols, &a.columns, false, &table)
                .is_none()
            {
                poisoned(block);
                return;
            }
        }
        let alias_ident = alias_for_table(alias.map(|a| &a.name), &table);
        *tf = TableFactor::Derived {
            lateral: false,
            subquery: ct.skeleton.clone(),
            alias: Some(TableAlias {
                explicit: true,
                name: alias_ident.clone(),
                columns: vec![],
                at: None,
            }),
            sample: None,
        };
        self.add_base(ct, alias_ident, (0..ct.visible.len()).collect(), block);
    }

    /// Adds a scoped base table to the block and records what was injected. `items` are
    /// the indices of the visible columns the wrapper can project.
    fn add_base(&mut self, ct: &CompiledTable, alias: Ident, items: Vec<usize>, block: &mut Block) {
        if !self.facts.tables.contains(&ct.name) {
            self.facts.tables.insert(ct.name.clone());
            self.facts.injected.insert(ct.injected.clone());
        }
        let cols = items.iter().map(|&i| ct.base_cols[i].clone()).collect();
        let kind = RelKind::Base {
            table: ct.name.clone(),
            items,
        };
        block
            .rels
            .push(Rel::new(fold(&alias).ok(), Some(alias), cols, kind));
    }

    /// Whether a derived table is exactly the guard's own scoped wrapper of a policy table
    /// (with any ordered subset of its columns); returns the table and the column indices.
    fn recognise_wrapper(&self, subquery: &mut Query) -> Option<(&'g CompiledTable, Vec<usize>)> {
        let g = self.g;
        let SetExpr::Select(s) = subquery.body.as_mut() else {
            return None;
        };
        let [twj] = s.from.as_slice() else {
            return None;
        };
        let TableFactor::Table { name, .. } = &twj.relation else {
            return None;
        };
        let idents = parts(name).ok()?;
        let [schema, table] = idents.as_slice() else {
            return None;
        };
        if fold(schema).ok()? != g.policy.schema {
            return None;
        }
        let ct = g.tables.get(&fold(table).ok()?)?;
        let projection = std::mem::take(&mut s.projection);
        let same_shape = *subquery == *ct.skeleton;
        let SetExpr::Select(s) = subquery.body.as_mut() else {
            return None;
        };
        s.projection = projection;
        if !same_shape || s.projection.is_empty() {
            return None;
        }
        let mut items = Vec::with_capacity(s.projection.len());
        let mut next = 0;
        for item in &s.projection {
            let i = next + ct.items[next..].iter().position(|c| c == item)?;
            items.push(i);
            next = i + 1;
        }
        Some((ct, items))
    }

    /// Fills the projection of every scoped wrapper in a SELECT's FROM clause with the
    /// columns the query uses, once the whole query block has been walked.
    pub(crate) fn finish_select(&self, s: &mut sqlparser::ast::Select, block: &Block) {
        let mut rels = block.rels.iter();
        for twj in &mut s.from {
            self.finish_twj(twj, &mut rels);
        }
    }

    fn finish_twj<'b>(&self, twj: &mut TableWithJoins, rels: &mut impl Iterator<Item = &'b Rel>) {
        self.finish_factor(&mut twj.relation, rels);
        for join in &mut twj.joins {
            self.finish_factor(&mut join.relation, rels);
        }
    }

    fn finish_factor<'b>(&self, tf: &mut TableFactor, rels: &mut impl Iterator<Item = &'b Rel>) {
        if let TableFactor::NestedJoin {
            table_with_joins, ..
        } = tf
        {
            self.finish_twj(table_with_joins, rels);
            return;
        }
        let Some(rel) = rels.next() else { return };
        let (RelKind::Base { table, items }, TableFactor::Derived { subquery, .. }) =
            (&rel.kind, tf)
        else {
            return;
        };
        let Some(ct) = self.g.tables.get(table) else {
            return;
        };
        let SetExpr::Select(s) = subquery.body.as_mut() else {
            return;
        };
        let mut used: Vec<usize> = items
            .iter()
            .zip(&rel.used)
            .filter(|(_, u)| **u)
            .map(|(i, _)| *i)
            .collect();
        if used.is_empty() {
            let pick = if items.contains(&ct.default_item) {
                ct.default_item
            } else {
                items.first().copied().unwrap_or(ct.default_item)
            };
            used.push(pick);
        }
        s.projection = used.iter().map(|&i| ct.items[i].clone()).collect();
    }

    fn add_derived(
        &mut self,
        cols: Option<Vec<crate::namespace::Col>>,
        alias: Option<&TableAlias>,
        may_rename: bool,
        block: &mut Block,
    ) {
        let alias_ident = alias.map(|a| a.name.clone());
        let name = alias_ident.as_ref().and_then(|a| self.fold(a));
        if alias.is_some_and(|a| a.at.is_some()) {
            self.reject(
                ReasonCode::UnsupportedSyntax,
                "AT in a table alias is not PostgreSQL",
            );
        }
        let cols = match (cols, alias) {
            (Some(c), Some(a)) => self.alias_columns(
                c,
                &a.columns,
                may_rename,
                name.as_deref().unwrap_or("subquery"),
            ),
            (c, _) => c,
        };
        match cols {
            Some(cols) => block
                .rels
                .push(Rel::new(name, alias_ident, cols, RelKind::Derived)),
            None => block.rels.push(Rel::poisoned(name, alias_ident)),
        }
    }

    /// A function in FROM (`generate_series(...)`, `unnest(...)`): allowed only when the
    /// policy allows the function; its arguments may refer to earlier FROM items.
    fn table_function(
        &mut self,
        name: &ObjectName,
        args: &mut [FunctionArg],
        with_ordinality: bool,
        alias: Option<&TableAlias>,
        block: &mut Block,
    ) {
        let fname = match parts(name) {
            Ok(p) if p.len() == 1 => self.fold(p[0]),
            _ => None,
        };
        let allowed = fname
            .as_ref()
            .is_some_and(|f| self.g.policy.functions.contains(f));
        if !allowed {
            self.reject(
                ReasonCode::FunctionNotAllowed,
                format!(
                    "function {name} is not allowed in FROM; {}",
                    self.allowed_functions()
                ),
            );
        }
        self.blocks.push(std::mem::take(block));
        for arg in args.iter_mut() {
            match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => {
                    self.expr(e, "a function argument")
                }
                _ => self.reject(
                    ReasonCode::UnsupportedSyntax,
                    "named or * arguments are not allowed in a FROM function",
                ),
            }
        }
        *block = self.blocks.pop().unwrap_or_default();
        match (allowed, fname) {
            (true, Some(f)) => self.add_function_rel(&f, with_ordinality, alias, block),
            _ => block.rels.push(Rel::poisoned(
                alias.and_then(|a| fold(&a.name).ok()),
                alias.map(|a| a.name.clone()),
            )),
        }
    }

    fn add_function_rel(
        &mut self,
        fname: &str,
        with_ordinality: bool,
        alias: Option<&TableAlias>,
        block: &mut Block,
    ) {
        let rel_ident = alias
            .map(|a| a.name.clone())
            .unwrap_or_else(|| ident_for(fname));
        let rel_name = self.fold(&rel_ident);
        let mut cols = vec![Col::computed(rel_name.clone())];
        if with_ordinality {
            cols.push(Col::computed(Some("ordinality".to_string())));
        }
        let cols = match alias {
            Some(a) => self.alias_columns(cols, &a.columns, true, fname),
            None => Some(cols),
        };
        match cols {
            Some(cols) => {
                block
                    .rels
                    .push(Rel::new(rel_name, Some(rel_ident), cols, RelKind::Derived))
            }
            None => block.rels.push(Rel::poisoned(rel_name, Some(rel_ident))),
        }
    }

    /// The tables the caller may query, for messages.
    pub(crate) fn allowed_tables(&self) -> String {
        self.g.tables.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    /// The functions the caller may call, for messages.
    pub(crate) fn allowed_functions(&self) -> String {
        let names: Vec<&str> = self.g.policy.functions.iter().map(String::as_str).collect();
        format!("allowed functions: {}", names.join(", "))
    }
}
