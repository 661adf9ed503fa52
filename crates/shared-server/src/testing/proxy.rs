//! [`CutProxy`]: a TCP proxy in front of the test PostgreSQL that a test can cut and restore,
//! to play a database outage (issue 20) without touching the shared server. Cut, its port is
//! closed (new connections are refused) and every open connection is dropped: what a stopped
//! PostgreSQL looks like to its clients. Restored, it listens on the same port again.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// See the module documentation. Dropping it stops the proxy.
pub struct CutProxy {
    addr: SocketAddr,
    upstream_url: url::Url,
    up: watch::Sender<bool>,
}

impl CutProxy {
    /// A proxy to the server of `database_url` (a `postgres://` URL), listening on 127.0.0.1.
    pub async fn start(database_url: &str) -> std::io::Result<CutProxy> {
        let upstream_url = url::Url::parse(database_url)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let host = match upstream_url.host_str() {
            None | Some("localhost") => "127.0.0.1",
            Some(host) => host,
        };
        let upstream = tokio::net::lookup_host((host, upstream_url.port().unwrap_or(5432)))
            .await?
            .next()
            .ok_or_else(|| std::io::Error::other("the database host has no address"))?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (up, _) = watch::channel(true);
        tokio::spawn(serve(listener, addr, upstream, up.subscribe()));
        Ok(CutProxy {
            addr,
            upstream_url,
            up,
        })
    }

    /// The database URL through the proxy (same credentials and database).
    pub fn url(&self) -> String {
        let mut url = self.upstream_url.clone();
        let _ = url.set_host(Some("127.0.0.1"));
        let _ = url.set_port(Some(self.addr.port()));
        url.to_string()
    }

    /// The outage begins: the port closes and open connections drop.
    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    /// The outage ends: the port accepts again.
    pub fn restore(&self) {
        self.up.send_replace(true);
    }
}

/// Accepts while up; while down the port is closed. Ends when the [`CutProxy`] is dropped.
async fn serve(
    listener: TcpListener,
    addr: SocketAddr,
    upstream: SocketAddr,
    mut up: watch::Receiver<bool>,
) {
    let mut listener = Some(listener);
    loop {
        match listener.take() {
            Some(open) => {
                tokio::select! {
                    accepted = open.accept() => {
                        if let Ok((client, _)) = accepted {
                            tokio::spawn(pipe(client, upstream, up.clone()));
                        }
                        listener = Some(open);
                    }
                    changed = up.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        listener = if *up.borrow() { Some(open) } else { None };
                    }
                }
            }
            None => {
                if up.changed().await.is_err() {
                    return;
                }
                if *up.borrow() {
                    match TcpListener::bind(addr).await {
                        Ok(open) => listener = Some(open),
                        Err(error) => {
                            tracing::error!(%error, %addr, "the test proxy cannot listen again");
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// Copies both ways until either side closes or the proxy is cut.
async fn pipe(mut client: TcpStream, upstream: SocketAddr, mut up: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = up.wait_for(|up| !*up) => {}
    }
}
