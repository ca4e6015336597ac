//! The Secrets Manager adapter against a real local server of the Secrets Manager API: moto
//! (`moto[server]` from PyPI, installed by `make deps` into `.local/venv`). Each test starts its
//! own `moto_server` on a free loopback port (`local_stack::moto`) and stops it at the end.
//!
//! Without moto these tests say so loudly and pass, unless `CI` is set: in CI they must run.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_types::config_bag::ConfigBag;
use local_stack::moto::MotoServer;
use secrecy::ExposeSecret;
use shared::provider::{RawWebhook, PLUGINS};
use shared::secrets::refresh::Apply;
use shared::secrets::{
    SecretError, SecretName, SecretSource, SecretValues, SecretsManagerSecrets, SecretsRefresh,
};
use shared::wiring::{InitError, WebhookIngestDeps, Wiring};
use shared::ErrorCode;

/// moto on a free loopback port (stopped when dropped), or `None` (with a loud message) when it
/// is not installed and this is not CI.
fn moto() -> Option<MotoServer> {
    match MotoServer::start() {
        Ok(moto) => Some(moto),
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{e}: in CI the Secrets Manager tests must run"
            );
            eprintln!("\n!!! SKIPPED: {e} !!!\n");
            None
        }
    }
}

/// Counts the SDK operations a client runs.
#[derive(Debug, Default, Clone)]
struct Calls(Arc<AtomicUsize>);

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "Calls"
    }

    fn read_before_execution(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A client on our reqwest transport, against moto.
fn client(moto: &MotoServer, calls: &Calls) -> aws_sdk_secretsmanager::Client {
    let tls = shared::net::tls_config().expect("tls");
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(&moto.endpoint)
        .http_client(shared::net::dynamodb_http_client(&tls).expect("http"))
        .interceptor(calls.clone())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// Create a secret; its ARN.
async fn create(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) -> String {
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("CreateSecret")
        .arn()
        .expect("an ARN")
        .to_owned()
}

async fn rotate(client: &aws_sdk_secretsmanager::Client, arn: &str, value: &str) {
    client
        .put_secret_value()
        .secret_id(arn)
        .secret_string(value)
        .send()
        .await
        .expect("PutSecretValue");
}

const A: SecretName = SecretName::new("FIRST_SECRET");
const B: SecretName = SecretName::new("SECOND_SECRET");
const C: SecretName = SecretName::new("THIRD_SECRET");

#[tokio::test]
async fn all_of_a_functions_secrets_are_read_in_one_batch_by_arn_or_name() {
    let Some(moto) = moto() else { return };
    let calls = Calls::default();
    let sm = client(&moto, &calls);
    let a = create(&sm, "kyc/first", "first-value").await;
    let b = create(&sm, "kyc/second", "second-value").await;
    create(&sm, "kyc/third", "third-value").await;
    let ids = BTreeMap::from([(A, a), (B, b), (C, "kyc/third".to_owned())]);
    let source = SecretsManagerSecrets::new(sm, ids);
    calls.0.store(0, Ordering::SeqCst);
    let values = source.load(&[A, B, C]).await.expect("batch read");
    assert_eq!(calls.0.load(Ordering::SeqCst), 1, "one BatchGetSecretValue");
    let read: Vec<&str> = [A, B, C]
        .iter()
        .map(|n| values[n].expose_secret())
        .collect();
    assert_eq!(read, ["first-value", "second-value", "third-value"]);
}

#[tokio::test]
async fn a_missing_secret_is_named_and_no_value_is_shown() {
    let Some(moto) = moto() else { return };
    let sm = client(&moto, &Calls::default());
    let a = create(&sm, "kyc/present", "present-value").await;
    let gone = "arn:aws:secretsmanager:us-east-1:123456789012:secret:kyc/gone-AbCdEf".to_owned();
    let source = SecretsManagerSecrets::new(sm, BTreeMap::from([(A, a), (B, gone)]));
    let err = source.load(&[A, B]).await.expect_err("B does not exist");
    assert_eq!(err, SecretError::Missing { name: B });
    let text = err.to_string();
    assert!(text.contains("SECOND_SECRET"), "{text}");
    assert!(!text.contains("present-value"), "{text}");
    // A secret the adapter has no ARN for is refused by name too.
    let err = source.load(&[C]).await.expect_err("no ARN");
    assert!(err.to_string().contains("THIRD_SECRET"), "{err}");
}

/// A refresh handle over `source` that records the values it applies.
fn recording(
    source: SecretsManagerSecrets,
    ttl: Duration,
    initial: &str,
) -> (SecretsRefresh, Arc<Mutex<Vec<String>>>) {
    let applied = Arc::new(Mutex::new(Vec::new()));
    let seen = applied.clone();
    let apply: Apply = Box::new(move |v: &SecretValues| {
        seen.lock().unwrap().push(v[&A].expose_secret().to_owned());
        Ok(())
    });
    let values = SecretValues::from([(A, initial.to_owned().into())]);
    let refresh = SecretsRefresh::new(Arc::new(source), vec![A], ttl, values, apply);
    (refresh, applied)
}

#[tokio::test]
async fn a_rotated_secret_is_read_again_after_the_ttl_and_not_before() {
    let Some(moto) = moto() else { return };
    let calls = Calls::default();
    let sm = client(&moto, &calls);
    let arn = create(&sm, "kyc/rotating", "version-one-value").await;
    let source = SecretsManagerSecrets::new(sm.clone(), BTreeMap::from([(A, arn.clone())]));
    let ttl = Duration::from_millis(800);
    let (refresh, applied) = recording(source, ttl, "version-one-value");
    rotate(&sm, &arn, "version-two-value").await;
    calls.0.store(0, Ordering::SeqCst);
    refresh.refresh_if_stale().await;
    assert_eq!(calls.0.load(Ordering::SeqCst), 0, "within the TTL: no call");
    assert!(applied.lock().unwrap().is_empty());
    tokio::time::sleep(ttl).await;
    refresh.refresh_if_stale().await;
    assert_eq!(*applied.lock().unwrap(), ["version-two-value"]);
    // After a failed authentication (and the minimum interval, here the TTL), read again.
    rotate(&sm, &arn, "version-three-value").await;
    assert!(!refresh.refresh_after_auth_failure().await, "just read");
    tokio::time::sleep(ttl).await;
    assert!(refresh.refresh_after_auth_failure().await);
    assert_eq!(
        *applied.lock().unwrap(),
        ["version-two-value", "version-three-value"]
    );
}

/// A function's environment with its secrets in Secrets Manager (moto), DynamoDB unused.
fn lookup(moto: &MotoServer, vars: Vec<(&'static str, String)>) -> shared::secrets::env::Lookup {
    let mut env: BTreeMap<&str, String> = vars.into_iter().collect();
    env.insert("TABLE_NAME", "kyc".into());
    env.insert("PROVIDERS", "veriff".into());
    env.insert("AWS_REGION", "us-east-1".into());
    env.insert("AWS_ACCESS_KEY_ID", "test".into());
    env.insert("AWS_SECRET_ACCESS_KEY", "test".into());
    env.insert("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint.clone());
    env.insert("DYNAMODB_ENDPOINT", moto.endpoint.clone());
    env.insert("SECRETS_TTL_SECONDS", "1".into());
    Arc::new(move |k: &str| env.get(k).cloned())
}

async fn veriff_secrets(
    sm: &aws_sdk_secretsmanager::Client,
    shared: &str,
) -> Vec<(&'static str, String)> {
    vec![
        (
            "VERIFF_API_KEY_ARN",
            create(sm, "kyc/veriff-key", "local-veriff-api-key").await,
        ),
        (
            "VERIFF_SHARED_SECRETS_ARN",
            create(sm, "kyc/veriff-shared", shared).await,
        ),
        (
            "IDEMPOTENCY_SECRET_ARN",
            create(sm, "kyc/idempotency", "0123456789abcdef0123456789abcdef").await,
        ),
    ]
}

#[tokio::test]
async fn a_function_starts_on_secrets_manager_and_a_short_webhook_secret_stops_it_by_name() {
    let Some(moto) = moto() else { return };
    let sm = client(&moto, &Calls::default());
    let vars = veriff_secrets(&sm, "short-secret").await;
    let err = Wiring::from_lookup(
        lookup(&moto, vars.clone()),
        WebhookIngestDeps::SECRETS,
        PLUGINS,
    )
    .await
    .err()
    .map(|e: InitError| e.to_string())
    .expect("too short");
    assert!(
        err.contains("VERIFF_SHARED_SECRETS") && !err.contains("short-secret"),
        "{err}"
    );
    rotate(&sm, &vars[1].1, "a-shared-secret-long-enough").await;
    let uses = shared::wiring::CreateVerificationDeps::SECRETS;
    let wiring = Wiring::from_lookup(lookup(&moto, vars), uses, PLUGINS)
        .await
        .expect("starts");
    let key = wiring.config().idempotency_secret.as_ref().expect("read");
    assert_eq!(key.expose_secret(), "0123456789abcdef0123456789abcdef");
}

fn veriff_webhook(secret: &str, body: &[u8]) -> lambda_http::http::HeaderMap {
    let mut headers = lambda_http::http::HeaderMap::new();
    headers.insert("x-auth-client", "local-veriff-api-key".parse().unwrap());
    let sig = shared::provider::veriff::sign(secret.as_bytes(), body);
    headers.insert("x-hmac-signature", sig.parse().unwrap());
    headers
}

#[tokio::test]
async fn a_webhook_signed_with_a_rotated_secret_is_accepted_once_the_secrets_are_read_again() {
    let Some(moto) = moto() else { return };
    let sm = client(&moto, &Calls::default());
    let vars = veriff_secrets(&sm, "the-first-shared-secret").await;
    let shared_arn = vars[1].1.clone();
    let wiring = Wiring::from_lookup(lookup(&moto, vars), WebhookIngestDeps::SECRETS, PLUGINS)
        .await
        .expect("starts");
    let deps = wiring.webhook_ingest();
    rotate(&sm, &shared_arn, "the-rotated-shared-secret").await;
    let body = br#"{"id":"8a4f1b2c-0000-4000-8000-000000000000","status":"approved"}"#;
    let headers = veriff_webhook("the-rotated-shared-secret", body);
    let ctx = shared::RequestCtx::new("moto", None);
    let ingest = || {
        deps.ingest.run(
            "veriff",
            RawWebhook {
                headers: &headers,
                body,
                source_ip: None,
            },
            &ctx,
        )
    };
    let first = ingest().await.err().map(|e| e.code);
    assert_eq!(
        first,
        Some(ErrorCode::Unauthorized),
        "the old secret is in use"
    );
    assert!(
        !deps.secrets.refresh_after_auth_failure().await,
        "read under a second ago"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(deps.secrets.refresh_after_auth_failure().await, "rotated");
    let again = ingest().await.err().map(|e| e.code);
    assert_ne!(
        again,
        Some(ErrorCode::Unauthorized),
        "authenticated with the rotated secret"
    );
}
