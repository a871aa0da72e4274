//! The database security boundary, proven on the real database with no guard in front:
//! forced RLS everywhere, no rows without a valid signed scope, no forging, no tenant
//! crossing, no PII for the de-identified tier, no role escape, an append-only audit log.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use deriq_core::{Role, Scope, SemanticModel, Tier};
use sqlx::Row;

/// Every queryable table of the semantic model.
fn tables() -> Vec<String> {
    SemanticModel::get().tables.iter().map(|t| t.name.clone()).collect()
}

#[tokio::test]
async fn every_compliance_table_forces_row_level_security() {
    let app = TestApp::new().await;
    let rows = sqlx::query("SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'compliance' AND c.relkind IN ('r','p')")
        .fetch_all(&app.admin)
        .await
        .unwrap();
    assert!(rows.len() >= 25, "only {} tables", rows.len());
    for r in rows {
        let name: String = r.get(0);
        assert!(r.get::<bool, _>(1) && r.get::<bool, _>(2), "{name} does not force RLS");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn the_query_roles_are_plain_logins_that_own_nothing() {
    let app = TestApp::new().await;
    for role in ["deriq_query_full", "deriq_query_deid", "deriq_query_full_limited", "deriq_query_deid_limited"] {
        let r = sqlx::query("SELECT rolsuper, rolbypassrls, rolcanlogin, rolinherit, rolcreaterole, rolcreatedb, (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid) FROM pg_roles r WHERE rolname = $1")
            .bind(role)
            .fetch_one(&app.admin)
            .await
            .unwrap();
        assert!(!r.get::<bool, _>(0) && !r.get::<bool, _>(1), "{role} is superuser or BYPASSRLS");
        assert!(r.get::<bool, _>(2), "{role} must log in directly");
        assert!(!r.get::<bool, _>(4) && !r.get::<bool, _>(5));
        assert_eq!(r.get::<i64, _>(6), 0, "{role} is a member of a role");
        let owned: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1")
            .bind(role)
            .fetch_one(&app.admin)
            .await
            .unwrap();
        assert_eq!(owned, 0, "{role} owns relations");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn without_a_valid_scope_every_table_is_empty() {
    let app = TestApp::new().await;
    let pool = app.query_pool(Tier::Full).await;
    for t in tables() {
        // No scope at all.
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM compliance.{t}")).fetch_one(&pool).await.unwrap();
        assert_eq!(n, 0, "{t} visible without a scope");
    }
    // A correct admin scope shows rows, so the zero above is not an accident.
    let scope = app.user_scope(Role::CompanyAdmin, "permian-hauling").await.1;
    assert!(app.scoped_count(Tier::Full, &scope, "SELECT count(*) FROM employees").await.unwrap() > 0);
    pool.close().await;
    app.cleanup().await;
}

#[tokio::test]
async fn forged_scopes_see_nothing() {
    let app = TestApp::new().await;
    let tenant_b = app.tenant("gulf-coast-energy").await;
    let pool = app.query_pool(Tier::Full).await;
    let forged_payload = hex::encode(format!("{{\"t\":[\"{tenant_b}\"],\"l\":null,\"e\":null,\"r\":\"deriq_query_full\",\"x\":9999999999}}"));
    let wrong_key = deriq_core::ScopeKey::from_bytes([9; 32]);
    let scope_b = Scope { tenant_ids: vec![tenant_b], location_ids: None, employee_id: None };
    let attempts = vec![
        ("bare tenant setting", format!("{tenant_b}")),
        ("unsigned payload", forged_payload.clone()),
        ("payload with a made-up signature", format!("{forged_payload}.{}", "ab".repeat(32))),
        ("signed with another key", scope_b.sign(&wrong_key, "deriq_query_full", 9_999_999_999).0),
        ("expired", scope_b.sign(&app.endpoints.scope_key, "deriq_query_full", 1_000_000_000).0),
        ("signed for the other login role", scope_b.sign(&app.endpoints.scope_key, "deriq_query_deid", 9_999_999_999).0),
        // Malformed values: the check must see nothing, without raising an error.
        ("only a dot", ".".into()),
        ("not hexadecimal", "zz-not-hex.yy-not-hex".into()),
        ("a payload that is not UTF-8, with a made-up signature", format!("ff.{}", "cd".repeat(32))),
    ];
    for (what, value) in attempts {
        for how in ["SELECT set_config('deriq.scope', $1, false)", "SELECT set_config('deriq.scope', $1, true)"] {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query(how).bind(&value).execute(&mut *tx).await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM compliance.employees").fetch_one(&mut *tx).await.unwrap();
            assert_eq!(n, 0, "forged scope ({what}) saw rows");
            // Forging inside the query itself (a CTE or sub-select) does not help either.
            let n: i64 = sqlx::query_scalar("WITH s AS (SELECT set_config('deriq.scope', $1, true)) SELECT count(*) FROM s, compliance.drug_tests")
                .bind(&value)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            assert_eq!(n, 0, "forged scope in a CTE ({what}) saw rows");
            tx.rollback().await.unwrap();
        }
    }
    // SET / RESET ALL / DISCARD cannot conjure a scope.
    for stmt in ["SET deriq.scope = 'x'", "RESET ALL", "DISCARD ALL"] {
        let mut conn = pool.acquire().await.unwrap();
        // The simple protocol, as these are session commands an attacker would send.
        sqlx::raw_sql(stmt).execute(&mut *conn).await.unwrap();
        let row = sqlx::raw_sql("SELECT count(*) FROM compliance.employees").fetch_one(&mut *conn).await.unwrap();
        let n: i64 = row.get(0);
        assert_eq!(n, 0, "{stmt} produced rows");
        // DISCARD ALL dropped the driver's prepared statements: do not reuse this connection.
        conn.detach();
    }
    pool.close().await;
    app.cleanup().await;
}

#[tokio::test]
async fn a_tenant_scope_never_returns_another_tenants_rows_on_any_table() {
    let app = TestApp::new().await;
    let a = app.tenant("permian-hauling").await;
    let scope = Scope { tenant_ids: vec![a], location_ids: None, employee_id: None };
    for tier in [Tier::Full, Tier::Deidentified] {
        for t in tables() {
            let total = app.scoped_count(tier, &scope, &format!("SELECT count(*) FROM {t}")).await.unwrap();
            let foreign = app.scoped_count(tier, &scope, &format!("SELECT count(*) FROM {t} WHERE tenant_id <> '{a}'")).await.unwrap();
            assert_eq!(foreign, 0, "{t} leaked rows of another tenant ({tier:?})");
            let own: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM compliance.{t} WHERE tenant_id = $1"))
                .bind(a)
                .fetch_one(&app.admin)
                .await
                .unwrap();
            assert_eq!(total, own, "{t}: the scope must see exactly its own tenant's rows");
        }
    }
    app.cleanup().await;
}

/// A scope other than one whole tenant (a location list, an own record, several tenants) signed
/// for an unlimited login, whose policies check one tenant only, sees nothing: the database
/// refuses it rather than widen it.
#[tokio::test]
async fn a_narrowed_scope_on_an_unlimited_login_sees_nothing() {
    let app = TestApp::new().await.with_role(Role::SiteSupervisor);
    let narrowed = app.scope().await;
    assert!(narrowed.is_limited());
    let employee: uuid::Uuid = sqlx::query_scalar("SELECT id FROM compliance.employees WHERE tenant_id = $1 LIMIT 1")
        .bind(narrowed.tenant_ids[0])
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let own = Scope { tenant_ids: narrowed.tenant_ids.clone(), location_ids: None, employee_id: Some(employee) };
    let other: uuid::Uuid = sqlx::query_scalar("SELECT id FROM compliance.tenants WHERE id <> $1 ORDER BY slug LIMIT 1")
        .bind(narrowed.tenant_ids[0])
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let two_tenants = Scope { tenant_ids: vec![narrowed.tenant_ids[0], other], location_ids: None, employee_id: None };
    assert!(own.is_limited() && two_tenants.is_limited());
    for (tier, role) in [(Tier::Full, "deriq_query_full"), (Tier::Deidentified, "deriq_query_deid")] {
        let pool = app.query_pool(tier).await;
        for scope in [&narrowed, &own, &two_tenants] {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query("SELECT set_config('deriq.scope', $1, true)")
                .bind(scope.sign(&app.endpoints.scope_key, role, 9_999_999_999).0)
                .execute(&mut *tx)
                .await
                .unwrap();
            for t in tables() {
                let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM compliance.{t}")).fetch_one(&mut *tx).await.unwrap();
                assert_eq!(n, 0, "{t}: a narrowed scope on {role} saw rows");
            }
            tx.rollback().await.unwrap();
        }
        pool.close().await;
    }
    // The same scopes on their own logins do see rows.
    assert!(app.scoped_count(Tier::Full, &narrowed, "SELECT count(*) FROM employees").await.unwrap() > 0);
    assert_eq!(app.scoped_count(Tier::Full, &own, "SELECT count(*) FROM employees").await.unwrap(), 1);
    assert!(app.scoped_count(Tier::Full, &two_tenants, "SELECT count(*) FROM employees").await.unwrap() > 0);
    app.cleanup().await;
}

/// Whether `compliance.<table>` has a column of that name.
async fn has_column(app: &TestApp, table: &str, column: &str) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns \
         WHERE table_schema = 'compliance' AND table_name = $1 AND column_name = $2)",
    )
    .bind(table)
    .bind(column)
    .fetch_one(&app.admin)
    .await
    .unwrap()
}

/// On every table, a two-tenant scope, a two-location scope and an own-record scope see exactly
/// the rows that the explicit predicate finds as the superuser: no more (a leak) and no fewer
/// (a policy that hides rows, such as NULLs outside an index range).
#[tokio::test]
async fn every_scope_kind_sees_exactly_its_rows_on_every_table() {
    let app = TestApp::new().await;
    let a = app.tenant("permian-hauling").await;
    let b = app.tenant("gulf-coast-energy").await;
    let locations: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM compliance.locations WHERE tenant_id = $1 ORDER BY name LIMIT 2")
        .bind(a)
        .fetch_all(&app.admin)
        .await
        .unwrap();
    assert_eq!(locations.len(), 2, "the test needs two locations");
    let employee: uuid::Uuid = sqlx::query_scalar(
        "SELECT employee_id FROM compliance.drug_tests WHERE tenant_id = $1 GROUP BY employee_id ORDER BY count(*) DESC, employee_id LIMIT 1",
    )
    .bind(a)
    .fetch_one(&app.admin)
    .await
    .unwrap();
    let two_tenants = Scope { tenant_ids: vec![a, b], location_ids: None, employee_id: None };
    let two_locations = Scope { tenant_ids: vec![a], location_ids: Some(locations.clone()), employee_id: None };
    let own_record = Scope { tenant_ids: vec![a], location_ids: None, employee_id: Some(employee) };
    let mut nonempty = [0usize; 3];
    for t in tables() {
        let (has_loc, has_emp) = (has_column(&app, &t, "location_id").await, has_column(&app, &t, "employee_id").await);
        let expected = |sql: &str| {
            let sql = format!("SELECT count(*) FROM compliance.{t} WHERE {sql}");
            let admin = app.admin.clone();
            let (locations, employee) = (locations.clone(), employee);
            async move {
                sqlx::query_scalar::<_, i64>(&sql).bind(vec![a, b]).bind(locations).bind(employee).fetch_one(&admin).await.unwrap()
            }
        };
        let cases = [
            (&two_tenants, expected("tenant_id = ANY($1) AND $2::uuid[] IS NOT NULL AND $3::uuid IS NOT NULL").await),
            (
                &two_locations,
                expected(if has_loc {
                    "tenant_id = ($1::uuid[])[1] AND location_id = ANY($2) AND $3::uuid IS NOT NULL"
                } else {
                    "tenant_id = ($1::uuid[])[1] AND $2::uuid[] IS NOT NULL AND $3::uuid IS NOT NULL"
                })
                .await,
            ),
            (
                &own_record,
                expected(if has_emp {
                    "tenant_id = ($1::uuid[])[1] AND $2::uuid[] IS NOT NULL AND employee_id = $3"
                } else {
                    "tenant_id = ($1::uuid[])[1] AND $2::uuid[] IS NOT NULL AND $3::uuid IS NOT NULL"
                })
                .await,
            ),
        ];
        for (i, (scope, want)) in cases.into_iter().enumerate() {
            for tier in [Tier::Full, Tier::Deidentified] {
                let seen = app.scoped_count(tier, scope, &format!("SELECT count(*) FROM {t}")).await.unwrap();
                assert_eq!(seen, want, "{t}: scope {scope:?} ({tier:?}) must see exactly {want} rows");
            }
            if want > 0 {
                nonempty[i] += 1;
            }
        }
    }
    assert!(nonempty.iter().all(|&n| n >= 8), "too few tables with rows to compare: {nonempty:?}");
    app.cleanup().await;
}

#[tokio::test]
async fn location_and_company_scopes_follow_assignments() {
    let app = TestApp::new().await.with_role(Role::SiteSupervisor);
    let scope = app.scope().await;
    let locations = scope.location_ids.clone().expect("a site supervisor is location-scoped");
    assert_eq!(locations.len(), 1);
    let seen = app.scoped_texts(Tier::Full, &scope, "SELECT DISTINCT location_id::text FROM check_ins").await.unwrap();
    assert_eq!(seen, vec![Some(locations[0].to_string())]);
    let other: i64 = sqlx::query_scalar("SELECT count(*) FROM compliance.employees WHERE tenant_id = $1 AND location_id <> $2")
        .bind(scope.tenant_ids[0])
        .bind(locations[0])
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert!(other > 0, "the test needs employees at other locations");
    let visible = app.scoped_count(Tier::Full, &scope, "SELECT count(*) FROM employees").await.unwrap();
    let expected: i64 = sqlx::query_scalar("SELECT count(*) FROM compliance.employees WHERE location_id = $1")
        .bind(locations[0])
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(visible, expected);

    // The auditor sees one assigned company, the audit manager two, never the third.
    let (_, auditor) = app.user_scope(Role::Auditor, "sentinel-compliance").await;
    let (_, manager) = app.user_scope(Role::AuditManager, "sentinel-compliance").await;
    let red_river = app.tenant("red-river-logistics").await;
    assert_eq!(auditor.tenant_ids.len(), 1);
    assert_eq!(manager.tenant_ids.len(), 2);
    assert!(!manager.tenant_ids.contains(&red_river));
    let companies = app.scoped_texts(Tier::Deidentified, &manager, "SELECT DISTINCT tenant_id::text FROM drug_tests ORDER BY 1").await.unwrap();
    assert_eq!(companies.len(), 2);
    assert!(!companies.contains(&Some(red_river.to_string())));
    app.cleanup().await;
}

#[tokio::test]
async fn the_deidentified_role_cannot_read_pii_in_any_way() {
    let app = TestApp::new().await;
    let (_, tenant_wide) = app.user_scope(Role::Auditor, "sentinel-compliance").await;
    // The same checks on the limited de-identified login (a scope narrowed to locations).
    let locations: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM compliance.locations WHERE tenant_id = ANY($1)")
        .bind(&tenant_wide.tenant_ids)
        .fetch_all(&app.admin)
        .await
        .unwrap();
    let narrowed = Scope { location_ids: Some(locations), ..tenant_wide.clone() };
    for scope in [tenant_wide, narrowed] {
        deidentified_scope_cannot_read_pii(&app, &scope).await;
    }
    app.cleanup().await;
}

async fn deidentified_scope_cannot_read_pii(app: &TestApp, scope: &Scope) {
    let scope = scope.clone();
    let model = SemanticModel::get();
    let mut checked = 0;
    for table in &model.tables {
        for col in table.columns.iter().filter(|c| c.is_sensitive()) {
            let err = app.scoped_count(Tier::Deidentified, &scope, &format!("SELECT count({}) FROM {}", col.name, table.name)).await;
            assert!(err.is_err(), "{}.{} readable by the de-identified role", table.name, col.name);
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} PII columns");
    for sql in [
        "SELECT count(*) FROM (SELECT to_jsonb(e) FROM employees e) x",
        "SELECT count(*) FROM (SELECT e::text FROM employees e) x",
        "SELECT count(*) FROM (SELECT row_to_json(e) FROM employees e) x",
        "SELECT count(*) FROM (SELECT e FROM employees e) x",
        "SELECT count(*) FROM (SELECT * FROM employees) x",
        "SELECT count(*) FROM employees WHERE ssn_last4 LIKE '1%'",
        "SELECT count(*) FROM employees ORDER BY max(last_name)",
        "SELECT count(*) FROM (SELECT ssn_last4::int FROM employees) x",
        "SELECT count(*) FROM (SELECT description FROM osha_cases) x",
    ] {
        let r = app.scoped_count(Tier::Deidentified, &scope, sql).await;
        let err = r.expect_err(sql).to_string();
        assert!(err.contains("permission denied"), "{sql}: {err}");
    }
    // Non-PII columns work, so the denials above are about PII.
    assert!(app.scoped_count(Tier::Deidentified, &scope, "SELECT count(job_title) FROM employees").await.unwrap() > 0);
}

#[tokio::test]
async fn pii_classes_of_the_semantic_model_match_the_column_grants_and_columns() {
    let app = TestApp::new().await;
    for table in &SemanticModel::get().tables {
        let cols: Vec<(String, String, bool, bool)> = sqlx::query_as(
            "SELECT column_name::text, format_type(a.atttypid, a.atttypmod), \
                    has_column_privilege('deriq_query_deid', format('compliance.%I', $1), column_name, 'SELECT'), \
                    has_column_privilege('deriq_query_deid_limited', format('compliance.%I', $1), column_name, 'SELECT') \
             FROM information_schema.columns c JOIN pg_attribute a ON a.attrelid = format('compliance.%I', $1)::regclass AND a.attname = c.column_name \
             WHERE table_schema = 'compliance' AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(&table.name)
        .fetch_all(&app.admin)
        .await
        .unwrap();
        let db_names: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
        let model_names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(db_names, model_names, "columns of {} differ between the migrations and the semantic model", table.name);
        for (name, _ty, granted, granted_limited) in &cols {
            let col = table.column(name).unwrap();
            assert_eq!(*granted, !col.is_sensitive(), "{}.{}: de-identified grant disagrees with pii class", table.name, name);
            assert_eq!(*granted_limited, !col.is_sensitive(), "{}.{}: the limited de-identified login's grant disagrees with pii class", table.name, name);
        }
    }
    app.cleanup().await;
}

#[tokio::test]
async fn role_switching_commit_and_catalogue_tricks_cannot_escape() {
    let app = TestApp::new().await;
    let scope = app.user_scope(Role::CompanyAdmin, "permian-hauling").await.1;
    let pool = app.query_pool(Tier::Full).await;
    for stmt in ["SET ROLE deriq_owner", "SET ROLE postgres", "SET SESSION AUTHORIZATION postgres", "SELECT set_config('role', 'deriq_owner', false)"] {
        let r = sqlx::query(stmt).execute(&pool).await;
        assert!(r.is_err(), "{stmt} succeeded");
    }
    // RESET ROLE is a no-op for a login role: still no rows without a scope.
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("RESET ROLE").execute(&mut *conn).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM compliance.employees").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(n, 0);
    drop(conn);
    // COMMIT ends the scoped transaction, and with it the scope.
    let mut tx = deriq_gateway::db::scoped::begin(&pool, &app.endpoints.scope_key, Tier::Full, &scope, 5000).await.unwrap();
    let read_only: String = sqlx::query_scalar("SHOW transaction_read_only").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(read_only, "on", "the scoped transaction must be read-only");
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM employees").fetch_one(&mut *tx).await.unwrap();
    assert!(before > 0);
    sqlx::query("COMMIT").execute(&mut *tx).await.unwrap();
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM compliance.employees").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(after, 0, "rows visible after COMMIT left the scoped transaction");
    drop(tx);
    // Read-only transactions reject writes, and the role has no write grant anyway.
    let r = app.scoped_count(Tier::Full, &scope, "WITH d AS (DELETE FROM employees RETURNING 1) SELECT count(*) FROM d").await;
    assert!(r.is_err());
    // Catalogue reconnaissance and side effects are revoked.
    for sql in [
        "SELECT count(*) FROM pg_stat_activity",
        "SELECT count(*) FROM pg_settings",
        "SELECT count(*) FROM pg_roles",
        "SELECT count(*) FROM (SELECT pg_sleep(0)) s",
        "SELECT count(*) FROM (SELECT pg_advisory_lock(1)) s",
        "SELECT count(*) FROM (SELECT pg_terminate_backend(1)) s",
        "SELECT count(*) FROM (SELECT pg_read_file('/etc/passwd')) s",
        "SELECT count(*) FROM (SELECT query_to_xml('select 1', true, true, '')) s",
        "SELECT count(*) FROM information_schema.tables",
        "SELECT count(*) FROM deriq.audit_log",
        "SELECT count(*) FROM deriq_sec.scope_key",
    ] {
        let r = app.scoped_count(Tier::Full, &scope, sql).await;
        assert!(r.is_err(), "{sql} was allowed");
    }
    pool.close().await;
    app.cleanup().await;
}

#[tokio::test]
async fn the_audit_log_is_append_only_for_every_role() {
    let app = TestApp::new().await;
    let gw = deriq_gateway::db::pool("primary", app.login("deriq_gateway"), 1).await.unwrap();
    let id = uuid::Uuid::new_v4();
    let insert = "INSERT INTO deriq.audit_log (id, occurred_at, action, resource, request_id, result, duration_ms) \
                  VALUES ($1, $2, 'READ', 'der-iq/ask', 'req-1', 'SUCCESS', 12) ON CONFLICT DO NOTHING";
    let at = chrono::Utc::now();
    assert_eq!(sqlx::query(insert).bind(id).bind(at).execute(&gw).await.unwrap().rows_affected(), 1);
    assert_eq!(sqlx::query(insert).bind(id).bind(at).execute(&gw).await.unwrap().rows_affected(), 0, "a replay is written once");
    for pool in [&gw, &app.admin] {
        for stmt in ["UPDATE deriq.audit_log SET result = 'FAILURE'", "DELETE FROM deriq.audit_log", "TRUNCATE deriq.audit_log"] {
            let r = sqlx::query(stmt).execute(pool).await;
            assert!(r.is_err(), "{stmt} succeeded");
        }
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM deriq.audit_log").fetch_one(&app.admin).await.unwrap();
    assert_eq!(n, 1);
    gw.close().await;
    app.cleanup().await;
}
