//! `list-events`: `GET /v1/events?after=<cursor>&limit=<1-100>`, the events of the last 30 days
//! in feed order, a page at a time.

use lambda_http::{Body, Request, Response};
use shared::events::feed::{FeedPosition, DEFAULT_LIMIT, MAX_LIMIT};
use shared::http::{query_param, request_ctx, respond, route_key, route_not_found};
use shared::service::FeedQuery;
use shared::wiring::events::ListEventsDeps;
use shared::ApiError;

/// Parse, make one call into `shared`, map the result to a response.
pub async fn handle(deps: &ListEventsDeps, req: Request) -> Response<Body> {
    let ctx = request_ctx(&req);
    let result = async {
        if route_key(&req) != Some("GET /v1/events") {
            return Err(route_not_found());
        }
        let query = parse(&req)?;
        Ok((200, deps.list.page(&query).await?))
    }
    .await;
    respond(result, &ctx)
}

fn parse(req: &Request) -> Result<FeedQuery, ApiError> {
    let mut errors = std::collections::BTreeMap::new();
    let after = query_param(req, "after").and_then(|raw| {
        FeedPosition::from_cursor(&raw)
            .map_err(|e| errors.insert("after".to_owned(), vec![e.to_owned()]))
            .ok()
    });
    let limit = match query_param(req, "limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                errors.insert(
                    "limit".to_owned(),
                    vec![format!("must be a whole number from 1 to {MAX_LIMIT}")],
                );
                DEFAULT_LIMIT
            }
        },
    };
    if errors.is_empty() {
        Ok(FeedQuery { after, limit })
    } else {
        Err(ApiError::validation(errors))
    }
}
