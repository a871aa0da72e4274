//! Rows in PostgreSQL's COPY text format, for fast bulk loading.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// A value that can be written as one COPY text field.
pub trait CopyField {
    fn write(&self, out: &mut String);
}

fn escape_into(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

impl CopyField for str {
    fn write(&self, out: &mut String) {
        escape_into(self, out);
    }
}
impl CopyField for &str {
    fn write(&self, out: &mut String) {
        escape_into(self, out);
    }
}
impl CopyField for String {
    fn write(&self, out: &mut String) {
        escape_into(self, out);
    }
}
impl CopyField for Uuid {
    fn write(&self, out: &mut String) {
        out.push_str(&self.hyphenated().to_string());
    }
}
impl CopyField for NaiveDate {
    fn write(&self, out: &mut String) {
        out.push_str(&self.format("%Y-%m-%d").to_string());
    }
}
impl CopyField for DateTime<Utc> {
    fn write(&self, out: &mut String) {
        out.push_str(&self.format("%Y-%m-%d %H:%M:%S+00").to_string());
    }
}
impl CopyField for bool {
    fn write(&self, out: &mut String) {
        out.push(if *self { 't' } else { 'f' });
    }
}
macro_rules! display_field {
    ($($t:ty),*) => {$(
        impl CopyField for $t {
            fn write(&self, out: &mut String) {
                out.push_str(&self.to_string());
            }
        }
    )*};
}
display_field!(i32, i64, u32, f64);

impl<T: CopyField> CopyField for Option<T> {
    fn write(&self, out: &mut String) {
        match self {
            Some(v) => v.write(out),
            None => out.push_str("\\N"),
        }
    }
}

/// A text array literal (`{"a","b"}`).
pub struct TextArray<'a>(pub &'a [&'a str]);

impl CopyField for TextArray<'_> {
    fn write(&self, out: &mut String) {
        let mut lit = String::from("{");
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                lit.push(',');
            }
            lit.push('"');
            for ch in s.chars() {
                if ch == '"' || ch == '\\' {
                    lit.push('\\');
                }
                lit.push(ch);
            }
            lit.push('"');
        }
        lit.push('}');
        escape_into(&lit, out);
    }
}

/// The rows for one table.
pub struct CopyTable {
    /// `compliance.<name>`.
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub data: String,
    pub rows: usize,
}

impl CopyTable {
    pub fn new(name: &'static str, columns: &'static [&'static str]) -> Self {
        CopyTable { name, columns, data: String::new(), rows: 0 }
    }

    /// Appends one row; the fields must follow `columns`.
    pub fn row(&mut self, fields: &[&dyn CopyField]) {
        debug_assert_eq!(fields.len(), self.columns.len(), "row of {} has the wrong width", self.name);
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.data.push('\t');
            }
            f.write(&mut self.data);
        }
        self.data.push('\n');
        self.rows += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_escaped_for_copy_text_format() {
        let mut t = CopyTable::new("x", &["a", "b", "c", "d"]);
        t.row(&[&"tab\there", &None::<i32>, &TextArray(&["x y", "q\"z"]), &true]);
        assert_eq!(t.data, "tab\\there\t\\N\t{\"x y\",\"q\\\\\"z\"}\tt\n");
    }
}
