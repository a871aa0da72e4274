//! SQL guard: parse, validate and rewrite drafted SQL. Pure, no I/O.
