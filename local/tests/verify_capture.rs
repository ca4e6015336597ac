//! `kyc-local verify-capture` as an operator runs it on a delivery captured by a request
//! inspector: a delivery signed the way the emulator signs Bond's webhooks (`t={t},v1=…,v2=…`,
//! hex HMAC-SHA256 over `{t}.{body}`) is recognised as `t.body`/`hex`; one changed body byte
//! matches no layout.

use std::path::PathBuf;
use std::process::{Command, Output};

const SECRET: &str = "local-bond-webhook-secret-for-capture-test";

/// A captured request, CRLF line ends, as a request inspector dumps it; signed `t` seconds ago.
fn capture(body: &str, age_secs: i64) -> (String, i64) {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - age_secs;
    let sig =
        shared::provider::bond::signature::sign(SECRET.as_bytes(), &t.to_string(), body.as_bytes());
    let head = [
        "POST /v1/webhooks/bond HTTP/1.1".to_owned(),
        "Host: example.execute-api.eu-west-1.amazonaws.com".to_owned(),
        "Content-Type: application/json".to_owned(),
        format!("Content-Length: {}", body.len()),
        format!("Bond-Signature: t={t},v1={sig},v2={sig}"),
    ];
    (format!("{}\r\n\r\n{body}", head.join("\r\n")), t)
}

fn body() -> String {
    // As the emulator's envelope: compact JSON, microsecond `occurred_at`.
    r#"{"event":"kyc.verification.success","customer_id":"6c5a2c1e-6a0e-4c1c-9a47-2b8d1f3b2a10","occurred_at":"2024-05-01T10:00:00.123456+00:00"}"#.to_owned()
}

fn write(name: &str, contents: &[u8]) -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

fn verify_capture(args: &[&str], secret: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kyc-local"));
    cmd.arg("verify-capture")
        .args(args)
        .env_remove("BOND_CAPTURE_SECRET");
    if let Some(s) = secret {
        cmd.env("BOND_CAPTURE_SECRET", s);
    }
    cmd.output().expect("kyc-local runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_emulator_signed_capture_is_named_t_body_hex() {
    let (raw, t) = capture(&body(), 2 * 86_400);
    let file = write("bond-capture-good", raw.as_bytes());
    let out = verify_capture(
        &[
            "--provider",
            "bond",
            "--secret-env",
            "BOND_CAPTURE_SECRET",
            file.to_str().unwrap(),
        ],
        Some(SECRET),
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    for label in ["v1", "v2"] {
        let line = format!(
            "BOND_SIGNATURE_LAYOUT=t.body BOND_SIGNATURE_ENCODING=hex ({label}, HMAC-SHA256)"
        );
        assert!(stdout.lines().any(|l| l == line), "{stdout}");
    }
    assert_eq!(
        stdout.lines().count(),
        3,
        "the age and two matches: {stdout}"
    );
    assert!(
        stdout.starts_with(&format!("t={t} is 2 d 0 h ")),
        "{stdout}"
    );
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
}

#[test]
fn a_capture_with_one_body_byte_changed_matches_no_layout() {
    let (raw, _) = capture(&body(), 60);
    let mut bytes = raw.into_bytes();
    let last = bytes.len() - 2; // inside the body, before its closing brace
    bytes[last] ^= 0x01;
    let file = write("bond-capture-tampered", &bytes);
    let out = verify_capture(
        &[
            "--provider",
            "bond",
            "--secret-env",
            "BOND_CAPTURE_SECRET",
            file.to_str().unwrap(),
        ],
        Some(SECRET),
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("no layout matched"), "{stdout}");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    let (raw, _) = capture(&body(), 0);
    let file = write("bond-capture-usage", raw.as_bytes());
    let file = file.to_str().unwrap();
    for (args, secret, says) in [
        (
            &[
                "--provider",
                "ondato",
                "--secret-env",
                "BOND_CAPTURE_SECRET",
                file,
            ][..],
            Some(SECRET),
            "only bond",
        ),
        (
            &["--secret-env", "BOND_CAPTURE_SECRET", file],
            Some(SECRET),
            "--provider bond is required",
        ),
        (
            &[
                "--provider",
                "bond",
                "--secret-env",
                "BOND_CAPTURE_SECRET",
                file,
            ],
            None,
            "not set",
        ),
        (
            &["--provider", "bond", "--secret", SECRET, file],
            None,
            "never a command-line argument",
        ),
        (
            &[
                "--provider",
                "bond",
                "--secret-env",
                "BOND_CAPTURE_SECRET",
                "/nonexistent/capture",
            ],
            Some(SECRET),
            "cannot read",
        ),
    ] {
        let out = verify_capture(args, secret);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stdout}{stderr}");
        assert!(
            stderr.contains(says) && stderr.contains("usage:"),
            "{args:?}: {stderr}"
        );
        assert!(
            !stdout.contains(SECRET) && !stderr.contains(SECRET),
            "{args:?}"
        );
    }
}
