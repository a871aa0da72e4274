//! Databases: the embedded cluster's lifecycle, connection settings, migrations and the
//! roles' credentials and scope key.

pub mod embedded;
pub mod scoped;
pub mod secrets;
pub mod status;

use std::str::FromStr;
use std::time::Duration;

use deriq_core::ScopeKey;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};

use crate::config::Config;
use embedded::Cluster;
use secrets::{Secrets, SecretsError};

/// The migrations of `migrations/`, compiled in.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// A database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Embedded(#[from] embedded::EmbeddedError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error("cannot connect to the {what} database ({url}): {source}; is it running? (`deriq db up`)")]
    Connect { what: &'static str, url: String, source: sqlx::Error },
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error while {doing}: {source}")]
    Query { doing: &'static str, source: sqlx::Error },
    #[error("{0} is required when DATABASE_URL is set (the embedded secrets are only used for the embedded database)")]
    MissingSetting(&'static str),
    #[error("invalid database URL '{url}': {message}")]
    BadUrl { url: String, message: String },
    #[error(transparent)]
    ScopeKey(#[from] deriq_core::scope::BadScopeKey),
}

/// Connection settings for every role, resolved from configuration or the embedded secrets.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The migrating login on the primary (embedded: the `postgres` superuser).
    pub admin: PgConnectOptions,
    /// The `deriq_gateway` login on the primary.
    pub gateway: PgConnectOptions,
    /// Each replica, as host/port/database; credentials are added per tier.
    pub replicas: Vec<PgConnectOptions>,
    pub query_full_password: String,
    pub query_deid_password: String,
    pub gateway_password: String,
    pub scope_key: ScopeKey,
    /// The HS256 secret for development tokens (embedded only).
    pub dev_jwt_secret: Option<String>,
}

fn parse_url(url: &str) -> Result<PgConnectOptions, DbError> {
    PgConnectOptions::from_str(url).map_err(|e| DbError::BadUrl { url: redact(url), message: e.to_string() })
}

/// A URL with its password hidden, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Endpoints {
    /// Resolves the endpoints. Embedded: from `.deriq/secrets.toml` (created if needed).
    pub fn resolve(config: &Config) -> Result<Self, DbError> {
        if let Some(url) = &config.database_url {
            let admin = parse_url(url)?;
            let gateway_password = config.gateway_password.clone().ok_or(DbError::MissingSetting("DERIQ_GATEWAY_PASSWORD"))?;
            let replicas = if config.replica_urls.is_empty() {
                vec![admin.clone()]
            } else {
                config.replica_urls.iter().map(|u| parse_url(u)).collect::<Result<_, _>>()?
            };
            return Ok(Endpoints {
                gateway: admin.clone().username("deriq_gateway").password(&gateway_password),
                admin,
                replicas,
                query_full_password: config.query_full_password.clone().ok_or(DbError::MissingSetting("DERIQ_QUERY_FULL_PASSWORD"))?,
                query_deid_password: config.query_deid_password.clone().ok_or(DbError::MissingSetting("DERIQ_QUERY_DEID_PASSWORD"))?,
                gateway_password,
                scope_key: ScopeKey::from_hex(config.scope_key.as_deref().ok_or(DbError::MissingSetting("DERIQ_SCOPE_KEY"))?)?,
                dev_jwt_secret: None,
            });
        }
        let s = Secrets::load(&config.data_dir)?;
        let local = |port: u16| PgConnectOptions::new().host("127.0.0.1").port(port).database(embedded::DATABASE);
        let replicas = if config.replica_urls.is_empty() {
            vec![local(config.replica_port)]
        } else {
            config.replica_urls.iter().map(|u| parse_url(u)).collect::<Result<_, _>>()?
        };
        Ok(Endpoints {
            admin: local(config.primary_port).username("postgres").password(&s.admin_password),
            gateway: local(config.primary_port).username("deriq_gateway").password(&s.gateway_password),
            replicas,
            query_full_password: s.query_full_password,
            query_deid_password: s.query_deid_password,
            gateway_password: s.gateway_password,
            scope_key: ScopeKey::from_hex(&s.scope_key)?,
            dev_jwt_secret: Some(s.dev_jwt_secret),
        })
    }

    /// The admin login on another database of the same server.
    pub fn admin_on(&self, database: &str) -> PgConnectOptions {
        self.admin.clone().database(database)
    }
}

/// Opens a small pool.
pub async fn pool(what: &'static str, options: PgConnectOptions, max: u32) -> Result<PgPool, DbError> {
    let url = format!("{}:{}/{} as {}", options.get_host(), options.get_port(), options.get_database().unwrap_or(""), options.get_username());
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(|source| DbError::Connect { what, url, source })
}

/// Runs the migrations, sets the roles' passwords and installs the scope key.
/// Idempotent; the connection must be the migrating login.
pub async fn migrate_and_configure(admin: &PgPool, endpoints: &Endpoints, replicator_password: Option<&str>) -> Result<(), DbError> {
    MIGRATOR.run(admin).await?;
    let mut roles = vec![("deriq_gateway", endpoints.gateway_password.clone())];
    for login in scoped::QueryLogin::ALL {
        roles.push((login.role(), login.password(&endpoints.query_full_password, &endpoints.query_deid_password)));
    }
    if let Some(p) = replicator_password {
        roles.push(("deriq_replicator", p.to_string()));
    }
    for (role, password) in roles {
        // ALTER ROLE takes no bind parameters: let the server quote the values.
        let stmt: String = sqlx::query_scalar("SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)")
            .bind(role)
            .bind(password)
            .fetch_one(admin)
            .await
            .map_err(|source| DbError::Query { doing: "preparing a role password", source })?;
        admin.execute(stmt.as_str()).await.map_err(|source| DbError::Query { doing: "setting a role password", source })?;
    }
    install_scope_key(admin, &endpoints.scope_key).await
}

/// Writes the scope key's HMAC blocks into `deriq_sec.scope_key` (replicated to replicas).
pub async fn install_scope_key(admin: &PgPool, key: &ScopeKey) -> Result<(), DbError> {
    let (ipad, opad) = key.hmac_blocks();
    sqlx::query(
        "INSERT INTO deriq_sec.scope_key (id, k_ipad, k_opad) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET k_ipad = EXCLUDED.k_ipad, k_opad = EXCLUDED.k_opad, set_at = now()",
    )
    .bind(&ipad[..])
    .bind(&opad[..])
    .execute(admin)
    .await
    .map_err(|source| DbError::Query { doing: "installing the scope key", source })?;
    Ok(())
}

/// `deriq db up` for the embedded cluster: create (first time) and start the primary and
/// the replica, create the database, migrate, configure. Idempotent.
pub async fn up(config: &Config, progress: &dyn Fn(&str)) -> Result<Endpoints, DbError> {
    // The first `db up` makes the embedded secrets; every other command only reads them.
    let secrets = config.is_embedded().then(|| Secrets::load_or_create(&config.data_dir)).transpose()?;
    let endpoints = Endpoints::resolve(config)?;
    let Some(secrets) = secrets else {
        progress("using DATABASE_URL: running migrations on the primary");
        let admin = pool("primary", endpoints.admin.clone(), 2).await?;
        migrate_and_configure(&admin, &endpoints, None).await?;
        return Ok(endpoints);
    };
    let cluster = Cluster::new(&config.data_dir, &config.tools_dir, config.primary_port, config.replica_port);
    cluster.check_installed()?;
    cluster.prepare_os()?;
    if !cluster.primary_exists() {
        progress("initialising the primary (initdb)");
        cluster.init_primary(&secrets.admin_password)?;
    }
    progress("starting the primary");
    cluster.start(&cluster.primary)?;
    ensure_database(&endpoints).await?;
    progress("running migrations");
    let admin = pool("primary", endpoints.admin.clone(), 2).await?;
    migrate_and_configure(&admin, &endpoints, Some(&secrets.replicator_password)).await?;
    admin.close().await;
    if !cluster.replica_exists() {
        progress("creating the read replica (pg_basebackup -R)");
        cluster.init_replica(&secrets.replicator_password)?;
    }
    progress("starting the replica");
    cluster.start(&cluster.replica)?;
    Ok(endpoints)
}

async fn ensure_database(endpoints: &Endpoints) -> Result<(), DbError> {
    let maint = pool("primary", endpoints.admin_on("postgres"), 1).await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(embedded::DATABASE)
        .fetch_one(&maint)
        .await
        .map_err(|source| DbError::Query { doing: "looking for the database", source })?;
    if !exists {
        maint
            .execute("CREATE DATABASE deriq")
            .await
            .map_err(|source| DbError::Query { doing: "creating the database", source })?;
    }
    maint.close().await;
    Ok(())
}

/// `deriq db down`: stops the replica, then the primary.
pub fn down(config: &Config) -> Result<(), DbError> {
    let cluster = Cluster::new(&config.data_dir, &config.tools_dir, config.primary_port, config.replica_port);
    cluster.check_installed()?;
    cluster.stop(&cluster.replica)?;
    cluster.stop(&cluster.primary)?;
    Ok(())
}

/// `deriq db reset`: stops both servers and removes their data (secrets are kept).
pub fn reset(config: &Config) -> Result<(), DbError> {
    down(config)?;
    let cluster = Cluster::new(&config.data_dir, &config.tools_dir, config.primary_port, config.replica_port);
    cluster.remove_data()?;
    Ok(())
}
