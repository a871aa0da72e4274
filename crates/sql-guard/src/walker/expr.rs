//! Expressions: column references, operators, literals, casts, functions and windows.

use sqlparser::ast::{
    ArrayElemTypeDef, BinaryOperator, CastKind, CeilFloorKind, DataType, DateTimeField, Expr,
    Function, FunctionArg, FunctionArgExpr, FunctionArgumentClause, FunctionArguments,
    UnaryOperator, Value, ValueWithSpan, WindowFrameBound, WindowSpec, WindowType,
};

use super::{MAX_EXPR_DEPTH, Walker};
use crate::names::parts;
use crate::outcome::ReasonCode;

/// The binary operators a query may use.
fn allowed_binary(op: &BinaryOperator) -> bool {
    use BinaryOperator::*;
    matches!(
        op,
        Plus | Minus
            | Multiply
            | Divide
            | Modulo
            | StringConcat
            | Gt
            | Lt
            | GtEq
            | LtEq
            | Eq
            | NotEq
            | And
            | Or
            | PGRegexMatch
            | PGRegexIMatch
            | PGRegexNotMatch
            | PGRegexNotIMatch
    )
}

fn is_comparison(op: &BinaryOperator) -> bool {
    use BinaryOperator::*;
    matches!(op, Gt | Lt | GtEq | LtEq | Eq | NotEq)
}

/// The types a cast or typed literal may name.
pub(crate) fn allowed_type(dt: &DataType) -> bool {
    use DataType::*;
    match dt {
        Text
        | Varchar(_)
        | CharacterVarying(_)
        | CharVarying(_)
        | Char(_)
        | Character(_)
        | Int(_)
        | Integer(_)
        | Int2(_)
        | Int4(_)
        | Int8(_)
        | SmallInt(_)
        | BigInt(_)
        | Numeric(_)
        | Decimal(_)
        | Real
        | Float4
        | Float8
        | DoublePrecision
        | Bool
        | Boolean
        | Date
        | Time(_, _)
        | Timestamp(_, _)
        | Uuid => true,
        Interval { .. } => true,
        Array(ArrayElemTypeDef::SquareBracket(inner, _)) => {
            !matches!(**inner, Array(_)) && allowed_type(inner)
        }
        _ => false,
    }
}

const ALLOWED_TYPES: &str = "text, varchar, char, integer, smallint, bigint, numeric, real, double precision, \
                             boolean, date, time, timestamp, timestamptz, interval, uuid, and arrays of these";

