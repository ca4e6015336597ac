//! `kyc-emulator`: run the provider emulator on its own.
//!
//! Flags: `--listen 127.0.0.1:4010`, `--webhook-url URL`, `--webhook-username U`,
//! `--webhook-password P`, `--client-id ID`, `--client-secret S`, `--manual-delivery`.

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
        if flag == "--manual-delivery" {
            config.auto_deliver = false;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => listen = value,
            "--webhook-url" => config.webhook_url = Some(value),
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
