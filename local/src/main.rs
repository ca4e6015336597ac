//! `kyc-local` (what `make dev` runs): DynamoDB Local, the table from `template.yaml`, the provider
//! emulator and the API on localhost. Prints one `ready …` line when up; Ctrl-C stops everything.
//!
//! Ports: `API_PORT` (3000), `EMULATOR_PORT` (4010), `DYNAMODB_PORT` (8000); `DYNAMODB_ENDPOINT`
//! uses a DynamoDB that is already running instead of starting one. The reconciler runs every
//! minute (`RECONCILE_QUIET_SECONDS`, default 900, decides what counts as quiet).
//!
//! `kyc-local with-dynamodb -- CMD [ARGS…]` starts one DynamoDB Local, runs CMD with
//! `DYNAMODB_ENDPOINT` pointing at it (and a second start refused), and stops it when CMD ends,
//! exiting with CMD's status: `make test` runs every test under one.
//!
//! `kyc-local verify-capture --provider bond --secret-env VAR FILE` names the `Bond-Signature`
//! settings that verify one captured real delivery ([`local_stack::capture`]).

use std::collections::HashMap;

use local_stack::dynamodb_local::{DynamoDbLocal, SHARED_ENDPOINT};
use local_stack::{Database, LocalStack, StackOptions};

fn port(name: &str, default: u16) -> Result<u16, String> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{name} must be a port number, got {v:?}")),
        Err(_) => Ok(default),
    }
}

/// Run `command` with one DynamoDB Local shared by everything it starts.
fn with_dynamodb(command: &[String]) -> Result<i32, Box<dyn std::error::Error>> {
    let (program, args) = command
        .split_first()
        .ok_or("usage: kyc-local with-dynamodb -- CMD [ARGS...]")?;
    let db = DynamoDbLocal::start(0)?;
    eprintln!("one DynamoDB Local for this run: {}", db.endpoint);
    let status = std::process::Command::new(program)
        .args(args)
        .env("DYNAMODB_ENDPOINT", &db.endpoint)
        .env(SHARED_ENDPOINT, &db.endpoint)
        .status()?;
    drop(db);
    Ok(status.code().unwrap_or(1))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("with-dynamodb") => {
            let command = args[1..]
                .strip_prefix(&["--".to_owned()])
                .unwrap_or(&args[1..]);
            std::process::exit(with_dynamodb(command)?)
        }
        Some("verify-capture") => std::process::exit(local_stack::capture::main(&args[1..])),
        Some(other) => Err(format!(
            "unknown command {other:?}; run without arguments for the local stack, \
             or with with-dynamodb or verify-capture"
        )
        .into()),
        None => tokio::runtime::Runtime::new()?.block_on(dev()),
    }
}

/// `make dev`: the whole stack until Ctrl-C.
async fn dev() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let database = match std::env::var("DYNAMODB_ENDPOINT") {
        Ok(endpoint) => Database::Endpoint(endpoint),
        Err(_) => Database::Start {
            port: port("DYNAMODB_PORT", 8000)?,
        },
    };
    let options = StackOptions {
        database,
        table_name: std::env::var("TABLE_NAME").unwrap_or_else(|_| "kyc-local".into()),
        api_addr: ([127, 0, 0, 1], port("API_PORT", 3000)?).into(),
        emulator_addr: ([127, 0, 0, 1], port("EMULATOR_PORT", 4010)?).into(),
        // Tunables a developer may set; everything else points at the local stack.
        env: [
            "RECONCILE_QUIET_SECONDS",
            "WEBHOOK_GRACE_SECONDS",
            "PROVIDER_TIMEOUT_MS",
        ]
        .into_iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_owned(), v)))
        .collect::<HashMap<_, _>>(),
        emulator: emulator::EmulatorConfig::default(),
        emulator_server: None,
        clock: None,
        // As the template's schedule does on AWS, but every minute.
        reconcile_every: Some(std::time::Duration::from_secs(60)),
        // Outbound events to the sample receiver, on moto's SQS and EventBridge.
        events: match local_stack::moto::find_binary() {
            Ok(_) => Some(local_stack::EventsOptions {
                webhook_url: std::env::var("OUTBOUND_WEBHOOK_URL").ok(),
                signing_keys: std::env::var("OUTBOUND_WEBHOOK_SECRETS").ok(),
                ..local_stack::EventsOptions::default()
            }),
            Err(e) => {
                eprintln!("note: no outbound events ({e})");
                None
            }
        },
        receiver_addr: ([127, 0, 0, 1], port("RECEIVER_PORT", 4020)?).into(),
        // `make api-fuzz`: the gateway's IAM check, so the spec's `sigv4` requirement is held to.
        gateway_iam: std::env::var("LOCAL_GATEWAY_IAM").is_ok_and(|v| v == "true"),
    };
    let stack = match LocalStack::start(options).await {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    println!("{}", stack.ready_line());
    tokio::signal::ctrl_c().await?;
    eprintln!("stopping");
    drop(stack);
    Ok(())
}
