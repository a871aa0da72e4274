//! The pgvector store on the primary: schema, incremental ingest, and hybrid search.

mod fusion;
mod ingest;
mod progress;
mod schema;
mod search;

pub use fusion::{Fusion, fuse};
pub use ingest::{IngestReport, ingest, ingest_sections, refresh_lexeme_stats};
pub use progress::{BarProgress, IngestProgress, NoProgress};
pub use schema::{IndexMetadata, MIGRATION_SQL, apply_migration, index_metadata};
pub use search::{
    DEFAULT_FUSION, NOT_COVERED_BELOW, SearchFilters, SearchHit, SearchMode, SearchOptions,
    VectorScan, results_json, search, search_with,
};
