//! LIMIT, OFFSET and FETCH: plain non-negative integers only, and the outer LIMIT of a
//! statement never above the policy's row cap.

use sqlparser::ast::{Expr, LimitClause, Query, Value};

use crate::outcome::{Reason, ReasonCode};

/// The value of a LIMIT/OFFSET/FETCH count: `Ok(None)` for `NULL` (no limit), `Ok(Some(n))`
/// for a plain integer literal, an error for anything else.
pub(crate) fn literal_count(expr: &Expr, what: &str) -> Result<Option<u64>, Reason> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, false) => n.parse::<u64>().map(Some).map_err(|_| bad(what)),
            Value::Null => Ok(None),
            _ => Err(bad(what)),
        },
        _ => Err(bad(what)),
    }
}

fn bad(what: &str) -> Reason {
    Reason::new(
        ReasonCode::BadLimit,
        format!("{what} must be a plain non-negative integer, such as {what} 100"),
    )
}

/// Checks LIMIT/OFFSET/FETCH of a query and turns `FETCH FIRST n ROWS ONLY` into
/// `LIMIT n`. Returns the limit (`None`: no limit).
pub(crate) fn normalise(q: &mut Query) -> Result<Option<u64>, Reason> {
    let mut limit = None;
    match &q.limit_clause {
        None => {}
        Some(LimitClause::LimitOffset {
            limit: l,
            offset,
            limit_by,
        }) => {
            if !limit_by.is_empty() {
                return Err(Reason::new(
                    ReasonCode::UnsupportedSyntax,
                    "LIMIT ... BY is not supported",
                ));
            }
            if let Some(l) = l {
                limit = literal_count(l, "LIMIT")?;
            }
            if let Some(o) = offset {
                literal_count(&o.value, "OFFSET")?;
            }
        }
        Some(LimitClause::OffsetCommaLimit { .. }) => {
            return Err(Reason::new(
                ReasonCode::UnsupportedSyntax,
                "LIMIT offset, count is not PostgreSQL; write LIMIT count OFFSET offset",
            ));
        }
    }
    if let Some(fetch) = q.fetch.take() {
        if fetch.with_ties || fetch.percent {
            return Err(Reason::new(
                ReasonCode::UnsupportedSyntax,
                "FETCH ... WITH TIES and PERCENT are not supported; use LIMIT",
            ));
        }
        if limit.is_some() {
            return Err(Reason::new(
                ReasonCode::BadLimit,
                "use either LIMIT or FETCH FIRST, not both",
            ));
        }
        let n = match &fetch.quantity {
            Some(e) => literal_count(e, "FETCH FIRST")?,
            None => Some(1),
        };
        limit = n;
        let n_expr = n.map(|n| Expr::Value(Value::Number(n.to_string(), false).into()));
        match &mut q.limit_clause {
            Some(LimitClause::LimitOffset { limit: l, .. }) => *l = n_expr,
            _ => {
                q.limit_clause = Some(LimitClause::LimitOffset {
                    limit: n_expr,
                    offset: None,
                    limit_by: vec![],
                })
            }
        }
    }
    Ok(limit)
}

/// Applies the row cap to the outer query: a missing, `ALL`/`NULL` or larger LIMIT becomes
/// `LIMIT cap`; a smaller one is kept. Returns the LIMIT of the result.
pub(crate) fn apply(q: &mut Query, cap: u64) -> Result<u64, Reason> {
    let limit = normalise(q)?;
    let applied = limit.map_or(cap, |n| n.min(cap));
    let cap_expr = Some(Expr::Value(
        Value::Number(applied.to_string(), false).into(),
    ));
    match &mut q.limit_clause {
        Some(LimitClause::LimitOffset { limit: l, .. }) => {
            if limit != Some(applied) {
                *l = cap_expr;
            }
        }
        _ => {
            q.limit_clause = Some(LimitClause::LimitOffset {
                limit: cap_expr,
                offset: None,
                limit_by: vec![],
            })
        }
    }
    Ok(applied)
}
