//! A caller's data scope, and its signing for row-level security.
//!
//! The database's RLS policies read the scope from the transaction setting
//! `deriq.scope`, and trust it only when its HMAC-SHA256 signature verifies against a key
//! that only a SECURITY DEFINER function can read (migrations/0001). SQL run by a query
//! role can set the setting but cannot sign it, so a forged scope sees zero rows.
//!
//! Wire format: `<hex(JSON claims)>.<hex(HMAC-SHA256(key, hex(JSON claims)))>`, claims
//! `{"t": [tenant ids], "l": [location ids] | null, "e": employee id | null,
//!   "r": database login role, "x": expiry in unix seconds}`.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

/// The rows a caller may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Tenants (service companies) whose rows are visible. Empty means nothing.
    pub tenant_ids: Vec<Uuid>,
    /// `None`: every location of those tenants; `Some(ids)`: only these locations.
    pub location_ids: Option<Vec<Uuid>>,
    /// `Some(id)`: only this employee's own records.
    pub employee_id: Option<Uuid>,
}

/// The key that signs scopes. Shared by the gateway and the database (`deriq_sec.scope_key`).
#[derive(Clone)]
pub struct ScopeKey([u8; 32]);

impl std::fmt::Debug for ScopeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScopeKey(<redacted>)")
    }
}

/// A scope key given in a wrong form.
#[derive(Debug, thiserror::Error)]
#[error("the scope key must be 64 hexadecimal characters (32 bytes); generate one with `openssl rand -hex 32`")]
pub struct BadScopeKey;

impl ScopeKey {
    /// A key from 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        ScopeKey(bytes)
    }

    /// A key from 64 hex characters.
    pub fn from_hex(hex_key: &str) -> Result<Self, BadScopeKey> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| BadScopeKey)?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| BadScopeKey)?;
        Ok(ScopeKey(arr))
    }

    /// The key as hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The two 64-byte HMAC blocks (key XOR ipad, key XOR opad) that the database stores,
    /// so that it can compute HMAC-SHA256 with its built-in sha256().
    pub fn hmac_blocks(&self) -> ([u8; 64], [u8; 64]) {
        let mut ipad = [0x36u8; 64];
        let mut opad = [0x5cu8; 64];
        for (i, b) in self.0.iter().enumerate() {
            ipad[i] ^= b;
            opad[i] ^= b;
        }
        (ipad, opad)
    }

    fn mac(&self, payload: &[u8]) -> String {
        // HMAC accepts keys of any length; a 32-byte key cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
        };
        mac.update(payload);
        hex::encode(mac.finalize().into_bytes())
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    t: &'a [Uuid],
    l: Option<&'a [Uuid]>,
    e: Option<Uuid>,
    r: &'a str,
    x: i64,
}

/// A signed scope, ready for `set_config('deriq.scope', <value>, true)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedScope(pub String);

impl Scope {
    /// A scope that sees nothing.
    pub fn nothing() -> Self {
        Scope { tenant_ids: Vec::new(), location_ids: Some(Vec::new()), employee_id: None }
    }

    /// Whether the scope is anything other than one whole tenant: several tenants (a compliance
    /// company's assigned companies), a location list, or one employee. Such scopes run as the
    /// `*_limited` database logins, whose row-level security policies check the tenant list,
    /// locations and employee; the unlimited logins serve one whole tenant and check only that
    /// tenant, as one scalar index condition (migrations/0105).
    pub fn is_limited(&self) -> bool {
        self.tenant_ids.len() != 1 || self.location_ids.is_some() || self.employee_id.is_some()
    }

    /// Signs the scope for one database login role, valid until `expires_unix`.
    pub fn sign(&self, key: &ScopeKey, db_role: &str, expires_unix: i64) -> SignedScope {
        let claims = Claims {
            t: &self.tenant_ids,
            l: self.location_ids.as_deref(),
            e: self.employee_id,
            r: db_role,
            x: expires_unix,
        };
        // Serialising plain data to a String cannot fail.
        let json = serde_json::to_string(&claims).unwrap_or_default();
        let payload = hex::encode(json.as_bytes());
        let sig = key.mac(payload.as_bytes());
        SignedScope(format!("{payload}.{sig}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn signature_matches_the_databases_two_block_construction() {
        let key = ScopeKey::from_bytes([7u8; 32]);
        let scope = Scope { tenant_ids: vec![Uuid::nil()], location_ids: None, employee_id: None };
        let SignedScope(s) = scope.sign(&key, "deriq_query_full", 2_000_000_000);
        let (payload, sig) = s.split_once('.').unwrap();
        // The database computes sha256(k_opad || sha256(k_ipad || payload)).
        let (ipad, opad) = key.hmac_blocks();
        let inner = sha2::Sha256::new().chain_update(ipad).chain_update(payload.as_bytes()).finalize();
        let outer = sha2::Sha256::new().chain_update(opad).chain_update(inner).finalize();
        assert_eq!(hex::encode(outer), sig);
        let json = String::from_utf8(hex::decode(payload).unwrap()).unwrap();
        assert!(json.contains("\"l\":null") && json.contains("\"r\":\"deriq_query_full\""), "{json}");
    }

    #[test]
    fn only_one_whole_tenant_runs_on_an_unlimited_login() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let whole = |t: Vec<Uuid>| Scope { tenant_ids: t, location_ids: None, employee_id: None };
        assert!(!whole(vec![a]).is_limited());
        assert!(whole(vec![a, b]).is_limited(), "a compliance company's companies");
        assert!(whole(vec![]).is_limited());
        assert!(Scope { location_ids: Some(vec![b]), ..whole(vec![a]) }.is_limited());
        assert!(Scope { employee_id: Some(b), ..whole(vec![a]) }.is_limited());
        assert!(Scope::nothing().is_limited());
    }

    #[test]
    fn keys_parse_from_hex_only_at_the_right_length() {
        assert!(ScopeKey::from_hex(&"ab".repeat(32)).is_ok());
        assert!(ScopeKey::from_hex("abcd").is_err());
        assert!(ScopeKey::from_hex(&"zz".repeat(32)).is_err());
        assert_eq!(format!("{:?}", ScopeKey::from_bytes([1; 32])), "ScopeKey(<redacted>)");
    }
}
