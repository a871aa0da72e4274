//! Configuration: environment variables over an optional TOML file.
//!
//! The file is `$DERIQ_CONFIG`, else `deriq.toml` in the project root when present. Every
//! setting below can be given in the file (lower-case key) or the environment (the name
//! shown); the environment wins. With no database settings at all, DER IQ runs on its
//! embedded PostgreSQL (primary + streaming replica) under `.deriq/`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A configuration that cannot be used as given.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the config file {path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{name} must be {expected}, got '{value}'")]
    Invalid { name: &'static str, expected: &'static str, value: String },
}

/// The settings, as read from the file; all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    replica_urls: Option<Vec<String>>,
    gateway_password: Option<String>,
    query_full_password: Option<String>,
    query_deid_password: Option<String>,
    scope_key: Option<String>,
    data_dir: Option<PathBuf>,
    tools_dir: Option<PathBuf>,
    primary_port: Option<u16>,
    replica_port: Option<u16>,
    replica_fallback_to_primary: Option<bool>,
    http_addr: Option<String>,
    jwt_secret: Option<String>,
    jwt_issuer: Option<String>,
    jwt_audience: Option<String>,
    rate_limit_tenant_per_minute: Option<u32>,
    rate_limit_user_per_minute: Option<u32>,
    jwks: Option<String>,
    tenant_base_domain: Option<String>,
    timeout_drafter_ms: Option<u64>,
    timeout_database_ms: Option<u64>,
    timeout_retrieval_ms: Option<u64>,
    results_cache_ttl_ms: Option<u64>,
    otlp_endpoint: Option<String>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: the primary (migrations, audit, corpus), as a login that may run
    /// migrations. Unset: the embedded primary.
    pub database_url: Option<String>,
    /// `REPLICA_URLS`: comma-separated read replicas for question queries (host, port and
    /// database are used; the query roles' own credentials are put in). Unset: the embedded
    /// replica, or the primary's host when only `DATABASE_URL` is set.
    pub replica_urls: Vec<String>,
    /// `DERIQ_GATEWAY_PASSWORD`: password of the `deriq_gateway` login (audit writer).
    pub gateway_password: Option<String>,
    /// `DERIQ_QUERY_FULL_PASSWORD`: password of the `deriq_query_full` login.
    pub query_full_password: Option<String>,
    /// `DERIQ_QUERY_DEID_PASSWORD`: password of the `deriq_query_deid` login.
    pub query_deid_password: Option<String>,
    /// `DERIQ_SCOPE_KEY`: 64 hex characters; the key that signs RLS scopes. Embedded: generated.
    pub scope_key: Option<String>,
    /// `DERIQ_DATA_DIR`: embedded databases, secrets, spool. Default `<project>/.deriq`.
    pub data_dir: PathBuf,
    /// `DERIQ_TOOLS_DIR`: where the set-up script installs PostgreSQL and the embedding model.
    /// Default `<project>/.tools`.
    pub tools_dir: PathBuf,
    /// `DERIQ_PRIMARY_PORT`: embedded primary port on 127.0.0.1 (default 54329).
    pub primary_port: u16,
    /// `DERIQ_REPLICA_PORT`: embedded replica port on 127.0.0.1 (default 54330).
    pub replica_port: u16,
    /// `DERIQ_REPLICA_FALLBACK_TO_PRIMARY`: run questions on the primary when no replica is
    /// healthy (default false: fail with "no healthy replica").
    pub replica_fallback_to_primary: bool,
    /// `DERIQ_HTTP_ADDR`: where `deriq serve` listens (default `127.0.0.1:8080`).
    pub http_addr: String,
    /// `DERIQ_JWT_SECRET`: the HS256 secret bearer tokens are signed with. Unset: the
    /// embedded installation's generated development secret (`deriq token` uses it).
    pub jwt_secret: Option<String>,
    /// `DERIQ_JWT_ISSUER`: the required `iss` claim (default `deriq`).
    pub jwt_issuer: String,
    /// `DERIQ_JWT_AUDIENCE`: the required `aud` claim (default `der-iq`).
    pub jwt_audience: String,
    /// `DERIQ_RATE_LIMIT_TENANT_PER_MINUTE`: requests per minute per tenant (default 100).
    pub rate_limit_tenant_per_minute: u32,
    /// `DERIQ_RATE_LIMIT_USER_PER_MINUTE`: requests per minute per user (default 60).
    pub rate_limit_user_per_minute: u32,
    /// `DERIQ_JWKS`: a JWKS file path or `https://` URL whose RS256/ES256 keys verify
    /// bearer tokens (besides the HS256 secret, when one is set).
    pub jwks: Option<String>,
    /// `DERIQ_TENANT_BASE_DOMAIN`: requests to `<tenant slug>.<this domain>` are for that
    /// tenant (e.g. `deriq.example.com`). Unset: subdomains are not used.
    pub tenant_base_domain: Option<String>,
    /// `DERIQ_TIMEOUT_DRAFTER_MS`: drafter time limit per attempt (default 60000).
    pub timeout_drafter_ms: Option<u64>,
    /// `DERIQ_TIMEOUT_DATABASE_MS`: time limit of one query execution (default 10000).
    pub timeout_database_ms: Option<u64>,
    /// `DERIQ_TIMEOUT_RETRIEVAL_MS`: time limit of regulatory retrieval (default 5000).
    pub timeout_retrieval_ms: Option<u64>,
    /// `DERIQ_RESULTS_CACHE_TTL_MS`: how long a query result is reused for the same SQL and
    /// scope (default 10000; 0 turns the cache off).
    pub results_cache_ttl_ms: Option<u64>,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: where `deriq serve` sends its trace spans (OTLP over
    /// HTTP). Unset: no export.
    pub otlp_endpoint: Option<String>,
}

