use std::collections::HashMap;

use super::*;

const T: i64 = 1598980451;
const BODY: &str = r#"{"event":"kyc.verification.success","customer_id":"931e2341-c3eb-4681-97d4-f6e09d90da14","occurred_at":"2021-10-20T10:27:20.154286+00:00"}"#;
/// `hmac.new(b"whsec_bond_test_secret", b"1598980451." + BODY, hashlib.sha256).hexdigest()`,
/// computed in Python.
const VECTOR: &str = "f78088e518585bd216fdba8e729d3ccd08b97b963ed2502bbc9e30dde0130aa8";
const SECRET: &str = "whsec_bond_test_secret";

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn a_capture_is_headers_a_blank_line_and_the_body_unchanged() {
    let body = "{\"a\":1}\r\n\r\nmore\n";
    for eol in ["\r\n", "\n"] {
        let raw = format!("POST /v1/webhooks/bond HTTP/1.1{eol}Host: x{eol}Bond-Signature: t=1,v2=ab{eol}{eol}{body}");
        let c = parse_capture(raw.as_bytes()).unwrap();
        assert_eq!(c.body, body.as_bytes(), "{eol:?}");
        assert_eq!(c.header("bond-signature"), Ok(Some("t=1,v2=ab")));
        assert_eq!(c.headers.len(), 2);
    }
    let no_request_line = parse_capture(b"Bond-Signature: t=1\n\n").unwrap();
    assert_eq!(no_request_line.body, b"");
    assert_eq!(no_request_line.header("Host"), Ok(None));
}

#[test]
fn a_capture_without_a_blank_line_or_with_a_stray_line_is_refused() {
    assert!(parse_capture(b"POST / HTTP/1.1\nHost: x\n").is_err());
    assert!(parse_capture(b"Host: x\nnot a header\n\n{}").is_err());
    assert!(parse_capture(b"Host: x\nBad Name: y\n\n{}").is_err());
    let twice = parse_capture(b"Bond-Signature: a\nbond-signature: b\n\n").unwrap();
    assert!(twice.header("Bond-Signature").is_err());
}

#[test]
fn arguments_need_bond_a_secret_variable_and_one_file() {
    let ok = parse_args(&args(&["--provider", "bond", "--secret-env", "S", "f"]));
    assert_eq!(
        ok,
        Ok(Some(Args {
            secret_env: "S".into(),
            file: "f".into()
        }))
    );
    assert_eq!(parse_args(&args(&["--help"])), Ok(None));
    for bad in [
        &["--secret-env", "S", "f"][..],
        &["--provider", "ondato", "--secret-env", "S", "f"],
        &["--provider", "bond", "f"],
        &["--provider", "bond", "--secret-env", "S"],
        &["--provider", "bond", "--secret-env", "S", "f", "g"],
        &["--provider", "bond", "--secret", "x", "f"],
        &["--provider", "bond", "--secret-env"],
        &["--provider", "bond", "--verbose", "--secret-env", "S", "f"],
    ] {
        assert!(parse_args(&args(bad)).is_err(), "{bad:?}");
    }
}

#[test]
fn ages_are_told_in_days_hours_and_minutes() {
    assert_eq!(
        age(T, T + 90_061),
        format!("t={T} is 1 d 1 h 1 min old (90061 s)")
    );
    assert_eq!(
        age(T, T - 60),
        format!("t={T} is 0 d 0 h 1 min in the future (60 s)")
    );
    assert!(age(T, T + 345_601).contains("BOND_SIGNATURE_TOLERANCE_SECONDS >= 345601"));
}

/// Runs the command on a capture written to a temporary file; status, stdout, stderr.
fn run_on(capture: &[u8], vars: &[(&str, &str)]) -> (i32, String, String) {
    let path = std::env::temp_dir().join(format!(
        "capture-{}-{}",
        std::process::id(),
        ulid::Ulid::new()
    ));
    std::fs::write(&path, capture).unwrap();
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = |k: &str| vars.get(k).cloned();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let argv = args(&[
        "--provider",
        "bond",
        "--secret-env",
        "SECRET",
        path.to_str().unwrap(),
    ]);
    let code = run(&argv, &lookup, T + 3600, &mut out, &mut err);
    let _ = std::fs::remove_file(&path);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn run_names_the_settings_and_never_prints_the_secret() {
    let capture = format!(
        "POST /hook HTTP/1.1\r\nBond-Signature: t={T},v1={VECTOR},v2={VECTOR}\r\n\r\n{BODY}"
    );
    let (code, out, err) = run_on(capture.as_bytes(), &[("SECRET", &format!("old, {SECRET}"))]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with(&format!("t={T} is 0 d 1 h 0 min old (3600 s)\n")),
        "{out}"
    );
    assert!(out.contains("BOND_SIGNATURE_LAYOUT=t.body BOND_SIGNATURE_ENCODING=hex (v2, HMAC-SHA256) [secret 2 of 2]"), "{out}");
    assert!(!out.contains(SECRET) && !err.contains(SECRET));
}

#[test]
fn run_exits_1_when_nothing_matches_and_2_on_usage_errors() {
    let tampered = format!(
        "Bond-Signature: t={T},v2={VECTOR}\n\n{}",
        BODY.replacen('e', "E", 1)
    );
    let (code, out, _) = run_on(tampered.as_bytes(), &[("SECRET", SECRET)]);
    assert_eq!(code, 1);
    assert!(out.contains("no layout matched"), "{out}");
    let good = format!("Bond-Signature: t={T},v2={VECTOR}\n\n{BODY}");
    let (code, _, err) = run_on(good.as_bytes(), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("--secret-env is not set"), "{err}");
    for capture in [
        format!("Host: x\n\n{BODY}"),
        format!("Bond-Signature: v2={VECTOR}\n\n{BODY}"),
    ] {
        let (code, _, err) = run_on(capture.as_bytes(), &[("SECRET", SECRET)]);
        assert_eq!(code, 2, "{capture}");
        assert!(err.contains("Bond-Signature"), "{err}");
    }
}
