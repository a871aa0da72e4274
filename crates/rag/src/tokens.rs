//! Token counting: the embedding model's own word pieces for chunk sizes, and tiktoken
//! (o200k_base, as used by current OpenAI chat models) for prompt budgets.

use std::sync::{Arc, LazyLock};

use tiktoken_rs::CoreBPE;
use tokenizers::Tokenizer;

/// Counts tokens the way some model does.
pub trait TokenCounter: Send + Sync {
    /// Number of tokens in `text`, without special tokens.
    fn count(&self, text: &str) -> usize;
}

/// Word-piece counting with a Hugging Face tokenizer (all-MiniLM-L6-v2's own).
#[derive(Clone)]
pub struct WordPieceCounter {
    tokenizer: Arc<Tokenizer>,
}

impl WordPieceCounter {
    /// Wraps a loaded tokenizer.
    pub fn new(tokenizer: Arc<Tokenizer>) -> Self {
        Self { tokenizer }
    }
}

impl TokenCounter for WordPieceCounter {
    fn count(&self, text: &str) -> usize {
        match self.tokenizer.encode(text, false) {
            Ok(enc) => enc.get_ids().len(),
            // A tokenizer failure is not expected; a character-based overestimate keeps
            // chunk sizes safe rather than silently small.
            Err(_) => text.len() / 2 + 1,
        }
    }
}

/// tiktoken counting (o200k_base).
pub struct TiktokenCounter {
    bpe: Option<CoreBPE>,
}

static O200K: LazyLock<Option<CoreBPE>> = LazyLock::new(|| tiktoken_rs::o200k_base().ok());

impl Default for TiktokenCounter {
    fn default() -> Self {
        Self { bpe: O200K.clone() }
    }
}

impl TokenCounter for TiktokenCounter {
    fn count(&self, text: &str) -> usize {
        match &self.bpe {
            Some(bpe) => bpe.encode_ordinary(text).len(),
            // Roughly four characters per token for English prose.
            None => text.len().div_ceil(4),
        }
    }
}

/// Adapts a [`TokenCounter`] to `text-splitter`'s sizer trait.
pub struct Sizer<'a>(pub &'a dyn TokenCounter);

impl text_splitter::ChunkSizer for Sizer<'_> {
    fn size(&self, chunk: &str) -> usize {
        self.0.count(chunk)
    }
}

/// Counts prompt tokens with tiktoken.
pub fn count_prompt_tokens(text: &str) -> usize {
    TiktokenCounter::default().count(text)
}

/// How many of `passages`, taken in order, fit in `budget` prompt tokens (each passage
/// counted with `overhead` extra tokens for its citation line and separators).
pub fn passages_within_budget<S: AsRef<str>>(
    passages: &[S],
    budget: usize,
    overhead: usize,
) -> usize {
    let counter = TiktokenCounter::default();
    let mut used = 0usize;
    for (i, p) in passages.iter().enumerate() {
        used += counter.count(p.as_ref()) + overhead;
        if used > budget {
            return i;
        }
    }
    passages.len()
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn tiktoken_counts_words() {
        let n = count_prompt_tokens("Post-accident testing of commercial motor vehicle drivers.");
        assert!((5..=20).contains(&n), "{n}");
        assert_eq!(count_prompt_tokens(""), 0);
    }

    #[test]
    fn budget_selection() {
        let passages = ["alpha beta gamma"; 10];
        let one = count_prompt_tokens(passages[0]) + 2;
        assert_eq!(passages_within_budget(&passages, one * 3, 2), 3);
        assert_eq!(passages_within_budget(&passages, one * 3 - 1, 2), 2);
        assert_eq!(passages_within_budget(&passages, 10_000, 2), 10);
    }
}
