//! Bearer tokens signed with RS256 and ES256 keys from a JWKS (a file, and a URL that is
//! fetched again when a token names an unknown key), next to the HS256 secret: every
//! failure (expired, wrong audience, wrong key, alg none, algorithm confusion) is a 401.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod http_support;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use common::{TEST_JWT_SECRET, TestApp, demo_email};
use deriq_core::Role;
use deriq_gateway::directory;
use deriq_gateway::http::GatewayOptions;
use deriq_gateway::http::auth::{Claims, TokenKeys};
use deriq_gateway::http::jwks::{Jwks, JwksSource};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jwt")
        .join(name)
}

fn b64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Signs claims with a private key fixture (PKCS#1 DER for RSA, PKCS#8 DER for EC).
fn sign(alg: Algorithm, der_file: &str, kid: &str, claims: &Claims) -> String {
    let der = std::fs::read(fixture(der_file)).unwrap();
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_der(&der),
        Algorithm::ES256 => EncodingKey::from_ec_der(&der),
        other => panic!("{other:?}"),
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// A token with a hand-made header and no (or a bogus) signature.
fn unsigned(header: &str, claims: &Claims, signature: &str) -> String {
    format!(
        "{}.{}.{}",
        b64url(header.as_bytes()),
        b64url(&serde_json::to_vec(claims).unwrap()),
        signature
    )
}

/// An HS256 token whose "secret" is public key material.
fn hs256_with(secret: &[u8], kid: Option<&str>, claims: &Claims) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

async fn status_of(s: &http_support::Server, token: &str) -> (StatusCode, String) {
    let r = s
        .client
        .get(s.url("/api/der-iq/schema"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let st = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (st, v["error"]["code"].as_str().unwrap_or("").to_string())
}

async fn claims_of(s: &http_support::Server, role: Role) -> Claims {
    let user = directory::find_user(&s.asker.directory_pool, &demo_email(role))
        .await
        .unwrap();
    Claims::for_user(
        &user,
        "deriq",
        "der-iq",
        chrono::Utc::now().timestamp(),
        3600,
    )
}

#[tokio::test]
async fn rs256_and_es256_tokens_from_a_jwks_file_and_every_way_they_fail() {
    let app = TestApp::new().await;
    let jwks = Jwks::load(JwksSource::File(fixture("jwks-a.json")))
        .await
        .unwrap();
    let keys = TokenKeys::hs256(TEST_JWT_SECRET, "deriq", "der-iq").with_jwks(jwks);
    let s = http_support::start(&app, keys, GatewayOptions::default(), |_| {}).await;
    let good = claims_of(&s, Role::SafetyManager).await;
    let now = chrono::Utc::now().timestamp();
    let public_pem = std::fs::read(fixture("rsa-a.pub.pem")).unwrap();
    let jwks_text: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("jwks-a.json")).unwrap()).unwrap();
    let modulus = jwks_text["keys"][0]["n"]
        .as_str()
        .unwrap()
        .as_bytes()
        .to_vec();
    let ec_x = jwks_text["keys"][1]["x"]
        .as_str()
        .unwrap()
        .as_bytes()
        .to_vec();

    for (alg, der, other_der, kid) in [
        (Algorithm::RS256, "rsa-a.der", "rsa-b.der", "rsa-a"),
        (Algorithm::ES256, "ec-a.der", "ec-b.der", "ec-a"),
    ] {
        let what = format!("{alg:?}");
        assert_eq!(
            status_of(&s, &sign(alg, der, kid, &good)).await,
            (StatusCode::OK, String::new()),
            "{what}: a good token passes"
        );
        let cases: Vec<(&str, String, &str)> = vec![
            (
                "expired",
                sign(
                    alg,
                    der,
                    kid,
                    &Claims {
                        iat: now - 600,
                        nbf: now - 600,
                        exp: now - 60,
                        ..good.clone()
                    },
                ),
                "token_expired",
            ),
            (
                "wrong audience",
                sign(
                    alg,
                    der,
                    kid,
                    &Claims {
                        aud: "billing".into(),
                        ..good.clone()
                    },
                ),
                "wrong_audience",
            ),
            (
                "wrong issuer",
                sign(
                    alg,
                    der,
                    kid,
                    &Claims {
                        iss: "elsewhere".into(),
                        ..good.clone()
                    },
                ),
                "wrong_issuer",
            ),
            (
                "wrong key under the key id",
                sign(alg, other_der, kid, &good),
                "bad_signature",
            ),
            (
                "unknown key id",
                sign(alg, der, "nobody", &good),
                "unknown_key",
            ),
            (
                "no key id",
                unsigned(
                    &format!("{{\"alg\":\"{what}\",\"typ\":\"JWT\"}}"),
                    &good,
                    "c2ln",
                ),
                "unknown_key",
            ),
            (
                "alg none",
                unsigned(
                    &format!("{{\"alg\":\"none\",\"kid\":\"{kid}\"}}"),
                    &good,
                    "",
                ),
                "unsupported_token",
            ),
            (
                "key of the other algorithm",
                sign(
                    alg,
                    der,
                    if kid == "rsa-a" { "ec-a" } else { "rsa-a" },
                    &good,
                ),
                "algorithm_not_accepted",
            ),
        ];
        for (case, token, code) in cases {
            assert_eq!(
                status_of(&s, &token).await,
                (StatusCode::UNAUTHORIZED, code.to_string()),
                "{what}: {case}"
            );
        }
    }
    // Algorithm confusion: HS256 tokens "signed" with the public keys, with and without the
    // key id, are refused (HS256 is checked with the shared secret only).
    for (what, secret) in [
        ("public PEM", &public_pem),
        ("modulus", &modulus),
        ("EC x", &ec_x),
    ] {
        for kid in [None, Some("rsa-a"), Some("ec-a")] {
            let (st, code) = status_of(&s, &hs256_with(secret, kid, &good)).await;
            assert_eq!(
                (st, code.as_str()),
                (StatusCode::UNAUTHORIZED, "bad_signature"),
                "confusion with the {what}, kid {kid:?}"
            );
        }
    }
    // A JWKS-only server refuses HS256 altogether, even with the right secret.
    let jwks_only = TokenKeys::jwks(
        Jwks::load(JwksSource::File(fixture("jwks-a.json")))
            .await
            .unwrap(),
        "deriq",
        "der-iq",
    );
    assert_eq!(
        jwks_only
            .verify(&hs256_with(TEST_JWT_SECRET, None, &good), now)
            .unwrap_err()
            .code,
        "algorithm_not_accepted"
    );
    assert!(
        jwks_only
            .verify(&sign(Algorithm::ES256, "ec-a.der", "ec-a", &good), now)
            .is_ok()
    );
    s.stop().await;
    app.cleanup().await;
}

#[tokio::test]
async fn a_jwks_url_is_cached_and_fetched_again_for_an_unknown_key() {
    let app = TestApp::new().await;
    let document = Arc::new(Mutex::new(
        std::fs::read_to_string(fixture("jwks-a.json")).unwrap(),
    ));
    let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (doc, count) = (document.clone(), served.clone());
    let idp = axum::Router::new().route(
        "/jwks.json",
        get(move || {
            let (doc, count) = (doc.clone(), count.clone());
            async move {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let body = doc.lock().unwrap().clone();
                ([("content-type", "application/json")], body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, idp).await.unwrap() });

    let jwks = Jwks::load_with(JwksSource::Url(url), Duration::ZERO)
        .await
        .unwrap();
    let keys = TokenKeys::jwks(jwks.clone(), "deriq", "der-iq");
    let s = http_support::start(&app, keys, GatewayOptions::default(), |_| {}).await;
    let good = claims_of(&s, Role::CompanyAdmin).await;
    assert_eq!(jwks.fetches(), 1);
    for _ in 0..3 {
        assert_eq!(
            status_of(&s, &sign(Algorithm::RS256, "rsa-a.der", "rsa-a", &good))
                .await
                .0,
            StatusCode::OK
        );
    }
    assert_eq!(jwks.fetches(), 1, "known keys come from the cache");
    // The identity provider rotates to the b keys: a token with the new kid makes the
    // gateway fetch the set again, once.
    let rotated = sign(Algorithm::ES256, "ec-b.der", "ec-b", &good);
    assert_eq!(
        status_of(&s, &rotated).await,
        (StatusCode::UNAUTHORIZED, "unknown_key".to_string()),
        "before the rotation is published"
    );
    assert_eq!(jwks.fetches(), 2);
    *document.lock().unwrap() = std::fs::read_to_string(fixture("jwks-b.json")).unwrap();
    assert_eq!(status_of(&s, &rotated).await.0, StatusCode::OK);
    assert_eq!(status_of(&s, &rotated).await.0, StatusCode::OK);
    assert_eq!(jwks.fetches(), 3);
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(
        status_of(&s, &sign(Algorithm::RS256, "rsa-a.der", "rsa-a", &good))
            .await
            .1,
        "unknown_key",
        "the rotated-out key is gone"
    );
    s.stop().await;
    app.cleanup().await;
}