impl Walker<'_> {
    /// Walks an expression used in `clause` (for messages).
    pub(crate) fn expr(&mut self, e: &mut Expr, clause: &str) {
        self.expr_depth += 1;
        if self.expr_depth > MAX_EXPR_DEPTH {
            self.reject(
                ReasonCode::TooDeep,
                format!("expressions are nested more than {MAX_EXPR_DEPTH} levels deep"),
            );
        } else {
            self.expr_inner(e, clause);
        }
        self.expr_depth -= 1;
    }

    fn expr_inner(&mut self, e: &mut Expr, clause: &str) {
        match e {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                let _ = self.column_ref(e, clause, false);
            }
            Expr::IsFalse(x)
            | Expr::IsNotFalse(x)
            | Expr::IsTrue(x)
            | Expr::IsNotTrue(x)
            | Expr::IsNull(x)
            | Expr::IsNotNull(x)
            | Expr::IsUnknown(x)
            | Expr::IsNotUnknown(x)
            | Expr::Nested(x) => self.expr(x, clause),
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                self.expr(a, clause);
                self.expr(b, clause);
            }
            Expr::InList { expr, list, .. } => {
                self.expr(expr, clause);
                for item in list.iter_mut() {
                    self.expr(item, clause);
                }
            }
            Expr::InSubquery { expr, subquery, .. } => {
                self.expr(expr, clause);
                let _ = self.query(subquery, true);
            }
            Expr::Between { expr, low, high, .. } => {
                self.expr(expr, clause);
                self.expr(low, clause);
                self.expr(high, clause);
            }
            Expr::BinaryOp { left, op, right } => {
                if *op == BinaryOperator::BitwiseAnd && is_unicode_escape_ident(left, right) {
                    self.reject(
                        ReasonCode::UnsupportedSyntax,
                        "U&\"...\" identifiers are not supported (the parser does not model them); write the name plainly",
                    );
                    return;
                }
                if !allowed_binary(op) {
                    self.reject(
                        ReasonCode::OperatorNotAllowed,
                        format!("operator {op} is not allowed; use arithmetic, comparison, AND/OR/NOT, || and ~ / ~*"),
                    );
                }
                self.expr(left, clause);
                self.expr(right, clause);
            }
            Expr::Like { any, expr, pattern, escape_char, .. } | Expr::ILike { any, expr, pattern, escape_char, .. } => {
                if *any {
                    self.reject(ReasonCode::UnsupportedSyntax, "LIKE ANY is not supported; combine LIKE with OR");
                }
                self.expr(expr, clause);
                self.expr(pattern, clause);
                if let Some(esc) = escape_char {
                    self.expr(esc, clause);
                }
            }
            Expr::SimilarTo { expr, pattern, escape_char, .. } => {
                self.expr(expr, clause);
                self.expr(pattern, clause);
                if let Some(esc) = escape_char {
                    self.expr(esc, clause);
                }
            }
            Expr::AnyOp { left, compare_op, right, .. } | Expr::AllOp { left, compare_op, right } => {
                if !is_comparison(compare_op) {
                    self.reject(ReasonCode::OperatorNotAllowed, format!("operator {compare_op} is not allowed with ANY/ALL"));
                }
                self.expr(left, clause);
                self.expr(right, clause);
            }
            Expr::UnaryOp { op, expr } => {
                if !matches!(op, UnaryOperator::Plus | UnaryOperator::Minus | UnaryOperator::Not) {
                    self.reject(ReasonCode::OperatorNotAllowed, format!("operator {op} is not allowed; use -, + or NOT"));
                }
                self.expr(expr, clause);
            }
            Expr::Cast { kind, expr, data_type, format } => {
                if !matches!(kind, CastKind::Cast | CastKind::DoubleColon) || format.is_some() {
                    self.reject(ReasonCode::UnsupportedSyntax, "use CAST(x AS type) or x::type");
                }
                self.data_type(data_type);
                self.expr(expr, clause);
            }
            Expr::AtTimeZone { timestamp, time_zone } => {
                self.expr(timestamp, clause);
                self.expr(time_zone, clause);
            }
            Expr::Extract { field, syntax, expr } => {
                self.builtin("extract");
                if matches!(field, DateTimeField::Custom(_)) || !matches!(syntax, sqlparser::ast::ExtractSyntax::From) {
                    self.reject(ReasonCode::UnsupportedSyntax, "write EXTRACT(<field> FROM <value>) with a standard field");
                }
                self.expr(expr, clause);
            }
            Expr::Ceil { .. } | Expr::Floor { .. } => {
                self.builtin(if matches!(e, Expr::Ceil { .. }) { "ceil" } else { "floor" });
                if let Expr::Ceil { expr, field } | Expr::Floor { expr, field } = e {
                    if !matches!(field, CeilFloorKind::DateTimeField(DateTimeField::NoDateTime)) {
                        self.reject(ReasonCode::UnsupportedSyntax, "CEIL/FLOOR take a single numeric argument");
                    }
                    self.expr(expr, clause);
                }
            }
            Expr::Position { expr, r#in } => {
                self.builtin("position");
                self.expr(expr, clause);
                self.expr(r#in, clause);
            }
            Expr::Substring { expr, substring_from, substring_for, shorthand, .. } => {
                self.builtin(if *shorthand { "substr" } else { "substring" });
                self.expr(expr, clause);
                if let Some(f) = substring_from {
                    self.expr(f, clause);
                }
                if let Some(f) = substring_for {
                    self.expr(f, clause);
                }
            }
            Expr::Trim { trim_what, expr, trim_characters, .. } => {
                self.builtin("trim");
                if trim_characters.is_some() {
                    self.reject(ReasonCode::UnsupportedSyntax, "write TRIM([LEADING|TRAILING|BOTH] [chars] FROM value)");
                }
                if let Some(w) = trim_what {
                    self.expr(w, clause);
                }
                self.expr(expr, clause);
            }
            Expr::Overlay { expr, overlay_what, overlay_from, overlay_for } => {
                self.builtin("overlay");
                self.expr(expr, clause);
                self.expr(overlay_what, clause);
                self.expr(overlay_from, clause);
                if let Some(f) = overlay_for {
                    self.expr(f, clause);
                }
            }
            Expr::Value(v) => self.literal(v),
            Expr::TypedString(ts) => {
                if ts.uses_odbc_syntax {
                    self.reject(ReasonCode::UnsupportedSyntax, "ODBC literals are not PostgreSQL");
                }
                self.data_type(&ts.data_type);
                match &ts.value.value {
                    Value::SingleQuotedString(_) | Value::DollarQuotedString(_) => self.literal(&mut ts.value),
                    _ => self.reject(ReasonCode::LiteralNotAllowed, "a typed literal takes a plain string: DATE '2024-01-31'"),
                }
            }
            Expr::Function(f) => self.function(f, clause),
            Expr::Case { operand, conditions, else_result, .. } => {
                if let Some(o) = operand {
                    self.expr(o, clause);
                }
                for cw in conditions.iter_mut() {
                    self.expr(&mut cw.condition, clause);
                    self.expr(&mut cw.result, clause);
                }
                if let Some(r) = else_result {
                    self.expr(r, clause);
                }
            }
            Expr::Exists { subquery, .. } | Expr::Subquery(subquery) => {
                let _ = self.query(subquery, true);
            }
            Expr::Tuple(items) => {
                for item in items.iter_mut() {
                    self.expr(item, clause);
                }
            }
            Expr::Array(arr) => {
                if !arr.named {
                    self.reject(ReasonCode::UnsupportedSyntax, "write arrays as ARRAY[...]");
                }
                for item in arr.elem.iter_mut() {
                    self.expr(item, clause);
                }
            }
            Expr::Interval(iv) => {
                match iv.value.as_ref() {
                    Expr::Value(_) => {}
                    _ => self.reject(ReasonCode::LiteralNotAllowed, "write intervals as INTERVAL '30 days'"),
                }
                self.expr(&mut iv.value, clause);
            }
            Expr::Wildcard(_) | Expr::QualifiedWildcard(..) => self.reject(
                ReasonCode::WholeRowReference,
                "* may only be used as count(*) or as a select-list item; list the columns you need",
            ),
            Expr::CompoundFieldAccess { .. } => self.reject(
                ReasonCode::WholeRowReference,
                "field access on a row or array ((e).col, a[1]) is not allowed; reference columns as e.col",
            ),
            Expr::GroupingSets(_) | Expr::Cube(_) | Expr::Rollup(_) => self.reject(
                ReasonCode::UnsupportedSyntax,
                "GROUPING SETS, CUBE and ROLLUP may only appear directly in GROUP BY",
            ),
            other => {
                let kind = expr_kind(other);
                self.reject(ReasonCode::UnsupportedSyntax, format!("{kind} is not supported in drafted SQL"));
            }
        }
    }

    /// A built-in syntax form that corresponds to a function (`EXTRACT`, `TRIM`, ...):
    /// allowed when the function is.
    fn builtin(&mut self, name: &str) {
        if !self.g.policy.functions.contains(name) {
            let allowed = self.allowed_functions();
            self.reject(
                ReasonCode::FunctionNotAllowed,
                format!("function {name} is not allowed; {allowed}"),
            );
        }
    }

    /// A literal: numbers, booleans, NULL and plain strings without backslashes; a
    /// dollar-quoted string becomes a plain one.
    pub(crate) fn literal(&mut self, v: &mut ValueWithSpan) {
        let replacement = match &v.value {
            Value::Number(_, false) | Value::Boolean(_) | Value::Null => None,
            Value::SingleQuotedString(s) => {
                self.plain_string(s);
                None
            }
            Value::DollarQuotedString(d) => {
                self.plain_string(&d.value);
                Some(Value::SingleQuotedString(d.value.clone()))
            }
            Value::Placeholder(p) => {
                self.reject(
                    ReasonCode::LiteralNotAllowed,
                    format!("bind parameters such as {p} are not allowed in drafted SQL; write the value as a literal"),
                );
                None
            }
            Value::EscapedStringLiteral(_) => {
                self.reject(
                    ReasonCode::LiteralNotAllowed,
                    "E'...' strings are not allowed; use a plain '...' string",
                );
                None
            }
            Value::UnicodeStringLiteral(_) => {
                self.reject(
                    ReasonCode::LiteralNotAllowed,
                    "U&'...' strings are not allowed; use a plain '...' string",
                );
                None
            }
            other => {
                self.reject(
                    ReasonCode::LiteralNotAllowed,
                    format!(
                        "the literal {other} is not allowed; use a plain '...' string or a number"
                    ),
                );
                None
            }
        };
        if let Some(r) = replacement {
            v.value = r;
        }
    }

    fn plain_string(&mut self, s: &str) {
        if s.contains('\\') {
            self.reject(
                ReasonCode::LiteralNotAllowed,
                "string literals may not contain backslashes (their meaning depends on server settings)",
            );
        }
        if s.contains('\0') {
            self.reject(
                ReasonCode::LiteralNotAllowed,
                "string literals may not contain NUL characters",
            );
        }
    }

    fn data_type(&mut self, dt: &DataType) {
        if !allowed_type(dt) {
            self.reject(
                ReasonCode::TypeNotAllowed,
                format!("type {dt} is not allowed; allowed types: {ALLOWED_TYPES}"),
            );
        }
    }

    fn function(&mut self, f: &mut Function, clause: &str) {
        let name = match parts(&f.name) {
            Ok(p) if p.len() == 1 => self.fold(p[0]),
            Ok(_) => {
                self.reject(
                    ReasonCode::FunctionNotAllowed,
                    format!(
                        "function {}: call functions by their plain name, without a schema",
                        f.name
                    ),
                );
                None
            }
            Err(r) => {
                self.push_reason(r);
                None
            }
        };
        if let Some(n) = &name
            && !self.g.policy.functions.contains(n)
        {
            let allowed = self.allowed_functions();
            self.reject(
                ReasonCode::FunctionNotAllowed,
                format!("function {n} is not allowed; {allowed}"),
            );
        }
        if f.uses_odbc_syntax
            || !matches!(f.parameters, FunctionArguments::None)
            || f.null_treatment.is_some()
        {
            self.reject(
                ReasonCode::UnsupportedSyntax,
                format!("this form of calling {} is not PostgreSQL", f.name),
            );
        }
        match &mut f.args {
            FunctionArguments::None => {}
            FunctionArguments::Subquery(q) => {
                let _ = self.query(q, true);
            }
            FunctionArguments::List(list) => {
                let single = list.args.len() == 1 && list.duplicate_treatment.is_none();
                for arg in list.args.iter_mut() {
                    match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => self.expr(e, clause),
                        FunctionArg::Unnamed(FunctionArgExpr::Wildcard) if single && name.as_deref() == Some("count") => {}
                        FunctionArg::Unnamed(
                            FunctionArgExpr::Wildcard
                            | FunctionArgExpr::QualifiedWildcard(_)
                            | FunctionArgExpr::WildcardWithOptions(_),
                        ) => self.reject(
                            ReasonCode::WholeRowReference,
                            format!(
                                "{}(...*) reads whole rows; only count(*) may take *, other functions take columns",
                                f.name
                            ),
                        ),
                        _ => self.reject(ReasonCode::UnsupportedSyntax, "named function arguments are not allowed"),
                    }
                }
                for c in list.clauses.iter_mut() {
                    match c {
                        FunctionArgumentClause::OrderBy(items) => {
                            for item in items.iter_mut() {
                                self.order_by_options(item);
                                self.expr(&mut item.expr, "ORDER BY inside an aggregate");
                            }
                        }
                        _ => self.reject(
                            ReasonCode::UnsupportedSyntax,
                            "only ORDER BY may appear inside an aggregate's parentheses",
                        ),
                    }
                }
            }
        }
        for item in f.within_group.iter_mut() {
            self.order_by_options(item);
            self.expr(&mut item.expr, "WITHIN GROUP");
        }
        if let Some(filter) = &mut f.filter {
            self.expr(filter, "FILTER (WHERE ...)");
        }
        match &mut f.over {
            None => {}
            Some(WindowType::WindowSpec(spec)) => self.window_spec(spec),
            Some(WindowType::NamedWindow(w)) => {
                let w = w.clone();
                self.window_name(&w);
            }
        }
    }

    fn window_name(&mut self, w: &sqlparser::ast::Ident) {
        let Some(name) = self.fold(w) else { return };
        let known = self
            .current_block()
            .is_some_and(|b| b.windows.contains(&name));
        if !known {
            self.reject(
                ReasonCode::UnknownColumn,
                format!("window {name} is not defined in this query's WINDOW clause"),
            );
        }
    }

    /// A window specification: partitions, ordering and frame.
    pub(crate) fn window_spec(&mut self, spec: &mut WindowSpec) {
        if let Some(w) = spec.window_name.clone() {
            self.window_name(&w);
        }
        for e in spec.partition_by.iter_mut() {
            self.expr(e, "PARTITION BY");
        }
        for item in spec.order_by.iter_mut() {
            self.order_by_options(item);
            self.expr(&mut item.expr, "a window ORDER BY");
        }
        if let Some(frame) = &mut spec.window_frame {
            let bounds = std::iter::once(&mut frame.start_bound).chain(frame.end_bound.as_mut());
            for b in bounds {
                if let WindowFrameBound::Preceding(Some(e)) | WindowFrameBound::Following(Some(e)) =
                    b
                {
                    self.expr(e, "a window frame");
                }
            }
        }
    }
}

