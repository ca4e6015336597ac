//! `kyc-local verify-capture --provider bond --secret-env VAR FILE`: which signature scheme
//! verifies one real delivery captured by a request inspector. The detection is
//! `shared::provider::bond::signature::detect`; this is the file format and the command line.
//!
//! Exit status: 0 when some scheme verifies the capture, 1 when none does, 2 for a usage error
//! (bad arguments, unreadable file, no or malformed `Bond-Signature`, secret variable unset).
//! The secret is read from the environment only and never printed.

use std::io::Write;

use secrecy::SecretString;
use shared::config::env::Env;
use shared::provider::bond::signature::{self, Match, DEFAULT_TOLERANCE_SECS, TOLERANCE_VAR};

pub const USAGE: &str = "\
usage: kyc-local verify-capture --provider bond --secret-env VAR FILE

Reads one webhook delivery captured by a request inspector from FILE: an optional request line
(POST /path HTTP/1.1), `Name: value` header lines, a blank line, then the raw body byte for byte
(CRLF or LF line ends). The webhook secret is read from the environment variable VAR (several
comma-separated while rotating, as BOND_WEBHOOK_SECRETS); it is never a command-line argument
and never printed. Every layout, encoding and digest is tried; the settings that verify the
delivery are printed with the age of its `t`.

  --provider bond    the provider that signed the delivery (only bond for now)
  --secret-env VAR   the environment variable holding the webhook secret

Exit status: 0 some scheme verifies it, 1 no layout matched, 2 usage error.";

/// A captured HTTP request: its headers and its body, unchanged.
#[derive(Debug, PartialEq, Eq)]
pub struct Capture {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Capture {
    /// The one value of a header (names compare case-insensitively); two values are an error.
    pub fn header(&self, name: &str) -> Result<Option<&str>, String> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        let first = values.next().map(|(_, v)| v.as_str());
        match values.next() {
            None => Ok(first),
            Some(_) => Err(format!("the capture has more than one {name} header")),
        }
    }
}

/// `Name: value` when the line is one (a token, a colon, a value).
fn header_line(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.split_once(':')?;
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    (!name.is_empty() && name.bytes().all(token)).then(|| (name, value.trim()))
}

/// Reads a capture: an optional request line, header lines, a blank line, the body. Lines end
/// in LF or CRLF; the body is every byte after the first blank line.
pub fn parse_capture(raw: &[u8]) -> Result<Capture, String> {
    let mut headers = Vec::new();
    let mut pos = 0;
    for number in 1.. {
        let Some(len) = raw[pos..].iter().position(|&b| b == b'\n') else {
            return Err("no blank line separates the headers from the body".into());
        };
        let line = &raw[pos..pos + len];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos += len + 1;
        if line.is_empty() {
            break;
        }
        let line = std::str::from_utf8(line)
            .map_err(|_| format!("line {number} of the headers is not UTF-8"))?;
        match header_line(line) {
            Some((name, value)) => headers.push((name.to_owned(), value.to_owned())),
            None if number == 1 && line.split(' ').count() >= 2 => {} // the request line
            None => return Err(format!("line {number} is not a `Name: value` header")),
        }
    }
    Ok(Capture {
        headers,
        body: raw[pos..].to_vec(),
    })
}

#[derive(Debug, PartialEq, Eq)]
struct Args {
    secret_env: String,
    file: String,
}

/// The arguments after `verify-capture`; `None` asks for the help.
fn parse_args(args: &[String]) -> Result<Option<Args>, String> {
    let (mut provider, mut secret_env, mut file) = (None, None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--provider" => provider = Some(value()?),
            "--secret-env" => secret_env = Some(value()?),
            "--secret" => {
                return Err("the secret is never a command-line argument: put it in an \
                            environment variable and pass its name with --secret-env"
                    .into())
            }
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            _ if file.is_some() => return Err("only one FILE is read".into()),
            _ => file = Some(arg.clone()),
        }
    }
    match provider.as_deref() {
        Some("bond") => {}
        Some(other) => {
            return Err(format!(
                "--provider {other}: only bond is supported for now"
            ))
        }
        None => return Err("--provider bond is required".into()),
    }
    Ok(Some(Args {
        secret_env: secret_env.ok_or("--secret-env VAR is required")?,
        file: file.ok_or("FILE is required")?,
    }))
}

