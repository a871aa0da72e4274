//! API errors: every failure maps explicitly to a status code and a JSON body that says
//! what was wrong and what to do about it.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::ask::AskError;
use crate::directory::DirectoryError;

/// An error answered to an HTTP caller.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    /// A stable, machine-readable code (`token_expired`, `malformed_json`, ...).
    pub code: &'static str,
    /// What was wrong, in words a caller can act on.
    pub message: String,
    /// What to do about it, when there is something to do.
    pub hint: Option<String>,
    /// For 429: when to try again.
    pub retry_after: Option<Duration>,
    /// For 504: the pipeline stage that ran out of time.
    pub stage: Option<&'static str>,
}

impl ApiError {
    /// An error with a status, a code and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), hint: None, retry_after: None, stage: None }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Names the pipeline stage the error comes from.
    pub fn with_stage(mut self, stage: &'static str) -> Self {
        self.stage = Some(stage);
        self
    }

    /// 400 Bad Request.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401 Unauthorized (the token is missing or not acceptable).
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message).hint("send `Authorization: Bearer <token>`; `deriq token --user <email>` mints a development token")
    }

    /// 403 Forbidden (authenticated, but not allowed).
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 422 Unprocessable Entity (well-formed JSON with unusable content).
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 503 Service Unavailable.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message).hint("retry later; /readyz shows which dependency is down")
    }

    /// 429 Too Many Requests.
    pub fn rate_limited(what: &'static str, per_minute: u32, retry_after: Duration) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", format!("the {what} rate limit of {per_minute} requests per minute is used up"));
        e.hint = Some(format!("retry after {} seconds", retry_secs(retry_after)));
        e.retry_after = Some(retry_after);
        e
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        let mut error = json!({ "status": self.status.as_u16(), "code": self.code, "message": self.message });
        if let Some(h) = &self.hint {
            error["hint"] = json!(h);
        }
        if let Some(r) = self.retry_after {
            error["retry_after_seconds"] = json!(retry_secs(r));
        }
        if let Some(stage) = self.stage {
            error["stage"] = json!(stage);
        }
        json!({ "error": error })
    }
}

fn retry_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.body())).into_response();
        if let Some(r) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&retry_secs(r).max(1).to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.status == StatusCode::UNAUTHORIZED
            && let Ok(v) = HeaderValue::from_str(&format!("Bearer error=\"invalid_token\", error_description=\"{}\"", self.code))
        {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        resp
    }
}

impl From<AskError> for ApiError {
    fn from(e: AskError) -> Self {
        let msg = e.to_string();
        match e {
            AskError::EmptyQuestion => ApiError::unprocessable("empty_question", msg),
            AskError::QuestionTooLong(_) => ApiError::unprocessable("question_too_long", msg).hint("shorten the question"),
            AskError::Directory(DirectoryError::UnknownUser(_)) => ApiError::unauthorized("unknown_user", msg),
            AskError::Directory(DirectoryError::BadRole { .. }) => ApiError::forbidden("unknown_role", msg),
            AskError::Directory(DirectoryError::Db { .. }) => ApiError::unavailable("directory_unavailable", "the user directory could not be read"),
            AskError::DrafterUnavailable(_) => ApiError::bad_request("drafter_unavailable", msg).hint("omit `drafter` to use the configured default"),
            AskError::Drafter(_) => ApiError::new(StatusCode::BAD_GATEWAY, "drafter_failed", msg).hint("retry later, or ask with the offline drafter"),
            AskError::Exec(_) => ApiError::unavailable("database_unavailable", msg),
            AskError::Audit(_) => ApiError::unavailable("audit_unavailable", "the question was not answered because it could not be audited"),
            AskError::Retrieval(_) => ApiError::unavailable("retrieval_unavailable", msg),
            AskError::Timeout { stage, .. } => ApiError::new(StatusCode::GATEWAY_TIMEOUT, "stage_timeout", msg).with_stage(stage.as_str()).hint("retry later, or narrow the question"),
            AskError::TenantNotInScope(_) => ApiError::forbidden("tenant_not_assigned", msg),
            AskError::CallerMismatch => ApiError::unauthorized("subject_mismatch", msg),
        }
    }
}

impl From<DirectoryError> for ApiError {
    fn from(e: DirectoryError) -> Self {
        ApiError::from(AskError::Directory(e))
    }
}
