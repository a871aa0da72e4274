//! Idempotency keys on POST: the first response to a key (per user and route) is kept
//! for 24 hours, and a retry with the same key and body gets it again. A retry with a
//! different body is refused, and so is one that arrives while the first is running.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use moka::sync::Cache;

use super::error::ApiError;

/// How long a response is kept.
pub const WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// A kept response.
#[derive(Debug, Clone)]
pub struct Stored {
    pub status: StatusCode,
    pub headers: Vec<(String, HeaderValue)>,
    pub body: Bytes,
}

#[derive(Debug, Clone)]
enum Entry {
    Running { body_hash: u64 },
    Done { body_hash: u64, response: Arc<Stored> },
}

/// What to do with a request that carries a key.
#[derive(Debug)]
pub enum Claim {
    /// Run it; then `finish` (or `abandon`) the key.
    Run(String),
    /// Answer with the kept response.
    Replay(Arc<Stored>),
}

/// The kept responses.
#[derive(Clone)]
pub struct IdempotencyStore {
    entries: Cache<String, Entry>,
}

impl Default for IdempotencyStore {
    fn default() -> Self {
        IdempotencyStore { entries: Cache::builder().time_to_live(WINDOW).max_capacity(200_000).build() }
    }
}

fn hash(body: &[u8]) -> u64 {
    // FNV-1a: a fingerprint of the request body, to tell a retry from a reuse.
    body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

/// The key of a request, if it has a valid one.
pub fn key_of(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    let k = v.to_str().map_err(|_| ApiError::bad_request("bad_idempotency_key", "Idempotency-Key must be visible ASCII"))?.trim();
    if k.is_empty() || k.len() > MAX_KEY_LEN {
        return Err(ApiError::bad_request("bad_idempotency_key", format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} characters")));
    }
    Ok(Some(k.to_string()))
}

impl IdempotencyStore {
    /// Claims `key` (already qualified by user and route) for a request body.
    pub fn claim(&self, key: String, body: &[u8]) -> Result<Claim, ApiError> {
        let body_hash = hash(body);
        let entry = self.entries.entry(key.clone()).or_insert_with(|| Entry::Running { body_hash });
        if entry.is_fresh() {
            return Ok(Claim::Run(key));
        }
        match entry.into_value() {
            Entry::Done { body_hash: h, response } if h == body_hash => Ok(Claim::Replay(response)),
            Entry::Running { body_hash: h } if h == body_hash => Err(ApiError::new(StatusCode::CONFLICT, "idempotency_in_progress", "a request with this Idempotency-Key is still running").hint("retry in a moment to get its response")),
            _ => Err(ApiError::unprocessable("idempotency_key_reused", "this Idempotency-Key was used with a different request body").hint("use a new key for a new request")),
        }
    }

    /// Keeps the response of a claimed key (server errors and 429s are not kept, so
    /// they can be retried).
    pub fn finish(&self, key: String, body: &[u8], response: Stored) {
        if response.status.is_server_error() || response.status == StatusCode::TOO_MANY_REQUESTS {
            self.entries.invalidate(&key);
        } else {
            self.entries.insert(key, Entry::Done { body_hash: hash(body), response: Arc::new(response) });
        }
    }

    /// Releases a claimed key without keeping anything.
    pub fn abandon(&self, key: &str) {
        self.entries.invalidate(key);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn first_response_is_replayed_and_reuse_is_refused() {
        let s = IdempotencyStore::default();
        let Claim::Run(k) = s.claim("u:q:1".into(), b"{}").unwrap() else { panic!("first claim runs") };
        assert_eq!(s.claim("u:q:1".into(), b"{}").unwrap_err().code, "idempotency_in_progress");
        s.finish(k, b"{}", Stored { status: StatusCode::OK, headers: vec![], body: Bytes::from_static(b"first") });
        let Claim::Replay(r) = s.claim("u:q:1".into(), b"{}").unwrap() else { panic!("replayed") };
        assert_eq!(&r.body[..], b"first");
        assert_eq!(s.claim("u:q:1".into(), b"{\"x\":1}").unwrap_err().code, "idempotency_key_reused");
        let Claim::Run(k2) = s.claim("u:q:2".into(), b"{}").unwrap() else { panic!() };
        s.finish(k2, b"{}", Stored { status: StatusCode::SERVICE_UNAVAILABLE, headers: vec![], body: Bytes::new() });
        assert!(matches!(s.claim("u:q:2".into(), b"{}").unwrap(), Claim::Run(_)), "5xx responses are not kept");
    }
}
