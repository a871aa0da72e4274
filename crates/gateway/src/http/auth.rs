//! Bearer tokens: JWTs with the platform's claims, signed with HS256 (a shared secret) or
//! RS256/ES256 (public keys from a JWKS file or URL, see [`super::jwks`]). Signature,
//! `exp`, `nbf`, `iss` and `aud` are validated. The algorithm is chosen by the key, never
//! by the token: HS256 only with the shared secret, RS256/ES256 only with a JWKS key whose
//! own algorithm is the token's (so `alg: none`, and an HS256 token "signed" with a public
//! key, are refused). The role's session timeout runs from `iat`.

use std::sync::Arc;

use deriq_core::Role;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::jwks::Jwks;

use super::error::ApiError;
use crate::directory::User;

/// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECONDS: u64 = 5;

/// The claims of a DER IQ bearer token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The user's e-mail (the directory key).
    pub email: String,
    /// The role (`safety_manager`, ...).
    pub role: String,
    /// The user's own tenant.
    #[serde(rename = "tenantId")]
    pub tenant_id: Uuid,
    pub iss: String,
    pub aud: String,
    /// Issued at (Unix seconds): the session timeout counts from here.
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// Location ids, for location-scoped roles.
    #[serde(rename = "locationIds", default, skip_serializing_if = "Vec::is_empty")]
    pub location_ids: Vec<Uuid>,
    /// Assigned companies, for compliance-company roles.
    #[serde(rename = "assignedCompanies", default, skip_serializing_if = "Vec::is_empty")]
    pub assigned_companies: Vec<Uuid>,
    /// When the user last completed MFA (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<i64>,
}

impl Claims {
    /// Claims for a directory user, valid from `now` for `ttl_seconds`.
    pub fn for_user(user: &User, issuer: &str, audience: &str, now: i64, ttl_seconds: i64) -> Claims {
        Claims {
            sub: user.id.to_string(),
            email: user.email.clone(),
            role: user.role.clone(),
            tenant_id: user.tenant_id,
            iss: issuer.to_string(),
            aud: audience.to_string(),
            iat: now,
            nbf: now,
            exp: now + ttl_seconds,
            location_ids: Vec::new(),
            assigned_companies: Vec::new(),
            mfa: None,
        }
    }
}

/// A token could not be minted.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign the token: {0}")]
pub struct MintError(String);

/// The HS256 shared secret.
#[derive(Clone)]
struct Shared {
    decoding: DecodingKey,
    encoding: EncodingKey,
}

/// Verifies tokens (HS256 with a shared secret, RS256/ES256 with JWKS keys) and, for
/// development, mints HS256 ones.
#[derive(Clone)]
pub struct TokenKeys {
    shared: Option<Shared>,
    jwks: Option<Arc<Jwks>>,
    issuer: String,
    audience: String,
}

fn validation(alg: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECONDS;
    validation
}

fn not_accepted(alg: Algorithm) -> ApiError {
    ApiError::unauthorized("algorithm_not_accepted", format!("tokens signed with {alg:?} are not accepted here"))
}

