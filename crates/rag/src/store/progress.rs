//! Progress reporting for long ingests.

use indicatif::{ProgressBar, ProgressStyle};

/// Receives ingest progress; every method has a do-nothing default.
pub trait IngestProgress: Send + Sync {
    /// Ingest starts with `total` sections to look at.
    fn begin(&self, _total: u64) {}
    /// A human-readable note (re-embedding, pruning).
    fn message(&self, _text: &str) {}
    /// `n` more sections are done.
    fn advance(&self, _n: u64) {}
    /// Ingest is over.
    fn finish(&self) {}
}

/// Reports nothing.
pub struct NoProgress;

impl IngestProgress for NoProgress {}

/// A terminal progress bar.
pub struct BarProgress {
    bar: ProgressBar,
}

impl Default for BarProgress {
    fn default() -> Self {
        let bar = ProgressBar::new(0);
        if let Ok(style) =
            ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} sections ({eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("ingesting");
        Self { bar }
    }
}

impl IngestProgress for BarProgress {
    fn begin(&self, total: u64) {
        self.bar.set_length(total);
    }
    fn message(&self, text: &str) {
        self.bar.println(text);
    }
    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }
    fn finish(&self) {
        self.bar.finish_with_message("done");
    }
}
