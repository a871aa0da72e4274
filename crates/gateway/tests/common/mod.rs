//! The test harness: each test gets its own database, made in milliseconds from a
//! template that is migrated and seeded once per migration set, on the embedded primary
//! that `deriq db up` started (scripts/test does it).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use deriq_core::{Role, Scope, Tier};
use deriq_gateway::config::Config;
use deriq_gateway::db::{self, Endpoints, scoped};
use deriq_gateway::directory;
use deriq_gateway::seed::{self, SeedOptions};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Executor, PgPool, Row};

/// Employees per service company in the test template.
pub const TEMPLATE_EMPLOYEES: usize = 120;
/// The fixed "today" of the test data.
pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 15).unwrap()
}

fn template_name() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for m in db::MIGRATOR.iter() {
        for b in m.checksum.iter().chain(m.version.to_le_bytes().iter()) {
            h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    format!(
        "deriq_tpl_{:012x}_{}",
        h & 0xffff_ffff_ffff,
        TEMPLATE_EMPLOYEES
    )
}

/// One test's database and its connections.
pub struct TestApp {
    pub name: String,
    pub endpoints: Endpoints,
    /// Superuser on the test database (bypasses RLS; for set-up and checks only).
    pub admin: PgPool,
    role: Option<String>,
}

impl TestApp {
    /// A fresh database cloned from the template.
    pub async fn new() -> TestApp {
        let config = Config::load().expect("config");
        let endpoints = Endpoints::resolve(&config).expect("endpoints");
        let maint = db::pool("primary", endpoints.admin_on("postgres"), 1)
            .await
            .expect("the embedded primary must be running: run `deriq db up` (scripts/test does)");
        let template = template_name();
        ensure_template(&maint, &endpoints, &template).await;
        let name = format!("deriq_test_{}", uuid::Uuid::new_v4().simple());
        // Names are generated here, never from input.
        maint
            .execute(format!("CREATE DATABASE {name} TEMPLATE {template}").as_str())
            .await
            .expect("create test database");
        maint.close().await;
        let admin = db::pool("primary", endpoints.admin_on(&name), 4)
            .await
            .expect("admin pool");
        TestApp {
            name,
            endpoints,
            admin,
            role: None,
        }
    }

    /// Sets the demo user whose scope `scope_of_role` returns by default.
    pub fn with_role(mut self, role: Role) -> Self {
        self.role = Some(role.as_str().to_string());
        self
    }

    /// Connection options for a login role on this test database (on the primary).
    pub fn login(&self, user: &str) -> PgConnectOptions {
        let query_login = scoped::QueryLogin::ALL.into_iter().find(|l| l.role() == user);
        let password = match (user, query_login) {
            (_, Some(login)) => login.password(&self.endpoints.query_full_password, &self.endpoints.query_deid_password),
            ("deriq_gateway", None) => self.endpoints.gateway_password.clone(),
            (other, None) => panic!("no password for {other}"),
        };
        self.endpoints.admin_on(&self.name).username(user).password(&password)
    }

    /// A pool of the tier's unlimited query login (a scope of one whole tenant).
    pub async fn query_pool(&self, tier: Tier) -> PgPool {
        db::pool("primary", self.login(scoped::query_role(tier)), 2).await.expect("query pool")
    }

    /// A pool of the query login that runs `scope` at `tier`.
    pub async fn query_pool_for(&self, tier: Tier, scope: &Scope) -> PgPool {
        db::pool("primary", self.login(scoped::QueryLogin::for_scope(tier, scope).role()), 2).await.expect("query pool")
    }

    /// Lazily connecting pools of the four query logins on this test database.
    pub fn query_pools(&self) -> scoped::QueryPools {
        scoped::QueryPools::connect_lazy(&self.endpoints.admin_on(&self.name), &self.endpoints.query_full_password, &self.endpoints.query_deid_password, 2)
    }

    /// The demo user of a role in a tenant (slug), and their scope.
    pub async fn user_scope(&self, role: Role, tenant_slug: &str) -> (directory::User, Scope) {
        let email = format!("{}@{}.example", role.as_str(), tenant_slug);
        let user = directory::find_user(&self.admin, &email).await.expect("demo user");
        let (_, scope) = directory::scope_for(&self.admin, &user).await.expect("scope");
        (user, scope)
    }

    /// The scope of the role set with `with_role` in the first demo company.
    pub async fn scope(&self) -> Scope {
        let role: Role = self.role.as_deref().unwrap_or("company_admin").parse().unwrap();
        let slug = if role.portal() == deriq_core::Portal::ComplianceCompany { "sentinel-compliance" } else { "permian-hauling" };
        self.user_scope(role, slug).await.1
    }

    /// Runs `sql` as the tier's query role under `scope` (signed), returning the first
    /// column of every row as text, or the database error.
    pub async fn scoped_texts(
        &self,
        tier: Tier,
        scope: &Scope,
        sql: &str,
    ) -> Result<Vec<Option<String>>, sqlx::Error> {
        let pool = self.query_pool_for(tier, scope).await;
        let mut tx = scoped::begin(&pool, &self.endpoints.scope_key, tier, scope, 5000).await?;
        let rows = sqlx::query(sql).fetch_all(&mut *tx).await?;
        tx.rollback().await?;
        pool.close().await;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<Option<String>, _>(0).ok().flatten())
            .collect())
    }

    /// A count as the tier's query role under `scope`.
    pub async fn scoped_count(
        &self,
        tier: Tier,
        scope: &Scope,
        sql: &str,
    ) -> Result<i64, sqlx::Error> {
        let pool = self.query_pool_for(tier, scope).await;
        let mut tx = scoped::begin(&pool, &self.endpoints.scope_key, tier, scope, 5000).await?;
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut *tx).await?;
        tx.rollback().await?;
        pool.close().await;
        Ok(n)
    }

    /// The id of a demo tenant.
    pub async fn tenant(&self, slug: &str) -> uuid::Uuid {
        sqlx::query_scalar("SELECT id FROM compliance.tenants WHERE slug = $1")
            .bind(slug)
            .fetch_one(&self.admin)
            .await
            .unwrap()
    }

    /// Drops the test database.
    pub async fn cleanup(self) {
        self.admin.close().await;
        let maint = db::pool("primary", self.endpoints.admin_on("postgres"), 1)
            .await
            .unwrap();
        maint
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
            .unwrap();
        maint.close().await;
    }
}

