//! Result cells as JSON, by PostgreSQL type name.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{Column, Row, TypeInfo};
use uuid::Uuid;

fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(row: &'r PgRow, i: usize) -> Option<T> {
    row.try_get::<Option<T>, _>(i).ok().flatten()
}

/// One cell as JSON: numbers for integers, floats and numerics, booleans, strings for
/// text, dates, times and UUIDs, `{a,b}` text for arrays, null for NULL or unknown types.
pub fn cell(row: &PgRow, i: usize) -> Value {
    let Some(column) = row.columns().get(i) else { return Value::Null };
    let ty = column.type_info().name().to_ascii_uppercase();
    match ty.as_str() {
        "INT2" => get::<i16>(row, i).map(Value::from),
        "INT4" => get::<i32>(row, i).map(Value::from),
        "INT8" => get::<i64>(row, i).map(Value::from),
        "FLOAT4" => get::<f32>(row, i).map(|f| Value::from(f64::from(f))),
        "FLOAT8" => get::<f64>(row, i).map(Value::from),
        "NUMERIC" => get::<Decimal>(row, i).map(|d| d.to_string().parse::<f64>().map(Value::from).unwrap_or_else(|_| Value::from(d.to_string()))),
        "BOOL" => get::<bool>(row, i).map(Value::from),
        "DATE" => get::<NaiveDate>(row, i).map(|d| Value::from(d.to_string())),
        "TIMESTAMPTZ" => get::<DateTime<Utc>>(row, i).map(|d| Value::from(d.to_rfc3339())),
        "TIMESTAMP" => get::<NaiveDateTime>(row, i).map(|d| Value::from(d.to_string())),
        "UUID" => get::<Uuid>(row, i).map(|u| Value::from(u.to_string())),
        "JSON" | "JSONB" => get::<Value>(row, i),
        t if t.ends_with("[]") => get::<Vec<String>>(row, i).map(|v| Value::from(format!("{{{}}}", v.join(",")))),
        _ => get::<String>(row, i).map(Value::from),
    }
    .unwrap_or(Value::Null)
}

/// Every row as JSON cells.
pub fn rows(rows: &[PgRow]) -> Vec<Vec<Value>> {
    rows.iter().map(|r| (0..r.columns().len()).map(|i| cell(r, i)).collect()).collect()
}
