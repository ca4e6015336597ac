//! Logging for the Lambda functions: JSON lines when Lambda asks for them (`LoggingConfig:
//! LogFormat: JSON` sets `AWS_LAMBDA_LOG_FORMAT`), the level from `AWS_LAMBDA_LOG_LEVEL` or
//! `RUST_LOG` (a single level such as `info`; default `info`).
//!
//! The runtime wraps each invocation in a span carrying the request id, so every line has it.
//! Nothing here logs payloads: callers log ids and statuses only.

use tracing_subscriber::filter::LevelFilter;

fn level(raw: Option<String>) -> LevelFilter {
    raw.and_then(|v| v.trim().parse().ok())
        .unwrap_or(LevelFilter::INFO)
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
        builder.json().init();
    } else {
        builder.with_ansi(false).init();
    }
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

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_chain_names_every_cause_once() {
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(chain(&e), "outer: inner");
    }
}