/// `t`'s age in words: `2 d 3 h 4 min old (183840 s)`, or how far in the future it is.
fn age(t: i64, now: i64) -> String {
    let secs = now.saturating_sub(t);
    let abs = secs.unsigned_abs();
    let (d, h, m) = (abs / 86_400, abs % 86_400 / 3600, abs % 3600 / 60);
    let when = if secs < 0 { "in the future" } else { "old" };
    let mut line = format!("t={t} is {d} d {h} h {m} min {when} ({abs} s)");
    if abs > DEFAULT_TOLERANCE_SECS {
        line.push_str(&format!(
            "; beyond the default tolerance, accepted only with {TOLERANCE_VAR} >= {abs}"
        ));
    }
    line
}

/// Runs the command; `env` looks up environment variables, `now` is Unix seconds.
pub fn run(
    args: &[String],
    env: &dyn Fn(&str) -> Option<String>,
    now: i64,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match check(args, env, now) {
        Ok(report) => {
            let _ = writeln!(out, "{}", report.text);
            i32::from(!report.matched)
        }
        Err(Usage::Help) => {
            let _ = writeln!(out, "{USAGE}");
            0
        }
        Err(Usage::Error(message)) => {
            let _ = writeln!(err, "kyc-local verify-capture: {message}\n\n{USAGE}");
            2
        }
    }
}

enum Usage {
    Help,
    Error(String),
}

impl From<String> for Usage {
    fn from(message: String) -> Self {
        Self::Error(message)
    }
}

struct Report {
    matched: bool,
    text: String,
}

/// Reads the arguments, the secret(s) and the capture, and tries every scheme.
fn check(args: &[String], env: &dyn Fn(&str) -> Option<String>, now: i64) -> Result<Report, Usage> {
    let args = parse_args(args)?.ok_or(Usage::Help)?;
    // The variable's name is not echoed either: it may be the secret passed by mistake.
    // Any length: this checks a capture; the functions themselves refuse short secrets at start.
    let secrets: Vec<SecretString> = Env::new(env)
        .list(&args.secret_env)
        .into_iter()
        .map(SecretString::from)
        .collect();
    if secrets.is_empty() {
        return Err(
            "the environment variable named by --secret-env is not set or is empty"
                .to_owned()
                .into(),
        );
    }
    let raw = std::fs::read(&args.file).map_err(|e| format!("cannot read {}: {e}", args.file))?;
    let capture = parse_capture(&raw).map_err(|e| format!("{}: {e}", args.file))?;
    let header = capture
        .header("Bond-Signature")?
        .ok_or_else(|| format!("{} has no Bond-Signature header", args.file))?;
    let malformed = |_| {
        format!(
            "its Bond-Signature is malformed: it needs one t= and 1 to {} v1=/v2= values",
            signature::MAX_SIGNATURES
        )
    };
    let parsed = signature::parse_header(header).map_err(malformed)?;
    let mut lines = vec![match parsed.timestamp() {
        Ok(t) => age(t, now),
        Err(_) => format!("t={} is not Unix seconds", parsed.t),
    }];
    let mut found: Vec<(usize, Match)> = Vec::new();
    for (i, secret) in secrets.iter().enumerate() {
        let bytes = secrecy::ExposeSecret::expose_secret(secret).as_bytes();
        let matches = signature::detect(bytes, header, &capture.body).map_err(malformed)?;
        found.extend(matches.into_iter().map(|m| (i, m)));
    }
    if found.is_empty() {
        lines.push(
            "no layout matched (check the secret, and that the body was captured byte for byte)"
                .into(),
        );
    }
    for (i, m) in &found {
        let which = match secrets.len() {
            1 => String::new(),
            n => format!(" [secret {} of {n}]", i + 1),
        };
        lines.push(format!("{m}{which}"));
    }
    Ok(Report {
        matched: !found.is_empty(),
        text: lines.join("\n"),
    })
}

/// `kyc-local verify-capture …` with the process's environment, clock and output.
pub fn main(args: &[String]) -> i32 {
    let lookup = |k: &str| std::env::var(k).ok();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    run(
        args,
        &lookup,
        now,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )
}

#[cfg(test)]
mod tests;
