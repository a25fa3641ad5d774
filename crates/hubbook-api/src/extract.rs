//! Request parts shared by many routes: pagination, `If-Match`, `Idempotency-Key`, and the
//! error handlers that turn actix's own extractor failures into problem documents.

use actix_web::error::{PathError, QueryPayloadError};
use actix_web::http::header;
use actix_web::{web, HttpRequest};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ProblemType;
use crate::{ApiError, MAX_BODY_BYTES};

/// The page size used when the caller does not ask for one.
pub const DEFAULT_PAGE: i64 = 50;

/// Cursor pagination parameters of every list route.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items to return (1 to 500, default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page; omit for the first page.
    pub cursor: Option<String>,
}

/// What a page cursor looks like: unpadded URL-safe base64. Any such text is read (it names the
/// position to continue after); anything else is `invalid-cursor`.
pub const CURSOR_PATTERN: &str = "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$";

/// What an `Idempotency-Key` is: 1 to 255 visible ASCII characters, as [`idempotency_key`] reads it.
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]{1,255}$";

/// Reads a page cursor: any unpadded URL-safe base64 text, as [`CURSOR_PATTERN`] says.
pub fn decode_cursor(cursor: &str) -> Option<String> {
    use base64::engine::{general_purpose, DecodePaddingMode, GeneralPurpose};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        general_purpose::NO_PAD
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireNone),
    );
    LENIENT
        .decode(cursor)
        .ok()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

impl PageQuery {
    /// The id to continue after, and the page size.
    pub fn decode(&self) -> Result<(Option<String>, i64), ApiError> {
        let limit = hubbook_store::repo::page_limit(self.limit.unwrap_or(DEFAULT_PAGE));
        let after = match &self.cursor {
            None => None,
            Some(c) => Some(decode_cursor(c).ok_or_else(|| {
                ApiError::Refused(
                    ProblemType::InvalidCursor,
                    "the cursor is not one this API returned".into(),
                )
            })?),
        };
        Ok((after, limit))
    }
}

/// One page of a list and the cursor of the next, if any.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PageOf<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to read the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> PageOf<T> {
    /// Maps a store page into a response page with an opaque cursor.
    pub fn from_page<R>(page: hubbook_store::Page<R>, f: impl FnMut(R) -> T) -> Self {
        Self {
            items: page.items.into_iter().map(f).collect(),
            next_cursor: page
                .next_after
                .map(|a| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(a)),
        }
    }
}

/// The version a client says it last saw, from an optional `If-Match: "<version>"`.
///
/// `None` when the header is absent or `*`. A value that is not one of this API's strong ETags
/// (a weak `W/` tag included, which RFC 9110 says never matches) yields version 0, which no row
/// has, so the change fails with `precondition-failed`.
pub fn if_match_optional(req: &HttpRequest) -> Option<i64> {
    let raw = req
        .headers()
        .get(header::IF_MATCH)?
        .to_str()
        .unwrap_or("")
        .trim();
    if raw == "*" {
        return None;
    }
    Some(
        raw.strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(0),
    )
}

/// The version an update must find, from a required `If-Match`: without the header an update
/// could silently overwrite someone else's change, so it is refused (`precondition-required`).
/// `If-Match: *` updates whatever is current, for a caller that means to.
pub fn if_match(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    if !req.headers().contains_key(header::IF_MATCH) {
        return Err(ApiError::PreconditionRequired);
    }
    Ok(if_match_optional(req))
}

/// The ETag header value for a row version.
pub fn etag(version: i64) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

/// The `Idempotency-Key` header, if given: 1 to 255 visible ASCII characters.
pub fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or("").trim();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::Refused(
            ProblemType::InvalidIdempotencyKey,
            "Idempotency-Key must be 1 to 255 visible ASCII characters, such as a UUID".into(),
        ));
    }
    Ok(Some(key.to_owned()))
}

/// Maps a query string failure to an `invalid-query` problem.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::InvalidQuery(format!("the query string is not valid: {err}")).into()
}

/// Maps a path segment that does not parse to `not-found`.
pub fn path_error(_err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound("no such resource".into()).into()
}

/// Deserialises a field that may be absent (`None`), `null` (`Some(None)`) or a value, so a
/// PATCH can clear an optional field; use with `#[serde(default)]`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The years a date or instant given to the API may fall in; outside them arithmetic on dates
/// could overflow, and no appointment is booked there anyway.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Refuses a date outside [`YEARS`] with `invalid-date-range`.
pub fn check_date(field: &str, date: chrono::NaiveDate) -> Result<chrono::NaiveDate, ApiError> {
    use chrono::Datelike;
    if YEARS.contains(&date.year()) {
        Ok(date)
    } else {
        Err(ApiError::Refused(
            ProblemType::InvalidDateRange,
            format!("{field} must fall in the years 2000 to 2100"),
        ))
    }
}

