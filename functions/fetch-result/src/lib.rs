//! `fetch-result`: `GET /v1/verifications/{id}` (`?refresh=true` asks the provider first) and
//! `GET /v1/customers/{customer_id}/verification`.

use lambda_http::{Body, Request, Response};
use shared::domain::{CustomerId, Source, VerificationId};
use shared::http::{path_param, query_param, request_ctx, respond, route_key, route_not_found};
use shared::service::{customer_json, verification_json};
use shared::wiring::FetchResultDeps;
use shared::ApiError;

/// Parse, make one call into `shared`, map the result to a response.
pub async fn handle(deps: &FetchResultDeps, req: Request) -> Response<Body> {
    let ctx = request_ctx(&req);
    deps.secrets.refresh_if_stale().await;
    let result = async {
        let route = route_key(&req);
        if let (Some("GET /v1/verifications/{id}"), Some(raw)) = (route, path_param(&req, "id")) {
            // An id that cannot exist is simply not found.
            let id =
                VerificationId::parse(&raw).map_err(|_| ApiError::not_found("verification"))?;
            let verification = match query_param(&req, "refresh").as_deref() {
                None | Some("false") => deps.fetch.verification(&id).await?,
                // Ask the provider first and apply what it says (repairs a missed webhook).
                Some("true") => deps.refresh.run(&id, Source::Reconcile).await?,
                Some(_) => {
                    return Err(ApiError::validation(
                        [(
                            "refresh".to_owned(),
                            vec!["must be true or false".to_owned()],
                        )]
                        .into(),
                    ))
                }
            };
            return Ok((200, verification_json(&verification)));
        }
        let customer = path_param(&req, "customer_id");
        if let (Some("GET /v1/customers/{customer_id}/verification"), Some(raw)) = (route, customer)
        {
            let id = CustomerId::parse(&raw).map_err(|_| ApiError::not_found("customer"))?;
            return Ok((200, customer_json(&deps.fetch.customer(&id).await?)));
        }
        Err(route_not_found())
    }
    .await;
    respond(result, &ctx)
}
