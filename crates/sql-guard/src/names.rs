//! Identifiers as PostgreSQL sees them: case folding, length, quoting.

use sqlparser::ast::{Expr, Ident, ObjectName, ObjectNamePart};
use sqlparser::keywords::ALL_KEYWORDS;

use crate::outcome::{Reason, ReasonCode};

/// PostgreSQL truncates identifiers longer than this many bytes (NAMEDATALEN - 1); the
/// guard rejects them instead, so that two names it tells apart never collide.
pub const MAX_IDENT_BYTES: usize = 63;

/// The name PostgreSQL uses for an identifier: unquoted identifiers fold to lower case
/// (ASCII only, as PostgreSQL does for multi-byte encodings), quoted ones are kept exact.
pub fn fold(ident: &Ident) -> Result<String, Reason> {
    let name = match ident.quote_style {
        None => ident.value.to_ascii_lowercase(),
        Some('"') => ident.value.clone(),
        Some(q) => {
            return Err(Reason::new(
                ReasonCode::UnsupportedSyntax,
                format!("identifiers may only be quoted with double quotes, not {q}"),
            ));
        }
    };
    if name.is_empty() {
        return Err(Reason::new(
            ReasonCode::UnsupportedSyntax,
            "empty identifiers are not allowed",
        ));
    }
    if name.len() > MAX_IDENT_BYTES {
        return Err(Reason::new(
            ReasonCode::UnsupportedSyntax,
            format!("identifier {ident} is longer than {MAX_IDENT_BYTES} bytes"),
        ));
    }
    if name.contains('\0') {
        return Err(Reason::new(
            ReasonCode::UnsupportedSyntax,
            "identifiers may not contain NUL",
        ));
    }
    Ok(name)
}

/// The identifiers of an object name, or a reason if a part is not a plain identifier.
pub fn parts(name: &ObjectName) -> Result<Vec<&Ident>, Reason> {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => Ok(i),
            other => Err(Reason::new(
                ReasonCode::UnsupportedSyntax,
                format!("name part {other} is not a plain identifier"),
            )),
        })
        .collect()
}

/// Whether a policy name is a plain lower-case identifier (`[a-z_][a-z0-9_]*`, at most
/// 63 bytes).
pub fn is_plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_lowercase() || c == '_' => {}
        _ => return false,
    }
    name.len() <= MAX_IDENT_BYTES
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// An identifier that PostgreSQL reads back as exactly `name`: unquoted when that is
/// unambiguous, double-quoted when it is a keyword or not a plain lower-case name.
pub fn ident_for(name: &str) -> Ident {
    let upper = name.to_ascii_uppercase();
    if is_plain_name(name) && ALL_KEYWORDS.binary_search(&upper.as_str()).is_err() {
        Ident::new(name)
    } else {
        Ident::with_quote('"', name)
    }
}

/// The output column name PostgreSQL gives a select-list expression without an alias
/// (a subset of its FigureColname); `None` where PostgreSQL would say `?column?` or where
/// the guard does not model the name, so that such a column cannot be referenced by name.
pub fn output_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(i) => fold(i).ok(),
        Expr::CompoundIdentifier(parts) => parts.last().and_then(|i| fold(i).ok()),
        Expr::Function(f) => match f.name.0.last() {
            Some(ObjectNamePart::Identifier(i)) => fold(i).ok(),
            _ => None,
        },
        Expr::Cast { expr, .. } => output_name(expr),
        Expr::Nested(e) => output_name(e),
        Expr::Case { .. } => Some("case".to_string()),
        Expr::Exists { .. } => Some("exists".to_string()),
        Expr::Array(_) => Some("array".to_string()),
        Expr::Position { .. } => Some("position".to_string()),
        Expr::Extract { .. } => Some("extract".to_string()),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn folding_follows_postgres() {
        assert_eq!(
            fold(&Ident::new("EmPloyees")).ok(),
            Some("employees".to_string())
        );
        assert_eq!(
            fold(&Ident::with_quote('"', "EmPloyees")).ok(),
            Some("EmPloyees".to_string())
        );
        assert!(fold(&Ident::new("x".repeat(64))).is_err());
        assert!(fold(&Ident::with_quote('`', "x")).is_err());
    }

    #[test]
    fn idents_quote_keywords_and_odd_names() {
        assert_eq!(ident_for("first_name").to_string(), "first_name");
        assert_eq!(ident_for("order").to_string(), "\"order\"");
        assert_eq!(ident_for("Mixed").to_string(), "\"Mixed\"");
        assert_eq!(ident_for("a\"b").to_string(), "\"a\"\"b\"");
    }
}
