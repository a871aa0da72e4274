//! A policy checked once and turned into what the guard needs per statement: the scoped
//! wrapper of every table, the visible columns, and the bind parameters.

use std::collections::BTreeMap;
use std::sync::Arc;

use sqlparser::ast::{
    ArrayElemTypeDef, BinaryOperator, CastKind, DataType, Expr, GroupByExpr, Ident, ObjectName,
    Query, Select, SelectFlavor, SelectItem, SetExpr, Statement, TableFactor, TableWithJoins,
    Value, helpers::attached_token::AttachedToken,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::names::{ident_for, is_plain_name};
use crate::namespace::Col;
use crate::outcome::Param;
use crate::parens::parenthesize;
use crate::policy::{ColumnAccess, Policy, PolicyError, ScopeFilter};

/// One visible column of a compiled table.
#[derive(Debug, Clone)]
pub(crate) struct VisibleColumn {
    /// Column name.
    pub name: String,
    /// Whether the wrapper replaces it with a typed NULL.
    pub masked: bool,
}

/// One table of the policy, ready for rewriting.
#[derive(Debug, Clone)]
pub(crate) struct CompiledTable {
    /// Table name.
    pub name: String,
    /// The scoped subquery that replaces every reference to the table, without its
    /// projection, in the exact form that the parser gives back after printing (so that
    /// the guard recognises its own output).
    pub skeleton: Box<Query>,
    /// The projection item of each visible column (`id`, `NULL::TEXT AS first_name`); a
    /// wrapper projects the items of the columns the query uses, in this order.
    pub items: Vec<SelectItem>,
    /// The item projected when the query uses no column of the table (`count(*)`).
    pub default_item: usize,
    /// The columns the wrapper can expose, in catalogue order.
    pub visible: Vec<VisibleColumn>,
    /// The same columns as the query sees them.
    pub base_cols: Vec<Col>,
    /// Columns that exist but are not available, with the hint of what to use instead.
    pub rejected: Vec<(String, String)>,
    /// The injected predicate, for the report (`employees: tenant_id = ANY($1::uuid[])`).
    pub injected: String,
}

/// A policy compiled for checking statements; build it once per caller and reuse it.
#[derive(Debug, Clone)]
pub struct Guard {
    pub(crate) policy: Policy,
    pub(crate) tables: BTreeMap<String, CompiledTable>,
    pub(crate) params: Vec<Param>,
}

/// The placeholders of the three scope values, numbered in order of presence.
struct ParamSlots {
    tenants: usize,
    locations: Option<usize>,
    employee: Option<usize>,
}

impl Guard {
    /// Checks the policy and prepares the scoped wrapper of every table.
    pub fn new(policy: Policy) -> Result<Guard, PolicyError> {
        if !is_plain_name(&policy.schema) {
            return Err(PolicyError::BadName(policy.schema.clone()));
        }
        let (slots, params) = param_slots(&policy);
        let mut tables = BTreeMap::new();
        for (name, tp) in &policy.tables {
            if !is_plain_name(name) {
                return Err(PolicyError::BadName(name.clone()));
            }
            let mut visible = Vec::new();
            let mut rejected = Vec::new();
            let mut projection = Vec::new();
            for c in &tp.columns {
                if !is_plain_name(&c.name) {
                    return Err(PolicyError::BadName(c.name.clone()));
                }
                if tp.columns.iter().filter(|o| o.name == c.name).count() > 1 {
                    return Err(PolicyError::DuplicateColumn {
                        table: name.clone(),
                        column: c.name.clone(),
                    });
                }
                match &c.access {
                    ColumnAccess::Allowed => {
                        visible.push(VisibleColumn {
                            name: c.name.clone(),
                            masked: false,
                        });
                        projection.push(SelectItem::UnnamedExpr(Expr::Identifier(ident_for(
                            &c.name,
                        ))));
                    }
                    ColumnAccess::Masked => {
                        let data_type =
                            parse_type(&c.sql_type).ok_or_else(|| PolicyError::BadType {
                                table: name.clone(),
                                column: c.name.clone(),
                                sql_type: c.sql_type.clone(),
                            })?;
                        visible.push(VisibleColumn {
                            name: c.name.clone(),
                            masked: true,
                        });
                        projection.push(SelectItem::ExprWithAlias {
                            expr: Expr::Cast {
                                kind: CastKind::DoubleColon,
                                expr: Box::new(Expr::Value(Value::Null.into())),
                                data_type,
                                format: None,
                            },
                            alias: ident_for(&c.name),
                        });
                    }
                    ColumnAccess::Rejected { hint } => {
                        rejected.push((c.name.clone(), hint.clone()))
                    }
                }
            }
            if projection.is_empty() {
                return Err(PolicyError::NoVisibleColumns(name.clone()));
            }
            if !tp
                .scope
                .iter()
                .any(|f| matches!(f, ScopeFilter::Tenant { .. }))
            {
                return Err(PolicyError::UnscopedTable(name.clone()));
            }
            let mut predicate: Option<Expr> = None;
            for f in &tp.scope {
                if !tp.columns.iter().any(|c| c.name == f.column()) {
                    return Err(PolicyError::UnknownScopeColumn {
                        table: name.clone(),
                        column: f.column().to_string(),
                    });
                }
                let Some(p) = scope_predicate(f, &slots) else {
                    continue;
                };
                predicate = Some(match predicate {
                    None => p,
                    Some(acc) => Expr::BinaryOp {
                        left: Box::new(acc),
                        op: BinaryOperator::And,
                        right: Box::new(p),
                    },
                });
            }
            let from = TableFactor::Table {
                name: ObjectName::from(vec![ident_for(&policy.schema), ident_for(name)]),
                alias: None,
                args: None,
                with_hints: vec![],
                version: None,
                with_ordinality: false,
                partitions: vec![],
                json_path: None,
                sample: None,
                index_hints: vec![],
            };
            let mut skeleton = normalise(select_query(projection, from, predicate.clone()))
                .ok_or_else(|| PolicyError::WrapperRoundTrip(name.clone()))?;
            let items = match skeleton.body.as_mut() {
                SetExpr::Select(s) => std::mem::take(&mut s.projection),
                _ => return Err(PolicyError::WrapperRoundTrip(name.clone())),
            };
            let base_cols = visible
                .iter()
                .map(|v| {
                    let qualified: Arc<str> = Arc::from(format!("{name}.{}", v.name));
                    Col {
                        name: Some(Arc::from(v.name.as_str())),
                        masked: v.masked.then(|| qualified.clone()),
                        base: Some(qualified),
                    }
                })
                .collect();
            let default_item = visible.iter().position(|v| !v.masked).unwrap_or(0);
            let injected = match &predicate {
                Some(p) => format!("{name}: {p}"),
                None => format!("{name}: (no predicate)"),
            };
            tables.insert(
                name.clone(),
                CompiledTable {
                    name: name.clone(),
                    skeleton,
                    items,
                    default_item,
                    visible,
                    base_cols,
                    rejected,
                    injected,
                },
            );
        }
        Ok(Guard {
            policy,
            tables,
            params,
        })
    }

    /// The policy this guard enforces.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The bind parameters every accepted statement carries.
    pub fn params(&self) -> &[Param] {
        &self.params
    }
}

fn param_slots(policy: &Policy) -> (ParamSlots, Vec<Param>) {
    let mut params = vec![Param::UuidArray(policy.scope.tenant_ids.clone())];
    let locations = policy.scope.location_ids.as_ref().map(|ids| {
        params.push(Param::UuidArray(ids.clone()));
        params.len()
    });
    let employee = policy.scope.employee_id.as_ref().map(|id| {
        params.push(Param::Uuid(id.clone()));
        params.len()
    });
    (
        ParamSlots {
            tenants: 1,
            locations,
            employee,
        },
        params,
    )
}

fn placeholder(n: usize, data_type: DataType) -> Expr {
    Expr::Cast {
        kind: CastKind::DoubleColon,
        expr: Box::new(Expr::Value(Value::Placeholder(format!("${n}")).into())),
        data_type,
        format: None,
    }
}

fn uuid_array() -> DataType {
    DataType::Array(ArrayElemTypeDef::SquareBracket(
        Box::new(DataType::Uuid),
        None,
    ))
}

fn scope_predicate(filter: &ScopeFilter, slots: &ParamSlots) -> Option<Expr> {
    let column = |c: &str| Box::new(Expr::Identifier(ident_for(c)));
    match filter {
        ScopeFilter::Tenant { column: c } => Some(Expr::AnyOp {
            left: column(c),
            compare_op: BinaryOperator::Eq,
            right: Box::new(placeholder(slots.tenants, uuid_array())),
            is_some: false,
        }),
        ScopeFilter::Locations { column: c } => slots.locations.map(|n| Expr::AnyOp {
            left: column(c),
            compare_op: BinaryOperator::Eq,
            right: Box::new(placeholder(n, uuid_array())),
            is_some: false,
        }),
        ScopeFilter::Employee { column: c } => slots.employee.map(|n| Expr::BinaryOp {
            left: column(c),
            op: BinaryOperator::Eq,
            right: Box::new(placeholder(n, DataType::Uuid)),
        }),
    }
}

/// A plain `SELECT <projection> FROM <from> [WHERE <predicate>]` query.
fn select_query(projection: Vec<SelectItem>, from: TableFactor, selection: Option<Expr>) -> Query {
    let select = Select {
        select_token: AttachedToken::empty(),
        optimizer_hints: vec![],
        distinct: None,
        select_modifiers: None,
        top: None,
        top_before_distinct: false,
        projection,
        exclude: None,
        into: None,
        from: vec![TableWithJoins {
            relation: from,
            joins: vec![],
        }],
        lateral_views: vec![],
        prewhere: None,
        selection,
        connect_by: vec![],
        group_by: GroupByExpr::Expressions(vec![], vec![]),
        cluster_by: vec![],
        distribute_by: vec![],
        sort_by: vec![],
        having: None,
        named_window: vec![],
        qualify: None,
        window_before_qualify: false,
        value_table_mode: None,
        flavor: SelectFlavor::Standard,
    };
    Query {
        with: None,
        body: Box::new(SetExpr::Select(Box::new(select))),
        order_by: None,
        limit_clause: None,
        fetch: None,
        locks: vec![],
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators: vec![],
    }
}

/// The query as the parser gives it back after printing, with explicit parentheses: the
/// exact form that appears in the guard's output.
fn normalise(query: Query) -> Option<Box<Query>> {
    let mut statement = Statement::Query(Box::new(query));
    parenthesize(&mut statement);
    let text = statement.to_string();
    let mut parsed = Parser::parse_sql(&PostgreSqlDialect {}, &text).ok()?;
    if parsed.len() != 1 {
        return None;
    }
    match parsed.pop()? {
        Statement::Query(q) if q.to_string() == text => Some(q),
        _ => None,
    }
}

/// Parses a declared column type (`char(2)`, `text[]`, `double precision`).
fn parse_type(sql_type: &str) -> Option<DataType> {
    let mut parser = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql_type)
        .ok()?;
    let data_type = parser.parse_data_type().ok()?;
    (parser.peek_token().token == Token::EOF).then_some(data_type)
}

/// An identifier for a table alias: the user's alias, or the table name.
pub(crate) fn alias_for_table(alias: Option<&Ident>, table: &str) -> Ident {
    alias.cloned().unwrap_or_else(|| ident_for(table))
}

#[cfg(test)]
mod tests {
    use super::Guard;

    #[test]
    fn a_guard_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Guard>();
    }
}
