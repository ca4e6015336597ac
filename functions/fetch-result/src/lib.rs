//! `fetch-result`: `GET /v1/verifications/{id}` (`?refresh=true` asks the provider first) and `GET /v1/customers/{customer_id}/verification`.

use lambda_http::{http::Method, Body, Request, Response};
use serde_json::json;
use shared::domain::{CustomerId, Source, VerificationId};
use shared::http::{path_param, query_param, request_ctx, respond, route_not_found};
use shared::service::verification_json;
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let ctx = request_ctx(&req);
    let result = async {
        if req.method() != Method::GET {
            return Err(route_not_found());
        }
        if let Some(raw) = path_param(&req, "id") {
            // An id that cannot exist is simply not found.
            let id = VerificationId::parse(&raw).map_err(|_| ApiError::not_found("verification"))?;
            let verification = match query_param(&req, "refresh").as_deref() {
                None | Some("false") => app.fetch_verification(&id).await?,
                // Ask the provider first and apply what it says (repairs a missed webhook).
                Some("true") => app.refresh_verification(&id, Source::Reconcile).await?,
                Some(_) => {
                    return Err(ApiError::validation(
                        [("refresh".to_owned(), vec!["must be true or false".to_owned()])].into(),
                    ))
                }
            };
            return Ok((200, verification_json(&verification)));
        }
        if let Some(raw) = path_param(&req, "customer_id") {
            let id = CustomerId::parse(&raw).map_err(|_| ApiError::not_found("customer"))?;
            let view = app.fetch_customer(&id).await?;
            return Ok((
                200,
                json!({
                    "customer_id": view.customer_id,
                    "verified": view.verified_at.is_some(),
                    "verified_at": view.verified_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                    "verified_verification_id": view.verified_verification_id,
                    "verification": view.latest.as_ref().map(verification_json),
                }),
            ));
        }
        Err(route_not_found())
    }
    .await;
    respond(result, &ctx)
}