async fn ensure_template(maint: &PgPool, endpoints: &Endpoints, template: &str) {
    // One builder at a time across test processes; the lock key is arbitrary but fixed.
    let mut conn = maint.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(74657374)")
        .execute(&mut *conn)
        .await
        .unwrap();
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(template)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    if !exists {
        let building = format!("{template}_building");
        conn.execute(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)").as_str())
            .await
            .unwrap();
        conn.execute(format!("CREATE DATABASE {building}").as_str())
            .await
            .unwrap();
        let pool = db::pool("primary", endpoints.admin_on(&building), 2)
            .await
            .unwrap();
        db::migrate_and_configure(&pool, endpoints, None)
            .await
            .unwrap();
        seed::seed(
            &pool,
            &SeedOptions {
                employees_per_tenant: TEMPLATE_EMPLOYEES,
                as_of: as_of(),
            },
            &|_, _, _| {},
        )
        .await
        .unwrap();
        pool.close().await;
        conn.execute(format!("ALTER DATABASE {building} RENAME TO {template}").as_str())
            .await
            .unwrap();
    }
    sqlx::query("SELECT pg_advisory_unlock(74657374)")
        .execute(&mut *conn)
        .await
        .unwrap();
}

/// A running HTTP server on 127.0.0.1:0 over a test database, with the offline drafter
/// and no retrieval.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub keys: deriq_gateway::http::auth::TokenKeys,
    pub state: deriq_gateway::http::AppState,
    pub asker: std::sync::Arc<deriq_gateway::ask::Asker>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Serves `state` on an ephemeral loopback port: the base URL, the sender that starts a graceful
/// shutdown, and the server's task.
pub async fn listen(
    state: deriq_gateway::http::AppState,
) -> (String, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        deriq_gateway::http::serve(listener, state, async move {
            let _ = rx.await;
        })
        .await
        .expect("serve");
    });
    (base, tx, task)
}

