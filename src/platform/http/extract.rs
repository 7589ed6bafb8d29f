//! Validated input: `ValidJson<T>` (POST bodies) and `ValidQuery<T>` (GET
//! query strings). Malformed input is a 400; input of the wrong shape or
//! failing its rules is a 422 with messages keyed by camelCase input path.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::{AppError, FieldErrors};

/// A JSON body that deserialised and passed its `garde` rules.
pub struct ValidJson<T>(pub T);

/// A query string that deserialised and passed its `garde` rules.
pub struct ValidQuery<T>(pub T);

/// An HTML form (`application/x-www-form-urlencoded`) that deserialised;
/// its rules are the page's to check, so it can show what is wrong beside
/// the fields.
pub struct PageForm<T>(pub T);

impl<S, T> FromRequest<S> for PageForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, AppError> {
        let bytes = read_body(request, "application/x-www-form-urlencoded").await?;
        if bytes.contains(&0) || String::from_utf8_lossy(&bytes).contains("%00") {
            return Err(AppError::bad_request("The form holds a NUL character"));
        }
        serde_urlencoded::from_bytes(&bytes).map(PageForm).map_err(|e| AppError::bad_request(format!("The form does not decode: {e}")))
    }
}

impl<S, T> FromRequest<S> for ValidJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    type Rejection = AppError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, AppError> {
        let bytes = read_body(request, "application/json").await?;
        let value = parse_json(&bytes)?;
        validate(&value)?;
        Ok(ValidJson(value))
    }
}

/// The whole body of a request that says it is `media_type` (else 415).
async fn read_body(request: Request, media_type: &str) -> Result<axum::body::Bytes, AppError> {
    let declared = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(media_type));
    if !declared {
        return Err(AppError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", format!("Send the body as {media_type}")));
    }
    // The front door bounds the body (`FLINT_BODY_LIMIT`); reading past
    // the bound fails with its `LengthLimitError`.
    axum::body::to_bytes(request.into_body(), usize::MAX).await.map_err(|error| {
        if is_length_limit(&error) {
            AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", "The request body is too large")
        } else {
            AppError::bad_request(format!("Could not read the request body: {error}"))
        }
    })
}

/// Whether reading failed on the front door's body limit (the error comes
/// wrapped once per body layer).
fn is_length_limit(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        current = error.source();
    }
    false
}

impl<S, T> FromRequestParts<S> for ValidQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or_default();
        // A NUL arrives percent-encoded: only such a query is looked at closer.
        if query.contains("%00")
            && let Some((key, _)) = form_urlencoded::parse(query.as_bytes()).find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            return Err(nul_error(&camel_case_path(&key)));
        }
        let value: T = match parse_query(query) {
            Ok(value) => value,
            Err((path, message)) => retry_with_integral_decimals(query, &path).ok_or_else(|| data_error(&path, &message))?,
        };
        validate(&value)?;
        Ok(ValidQuery(value))
    }
}

fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, (String, String)> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|e| (e.path().to_string(), e.into_inner().to_string()))
}

/// `4.0` is an integer to JSON Schema (and so to the OpenAPI document): a
/// query whose parameter failed to parse, written so, is read again with
/// each such parameter as `4`. `None` when that is not the reason.
fn retry_with_integral_decimals<T: DeserializeOwned>(query: &str, failed_at: &str) -> Option<T> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let mut failed_at = failed_at.to_owned();
    for _ in 0..pairs.len() {
        let pair = pairs.iter_mut().find(|(k, v)| *k == failed_at && integral_decimal(v).is_some())?;
        pair.1 = integral_decimal(&pair.1)?;
        let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
        match parse_query(&encoded) {
            Ok(value) => return Some(value),
            Err((path, _)) => failed_at = path,
        }
    }
    None
}

/// `"-12.00"` -> `"-12"`: a decimal whose fraction is all zeros, as an integer.
fn integral_decimal(text: &str) -> Option<String> {
    let (whole, fraction) = text.split_once('.')?;
    let digits = whole.strip_prefix('-').unwrap_or(whole);
    let integral = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && fraction.bytes().all(|b| b == b'0');
    integral.then(|| whole.to_owned())
}

/// The one rule for U+0000 on both backends: no text input may hold it
/// (PostgreSQL cannot store it in text, and no sane input needs it), so it
/// is a 422 at the field's path before any service sees it.
fn nul_error(path: &str) -> AppError {
    let path = if path.is_empty() { "$" } else { path };
    AppError::invalid_field(path, "must not contain the NUL character (U+0000)")
}

/// The path of the first string (or key) holding a NUL, as `a.b[0].c`.
fn nul_path(value: &serde_json::Value, at: String) -> Option<String> {
    match value {
        serde_json::Value::String(s) => s.contains('\0').then_some(at),
        serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| nul_path(v, format!("{at}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
            if k.contains('\0') { Some(path) } else { nul_path(v, path) }
        }),
        _ => None,
    }
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| AppError::bad_request(format!("Malformed JSON: {e}")))?;
    integral_floats_as_integers(&mut value);
    // JSON text cannot hold a raw NUL, only the `\u0000` escape, which the
    // parse above has turned into one.
    if let Some(path) = nul_path(&value, String::new()) {
        return Err(nul_error(&path));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        data_error(&path, &e.into_inner().to_string())
    })
}