impl Config {
    /// Whether DER IQ manages its own embedded PostgreSQL.
    pub fn is_embedded(&self) -> bool {
        self.database_url.is_none()
    }

    /// Development sign-in: whether `deriq serve` lets DER IQ Chat list the demo users
    /// and mint tokens for them (`/api/der-iq/dev/*`, see `http::dev`). On only for the
    /// embedded installation signing with its generated development secret; setting
    /// `DERIQ_JWT_SECRET`, `DERIQ_JWKS` or an external database turns it off.
    pub fn dev_sign_in(&self) -> bool {
        self.is_embedded() && self.jwt_secret.is_none() && self.jwks.is_none()
    }

    /// Reads the file (if any) and the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        let root = project_root();
        let path = std::env::var_os("DERIQ_CONFIG").map(PathBuf::from).unwrap_or_else(|| root.join("deriq.toml"));
        let file = if path.exists() { read_file(&path)? } else { FileConfig::default() };
        Self::resolve(file, &root, |k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    fn resolve(file: FileConfig, root: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let port = |name: &'static str, file_value: Option<u16>, default: u16| -> Result<u16, ConfigError> {
            match env(name) {
                Some(v) => v.parse().map_err(|_| ConfigError::Invalid { name, expected: "a TCP port number", value: v }),
                None => Ok(file_value.unwrap_or(default)),
            }
        };
        let replica_fallback_to_primary = match env("DERIQ_REPLICA_FALLBACK_TO_PRIMARY") {
            Some(v) => match v.as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => return Err(ConfigError::Invalid { name: "DERIQ_REPLICA_FALLBACK_TO_PRIMARY", expected: "true or false", value: v }),
            },
            None => file.replica_fallback_to_primary.unwrap_or(false),
        };
        let per_minute = |name: &'static str, file_value: Option<u32>, default: u32| -> Result<u32, ConfigError> {
            match env(name) {
                Some(v) => v.parse().ok().filter(|n| *n > 0).ok_or(ConfigError::Invalid { name, expected: "a positive number of requests", value: v }),
                None => Ok(file_value.unwrap_or(default)),
            }
        };
        let millis = |name: &'static str, file_value: Option<u64>| -> Result<Option<u64>, ConfigError> {
            match env(name) {
                Some(v) => v.parse().map(Some).map_err(|_| ConfigError::Invalid { name, expected: "a number of milliseconds", value: v }),
                None => Ok(file_value),
            }
        };
        Ok(Config {
            http_addr: env("DERIQ_HTTP_ADDR").or(file.http_addr).unwrap_or_else(|| "127.0.0.1:8080".to_string()),
            jwt_secret: env("DERIQ_JWT_SECRET").or(file.jwt_secret),
            jwt_issuer: env("DERIQ_JWT_ISSUER").or(file.jwt_issuer).unwrap_or_else(|| "deriq".to_string()),
            jwt_audience: env("DERIQ_JWT_AUDIENCE").or(file.jwt_audience).unwrap_or_else(|| "der-iq".to_string()),
            rate_limit_tenant_per_minute: per_minute("DERIQ_RATE_LIMIT_TENANT_PER_MINUTE", file.rate_limit_tenant_per_minute, 100)?,
            rate_limit_user_per_minute: per_minute("DERIQ_RATE_LIMIT_USER_PER_MINUTE", file.rate_limit_user_per_minute, 60)?,
            jwks: env("DERIQ_JWKS").or(file.jwks),
            tenant_base_domain: env("DERIQ_TENANT_BASE_DOMAIN").or(file.tenant_base_domain).map(|d| d.trim_matches('.').to_ascii_lowercase()),
            timeout_drafter_ms: millis("DERIQ_TIMEOUT_DRAFTER_MS", file.timeout_drafter_ms)?,
            timeout_database_ms: millis("DERIQ_TIMEOUT_DATABASE_MS", file.timeout_database_ms)?,
            timeout_retrieval_ms: millis("DERIQ_TIMEOUT_RETRIEVAL_MS", file.timeout_retrieval_ms)?,
            results_cache_ttl_ms: millis("DERIQ_RESULTS_CACHE_TTL_MS", file.results_cache_ttl_ms)?,
            otlp_endpoint: env("OTEL_EXPORTER_OTLP_ENDPOINT").or(file.otlp_endpoint),
            database_url: env("DATABASE_URL").or(file.database_url),
            replica_urls: env("REPLICA_URLS")
                .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
                .or(file.replica_urls)
                .unwrap_or_default(),
            gateway_password: env("DERIQ_GATEWAY_PASSWORD").or(file.gateway_password),
            query_full_password: env("DERIQ_QUERY_FULL_PASSWORD").or(file.query_full_password),
            query_deid_password: env("DERIQ_QUERY_DEID_PASSWORD").or(file.query_deid_password),
            scope_key: env("DERIQ_SCOPE_KEY").or(file.scope_key),
            data_dir: env("DERIQ_DATA_DIR").map(PathBuf::from).or(file.data_dir).unwrap_or_else(|| root.join(".deriq")),
            tools_dir: env("DERIQ_TOOLS_DIR").map(PathBuf::from).or(file.tools_dir).unwrap_or_else(|| root.join(".tools")),
            primary_port: port("DERIQ_PRIMARY_PORT", file.primary_port, 54329)?,
            replica_port: port("DERIQ_REPLICA_PORT", file.replica_port, 54330)?,
            replica_fallback_to_primary,
        })
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string() })
}

