//! The DER IQ gateway library: configuration, the databases (embedded cluster,
//! migrations, credentials), the demo data, and the directory of users. The `deriq`
//! binary is a thin command-line layer over it; tests call it directly.

pub mod app;
pub mod ask;
pub mod audit;
pub mod config;
pub mod db;
pub mod directory;
pub mod drafter;
pub mod eval;
pub mod executor;
pub mod http;
pub mod policy;
pub mod retrieval;
pub mod seed;