impl TokenKeys {
    /// Keys for an HS256 shared secret, requiring `issuer` and `audience`.
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str) -> Self {
        TokenKeys {
            shared: Some(Shared { decoding: DecodingKey::from_secret(secret), encoding: EncodingKey::from_secret(secret) }),
            jwks: None,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
        }
    }

    /// Keys for RS256/ES256 tokens whose public keys are in a JWKS (no shared secret).
    pub fn jwks(jwks: Arc<Jwks>, issuer: &str, audience: &str) -> Self {
        TokenKeys { shared: None, jwks: Some(jwks), issuer: issuer.to_string(), audience: audience.to_string() }
    }

    /// Also accepts RS256/ES256 tokens signed with the keys of a JWKS.
    pub fn with_jwks(mut self, jwks: Arc<Jwks>) -> Self {
        self.jwks = Some(jwks);
        self
    }

    /// The JWKS, when one is configured.
    pub fn jwks_source(&self) -> Option<&Arc<Jwks>> {
        self.jwks.as_ref()
    }

    /// Signs claims with the shared secret (for `deriq token` and tests).
    pub fn mint(&self, claims: &Claims) -> Result<String, MintError> {
        let shared = self.shared.as_ref().ok_or_else(|| MintError("no HS256 secret is configured".into()))?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &shared.encoding).map_err(|e| MintError(e.to_string()))
    }

    /// Verifies a token at `now` (Unix seconds), fetching the JWKS again when the token
    /// names a key it does not hold (a key rotation).
    pub async fn verify_token(&self, token: &str, now: i64) -> Result<(Claims, Role), ApiError> {
        if let (Some(jwks), Ok(header)) = (&self.jwks, jsonwebtoken::decode_header(token))
            && matches!(header.alg, Algorithm::RS256 | Algorithm::ES256)
            && let Some(kid) = &header.kid
        {
            jwks.ensure(kid).await;
        }
        self.verify(token, now)
    }

    /// Verifies a token and the role's session timeout at `now` (Unix seconds), with the
    /// keys at hand (no JWKS fetch).
    pub fn verify(&self, token: &str, now: i64) -> Result<(Claims, Role), ApiError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| ApiError::unauthorized("unsupported_token", "the token is not a JWT signed with an accepted algorithm (alg none is never accepted)"))?;
        let (key, alg) = match header.alg {
            Algorithm::HS256 => match &self.shared {
                Some(s) => (s.decoding.clone(), Algorithm::HS256),
                None => return Err(not_accepted(header.alg)),
            },
            Algorithm::RS256 | Algorithm::ES256 => {
                let Some(jwks) = &self.jwks else { return Err(not_accepted(header.alg)) };
                let kid = header.kid.as_deref().ok_or_else(|| ApiError::unauthorized("unknown_key", "the token names no key (kid)"))?;
                let key = jwks.get(kid).ok_or_else(|| ApiError::unauthorized("unknown_key", format!("the key '{kid}' is not in the key set")))?;
                if key.algorithm != header.alg {
                    return Err(ApiError::unauthorized("algorithm_not_accepted", format!("the key '{kid}' is for {:?}, not {:?}", key.algorithm, header.alg)));
                }
                (key.decoding.clone(), key.algorithm)
            }
            other => return Err(not_accepted(other)),
        };
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation(alg, &self.issuer, &self.audience)).map_err(|e| {
            let (code, message) = match e.kind() {
                ErrorKind::ExpiredSignature => ("token_expired", "the token has expired".to_string()),
                ErrorKind::ImmatureSignature => ("token_not_yet_valid", "the token is not valid yet (nbf)".to_string()),
                ErrorKind::InvalidAudience => ("wrong_audience", "the token is meant for another audience".to_string()),
                ErrorKind::InvalidIssuer => ("wrong_issuer", "the token was issued by an unknown issuer".to_string()),
                ErrorKind::InvalidSignature => ("bad_signature", "the token's signature does not verify".to_string()),
                ErrorKind::InvalidAlgorithm => ("algorithm_not_accepted", "the token's algorithm is not accepted".to_string()),
                ErrorKind::MissingRequiredClaim(c) => ("missing_claim", format!("the token lacks the `{c}` claim")),
                _ => ("invalid_token", "the token is malformed or lacks required claims (sub, email, role, tenantId, iat, nbf, exp, iss, aud)".to_string()),
            };
            ApiError::unauthorized(code, message)
        })?;
        let claims = data.claims;
        let role: Role = claims.role.parse().map_err(|_| ApiError::unauthorized("unknown_role", format!("the token's role '{}' is not a platform role", claims.role)))?;
        let leeway = LEEWAY_SECONDS as i64;
        if claims.iat > now + leeway {
            return Err(ApiError::unauthorized("token_from_the_future", "the token's iat is in the future"));
        }
        let timeout = i64::from(role.session_timeout_minutes()) * 60;
        if now - claims.iat > timeout + leeway {
            return Err(ApiError::unauthorized(
                "session_timeout",
                format!("the session is older than the {} role's {}-minute limit; sign in again", role.label(), role.session_timeout_minutes()),
            ));
        }
        Ok((claims, role))
    }
}

/// The bearer token of an `Authorization` header value.
pub fn bearer(value: Option<&str>) -> Result<&str, ApiError> {
    let v = value.ok_or_else(|| ApiError::unauthorized("missing_token", "no Authorization header"))?;
    let (scheme, token) = v.split_once(' ').ok_or_else(|| ApiError::unauthorized("malformed_authorization", "expected `Authorization: Bearer <token>`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized("malformed_authorization", "expected `Authorization: Bearer <token>`"));
    }
    Ok(token.trim())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn user(role: &str) -> User {
        User { id: Uuid::nil(), email: "a@b.example".into(), full_name: "A".into(), role: role.into(), tenant_id: Uuid::nil(), tenant_slug: "b".into(), tenant_name: "B".into() }
    }

    #[test]
    fn tokens_round_trip_and_each_failure_has_its_code() {
        let keys = TokenKeys::hs256(b"secret-one", "deriq", "der-iq");
        let now = chrono::Utc::now().timestamp();
        let claims = Claims::for_user(&user("der"), "deriq", "der-iq", now, 3600);
        let (back, role) = keys.verify(&keys.mint(&claims).unwrap(), now + 10).unwrap();
        assert_eq!((back, role), (claims.clone(), Role::Der));

        let code = |token: &str, at: i64| keys.verify(token, at).unwrap_err().code;
        let wrong_key = TokenKeys::hs256(b"secret-two", "deriq", "der-iq").mint(&claims).unwrap();
        assert_eq!(code(&wrong_key, now), "bad_signature");
        let other_aud = keys.mint(&Claims { aud: "elsewhere".into(), ..claims.clone() }).unwrap();
        assert_eq!(code(&other_aud, now), "wrong_audience");
        let other_iss = keys.mint(&Claims { iss: "evil".into(), ..claims.clone() }).unwrap();
        assert_eq!(code(&other_iss, now), "wrong_issuer");
        // The DER's session timeout is 60 minutes from iat, whatever exp says.
        let long = keys.mint(&Claims { exp: now + 86_400, ..claims.clone() }).unwrap();
        assert_eq!(code(&long, now + 61 * 60), "session_timeout");
        assert!(keys.verify(&long, now + 59 * 60).is_ok());
        assert_eq!(bearer(Some("Basic abc")).unwrap_err().code, "malformed_authorization");
        assert_eq!(bearer(None).unwrap_err().code, "missing_token");
    }
}
