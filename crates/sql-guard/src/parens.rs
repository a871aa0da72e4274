//! Explicit parentheses around compound operands, so that PostgreSQL groups the
//! re-serialised SQL exactly as the guard's syntax tree does.
//!
//! sqlparser prints a tree without adding parentheses, so a tree whose grouping came from
//! sqlparser's precedence rules would be re-read with PostgreSQL's rules, and a negated
//! negation would print as `--1`, a comment. Wrapping every compound operand in
//! parentheses removes both hazards. Operands already in parentheses are left alone, so
//! the pass is idempotent. A `::` cast binds tighter than any operator in both grammars,
//! so it is not wrapped itself (its operand is).

use std::ops::ControlFlow;

use sqlparser::ast::{CastKind, Expr, Statement, visit_expressions_mut};

/// Wraps every compound operand of every expression of the statement in parentheses.
pub fn parenthesize(statement: &mut Statement) {
    let _ = visit_expressions_mut(statement, |expr| {
        protect_operands(expr);
        ControlFlow::<()>::Continue(())
    });
}

fn protect_operands(expr: &mut Expr) {
    match expr {
        Expr::BinaryOp { left, right, .. } => {
            wrap(left);
            wrap(right);
        }
        Expr::UnaryOp { expr, .. }
        | Expr::IsFalse(expr)
        | Expr::IsNotFalse(expr)
        | Expr::IsTrue(expr)
        | Expr::IsNotTrue(expr)
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::IsUnknown(expr)
        | Expr::IsNotUnknown(expr)
        | Expr::InList { expr, .. }
        | Expr::InSubquery { expr, .. }
        | Expr::Collate { expr, .. } => wrap(expr),
        Expr::Cast {
            kind: CastKind::DoubleColon,
            expr,
            ..
        } => wrap(expr),
        Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
            wrap(a);
            wrap(b);
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            wrap(expr);
            wrap(low);
            wrap(high);
        }
        Expr::Like { expr, pattern, .. }
        | Expr::ILike { expr, pattern, .. }
        | Expr::SimilarTo { expr, pattern, .. } => {
            wrap(expr);
            wrap(pattern);
        }
        Expr::AnyOp { left, .. } | Expr::AllOp { left, .. } => wrap(left),
        Expr::AtTimeZone {
            timestamp,
            time_zone,
        } => {
            wrap(timestamp);
            wrap(time_zone);
        }
        _ => {}
    }
}

fn is_compound(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::BinaryOp { .. }
            | Expr::UnaryOp { .. }
            | Expr::IsFalse(_)
            | Expr::IsNotFalse(_)
            | Expr::IsTrue(_)
            | Expr::IsNotTrue(_)
            | Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::IsUnknown(_)
            | Expr::IsNotUnknown(_)
            | Expr::IsDistinctFrom(..)
            | Expr::IsNotDistinctFrom(..)
            | Expr::InList { .. }
            | Expr::InSubquery { .. }
            | Expr::Between { .. }
            | Expr::Like { .. }
            | Expr::ILike { .. }
            | Expr::SimilarTo { .. }
            | Expr::AnyOp { .. }
            | Expr::AllOp { .. }
            | Expr::AtTimeZone { .. }
            | Expr::Collate { .. }
    )
}

fn wrap(operand: &mut Box<Expr>) {
    if is_compound(operand) {
        let inner = std::mem::replace(
            operand.as_mut(),
            Expr::Value(sqlparser::ast::Value::Null.into()),
        );
        **operand = Expr::Nested(Box::new(inner));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn rewrite(sql: &str) -> String {
        let mut stmts = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap();
        let mut s = stmts.remove(0);
        parenthesize(&mut s);
        let once = s.to_string();
        parenthesize(&mut s);
        assert_eq!(once, s.to_string(), "parenthesize must be idempotent");
        once
    }

    #[test]
    fn double_negation_does_not_print_as_a_comment() {
        assert_eq!(rewrite("SELECT - -1, 2"), "SELECT -(-1), 2");
    }

    #[test]
    fn grouping_becomes_explicit() {
        assert_eq!(
            rewrite("SELECT 1 WHERE a OR b AND c"),
            "SELECT 1 WHERE a OR (b AND c)"
        );
        assert_eq!(rewrite("SELECT a + b * c"), "SELECT a + (b * c)");
        assert_eq!(rewrite("SELECT (a + b) * c"), "SELECT (a + b) * c");
    }
}
