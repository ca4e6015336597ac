//! `create-verification`: `POST /v1/verifications` starts a verification with a provider;
//! `PATCH /v1/verifications/{id}` corrects the applicant's data and resubmits it;
//! `POST /v1/verifications/{id}/redact` removes the personal data of an ended verification.

use lambda_http::{Body, Request, Response};
use shared::http::{
    error_response, idempotency_key, json_body, path_param, reply_response, request_ctx, route_key,
    route_not_found,
};
use shared::wiring::CreateVerificationDeps;

/// Parse, make one call into `shared`, map the result to a response.
pub async fn handle(deps: &CreateVerificationDeps, req: Request) -> Response<Body> {
    let ctx = request_ctx(&req);
    deps.secrets.refresh_if_stale().await;
    let result = async {
        match (route_key(&req), path_param(&req, "id")) {
            (Some("POST /v1/verifications"), _) => {
                let key = idempotency_key(&req)?;
                deps.create.run(&json_body(&req)?, key.as_ref(), &ctx).await
            }
            (Some("PATCH /v1/verifications/{id}"), Some(id)) => {
                let key = idempotency_key(&req)?;
                deps.resubmit
                    .run(&id, &json_body(&req)?, key.as_ref(), &ctx)
                    .await
            }
            (Some("POST /v1/verifications/{id}/redact"), Some(id)) => {
                deps.redact.run(&id, &ctx).await
            }
            _ => Err(route_not_found()),
        }
    }
    .await;
    match result {
        Ok(reply) => reply_response(reply),
        Err(err) => error_response(&err, &ctx),
    }
}
