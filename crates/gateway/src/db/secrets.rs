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
    #[error(
        "no embedded database is set up under {}: run `deriq db up` in the project folder, or set DERIQ_HOME to the project folder (DERIQ_DATA_DIR to its .deriq, or DATABASE_URL for another server)",
        .data_dir.display()
    )]
    NotSetUp { data_dir: PathBuf },
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

    /// Loads existing secrets; none yet is [`SecretsError::NotSetUp`] (only `deriq db up`
    /// creates them, so a command run outside the project leaves nothing behind).
    pub fn load(data_dir: &Path) -> Result<Self, SecretsError> {
        let path = Self::path(data_dir);
        if !path.exists() {
            return Err(SecretsError::NotSetUp { data_dir: data_dir.to_path_buf() });
        }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn loading_where_nothing_is_set_up_says_how_to_set_it_up_and_creates_nothing() {
        let dir = std::env::temp_dir().join(format!("deriq-no-secrets-{}", random_hex(8)));
        let err = Secrets::load(&dir).unwrap_err().to_string();
        assert!(err.contains("deriq db up") && err.contains("DERIQ_HOME"), "{err}");
        assert!(!dir.exists(), "loading created {}", dir.display());
        let created = Secrets::load_or_create(&dir).unwrap();
        assert_eq!(Secrets::load(&dir).unwrap().scope_key, created.scope_key);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
