//! Accepting connections. `axum::serve` gives hyper no timer, so hyper
//! cannot time out a client that sends its request headers a byte at a
//! time, or that keeps a connection open and sends nothing: each such
//! connection holds a socket and a task for as long as the client likes.
//! This loop serves HTTP/1 (with upgrades, for the WebSocket) through
//! hyper with a timer and a header-read timeout, and otherwise behaves as
//! `axum::serve` with a graceful shutdown does.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

/// Serves `router` on `listener` until `stop` completes, then lets every
/// open connection finish its request in flight and returns once all have
/// closed. A connection that has not sent a complete request head within
/// `header_timeout` of being ready for one (new, or idle between requests)
/// is closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    stop: impl Future<Output = ()>,
) {
    let (stopping, stop_seen) = watch::channel(false);
    // Every connection task holds a receiver; `closed` resolves once the
    // last one is dropped.
    let (open, _) = watch::channel(());
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    pause_after(&error).await;
                    continue;
                }
            },
        };
        tokio::spawn(connection(
            stream,
            peer,
            router.clone(),
            header_timeout,
            stop_seen.clone(),
            open.subscribe(),
        ));
    }
    drop(listener);
    let _ = stopping.send(true);
    open.closed().await;
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    header_timeout: Duration,
    mut stopping: watch::Receiver<bool>,
    _open: watch::Receiver<()>,
) {
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    let mut stop_sent = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            changed = stopping.wait_for(|stop| *stop), if !stop_sent => {
                stop_sent = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// After a failed accept: errors of one connection (it was reset before
/// it was accepted) are passed over; running out of file descriptors or
/// memory is logged and waited out rather than spun on.
async fn pause_after(error: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept connections; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
