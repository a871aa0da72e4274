//! Timeouts and the retry policy shared by the LLM drafters: how long a draft may take, how
//! often a failed call is retried, and how long to wait in between (exponential backoff with
//! jitter, or what the provider asked for in `retry-after`).

use std::time::Duration;

use rand::Rng;
use reqwest::header::HeaderMap;

use super::DrafterError;

/// Default for `DERIQ_DRAFTER_TIMEOUT_SECS`: the whole draft, retries and waits included.
pub const DEFAULT_TOTAL_TIMEOUT_SECS: u64 = 60;
/// Default for `DERIQ_DRAFTER_MAX_RETRIES`.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// Time allowed for establishing a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a drafter may take and how often it retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time allowed for establishing a connection.
    pub connect_timeout: Duration,
    /// Time allowed for the whole draft, every attempt and wait included.
    pub total_timeout: Duration,
    /// Retries after the first attempt (so at most `max_retries + 1` requests; at most 10).
    pub max_retries: u32,
    /// First backoff delay; doubled per retry.
    pub backoff_base: Duration,
    /// Largest backoff delay.
    pub backoff_cap: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            total_timeout: Duration::from_secs(DEFAULT_TOTAL_TIMEOUT_SECS),
            max_retries: DEFAULT_MAX_RETRIES,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(8),
        }
    }
}

impl Limits {
    /// Reads `DERIQ_DRAFTER_TIMEOUT_SECS` and `DERIQ_DRAFTER_MAX_RETRIES` through `lookup`
    /// (the process environment in production, a map in tests).
    pub fn from_lookup(provider: &'static str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Limits, DrafterError> {
        let mut limits = Limits::default();
        if let Some(secs) = number(provider, lookup, "DERIQ_DRAFTER_TIMEOUT_SECS")? {
            if secs == 0 {
                return Err(DrafterError::NotConfigured { provider, message: "DERIQ_DRAFTER_TIMEOUT_SECS must be at least 1".into() });
            }
            limits.total_timeout = Duration::from_secs(secs);
            limits.connect_timeout = limits.connect_timeout.min(limits.total_timeout);
        }
        if let Some(retries) = number(provider, lookup, "DERIQ_DRAFTER_MAX_RETRIES")? {
            limits.max_retries = u32::try_from(retries).unwrap_or(u32::MAX).min(10);
        }
        Ok(limits)
    }

    /// The wait before retry number `retry` (0-based): what the provider asked for when it
    /// said so, otherwise `base * 2^retry` capped, with full jitter over its upper half.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait;
        }
        let exp = self.backoff_base.saturating_mul(2u32.saturating_pow(retry)).min(self.backoff_cap);
        let half = exp / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rand::thread_rng().gen_range(0..=jitter_ms))
    }
}

fn number(provider: &'static str, lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<Option<u64>, DrafterError> {
    match lookup(name) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| DrafterError::NotConfigured {
            provider,
            message: format!("{name} must be a whole number, not {v:?}"),
        }),
    }
}

/// What the provider asked us to wait: `retry-after-ms`, or `retry-after` in seconds
/// (fractions allowed). HTTP dates are not used by these APIs and are ignored.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return seconds(ms / 1000.0);
    }
    header("retry-after").and_then(|v| v.parse::<f64>().ok()).and_then(seconds)
}

fn seconds(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

/// Whether an HTTP status is worth retrying: rate limits, server errors, Anthropic's 529
/// "overloaded".
pub fn retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Appends a note to an error's message.
pub(crate) fn annotate(error: DrafterError, note: &str) -> DrafterError {
    match error {
        DrafterError::Http { provider, status, message } => DrafterError::Http { provider, status, message: format!("{message} ({note})") },
        DrafterError::Transport { provider, message } => DrafterError::Transport { provider, message: format!("{message} ({note})") },
        DrafterError::Protocol { provider, message } => DrafterError::Protocol { provider, message: format!("{message} ({note})") },
        other => other,
    }
}

/// A timeout in whole seconds, rounded up, for messages.
pub(crate) fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let l = Limits { backoff_base: Duration::from_millis(100), backoff_cap: Duration::from_millis(1000), ..Limits::default() };
        for retry in 0..8 {
            let full = Duration::from_millis(100 * 2u64.pow(retry)).min(Duration::from_millis(1000));
            let d = l.delay(retry, None);
            assert!(d >= full / 2 && d <= full, "retry {retry}: {d:?}");
        }
        let spread: std::collections::BTreeSet<Duration> = (0..50).map(|_| l.delay(3, None)).collect();
        assert!(spread.len() > 1, "no jitter");
        assert_eq!(l.delay(0, Some(Duration::from_secs(2))), Duration::from_secs(2));
    }

    #[test]
    fn retry_after_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after", HeaderValue::from_static("0.25"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        h.insert("retry-after-ms", HeaderValue::from_static("40"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(40)));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn limits_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(Limits::from_lookup("x", &env(&[])).unwrap(), Limits::default());
        let l = Limits::from_lookup("x", &env(&[("DERIQ_DRAFTER_TIMEOUT_SECS", "5"), ("DERIQ_DRAFTER_MAX_RETRIES", "1")])).unwrap();
        assert_eq!((l.total_timeout, l.connect_timeout, l.max_retries), (Duration::from_secs(5), Duration::from_secs(5), 1));
        assert!(Limits::from_lookup("x", &env(&[("DERIQ_DRAFTER_MAX_RETRIES", "many")])).is_err());
        assert!(Limits::from_lookup("x", &env(&[("DERIQ_DRAFTER_TIMEOUT_SECS", "0")])).is_err());
        assert!(retryable_status(429) && retryable_status(529) && retryable_status(500));
        assert!(!retryable_status(400) && !retryable_status(401));
    }
}
