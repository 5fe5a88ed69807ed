//! Clients that misbehave on purpose, for the server's timeouts and connection limits.

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, ToSocketAddrs};

/// A client that sent half its request headers and then nothing.
pub async fn stalled(addr: impl ToSocketAddrs) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: pinbridge\r\nx-slow: ")
        .await
        .unwrap();
    stream
}
