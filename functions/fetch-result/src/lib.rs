//! `fetch-result`: `GET /v1/verifications/{id}` (`?refresh=true` asks the provider first,
//! `?include=kyc_data` adds the provider's identification data, read live and never stored) and
//! `GET /v1/customers/{customer_id}/verification`.

use lambda_http::{Body, Request, Response};
use shared::domain::kyc_data::Includes;
use shared::domain::{CustomerId, Source, VerificationId};
use shared::http::{path_param, query_param, request_ctx, respond, route_key, route_not_found};
use shared::service::{customer_json, verification_json, verification_with_kyc_data_json};
use shared::wiring::FetchResultDeps;
use shared::ApiError;

/// `refresh` and `include`, parsed; every problem named at once.
fn verification_query(req: &Request) -> Result<(bool, Includes), ApiError> {
    let mut fields = shared::error::FieldErrors::new();
    let refresh = match query_param(req, "refresh").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            fields.insert("refresh".into(), vec!["must be true or false".into()]);
            false
        }
    };
    let includes = Includes::parse(query_param(req, "include").as_deref()).unwrap_or_else(|why| {
        fields.insert("include".into(), vec![why.to_owned()]);
        Includes::default()
    });
    if fields.is_empty() {
        Ok((refresh, includes))
    } else {
        Err(ApiError::validation(fields))
    }
}

/// Parse, make one call into `shared`, map the result to a response.
pub async fn handle(deps: &FetchResultDeps, req: Request) -> Response<Body> {
    let ctx = request_ctx(&req);
    deps.secrets.refresh_if_stale().await;
    let mut no_store = false;
    let result = async {
        let route = route_key(&req);
        if let (Some("GET /v1/verifications/{id}"), Some(raw)) = (route, path_param(&req, "id")) {
            // An id that cannot exist is simply not found.
            let id =
                VerificationId::parse(&raw).map_err(|_| ApiError::not_found("verification"))?;
            let (refresh, includes) = verification_query(&req)?;
            if includes.kyc_data {
                // Personal data read live: never kept by a cache either.
                no_store = true;
                let (verification, data) = deps.kyc_data.run(&id, refresh, &ctx).await?;
                return Ok((200, verification_with_kyc_data_json(&verification, &data)));
            }
            let verification = if refresh {
                // Ask the provider first and apply what it says (repairs a missed webhook).
                deps.refresh.run(&id, Source::Reconcile).await?
            } else {
                deps.fetch.verification(&id).await?
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
    let mut resp = respond(result, &ctx);
    if no_store {
        resp.headers_mut().insert(
            lambda_http::http::header::CACHE_CONTROL,
            lambda_http::http::HeaderValue::from_static("no-store"),
        );
    }
    resp
}
