//! `create-verification`: `POST /v1/verifications` starts a verification with a provider;
//! `PATCH /v1/verifications/{id}` corrects the applicant's data and resubmits it.

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
        let key = idempotency_key(&req)?;
        match (route_key(&req), path_param(&req, "id")) {
            (Some("POST /v1/verifications"), _) => {
                deps.create.run(&json_body(&req)?, key.as_ref(), &ctx).await
            }
            (Some("PATCH /v1/verifications/{id}"), Some(id)) => {
                deps.resubmit
                    .run(&id, &json_body(&req)?, key.as_ref(), &ctx)
                    .await
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
