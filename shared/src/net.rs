//! The one HTTP stack every function uses: reqwest over rustls (with *ring* for cryptography), and
//! Mozilla's root certificates compiled in (`webpki-roots`).
//!
//! Provider calls use a reqwest client directly; DynamoDB calls go through [`ReqwestHttpClient`],
//! which plugs a reqwest client into the AWS SDK. Both share one TLS configuration, built once at
//! init. The compiled-in roots cost no file-system scan and no PEM parsing at cold start (loading
//! the native store took about half of init, once for each client); they are updated by updating
//! the `webpki-roots` crate.

use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// How long a TCP + TLS connect to DynamoDB may take. Given both to reqwest and to the SDK's
/// timeout configuration, so the two agree.
pub const DYNAMODB_CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// Idle pooled connections are dropped before Lambda's freeze/thaw or a load balancer can
/// silently kill them.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

const USER_AGENT: &str = concat!("kyc-onboarding/", env!("CARGO_PKG_VERSION"));

/// The TLS configuration shared by every client: TLS 1.2 and 1.3, *ring*, Mozilla's roots.
///
/// *ring* rather than aws-lc-rs: 0.8 MiB less per bootstrap and no CPU-jitter entropy collection
/// on the first handshake (10-50 ms on small Lambda sizes, `../shared/perf.md` A14).
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A reqwest builder on the shared TLS configuration, for the emulator, tools and tests (reqwest
/// is built without a default crypto provider, so every client starts here).
pub fn client_builder() -> Result<reqwest::ClientBuilder, rustls::Error> {
    Ok(builder_on(&tls_config()?))
}

/// Every client's start: the given TLS configuration and the pool's idle limit.
fn builder_on(tls: &Arc<rustls::ClientConfig>) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_backend_preconfigured(rustls::ClientConfig::clone(tls))
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
}

/// The client for provider APIs: bounded connect and total timeouts, and no redirects: a
/// provider request can carry an SSN or credentials, and a redirect would send them elsewhere,
/// so any 3xx is an error (a transport failure of that call), never followed.
pub fn provider_http_client(
    tls: &Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<reqwest::Client, reqwest::Error> {
    builder_on(tls)
        .connect_timeout(Duration::from_secs(3).min(timeout))
        .timeout(timeout)
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            attempt.error("provider redirects are not followed")
        }))
        .build()
}

/// The HTTP client the AWS SDK uses for DynamoDB. Redirects are the SDK's business and are not
/// followed; attempt and operation timeouts are the SDK's too, so reqwest only bounds the connect.
pub fn dynamodb_http_client(
    tls: &Arc<rustls::ClientConfig>,
) -> Result<SharedHttpClient, reqwest::Error> {
    let client = builder_on(tls)
        .connect_timeout(DYNAMODB_CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    Ok(SharedHttpClient::new(ReqwestHttpClient::new(client)))
}

/// A reqwest client as the AWS SDK's transport. Request and response bodies are streamed through,
/// not copied. The connect timeout is the reqwest client's own (see [`DYNAMODB_CONNECT_TIMEOUT`]).
#[derive(Debug, Clone)]
pub struct ReqwestHttpClient {
    connector: SharedHttpConnector,
}

impl ReqwestHttpClient {
    pub fn new(client: reqwest::Client) -> Self {
        Self {
            connector: SharedHttpConnector::new(ReqwestConnector { client }),
        }
    }
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.connector.clone()
    }
}

