//! moto's server (`moto_server`, from PyPI `moto[server]`): the local SQS, EventBridge and Secrets
//! Manager APIs, which AWS ships no local build of. The real SDK adapters talk to it over HTTP.
//! Run like DynamoDB Local: a child process on a free loopback port, stopped by a watchdog shell
//! when this process goes away however it ends.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::dynamodb_local::free_port;

#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    #[error(
        "moto_server not found under {0}: run `make deps` (it installs moto[server] into .local/venv), \
         or point MOTO_SERVER at the moto_server executable"
    )]
    NotInstalled(PathBuf),
    #[error("moto_server did not start listening on {0} within 30 s")]
    Timeout(SocketAddr),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// `$MOTO_SERVER`, else `<repo>/.local/venv/bin/moto_server`.
pub fn find_binary() -> Result<PathBuf, MotoError> {
    let path = std::env::var_os("MOTO_SERVER").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../.local/venv/bin/moto_server"),
        PathBuf::from,
    );
    if path.is_file() {
        Ok(path)
    } else {
        Err(MotoError::NotInstalled(path))
    }
}

/// A running moto server; dropped, it stops.
pub struct MotoServer {
    child: Child,
    pub endpoint: String,
}

impl MotoServer {
    /// Start on a free port and wait until it accepts connections.
    pub fn start() -> Result<Self, MotoError> {
        let binary = find_binary()?;
        let port = free_port()?;
        let script = format!(
            "'{bin}' -H 127.0.0.1 -p {port} & m=$!; trap 'kill $m 2>/dev/null; exit 0' TERM INT; \
             while kill -0 {parent} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 0.5; done; kill $m 2>/dev/null; wait $m",
            bin = binary.display(),
            parent = std::process::id()
        );
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if started.elapsed() > Duration::from_secs(30) || moto.child.try_wait()?.is_some() {
                return Err(MotoError::Timeout(addr));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(moto)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
