//! Test support shared by the HTTP-level drafter tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod loopback;
