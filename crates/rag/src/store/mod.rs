//! The pgvector store on the primary: schema, incremental ingest, and hybrid search.

mod companions;
mod fusion;
mod ingest;
mod progress;
mod references;
mod schema;
mod search;

pub use companions::{COMPANION_MARGIN, CompanionPassage, MAX_COMPANIONS, companions};
pub use fusion::{Fusion, fuse};
pub use ingest::{IngestReport, ingest, ingest_sections, refresh_lexeme_stats};
pub use progress::{BarProgress, IngestProgress, NoProgress};
pub use references::{
    CITING_CHUNKS, CITING_SECTIONS, REFERENCE_WEIGHT, apply_boosts, reference_boosts,
};
pub use schema::{IndexMetadata, MIGRATION_SQL, apply_migration, index_metadata};
pub use search::{
    DEFAULT_FUSION, NOT_COVERED_BELOW, SearchFilters, SearchHit, SearchMode, SearchOptions,
    VectorScan, results_json, search, search_with,
};