/// JSON (and JSON Schema) make no difference between `4` and `4.0`; serde
/// refuses a float where it wants an integer. Integral floats in the i64
/// range become integers, so a client that writes ids as `4.0` is understood.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f >= i64::MIN as f64
                && f < i64::MAX as f64
            {
                *value = serde_json::Value::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        serde_json::Value::Object(map) => map.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// A value of the wrong type, a missing or an unknown field: 422 at its path.
fn data_error(path: &str, message: &str) -> AppError {
    // serde reports a missing field at its parent; point at the field itself.
    let missing = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
    let key = match (missing, path) {
        (Some(field), ".") => field.to_owned(),
        (Some(field), parent) => format!("{parent}.{field}"),
        (None, ".") => "$".to_owned(),
        (None, path) => path.to_owned(),
    };
    let message = message.split(" at line ").next().unwrap_or(message).to_owned();
    AppError::validation(FieldErrors::from([(key, vec![message])]))
}

fn validate<T: garde::Validate<Context = ()>>(value: &T) -> Result<(), AppError> {
    value.validate().map_err(|report| {
        let mut fields = FieldErrors::new();
        for (path, error) in report.iter() {
            let key = camel_case_path(&path.to_string());
            let key = if key.is_empty() { "$".to_owned() } else { key };
            fields.entry(key).or_default().push(error.message().to_owned());
        }
        AppError::validation(fields)
    })
}

/// `items[0].tag_name` -> `items[0].tagName` (DTOs are camelCase on the wire).
fn camel_case_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper_next = false;
    for c in path.chars() {
        match c {
            '_' => upper_next = true,
            c if upper_next => {
                out.extend(c.to_uppercase());
                upper_next = false;
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, garde::Validate)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Input {
        #[garde(length(chars, min = 2, max = 5))]
        display_name: String,
        #[garde(range(min = 1))]
        count: u32,
    }

    fn fields(err: AppError) -> (u16, Vec<String>) {
        match err {
            AppError::Client(e) => (e.status.as_u16(), e.fields.unwrap_or_default().into_keys().collect()),
            AppError::Internal(e) => panic!("unexpected internal error {e}"),
        }
    }

    fn check(json: &str) -> Result<Input, AppError> {
        let value: Input = parse_json(json.as_bytes())?;
        validate(&value)?;
        Ok(value)
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Query {
        post_id: i64,
        q: Option<String>,
    }

    #[test]
    fn integers_written_as_integral_decimals_are_read() {
        assert_eq!(integral_decimal("-12.00").as_deref(), Some("-12"));
        assert_eq!(integral_decimal("1.5"), None);
        assert_eq!(integral_decimal("a.0"), None);
        let query: Query = retry_with_integral_decimals("postId=7.0&q=1.0", "postId").unwrap();
        assert_eq!((query.post_id, query.q.as_deref()), (7, Some("1.0")), "only the parameter that failed is rewritten");
        assert!(retry_with_integral_decimals::<Query>("postId=7.5", "postId").is_none());
        let (status, paths) = fields(AppError::validation(FieldErrors::from([("postId".to_owned(), vec![String::new()])])));
        assert_eq!((status, paths), (422, vec!["postId".to_owned()]));
    }

    #[test]
    fn integral_floats_in_json_are_integers() {
        let value: Query = parse_json(br#"{"postId": 4294967296.0}"#).unwrap();
        assert_eq!(value.post_id, 4_294_967_296);
        assert!(parse_json::<Query>(br#"{"postId": 4.5}"#).is_err());
    }

    #[test]
    fn a_nul_in_any_json_string_is_422_at_its_path() {
        let check = |json: &[u8]| parse_json::<serde_json::Value>(json);
        assert!(check(br#"{"a": "plain", "b": ["x\\u0000"]}"#).is_ok(), "an escaped backslash before u0000 is text");
        assert!(check(br#"{"a": "\u00001"}"#).is_err());
        let (status, paths) = fields(check(br#"{"data": {"tags": ["ok", "b\u0000d"]}}"#).unwrap_err());
        assert_eq!((status, paths), (422, vec!["data.tags[1]".to_owned()]));
        let (_, paths) = fields(check(br#"{"email": "\\\u0000"}"#).unwrap_err());
        assert_eq!(paths, ["email"], "three backslashes: one escaped, then the NUL escape");
    }

    #[test]
    fn malformed_json_is_400() {
        let err = check("{\"displayName\": ").unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        let err = check("{\"displayName\":\"ab\",\"count\":1} trailing").unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn shape_errors_are_422_at_their_path() {
        assert_eq!(fields(check("{\"count\": 1}").unwrap_err()), (422, vec!["displayName".into()]));
        assert_eq!(fields(check("{\"displayName\":\"ab\",\"count\":\"x\"}").unwrap_err()), (422, vec!["count".into()]));
        assert_eq!(fields(check("{\"displayName\":\"ab\",\"count\":1,\"extra\":1}").unwrap_err()), (422, vec!["extra".into()]));
    }

    #[test]
    fn rule_errors_are_422_with_camel_case_paths() {
        let (status, keys) = fields(check("{\"displayName\":\"a\",\"count\":0}").unwrap_err());
        assert_eq!(status, 422);
        assert_eq!(keys, vec!["count".to_owned(), "displayName".to_owned()]);
        assert!(check("{\"displayName\":\"abc\",\"count\":3}").is_ok());
    }

    #[test]
    fn camel_case_paths() {
        assert_eq!(camel_case_path("items[0].tag_name"), "items[0].tagName");
        assert_eq!(camel_case_path("name"), "name");
    }
}