/// Refuses, as `invalid-text` (400), an API request whose path or query string holds a
/// percent-encoded control character (`%00` to `%1F`, `%7F`), or whose JSON body holds one in a
/// string (`\u0000` and the like; tab, line feed and carriage return are text). No id, code or
/// filter has one, and PostgreSQL cannot store a NUL, so such a request is refused alike on
/// either database, before it reaches one.
pub async fn refuse_control_characters(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let uri = req.uri();
    if !uri.path().starts_with("/api/") {
        return next.call(req).await;
    }
    if hubbook_core::control::in_percent_encoded(uri.path())
        || uri
            .query()
            .is_some_and(hubbook_core::control::in_percent_encoded)
    {
        return Err(ApiError::Refused(
            ProblemType::InvalidText,
            "the path or query string holds a control character such as %00".into(),
        )
        .into());
    }
    let json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    if json {
        // Read whole (within the body limit) and put back for the route's own extractor.
        let body = match req.extract::<web::Bytes>().await {
            Ok(body) => body,
            Err(e) => return Err(unreadable(&e).into()),
        };
        if hubbook_core::control::in_json(&body) {
            return Err(ApiError::Refused(
                ProblemType::InvalidText,
                "a text in the body holds a control character such as \\u0000".into(),
            )
            .into());
        }
        // The body was decoded as it was read: put back as plain bytes, with its headers saying so.
        let headers = req.headers_mut();
        headers.remove(actix_web::http::header::CONTENT_ENCODING);
        headers.insert(
            actix_web::http::header::CONTENT_LENGTH,
            actix_web::http::header::HeaderValue::from(body.len()),
        );
        req.set_payload(body.into());
    }
    next.call(req).await
}

/// A JSON body, read before the handler runs but judged only when the handler asks for it, so
/// that a caller without the rights for the operation hears 403 whatever its body holds. Its
/// shape is held to the document's schema first (an array where an object belongs is refused,
/// which serde alone would read as the object's fields in order), then read by serde.
pub struct Json<T>(Result<T, ApiError>);

impl<T> Json<T> {
    /// The body, or the problem with it: 415, 413, 400 for text that is not JSON, 422 for JSON
    /// of the wrong shape or types.
    pub fn into_inner(self) -> Result<T, ApiError> {
        self.0
    }
}

impl<T> actix_web::FromRequest for Json<T>
where
    T: serde::de::DeserializeOwned + utoipa::ToSchema + 'static,
{
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        let bytes = <web::Bytes as actix_web::FromRequest>::from_request(&req, payload);
        Box::pin(async move {
            let json = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| {
                    let essence = v
                        .split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase();
                    essence == "application/json" || essence.ends_with("+json")
                });
            let body = match bytes.await {
                Ok(body) => body,
                Err(e) => return Ok(Self(Err(unreadable(&e)))),
            };
            if !json {
                return Ok(Self(Err(ApiError::UnsupportedMediaType(
                    "send the body as application/json".into(),
                ))));
            }
            let shapes = req
                .app_data::<web::Data<crate::document::Shapes>>()
                .cloned();
            Ok(Self(read_json::<T>(
                &body,
                shapes.as_ref().map(|s| s.get_ref()),
            )))
        })
    }
}

/// The problem with a body that could not be read whole: too large, or cut off.
fn unreadable(e: &actix_web::Error) -> ApiError {
    match e.as_error::<actix_web::error::PayloadError>() {
        Some(actix_web::error::PayloadError::Overflow) => {
            ApiError::PayloadTooLarge(format!("the body is larger than {MAX_BODY_BYTES} bytes"))
        }
        _ => ApiError::MalformedJson(format!("the body could not be read: {e}")),
    }
}

/// Reads a JSON body as `T`: 400 when it is not JSON, 422 when its shape or types are wrong
/// (including an array where the schema of `T` has an object).
pub fn read_json<T>(body: &[u8], shapes: Option<&crate::document::Shapes>) -> Result<T, ApiError>
where
    T: serde::de::DeserializeOwned + utoipa::ToSchema,
{
    let mut value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::MalformedJson(format!("the body is not valid JSON: {e}")))?;
    if let Some(wrong) = shapes.and_then(|s| s.mismatch(&T::name(), &value)) {
        return Err(ApiError::InvalidBody(wrong));
    }
    whole_numbers_as_integers(&mut value);
    serde_json::from_value(value).map_err(|e| ApiError::InvalidBody(e.to_string()))
}

/// Writes every number without a fraction (`20.0`, `1e3`) as an integer, as JSON Schema counts
/// it and some clients send it, so that an integer field reads it; a number that is used as a
/// decimal reads an integer just as well.
fn whole_numbers_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| !n.is_i64() && !n.is_u64()) {
                // Within ±2^53 every whole f64 is exact, and fits an i64.
                if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 {
                    *n = serde_json::Number::from(f as i64);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        serde_json::Value::Object(members) => {
            members.values_mut().for_each(whole_numbers_as_integers)
        }
        _ => {}
    }
}
