//! `kyc-emulator`: run the provider emulator on its own.
//!
//! Flags: `--listen 127.0.0.1:4010`, `--webhook-url URL` (Ondato), `--bond-webhook-url URL`,
//! `--webhook-username U`, `--webhook-password P`, `--client-id ID`, `--client-secret S`,
//! `--bond-webhook-secret S`; chaos: `--manual-delivery`, `--drop-webhooks`,
//! `--duplicate-webhooks`, `--reorder-webhooks`, `--webhook-delay-ms N`; `--default-outcome
//! approve|reject` completes every new IDV by itself.

use emulator::{Emulator, EmulatorConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let mut config = EmulatorConfig::default();
    let mut listen = "127.0.0.1:4010".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--manual-delivery" => config.auto_deliver = false,
            "--drop-webhooks" => config.drop_webhooks = true,
            "--duplicate-webhooks" => config.duplicate_webhooks = true,
            "--reorder-webhooks" => config.reorder_webhooks = true,
            _ => {}
        }
        if matches!(
            flag.as_str(),
            "--manual-delivery" | "--drop-webhooks" | "--duplicate-webhooks" | "--reorder-webhooks"
        ) {
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => listen = value,
            "--webhook-url" => config.webhook_url = Some(value),
            "--bond-webhook-url" => config.bond_webhook_url = Some(value),
            "--bond-webhook-secret" => config.bond_webhook_secret = value,
            "--webhook-delay-ms" => {
                config.webhook_delay = std::time::Duration::from_millis(
                    value
                        .parse()
                        .map_err(|_| "--webhook-delay-ms takes milliseconds")?,
                )
            }
            "--default-outcome" => {
                config.default_outcome = Some(match value.as_str() {
                    "approve" => emulator::Outcome::Approve,
                    "reject" => emulator::Outcome::Reject,
                    _ => return Err("--default-outcome is approve or reject".into()),
                })
            }
            "--webhook-username" => config.webhook_username = value,
            "--webhook-password" => config.webhook_password = value,
            "--client-id" => config.client_id = value,
            "--client-secret" => config.client_secret = value,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let emulator = Emulator::new(config);
    let (addr, server) = emulator.serve(listen.parse()?).await?;
    println!("emulator listening on http://{addr}");
    tokio::select! {
        _ = server => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
