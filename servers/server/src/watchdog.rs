//! Closes connections that start a request and never finish its head: without it, a
//! client that sends one byte holds a connection (and its buffers) for as long as it
//! likes. hyper 0.14.19's own header read timeout never fires (its timer is armed but its
//! "running" flag is never set), so this does the job outside hyper, cheaply: one task
//! scans every connection once a second, and a read costs one relaxed atomic load.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// Seconds since the server started, advanced by the scanner: a clock that costs nothing to read.
static NOW: AtomicU64 = AtomicU64::new(1);
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

static CONNECTIONS: Mutex<Option<HashMap<u64, (Arc<Pending>, Arc<Notify>)>>> = Mutex::new(None);

/// When the request now being read started arriving, in NOW's seconds; 0 when none is.
pub struct Pending(AtomicU64);

impl Pending {
    /// The server has the whole head: the request is being served.
    pub fn dispatched(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// One connection under watch; dropping it stops the watch.
pub struct Watch {
    id: u64,
    pub pending: Arc<Pending>,
    pub kill: Arc<Notify>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(m) = CONNECTIONS.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            m.remove(&self.id);
        }
    }
}

pub fn watch() -> Watch {
    let w = Watch { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), pending: Arc::new(Pending(AtomicU64::new(0))), kill: Arc::new(Notify::new()) };
    CONNECTIONS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(w.id, (w.pending.clone(), w.kill.clone()));
    w
}

/// Scans every second and closes the connections whose request head has been arriving
/// for longer than `limit`.
pub async fn scan(limit: Duration) {
    let start = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = start.elapsed().as_secs() + 1;
        NOW.store(now, Ordering::Relaxed);
        let guard = CONNECTIONS.lock().unwrap_or_else(|e| e.into_inner());
        let Some(m) = guard.as_ref() else { continue };
        for (pending, kill) in m.values() {
            let since = pending.0.load(Ordering::Relaxed);
            if since != 0 && now.saturating_sub(since) > limit.as_secs() {
                kill.notify_one();
            }
        }
    }
}

/// A stream that marks when a request starts arriving.
pub struct Watched<S> {
    pub inner: S,
    pub pending: Arc<Pending>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before && self.pending.0.load(Ordering::Relaxed) == 0 {
            self.pending.0.store(NOW.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, b)
    }
    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, b)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
