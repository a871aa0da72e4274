//! The guard's pipeline: parse, walk (validate and rewrite), print, then parse and walk
//! the printed SQL again and require that it comes back unchanged.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::compiled::Guard;
use crate::outcome::{Accepted, ReasonCode, Rejected};
use crate::parens::parenthesize;
use crate::walker::{Facts, Walker};

/// Drafted SQL longer than this is rejected before parsing.
pub const MAX_SQL_BYTES: usize = 16 * 1024;

/// The result of one pass.
struct Pass {
    sql: String,
    facts: Facts,
}

impl Guard {
    /// Decides whether `sql` may run for this policy and returns the exact statement that
    /// will run.
    pub fn check(&self, sql: &str) -> Result<Accepted, Rejected> {
        let first = self.pass(sql)?;
        let second = self.pass(&first.sql).map_err(|r| {
            Rejected::single(
                ReasonCode::RewriteUnstable,
                format!(
                    "internal error: the rewritten query did not validate again ({})",
                    r.summary()
                ),
            )
        })?;
        if second.sql != first.sql || second.facts != first.facts {
            return Err(Rejected::single(
                ReasonCode::RewriteUnstable,
                "internal error: the rewritten query changed when validated again",
            ));
        }
        let f = first.facts;
        Ok(Accepted {
            sql: first.sql,
            params: self.params.clone(),
            tables: f.tables.into_iter().collect(),
            columns_read: f.columns_read.into_iter().collect(),
            masked: f.masked.into_iter().collect(),
            injected: f.injected.into_iter().collect(),
            row_cap_applied: f.row_cap,
        })
    }

    fn pass(&self, sql: &str) -> Result<Pass, Rejected> {
        if sql.len() > MAX_SQL_BYTES {
            return Err(Rejected::single(
                ReasonCode::ParseError,
                format!("the query is longer than {MAX_SQL_BYTES} bytes; ask a narrower question"),
            ));
        }
        let mut statements = Parser::new(&PostgreSqlDialect {})
            .try_with_sql(sql)
            .and_then(|mut p| p.parse_statements())
            .map_err(|e| {
                Rejected::single(
                    ReasonCode::ParseError,
                    format!("the SQL does not parse: {e}"),
                )
            })?;
        if statements.len() > 1 {
            return Err(Rejected::single(
                ReasonCode::MultipleStatements,
                format!(
                    "exactly one statement is allowed; found {} separated by ';'",
                    statements.len()
                ),
            ));
        }
        let Some(mut statement) = statements.pop() else {
            return Err(Rejected::single(
                ReasonCode::ParseError,
                "there is no SQL statement",
            ));
        };
        let mut walker = Walker::new(self);
        walker.statement(&mut statement);
        let facts = std::mem::take(&mut walker.facts);
        let reasons = walker.into_reasons();
        if !reasons.is_empty() {
            return Err(Rejected { reasons });
        }
        parenthesize(&mut statement);
        Ok(Pass {
            sql: statement.to_string(),
            facts,
        })
    }
}
