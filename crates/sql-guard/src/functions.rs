//! A vetted default allow-list of functions for drafted queries.
//!
//! Aggregates, window functions, date and time, string and math basics. Left out on
//! purpose: anything that reads files or catalogs, runs SQL from strings (`format`,
//! `query_to_xml`), talks to the network, sleeps, locks, changes settings or roles, or can
//! allocate without bound from a small input (`repeat`, `lpad`, `rpad`, `generate_series`).

use std::collections::BTreeSet;

/// The default allowed functions (lower case).
pub const DEFAULT_ALLOWED: &[&str] = &[
    // aggregates
    "avg",
    "bool_and",
    "bool_or",
    "count",
    "every",
    "max",
    "min",
    "mode",
    "percentile_cont",
    "percentile_disc",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "string_agg",
    "sum",
    "variance",
    "array_agg",
    // window functions
    "cume_dist",
    "dense_rank",
    "first_value",
    "lag",
    "last_value",
    "lead",
    "nth_value",
    "ntile",
    "percent_rank",
    "rank",
    "row_number",
    // conditional
    "coalesce",
    "greatest",
    "least",
    "nullif",
    // date and time
    "age",
    "current_date",
    "current_timestamp",
    "date_part",
    "date_trunc",
    "extract",
    "justify_days",
    "justify_interval",
    "localtimestamp",
    "make_date",
    "now",
    "to_char",
    "to_date",
    // strings
    "btrim",
    "char_length",
    "concat",
    "concat_ws",
    "initcap",
    "left",
    "length",
    "lower",
    "ltrim",
    "position",
    "replace",
    "right",
    "rtrim",
    "split_part",
    "starts_with",
    "strpos",
    "substr",
    "substring",
    "trim",
    "upper",
    // math
    "abs",
    "ceil",
    "ceiling",
    "div",
    "floor",
    "mod",
    "round",
    "sign",
    "trunc",
    // arrays
    "array_length",
    "array_position",
    "cardinality",
    "unnest",
];

/// [`DEFAULT_ALLOWED`] as a set, for [`crate::Policy::functions`].
pub fn default_allowed() -> BTreeSet<String> {
    DEFAULT_ALLOWED.iter().map(|s| s.to_string()).collect()
}
