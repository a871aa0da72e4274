//! The public keys RS256/ES256 bearer tokens are checked against: a JWKS from a file or a
//! URL, cached (moka), and fetched again when a token names a key the cache does not hold
//! (a key rotation), at most once per `min_refresh` so unknown key ids cannot be used to
//! flood the key server. Only RSA keys for RS256 and P-256 keys for ES256 are taken;
//! symmetric (`oct`) keys in a key set are ignored, so a JWKS never enables HS256.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use moka::sync::Cache;

/// How long fetched keys are kept before the set is fetched again.
pub const KEY_TTL: Duration = Duration::from_secs(60 * 60);
/// The shortest interval between two fetches caused by unknown key ids.
pub const MIN_REFRESH: Duration = Duration::from_secs(30);

/// Where the key set comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    File(PathBuf),
    Url(String),
}

impl JwksSource {
    /// `http(s)://...` is a URL, anything else a file path.
    pub fn parse(s: &str) -> Self {
        if s.starts_with("https://") || s.starts_with("http://") {
            JwksSource::Url(s.to_string())
        } else {
            JwksSource::File(PathBuf::from(s))
        }
    }
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::File(p) => write!(f, "{}", p.display()),
            JwksSource::Url(u) => f.write_str(u),
        }
    }
}

/// The key set could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("cannot read the JWKS {source_name}: {message}")]
    Read {
        source_name: String,
        message: String,
    },
    #[error("the JWKS {source_name} is not a valid key set: {message}")]
    Parse {
        source_name: String,
        message: String,
    },
}

/// One verification key.
#[derive(Clone)]
pub struct JwksKey {
    /// The only algorithm tokens signed with this key may name.
    pub algorithm: Algorithm,
    pub decoding: DecodingKey,
}

/// The cached key set.
pub struct Jwks {
    source: JwksSource,
    keys: Cache<String, Arc<JwksKey>>,
    client: reqwest::Client,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    min_refresh: Duration,
    fetches: AtomicU64,
}

/// The usable keys of a JWKS document, by key id.
pub fn parse(text: &str, source_name: &str) -> Result<Vec<(String, JwksKey)>, JwksError> {
    let set: JwkSet = serde_json::from_str(text).map_err(|e| JwksError::Parse {
        source_name: source_name.to_string(),
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
            (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
            (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES256))
                if p.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            _ => continue,
        };
        let decoding = DecodingKey::from_jwk(jwk).map_err(|e| JwksError::Parse {
            source_name: source_name.to_string(),
            message: format!("key '{kid}': {e}"),
        })?;
        out.push((
            kid,
            JwksKey {
                algorithm,
                decoding,
            },
        ));
    }
    Ok(out)
}

impl Jwks {
    /// Loads the key set (it must be readable at start-up).
    pub async fn load(source: JwksSource) -> Result<Arc<Jwks>, JwksError> {
        Self::load_with(source, MIN_REFRESH).await
    }

    /// Loads the key set, with the shortest interval between fetches for unknown keys.
    pub async fn load_with(
        source: JwksSource,
        min_refresh: Duration,
    ) -> Result<Arc<Jwks>, JwksError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| JwksError::Read {
                source_name: source.to_string(),
                message: e.to_string(),
            })?;
        let jwks = Jwks {
            source,
            keys: Cache::builder()
                .time_to_live(KEY_TTL)
                .max_capacity(1_000)
                .build(),
            client,
            last_fetch: tokio::sync::Mutex::new(None),
            min_refresh,
            fetches: AtomicU64::new(0),
        };
        jwks.refresh().await?;
        Ok(Arc::new(jwks))
    }

    /// Where the keys come from.
    pub fn source(&self) -> &JwksSource {
        &self.source
    }

    /// How many times the key set was read.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// A cached key.
    pub fn get(&self, kid: &str) -> Option<Arc<JwksKey>> {
        self.keys.get(kid)
    }

    async fn read(&self) -> Result<String, JwksError> {
        let err = |message: String| JwksError::Read {
            source_name: self.source.to_string(),
            message,
        };
        match &self.source {
            JwksSource::File(p) => tokio::fs::read_to_string(p)
                .await
                .map_err(|e| err(e.to_string())),
            JwksSource::Url(u) => {
                let resp = self
                    .client
                    .get(u)
                    .send()
                    .await
                    .map_err(|e| err(e.to_string()))?;
                if !resp.status().is_success() {
                    return Err(err(format!("HTTP {}", resp.status())));
                }
                resp.text().await.map_err(|e| err(e.to_string()))
            }
        }
    }

    /// Reads the key set again and replaces the cached keys. Returns how many keys it holds.
    pub async fn refresh(&self) -> Result<usize, JwksError> {
        let mut last = self.last_fetch.lock().await;
        let keys = parse(&self.read().await?, &self.source.to_string())?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        *last = Some(Instant::now());
        self.keys.invalidate_all();
        let n = keys.len();
        for (kid, key) in keys {
            self.keys.insert(kid, Arc::new(key));
        }
        Ok(n)
    }

    /// Makes sure `kid` is looked for: when it is not cached, reads the key set again
    /// (unless it was read less than `min_refresh` ago). Failures keep the old keys.
    pub async fn ensure(&self, kid: &str) {
        if self.keys.contains_key(kid) {
            return;
        }
        {
            let last = self.last_fetch.lock().await;
            if self.keys.contains_key(kid) || last.is_some_and(|t| t.elapsed() < self.min_refresh) {
                return;
            }
        }
        if let Err(e) = self.refresh().await {
            tracing::warn!(target: "deriq::http", error = %e, "JWKS refresh failed; keeping the cached keys");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_rsa_and_p256_keys_with_ids_are_taken() {
        let text = r#"{"keys":[
            {"kty":"oct","kid":"hs","k":"c2VjcmV0"},
            {"kty":"RSA","n":"sXch","e":"AQAB"},
            {"kty":"RSA","kid":"r","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB","alg":"RS256"},
            {"kty":"RSA","kid":"r384","n":"sXch","e":"AQAB","alg":"RS384"}
        ]}"#;
        let keys = parse(text, "test").unwrap();
        assert_eq!(
            keys.len(),
            1,
            "the oct key, the key without kid and the RS384 key are left out"
        );
        assert_eq!(
            (keys[0].0.as_str(), keys[0].1.algorithm),
            ("r", Algorithm::RS256)
        );
        assert!(parse("{\"keys\": 3}", "test").is_err());
        assert_eq!(
            JwksSource::parse("https://idp.example/jwks.json"),
            JwksSource::Url("https://idp.example/jwks.json".into())
        );
        assert_eq!(
            JwksSource::parse("/etc/deriq/jwks.json"),
            JwksSource::File("/etc/deriq/jwks.json".into())
        );
    }
}