/// The HS256 secret of test servers.
pub const TEST_JWT_SECRET: &[u8] = b"test-secret-of-the-http-suite-0123456789";

impl TestApp {
    /// The ask pipeline over this test database (offline drafter, no retrieval).
    pub async fn asker(&self) -> deriq_gateway::ask::Asker {
        use deriq_gateway::drafter::{Drafter, DrafterKind};
        let gateway = db::pool("primary", self.login("deriq_gateway"), 8)
            .await
            .expect("gateway pool");
        let spool = std::env::temp_dir().join(format!("{}-audit-spool.jsonl", self.name));
        let mut drafters: std::collections::HashMap<DrafterKind, std::sync::Arc<dyn Drafter>> =
            std::collections::HashMap::new();
        drafters.insert(
            DrafterKind::Offline,
            std::sync::Arc::new(deriq_gateway::drafter::offline::OfflineDrafter::new()),
        );
        deriq_gateway::ask::Asker {
            directory_pool: gateway.clone(),
            executor: deriq_gateway::executor::Executor::on(
                &self.endpoints.admin_on(&self.name),
                &self.endpoints,
                deriq_gateway::executor::ExecLimits::default(),
            ),
            audit: deriq_gateway::audit::AuditLog::new(gateway, spool),
            drafters,
            default_drafter: DrafterKind::Offline,
            limits: deriq_gateway::policy::QueryLimits::default(),
            max_attempts: 3,
            retrieval: None,
        }
    }

    /// Starts the HTTP server with default settings and generous rate limits.
    pub async fn serve(&self) -> TestServer {
        self.serve_with(deriq_gateway::http::HttpSettings {
            tenant_per_minute: 100_000,
            user_per_minute: 100_000,
            body_limit_bytes: deriq_gateway::http::DEFAULT_BODY_LIMIT,
            caller_ttl: std::time::Duration::from_secs(30),
        })
        .await
    }

    /// Starts the HTTP server with `settings`.
    pub async fn serve_with(&self, settings: deriq_gateway::http::HttpSettings) -> TestServer {
        use deriq_gateway::http::{HttpState, auth::TokenKeys};
        let asker = std::sync::Arc::new(self.asker().await);
        let keys = TokenKeys::hs256(TEST_JWT_SECRET, "deriq", "der-iq");
        let probe = db::pool("primary", self.login("deriq_query_full"), 1)
            .await
            .expect("probe pool");
        let state = HttpState::new(
            asker.clone(),
            keys.clone(),
            vec![("test".into(), probe)],
            settings,
        )
        .expect("state");
        let (base, tx, task) = listen(state.clone()).await;
        TestServer {
            base,
            client: reqwest::Client::new(),
            keys,
            state,
            asker,
            shutdown: Some(tx),
            task: Some(task),
        }
    }
}

impl TestServer {
    /// The URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Valid claims for a demo user (by e-mail), issued now.
    pub async fn claims(&self, email: &str) -> deriq_gateway::http::auth::Claims {
        let user = directory::find_user(&self.asker.directory_pool, email)
            .await
            .expect("demo user");
        deriq_gateway::http::auth::Claims::for_user(
            &user,
            "deriq",
            "der-iq",
            chrono::Utc::now().timestamp(),
            3600,
        )
    }

    /// A valid token for a demo user (by e-mail).
    pub async fn token_for(&self, email: &str) -> String {
        self.keys.mint(&self.claims(email).await).expect("mint")
    }

    /// A valid token for the demo user of a role (first service company, or the first
    /// compliance company for compliance-company roles).
    pub async fn token(&self, role: Role) -> String {
        self.token_for(&demo_email(role)).await
    }

    /// Stops the server, waiting for requests in flight.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task");
        }
    }
}

/// The demo user's e-mail of a role.
pub fn demo_email(role: Role) -> String {
    let slug = if role.portal() == deriq_core::Portal::ComplianceCompany {
        "sentinel-compliance"
    } else {
        "permian-hauling"
    };
    format!("{}@{}.example", role.as_str(), slug)
}
