//! The JSON body extractor: a clear 4xx for each way a body can be wrong (too large,
//! not UTF-8, not JSON, missing or mistyped fields, wrong content type).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON request body, parsed, with its raw bytes (for idempotency fingerprints).
pub struct JsonBody<T> {
    pub value: T,
    pub raw: Bytes,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
            if !ct.starts_with("application/json") {
                return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", format!("the body must be application/json, not {ct}"))
                    .hint("send `Content-Type: application/json`"));
            }
        }
        let raw = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the request body is over the size limit").hint("questions are at most 2000 characters")
            } else {
                ApiError::bad_request("unreadable_body", "the request body could not be read")
            }
        })?;
        let value = parse(&raw)?;
        Ok(JsonBody { value, raw })
    }
}

/// Parses a JSON body, naming the problem.
pub fn parse<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    if raw.is_empty() {
        return Err(ApiError::bad_request("empty_body", "the request has no body; send a JSON object"));
    }
    let text = std::str::from_utf8(raw).map_err(|e| ApiError::bad_request("invalid_utf8", format!("the body is not valid UTF-8 (byte {})", e.valid_up_to())))?;
    serde_json::from_str(text).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::unprocessable("invalid_fields", format!("the JSON does not have the expected fields: {e}")),
            _ => ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}")),
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Q {
        question: String,
    }

    #[test]
    fn each_bad_body_gets_its_own_code() {
        assert_eq!(parse::<Q>(b"").unwrap_err().code, "empty_body");
        assert_eq!(parse::<Q>(b"{\"question\": \"\xff\"}").unwrap_err().code, "invalid_utf8");
        assert_eq!(parse::<Q>(b"{\"question\": ").unwrap_err().code, "malformed_json");
        let missing = parse::<Q>(b"{}").unwrap_err();
        assert_eq!((missing.code, missing.status), ("invalid_fields", StatusCode::UNPROCESSABLE_ENTITY));
        assert!(missing.message.contains("missing field `question`"), "{}", missing.message);
        assert_eq!(parse::<Q>(b"{\"question\": 3}").unwrap_err().code, "invalid_fields");
        assert_eq!(parse::<Q>(b"{\"question\": \"ok\"}").unwrap().question, "ok");
    }
}
