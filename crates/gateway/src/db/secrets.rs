//! Credentials of the embedded databases, generated once and kept in
//! `<data_dir>/secrets.toml` (mode 0600, git-ignored).

use std::path::{Path, PathBuf};

use rand::RngCore;
use serde::{Deserialize, Serialize};

/// The embedded installation's generated credentials and keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Secrets {
    /// Password of the `postgres` superuser of the embedded cluster.
    pub admin_password: String,
    pub gateway_password: String,
    pub query_full_password: String,
    pub query_deid_password: String,
    pub replicator_password: String,
    /// 64 hex characters: signs RLS scopes.
    pub scope_key: String,
    /// HS256 secret for development tokens.
    pub dev_jwt_secret: String,
}

/// The secrets file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot {action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{path} is damaged ({message}); remove it with `deriq db reset`")]
    Damaged { path: PathBuf, message: String },
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

impl Secrets {
    /// The path of the secrets file in `data_dir`.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("secrets.toml")
    }

    /// Loads the secrets, or generates and saves new ones the first time.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, SecretsError> {
        let path = Self::path(data_dir);
        if path.exists() {
            return Self::load(data_dir);
        }
        let s = Secrets {
            admin_password: random_hex(16),
            gateway_password: random_hex(16),
            query_full_password: random_hex(16),
            query_deid_password: random_hex(16),
            replicator_password: random_hex(16),
            scope_key: random_hex(32),
            dev_jwt_secret: random_hex(32),
        };
        std::fs::create_dir_all(data_dir).map_err(|source| SecretsError::Io { action: "create", path: data_dir.to_path_buf(), source })?;
        let text = toml::to_string(&s).map_err(|e| SecretsError::Damaged { path: path.clone(), message: e.to_string() })?;
        write_private(&path, &text).map_err(|source| SecretsError::Io { action: "write", path: path.clone(), source })?;
        Ok(s)
    }

    /// Loads existing secrets.
    pub fn load(data_dir: &Path) -> Result<Self, SecretsError> {
        let path = Self::path(data_dir);
        let text = std::fs::read_to_string(&path).map_err(|source| SecretsError::Io { action: "read", path: path.clone(), source })?;
        toml::from_str(&text).map_err(|e| SecretsError::Damaged { path, message: e.to_string() })
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}
