//! Regulatory retrieval for DER IQ: the corpus (Markdown restatements, eCFR XML, USLM XML),
//! structure-aware chunking, local or remote embeddings, hybrid pgvector + full-text search
//! with exact citation lookups, and the retrieval eval.

pub mod chunking;
pub mod citation;
pub mod corpus;
pub mod embed;
pub mod error;
pub mod eval;
pub mod glossary;
pub mod questions;
pub mod store;
pub mod tokens;

pub use chunking::{Chunk, Chunker, EMBEDDING_TOKEN_LIMIT};
pub use citation::{Citation, CitationRef, Code, find_citations};
pub use corpus::{Paragraph, QuestionTarget, Section, SectionQuestion, load_path};
pub use embed::{CachedEmbedder, Embedder, LocalEmbedder, OpenAiEmbedder, OpenAiEmbedderConfig};
pub use error::{CorpusError, EmbedError, RagError};
pub use store::{
    IngestProgress, IngestReport, SearchFilters, SearchHit, SearchMode, SearchOptions, ingest,
    search, search_with,
};
