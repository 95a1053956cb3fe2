//! Helpers shared by the integration tests: local servers and the policy that lets
//! the guard reach them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use pilot_outbound::OutboundPolicy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Serves `app` on `127.0.0.1`, bound to a free port before this returns.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = bind().await;
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A hand-written server on `127.0.0.1`: for each connection it reads the request
/// head, then writes `answer` and closes, or, with `None`, holds the connection
/// open without answering. Returns its address and a count of connections.
pub async fn raw_server(answer: Option<&'static [u8]>) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = bind().await;
    let addr = listener.local_addr().expect("bound address");
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            read_head(&mut socket).await;
            match answer {
                // A failed write fails the client's side of the test.
                Some(bytes) => drop(socket.write_all(bytes).await),
                None => held.push(socket),
            }
        }
    });
    (addr, connections)
}

async fn read_head(socket: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}

async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port")
}

/// The default policy plus `127.0.0.1/32` on the allow-list, as an operator would
/// set it to test webhooks against a local receiver.
pub fn loopback_policy() -> OutboundPolicy {
    OutboundPolicy::allowing(&["127.0.0.1/32"]).expect("valid entry")
}
