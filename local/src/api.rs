//! The API on localhost: every route of `template.yaml`, each turned into the API Gateway HTTP API
//! (v2) request the Lambda would receive and passed to the same handler function.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body as AxumBody, Bytes};
use axum::extract::{ConnectInfo, Path, Request as AxumRequest, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response as AxumResponse;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
};
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Context, Request, RequestExt, Response};
use shared::http::{error_response, route_not_found};
use shared::wiring::events::ListEventsDeps;
use shared::wiring::{CreateVerificationDeps, FetchResultDeps, WebhookIngestDeps};
use shared::{ApiError, ErrorCode, RequestCtx};

use crate::template::Route;
use crate::wirings::Wirings;

/// The Lambda timeout of the template; the local deadline mirrors it.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(25);

/// The HTTP functions, each with its own services, wired as its Lambda wires them.
pub struct Functions {
    pub create_verification: CreateVerificationDeps,
    pub webhook_ingest: WebhookIngestDeps,
    pub fetch_result: FetchResultDeps,
    pub list_events: ListEventsDeps,
}

impl Functions {
    pub fn new(wiring: &Wirings, list_events: ListEventsDeps) -> Self {
        Self {
            create_verification: wiring.create_verification(),
            webhook_ingest: wiring.webhook_ingest(),
            fetch_result: wiring.fetch_result(),
            list_events,
        }
    }
}

#[derive(Clone)]
struct RouteState {
    functions: Arc<Functions>,
    route: Arc<Route>,
    /// Refuse unsigned requests to non-public routes, as the gateway's IAM authorizer does.
    gateway_iam: bool,
}

/// Call the handler of the function that serves `function`.
async fn dispatch(function: &str, f: &Functions, req: Request) -> Response<Body> {
    match function {
        "create-verification" => create_verification::handle(&f.create_verification, req).await,
        "webhook-ingest" => webhook_ingest::handle(&f.webhook_ingest, req).await,
        "fetch-result" => fetch_result::handle(&f.fetch_result, req).await,
        "list-events" => list_events::handle(&f.list_events, req).await,
        _ => error_response(&route_not_found(), &RequestCtx::new("local", None)),
    }
}

/// An axum request as API Gateway would hand it to Lambda.
fn to_lambda(
    route: &Route,
    source: SocketAddr,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    params: HashMap<String, String>,
    body: Bytes,
) -> Request {
    let request_id = format!("local-{}", ulid::Ulid::new());
    let body = if body.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(body.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    let mut req = http::Request::new(body);
    *req.method_mut() = method.clone();
    *req.uri_mut() = uri.clone();
    *req.headers_mut() = headers;
    let query: HashMap<String, Vec<String>> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes()).fold(
                HashMap::new(),
                |mut m: HashMap<String, Vec<String>>, (k, v)| {
                    m.entry(k.into_owned()).or_default().push(v.into_owned());
                    m
                },
            )
        })
        .unwrap_or_default();
    let mut http_ctx = ApiGatewayV2httpRequestContextHttpDescription::default();
    http_ctx.method = method;
    http_ctx.path = Some(uri.path().to_owned());
    http_ctx.protocol = Some("HTTP/1.1".into());
    http_ctx.source_ip = Some(source.ip().to_string());
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.request_id = Some(request_id.clone());
    ctx.route_key = Some(format!("{} {}", route.method, route.path));
    ctx.stage = Some("$default".into());
    ctx.http = http_ctx;
    let mut lambda = Context::default();
    lambda.request_id = request_id;
    lambda.deadline = (std::time::SystemTime::now() + FUNCTION_TIMEOUT)
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    req.with_path_parameters(params)
        .with_query_string_parameters(QueryMap::from(query))
        .with_request_context(RequestContext::ApiGatewayV2(ctx))
        .with_lambda_context(lambda)
}

fn from_lambda(resp: Response<Body>) -> AxumResponse {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        Body::Empty => Vec::new(),
        Body::Text(t) => t.into_bytes(),
        Body::Binary(b) => b,
        _ => Vec::new(),
    };
    AxumResponse::from_parts(parts, AxumBody::from(bytes))
}

async fn invoke(
    State(state): State<RouteState>,
    ConnectInfo(source): ConnectInfo<SocketAddr>,
    Path(params): Path<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> AxumResponse {
    if state.gateway_iam && !state.route.public && !crate::gateway::authorized(&headers) {
        let mut forbidden = AxumResponse::new(AxumBody::from(r#"{"message":"Forbidden"}"#));
        *forbidden.status_mut() = http::StatusCode::FORBIDDEN;
        forbidden.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        return forbidden;
    }
    let req = to_lambda(&state.route, source, method, uri, headers, params, body);
    from_lambda(dispatch(&state.route.function, &state.functions, req).await)
}

fn local_ctx() -> RequestCtx {
    RequestCtx::new(format!("local-{}", ulid::Ulid::new()), None)
}

async fn not_found(_req: AxumRequest) -> AxumResponse {
    from_lambda(error_response(&route_not_found(), &local_ctx()))
}

async fn method_not_allowed(_req: AxumRequest) -> AxumResponse {
    from_lambda(error_response(
        &ApiError::new(
            ErrorCode::MethodNotAllowed,
            "this route does not accept that method",
        ),
        &local_ctx(),
    ))
}

/// The router of every template route, with JSON 404/405 answers for the rest. Routes that share
/// a path (GET and PATCH of `/v1/verifications/{id}`) share one method router, as at the gateway.
pub fn router(functions: Arc<Functions>, routes: &[Route], gateway_iam: bool) -> Router {
    let mut by_path: BTreeMap<&str, MethodRouter> = BTreeMap::new();
    for route in routes {
        let state = RouteState {
            functions: functions.clone(),
            route: Arc::new(route.clone()),
            gateway_iam,
        };
        let filter = Method::from_bytes(route.method.as_bytes())
            .ok()
            .and_then(|m| MethodFilter::try_from(m).ok())
            .unwrap_or(MethodFilter::GET);
        let entry = by_path.remove(route.path.as_str()).unwrap_or_default();
        by_path.insert(
            &route.path,
            entry.merge(on(filter, invoke).with_state(state)),
        );
    }
    let mut router = Router::new();
    for (path, methods) in by_path {
        router = router.route(path, methods.fallback(method_not_allowed));
    }
    router.fallback(not_found)
}

/// Serve the API on `addr` (port 0: any free port).
pub async fn serve(
    functions: Functions,
    routes: &[Route],
    addr: SocketAddr,
    gateway_iam: bool,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let service = router(Arc::new(functions), routes, gateway_iam)
        .into_make_service_with_connect_info::<SocketAddr>();
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, service).await {
            tracing::error!(error = %e, "local API stopped");
        }
    });
    Ok((bound, handle))
}
