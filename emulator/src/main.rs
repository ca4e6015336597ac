//! `kyc-emulator`: run the provider emulator on its own, at the root of one listener.
//!
//! Flags: `--listen 127.0.0.1:4010`; chaos: `--manual-delivery`, `--drop-webhooks`,
//! `--duplicate-webhooks`, `--reorder-webhooks`, `--webhook-delay-ms N`; `--default-outcome
//! approve|reject` completes every new hosted verification by itself. Each provider reads its own
//! flags (its webhook URL and credentials) in its folder; the README lists them.

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
        if config.parse_switch(&flag) {
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        if flag == "--listen" {
            listen = value;
        } else if !config.parse_flag(&flag, &value)? {
            return Err(format!("unknown flag {flag}").into());
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
