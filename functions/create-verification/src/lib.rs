//! `create-verification`: `POST /v1/verifications` starts a verification with a provider.

use lambda_http::{http::Method, Body, Request, Response};
use shared::http::{json_body, path_param, request_ctx, respond, route_not_found};
use shared::service::verification_json;
use shared::App;

/// Parse, make one call into `shared`, map the result to a response.
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let ctx = request_ctx(&req);
    let result = async {
        if req.method() != Method::POST || path_param(&req, "id").is_some() {
            return Err(route_not_found());
        }
        let body = json_body(&req)?;
        let verification = app.create_verification(&body, &ctx).await?;
        Ok((201, verification_json(&verification)))
    }
    .await;
    respond(result, &ctx)
}
