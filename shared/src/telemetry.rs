//! Logging for the Lambda functions: JSON lines when Lambda asks for them (`LoggingConfig:
//! LogFormat: JSON` sets `AWS_LAMBDA_LOG_FORMAT`), the level from `AWS_LAMBDA_LOG_LEVEL` or
//! `RUST_LOG` (a single level such as `info`; default `info`).
//!
//! The runtime wraps each invocation in a span carrying the request id, so every line has it.
//! Nothing here logs payloads: callers log ids and statuses only.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn level(raw: Option<String>) -> LevelFilter {
    raw.and_then(|v| v.trim().parse().ok())
        .unwrap_or(LevelFilter::INFO)
}

/// Our crates log at `level`; every other crate at most at `info`, whatever the setting. At
/// `debug`/`trace` the Lambda runtime prints each raw event ("raw JSON event received from
/// Lambda": bodies with PII, `Authorization` and signature headers) and the HTTP and AWS crates
/// print requests; no setting may turn that on.
pub fn filter(level: LevelFilter) -> Targets {
    let ours = [
        "shared",
        "create_verification",
        "webhook_ingest",
        "fetch_result",
        "reconciler",
    ];
    ours.into_iter().fold(
        Targets::new().with_default(level.min(LevelFilter::INFO)),
        |t, target| t.with_target(target, level),
    )
}

pub fn init() {
    let level = level(
        std::env::var("AWS_LAMBDA_LOG_LEVEL")
            .or_else(|_| std::env::var("RUST_LOG"))
            .ok(),
    );
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false);
    if json {
        builder.json().finish().with(filter(level)).init();
    } else {
        builder.with_ansi(false).finish().with(filter(level)).init();
    }
}

/// Namespace of the metrics the functions publish (CloudWatch embedded metric format).
pub const METRICS_NAMESPACE: &str = "KycOnboarding";

/// One occurrence of `metric` for `provider`, as a CloudWatch embedded-metric-format line on
/// stdout (Lambda's log stream): CloudWatch turns it into a metric without an API call.
pub fn count(metric: &str, provider: &str) {
    println!(
        "{}",
        emf_line(metric, provider, chrono::Utc::now().timestamp_millis())
    );
}

fn emf_line(metric: &str, provider: &str, millis: i64) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": millis,
            "CloudWatchMetrics": [{
                "Namespace": METRICS_NAMESPACE,
                "Dimensions": [["provider"]],
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }],
        },
        "provider": provider,
        metric: 1,
    })
    .to_string()
}

/// An error and its causes, one after the other (`a: b: c`), for one log field. Adapters build
/// their errors from ids, statuses and operation names only, so the chain carries no PII.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        // Wrappers often repeat their cause's text; say each thing once.
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_case_insensitively_and_default_to_info() {
        assert_eq!(level(Some("DEBUG".into())), LevelFilter::DEBUG);
        assert_eq!(level(Some("warn".into())), LevelFilter::WARN);
        assert_eq!(level(Some("info,hyper=debug".into())), LevelFilter::INFO);
        assert_eq!(level(None), LevelFilter::INFO);
    }

    #[test]
    fn at_trace_only_our_crates_go_below_info() {
        use tracing::Level;
        let f = filter(LevelFilter::TRACE);
        let allows = |target: &str, level: Level| f.would_enable(target, &level);
        assert!(allows("shared::service::webhook", Level::TRACE));
        assert!(allows("webhook_ingest", Level::DEBUG));
        assert!(!allows(
            "lambda_runtime::layers::api_response",
            Level::TRACE
        ));
        assert!(!allows("lambda_runtime", Level::DEBUG));
        assert!(allows("lambda_runtime", Level::INFO));
        assert!(!allows(
            "aws_smithy_runtime::client::orchestrator",
            Level::DEBUG
        ));
        assert!(!allows("hyper_util::client", Level::TRACE));
        let quiet = filter(LevelFilter::WARN);
        assert!(!quiet.would_enable("shared", &Level::INFO));
    }

    #[test]
    fn a_count_is_one_embedded_metric_line() {
        let line: serde_json::Value = serde_json::from_str(&emf_line(
            "UnprocessableWebhooks",
            "acme",
            1_700_000_000_000,
        ))
        .unwrap();
        let m = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(m["Namespace"], METRICS_NAMESPACE);
        assert_eq!(m["Metrics"][0]["Name"], "UnprocessableWebhooks");
        assert_eq!(m["Dimensions"][0][0], "provider");
        assert_eq!(
            (
                line["provider"].as_str(),
                line["UnprocessableWebhooks"].as_i64()
            ),
            (Some("acme"), Some(1))
        );
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_chain_names_every_cause_once() {
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(chain(&e), "outer: inner");
    }
}
