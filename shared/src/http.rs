//! The HTTP edge shared by the handlers: reading requests the one way, answering in the one shape.

use chrono::{DateTime, Utc};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::Value;

use crate::domain::idempotency::IdempotencyKey;
use crate::error::{ApiError, ErrorCode};
use crate::service::{Reply, RequestCtx};

/// Bodies above this are refused with 413 before parsing.
pub const MAX_BODY_BYTES: usize = 32 * 1024;

/// The request id clients see in errors: API Gateway's, else the Lambda invocation's.
pub fn request_ctx(req: &Request) -> RequestCtx {
    let gateway_id = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    };
    let lambda = req.lambda_context_ref();
    let request_id = gateway_id
        .or_else(|| {
            lambda
                .map(|c| c.request_id.clone())
                .filter(|id| !id.is_empty())
        })
        .unwrap_or_else(|| format!("local-{}", ulid::Ulid::new()));
    let deadline = lambda
        .map(|c| c.deadline)
        .filter(|ms| *ms > 0)
        .and_then(|ms| DateTime::<Utc>::from_timestamp_millis(ms as i64));
    RequestCtx::new(request_id, deadline)
}

/// The route API Gateway matched (`POST /v1/verifications`), as the template declares it; a
/// handler answers only its own routes (a `$default` route or a misrouted event is a 404).
pub fn route_key(req: &Request) -> Option<&str> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.as_deref(),
        _ => None,
    }
}

/// The caller's address as API Gateway saw it (a `/32` or `/128` suffix, as SAM's sample events
/// write it, is read as the address).
pub fn source_ip(req: &Request) -> Option<std::net::IpAddr> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .http
            .source_ip
            .as_deref()
            .map(|ip| ip.trim_end_matches("/32").trim_end_matches("/128"))
            .and_then(|ip| ip.parse().ok()),
        _ => None,
    }
}

pub fn path_param(req: &Request, name: &str) -> Option<String> {
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .map(str::to_owned)
}

pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_owned)
}

/// The raw bytes of the body, whatever API Gateway wrapped them in.
pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// Provider callbacks above this are refused with 413 before authentication (a provider's events
/// carry the resource they are about, a few KiB; this bounds the HMAC and parsing work).
pub const MAX_WEBHOOK_BYTES: usize = 256 * 1024;

/// A webhook's raw bytes, capped before anything reads them.
pub fn webhook_body(req: &Request) -> Result<&[u8], ApiError> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_WEBHOOK_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("a webhook body must be at most {MAX_WEBHOOK_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

/// A JSON body: the size, then the content type, then the syntax, each with its own error.
pub fn json_body(req: &Request) -> Result<Value, ApiError> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body must be at most {MAX_BODY_BYTES} bytes"),
        ));
    }
    let content_type = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" && !essence.ends_with("+json") {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the body must be sent as application/json",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::MalformedJson,
            format!(
                "the body is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })
}

/// The `Idempotency-Key` header, validated: absent is fine, anything malformed (or more than one)
/// is `400 idempotency_key_invalid`.
pub fn idempotency_key(req: &Request) -> Result<Option<IdempotencyKey>, ApiError> {
    let mut values = req.headers().get_all("idempotency-key").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let invalid = |why: &str| {
        ApiError::new(
            ErrorCode::IdempotencyKeyInvalid,
            format!("the Idempotency-Key header {why}"),
        )
    };
    if values.next().is_some() {
        return Err(invalid("must be sent once"));
    }
    let raw = value
        .to_str()
        .map_err(|_| invalid("must be printable ASCII"))?;
    IdempotencyKey::parse(raw).map(Some).map_err(invalid)
}

/// A service reply as it goes out; a replay says so in `Idempotent-Replayed: true`.
pub fn reply_response(reply: Reply) -> Response<Body> {
    let mut resp = Response::new(Body::Text(reply.body));
    *resp.status_mut() =
        http::StatusCode::from_u16(reply.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if reply.replayed {
        resp.headers_mut().insert(
            "idempotent-replayed",
            http::HeaderValue::from_static("true"),
        );
    }
    resp
}

/// A JSON response.
pub fn json_response(status: u16, body: &Value) -> Response<Body> {
    let mut resp = Response::new(Body::Text(body.to_string()));
    *resp.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

/// The one mapping from [`ApiError`] to a response.
pub fn error_response(err: &ApiError, ctx: &RequestCtx) -> Response<Body> {
    let status = err.status();
    if status >= 500 {
        let cause = err
            .cause
            .as_deref()
            .map(|c| crate::telemetry::chain(c))
            .unwrap_or_default();
        tracing::warn!(code = err.code.as_str(), status, request_id = %ctx.request_id, cause = %cause, "request failed");
    } else {
        tracing::info!(code = err.code.as_str(), status, request_id = %ctx.request_id, "request refused");
    }
    let mut resp = json_response(status, &err.to_json(&ctx.request_id));
    if let Some(seconds) = err.retry_after {
        resp.headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
    }
    resp
}

/// Answer a handler's result: the value on success, the error shape otherwise.
pub fn respond(result: Result<(u16, Value), ApiError>, ctx: &RequestCtx) -> Response<Body> {
    match result {
        Ok((status, body)) => json_response(status, &body),
        Err(err) => error_response(&err, ctx),
    }
}

/// The JSON 404 for a route this function does not serve.
pub fn route_not_found() -> ApiError {
    ApiError::not_found("route")
}