#[derive(Debug)]
struct ReqwestConnector {
    client: reqwest::Client,
}

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(e.into()))?;
            let (parts, body) = request.into_parts();
            let request = reqwest::Request::try_from(http::Request::from_parts(
                parts,
                reqwest::Body::wrap(body),
            ))
            .map_err(|e| ConnectorError::user(e.into()))?;
            let response = client.execute(request).await.map_err(connector_error)?;
            let (parts, body) = http::Response::from(response).into_parts();
            HttpResponse::try_from(http::Response::from_parts(
                parts,
                SdkBody::from_body_1_x(body),
            ))
            .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// Timeouts and I/O failures are transient for the SDK's retry strategy; anything else is not.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn local_server(reply: &'static [u8]) -> (String, std::thread::JoinHandle<Vec<u8>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while !seen.windows(5).any(|w| w == b"hello") {
                let n = stream.read(&mut buf).expect("read");
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
            }
            stream.write_all(reply).expect("write");
            seen
        });
        (format!("http://{addr}/path?q=1"), handle)
    }

    fn connector() -> SharedHttpConnector {
        let client = client_builder().expect("tls").build().expect("client");
        ReqwestHttpClient::new(client).connector
    }

    #[test]
    fn the_tls_config_trusts_the_compiled_in_roots() {
        let tls = tls_config().expect("tls");
        assert!(tls.crypto_provider().cipher_suites.len() > 3);
        assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100);
    }

    #[tokio::test]
    async fn a_request_goes_out_with_method_headers_and_body_and_the_answer_comes_back() {
        let (url, server) = local_server(
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 7\r\n\r\n{\"a\":1}",
        );
        let mut request = HttpRequest::new(SdkBody::from("hello"));
        request.set_method("POST").expect("method");
        request.set_uri(url).expect("uri");
        request
            .headers_mut()
            .insert("x-amz-target", "DynamoDB_20120810.GetItem");
        request.headers_mut().insert("content-length", "5");
        let response = connector().call(request).await.expect("response");
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(
            response.headers().get("content-type"),
            Some("application/x-amz-json-1.0")
        );
        let body = response.into_body();
        assert_eq!(body.bytes(), None, "the body is streamed, not buffered");
        let bytes = http_body_util::BodyExt::collect(body)
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(&bytes[..], b"{\"a\":1}");
        let seen = String::from_utf8(server.join().expect("server")).expect("utf-8");
        assert!(seen.starts_with("POST /path?q=1 HTTP/1.1\r\n"), "{seen}");
        assert!(seen
            .to_ascii_lowercase()
            .contains("x-amz-target: dynamodb_20120810.getitem"));
        assert!(seen.ends_with("hello"));
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_io_error_the_sdk_retries() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let mut request = HttpRequest::new(SdkBody::empty());
        request
            .set_uri(format!("http://127.0.0.1:{port}/"))
            .expect("uri");
        let err = connector().call(request).await.expect_err("refused");
        assert!(err.is_io(), "{err:?}");
    }

    #[tokio::test]
    async fn a_provider_redirect_is_an_error_and_never_followed() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        // Answers one request with a redirect, then counts whoever comes back within 300 ms.
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("the request");
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 307 Temporary Redirect\r\nlocation: /elsewhere\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            listener.set_nonblocking(true).expect("nonblocking");
            std::thread::sleep(Duration::from_millis(300));
            1 + usize::from(listener.accept().is_ok())
        });
        let tls = tls_config().expect("tls");
        let client = provider_http_client(&tls, Duration::from_secs(2)).expect("client");
        let err = client
            .post(format!("http://{addr}/customers"))
            .body(r#"{"ssn":"123-45-6789"}"#)
            .send()
            .await
            .expect_err("a redirect is refused");
        assert!(err.is_redirect(), "{err:?}");
        assert_eq!(
            server.join().expect("server"),
            1,
            "the redirect was not followed"
        );
    }

    #[tokio::test]
    async fn a_stalled_server_is_a_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        let client = client_builder()
            .expect("tls")
            .timeout(Duration::from_millis(200))
            .build()
            .expect("client");
        let mut request = HttpRequest::new(SdkBody::empty());
        request.set_uri(url).expect("uri");
        let err = ReqwestHttpClient::new(client)
            .connector
            .call(request)
            .await
            .expect_err("stalled");
        assert!(err.is_timeout(), "{err:?}");
        drop(listener);
    }
}
