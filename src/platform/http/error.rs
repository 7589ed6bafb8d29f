//! The one error envelope every failure is answered with:
//! `{"error": {"code", "message", "fields"?, "retryAfterMs"?, "requestId"}}`.
//!
//! Client errors carry a real status and a stable `code`. Internal errors are
//! logged once, here, with the request id, and shown as an opaque 500.

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;

use super::front::current_request_id;

/// Input path -> messages, e.g. `{"name": ["must be 2-80 characters"]}`.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug)]
pub enum AppError {
    /// Shown to the client as is.
    Client(ClientError),
    /// Logged with its context chain; the client sees only "internal error".
    Internal(anyhow::Error),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClientError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: String,
    pub fields: Option<FieldErrors>,
    pub retry_after_ms: Option<u64>,
}

impl AppError {
    pub fn new(status: StatusCode, code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        AppError::Client(ClientError { status, code: code.into(), message: message.into(), fields: None, retry_after_ms: None })
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "Sign in to do this")
    }

    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "PERMISSION_DENIED", message)
    }

    pub fn not_found(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn conflict(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 422 with one or more messages per input path.
    pub fn validation(fields: FieldErrors) -> Self {
        Self::validation_with_code("VALIDATION_FAILED", "The input is not valid", fields)
    }

    pub fn validation_with_code(code: impl Into<Cow<'static, str>>, message: impl Into<String>, fields: FieldErrors) -> Self {
        AppError::Client(ClientError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: code.into(),
            message: message.into(),
            fields: Some(fields),
            retry_after_ms: None,
        })
    }

    /// 422 for a single field.
    pub fn invalid_field(path: &str, message: impl Into<String>) -> Self {
        Self::validation(BTreeMap::from([(path.to_owned(), vec![message.into()])]))
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(error.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Client(e) => e.status,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        AppError::Internal(anyhow::Error::new(error).context("database error"))
    }
}

/// Content that is too deeply nested or too slow to render is the client's
/// to fix (422); a renderer that failed otherwise is ours (500).
impl From<crate::platform::content::ContentError> for AppError {
    fn from(error: crate::platform::content::ContentError) -> Self {
        use crate::platform::content::ContentError;
        match error {
            ContentError::TooDeep { .. } | ContentError::TimedOut => {
                AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "CONTENT_TOO_COMPLEX", error.to_string())
            }
            error @ ContentError::Failed(_) => AppError::Internal(anyhow::Error::new(error)),
        }
    }
}

/// The `{"success": true}` body of writes that return nothing else.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Success {
    pub success: bool,
}

impl From<anyhow::Error> for AppError {
    fn from(error: anyhow::Error) -> Self {
        AppError::Internal(error)
    }
}

/// The JSON body of every error response (documented in OpenAPI).
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `UNAUTHENTICATED`, `POST_NOT_FOUND`.
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<FieldErrors>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ClientError {
    pub fn into_response(self) -> Response {
        let retry_after = self.retry_after_ms;
        let envelope = ErrorEnvelope {
            error: ErrorBody {
                code: self.code.into_owned(),
                message: self.message,
                fields: self.fields,
                retry_after_ms: self.retry_after_ms,
                request_id: current_request_id(),
            },
        };
        let mut response = (self.status, axum::Json(envelope)).into_response();
        if let Some(ms) = retry_after {
            let seconds = ms.div_ceil(1000).max(1);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Client(error) => error.into_response(),
            AppError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "internal error");
                match storage_failure(&error) {
                    Some(failure) => failure.into_response(),
                    None => internal_error_response(),
                }
            }
        }
    }
}

/// A database that is full or cannot be reached is the operator's problem,
/// not a bug: 503 with a code that says which, so clients retry later and
/// nobody takes the write for done.
fn storage_failure(error: &anyhow::Error) -> Option<ClientError> {
    let sqlx_error = error.chain().find_map(|e| e.downcast_ref::<sqlx::Error>())?;
    let (code, message) = match sqlx_error {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // SQLITE_FULL (13, extended codes keep it in the low byte), PostgreSQL disk_full.
            Some(code) if code.parse::<i32>().is_ok_and(|c| c & 0xff == 13) || code == "53100" => {
                ("STORAGE_FULL", "The database is out of space; nothing was saved")
            }
            // SQLITE_IOERR (10) and SQLITE_CANTOPEN (14); PostgreSQL out of memory / too many connections / shutting down.
            Some(code) if code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 10 | 14)) => {
                ("DATABASE_UNAVAILABLE", "The database could not be written; nothing was saved")
            }
            Some("53000" | "53200" | "53300" | "57P01" | "57P02" | "57P03") => ("DATABASE_UNAVAILABLE", "The database is not available"),
            _ => return None,
        },
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => {
            ("DATABASE_UNAVAILABLE", "The database is not available")
        }
        _ => return None,
    };
    Some(ClientError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: code.into(),
        message: message.into(),
        fields: None,
        retry_after_ms: None,
    })
}

/// The opaque 500 (also used for panics).
pub fn internal_error_response() -> Response {
    ClientError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: "INTERNAL".into(),
        message: "Internal server error; quote the request id when reporting it".into(),
        fields: None,
        retry_after_ms: None,
    }
    .into_response()
}

/// The code used for a bare status (responses that reach the client without
/// a handler's own envelope: unknown routes, wrong methods, timeouts, ...).
pub fn code_for_status(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("BAD_REQUEST", "The request is malformed"),
        401 => ("UNAUTHENTICATED", "Sign in to do this"),
        403 => ("PERMISSION_DENIED", "You may not do this"),
        404 => ("NOT_FOUND", "There is nothing at this address"),
        405 => ("METHOD_NOT_ALLOWED", "This address does not accept that method"),
        408 => ("REQUEST_TIMEOUT", "The request took too long to arrive"),
        413 => ("PAYLOAD_TOO_LARGE", "The request body is too large"),
        415 => ("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json"),
        422 => ("VALIDATION_FAILED", "The input is not valid"),
        429 => ("RATE_LIMITED", "Too many requests"),
        503 => ("SERVICE_UNAVAILABLE", "The server could not answer in time"),
        s if s >= 500 => ("INTERNAL", "Internal server error"),
        _ => ("HTTP_ERROR", "The request failed"),
    }
}
