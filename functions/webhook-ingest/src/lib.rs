//! `webhook-ingest`: `POST /v1/webhooks/{provider}` receives provider callbacks.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::http::{
    path_param, request_ctx, respond, route_key, route_not_found, source_ip, webhook_body,
};
use shared::provider::RawWebhook;
use shared::wiring::WebhookIngestDeps;
use shared::RequestCtx;

/// Parse, make one call into `shared`, map the result to a response. Credentials that fail may
/// have been rotated: the secrets are read again (at most every 30 s) and, if they changed, the
/// webhook is authenticated once more.
pub async fn handle(deps: &WebhookIngestDeps, req: Request) -> Response<Body> {
    let ctx = request_ctx(&req);
    deps.secrets.refresh_if_stale().await;
    let mut response = ingest(deps, &req, &ctx).await;
    if response.status() == StatusCode::UNAUTHORIZED
        && deps.secrets.refresh_after_auth_failure().await
    {
        response = ingest(deps, &req, &ctx).await;
    }
    response
}

async fn ingest(deps: &WebhookIngestDeps, req: &Request, ctx: &RequestCtx) -> Response<Body> {
    let result = async {
        let provider = match (route_key(req), path_param(req, "provider")) {
            (Some("POST /v1/webhooks/{provider}"), Some(p)) => p,
            _ => return Err(route_not_found()),
        };
        let webhook = RawWebhook {
            headers: req.headers(),
            body: webhook_body(req)?,
            source_ip: source_ip(req),
        };
        let ack = deps.ingest.run(&provider, webhook, ctx).await?;
        Ok((200, json!({ "received": true, "outcome": ack.label() })))
    }
    .await;
    respond(result, ctx)
}
