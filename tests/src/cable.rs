//! A TCP "cable" between the functions and DynamoDB Local that a test can cut and reconnect:
//! cut, every open connection is dropped and new ones are refused (the port is closed), exactly
//! what the SDK meets when the store goes away; reconnected, traffic flows to the same store
//! with its data intact. One DynamoDB Local serves the whole run, so an outage is made here
//! instead of by stopping it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct Cable {
    addr: SocketAddr,
    target: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Cable {
    /// A cable to `target` (`host:port`) on a free loopback port, connected.
    pub async fn connect(target: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let cable = Self {
            addr: listener.local_addr()?,
            target: target.to_owned(),
            tasks: Arc::default(),
        };
        cable.serve(listener);
        Ok(cable)
    }

    /// `http://` + the cable's own address: give this to the functions.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn serve(&self, listener: TcpListener) {
        let target = self.target.clone();
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let target = target.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let mut inbound = inbound;
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                if let Ok(mut t) = tasks.lock() {
                    t.push(pipe);
                }
            }
        });
        if let Ok(mut t) = self.tasks.lock() {
            t.push(accept);
        }
    }

    /// Drop every connection and close the port.
    pub fn cut(&self) {
        if let Ok(mut t) = self.tasks.lock() {
            for task in t.drain(..) {
                task.abort();
            }
        }
    }

    /// Open the same port again and carry traffic (the cut listener may take a moment to go).
    pub async fn reconnect(&self) -> std::io::Result<()> {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e),
            }
        };
        self.serve(listener);
        Ok(())
    }
}

impl Drop for Cable {
    fn drop(&mut self) {
        self.cut();
    }
}