/// The project root: `$DERIQ_HOME`, else the nearest ancestor of the current directory
/// that holds `migrations/` and `Cargo.toml`, else the current directory.
pub fn project_root() -> PathBuf {
    if let Some(home) = std::env::var_os("DERIQ_HOME") {
        return PathBuf::from(home);
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors()
        .find(|d| d.join("migrations").is_dir() && d.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
        .unwrap_or(cwd)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(file: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let file: FileConfig = toml::from_str(file).unwrap();
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::resolve(file, Path::new("/p"), |k| env.get(k).cloned())
    }

    #[test]
    fn environment_overrides_the_file_and_defaults_fill_the_rest() {
        let c = resolve("primary_port = 6000\nreplica_urls = [\"postgres://a/db\"]", &[("REPLICA_URLS", "postgres://b/db, postgres://c/db")]).unwrap();
        assert_eq!(c.primary_port, 6000);
        assert_eq!(c.replica_port, 54330);
        assert_eq!(c.replica_urls, vec!["postgres://b/db", "postgres://c/db"]);
        assert_eq!(c.data_dir, PathBuf::from("/p/.deriq"));
        assert!(c.is_embedded());
        assert!(c.dev_sign_in(), "the embedded default offers development sign-in");
        assert!(!resolve("", &[("DERIQ_JWT_SECRET", "a-production-secret")]).unwrap().dev_sign_in());
        assert!(!resolve("database_url = 'postgres://db/x'", &[]).unwrap().dev_sign_in());
        assert!(!resolve("", &[("DERIQ_JWKS", "/etc/deriq/jwks.json")]).unwrap().dev_sign_in());
    }

    #[test]
    fn bad_values_say_what_was_expected() {
        let err = resolve("", &[("DERIQ_PRIMARY_PORT", "abc")]).unwrap_err().to_string();
        assert_eq!(err, "DERIQ_PRIMARY_PORT must be a TCP port number, got 'abc'");
        assert!(toml::from_str::<FileConfig>("databse_url = 'x'").is_err(), "unknown keys are rejected");
    }

    #[test]
    fn gateway_settings_parse_and_normalise() {
        let c = resolve("timeout_drafter_ms = 2500\ntenant_base_domain = 'DerIQ.Example.com.'", &[("DERIQ_RESULTS_CACHE_TTL_MS", "0"), ("DERIQ_JWKS", "https://idp.example/jwks.json")]).unwrap();
        assert_eq!((c.timeout_drafter_ms, c.timeout_database_ms, c.results_cache_ttl_ms), (Some(2500), None, Some(0)));
        assert_eq!(c.tenant_base_domain.as_deref(), Some("deriq.example.com"));
        assert_eq!(c.jwks.as_deref(), Some("https://idp.example/jwks.json"));
        assert!(c.otlp_endpoint.is_none(), "tracing export is off by default");
        let err = resolve("", &[("DERIQ_TIMEOUT_DATABASE_MS", "soon")]).unwrap_err().to_string();
        assert_eq!(err, "DERIQ_TIMEOUT_DATABASE_MS must be a number of milliseconds, got 'soon'");
    }
}