/// `U&"..."`, which sqlparser reads as the identifier `U`, the operator `&` and a quoted
/// identifier, while PostgreSQL reads one Unicode-escaped identifier.
fn is_unicode_escape_ident(left: &Expr, right: &Expr) -> bool {
    matches!(left, Expr::Identifier(u) if u.quote_style.is_none() && u.value.eq_ignore_ascii_case("u"))
        && matches!(right, Expr::Identifier(q) if q.quote_style == Some('"'))
}

/// A short name for an expression form the guard rejects, for messages (never printing
/// the expression itself, which may be large).
fn expr_kind(e: &Expr) -> &'static str {
    match e {
        Expr::Collate { .. } => "COLLATE",
        Expr::JsonAccess { .. } => "JSON access",
        Expr::IsJson { .. } => "IS JSON",
        Expr::IsNormalized { .. } => "IS NORMALIZED",
        Expr::InUnnest { .. } => "IN UNNEST",
        Expr::RLike { .. } => "RLIKE / REGEXP",
        Expr::Convert { .. } => "CONVERT",
        Expr::Prefixed { .. } => "a prefixed literal",
        Expr::Struct { .. } => "STRUCT",
        Expr::Named { .. } => "a named expression",
        Expr::Dictionary(_) => "a dictionary literal",
        Expr::Map(_) => "a map literal",
        Expr::MatchAgainst { .. } => "MATCH ... AGAINST",
        Expr::OuterJoin(_) => "the (+) outer join marker",
        Expr::Prior(_) => "PRIOR",
        Expr::Lambda(_) => "a lambda",
        Expr::MemberOf(_) => "MEMBER OF",
        _ => "this expression form",
    }
}
