//! The task that drives one connection's [`Core`]: the shell that does the IO the core
//! must not. It owns the socket, the command channel, the clock, the one timer, and
//! the event broadcast; the core owns every decision (see [`super::core`]).
//!
//! Each turn: the core encodes what waits, the task writes what the core has, reads
//! into its buffer and feeds the bytes, feeds commands as they come, and sleeps until
//! the core's next wake-up, then feeds it the time. Commands always leave the channel,
//! even with the write buffer full, so none sits where no deadline is checked. The
//! timer is re-armed only when the core's wake-up moves, so a request costs no timer
//! registration of its own.
//!
//! When the core fails (or the socket does), the task records the error for the
//! handles, closes the channel, and fails every request held or queued with it. It
//! never waits on a caller, so a slow consumer cannot stall it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use super::core::{Command, Core};
use super::error::ConnectionError;
use crate::protocol::response::Event;

/// State shared between the task and the handles.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) closed: std::sync::Mutex<Option<ConnectionError>>,
    pub(crate) in_flight: std::sync::atomic::AtomicUsize,
}

/// The core's clock: tokio's (so paused test time applies), as a plain `Instant`.
fn now() -> std::time::Instant {
    Instant::now().into_std()
}

/// Feeds the commands already queued on the channel to the core, up to a batch's worth
/// (4096), without waiting for more.
fn take_queued(rx: &mut mpsc::UnboundedReceiver<Command>, core: &mut Core) {
    for _ in 0..4096 {
        match rx.try_recv() {
            Ok(c) => core.handle_command(c),
            Err(_) => break,
        }
    }
}

/// One connection's task, ready to run.
pub(crate) struct Task {
    pub(crate) socket: TcpStream,
    pub(crate) core: Core,
    pub(crate) read_buf: BytesMut,
    pub(crate) rx: mpsc::UnboundedReceiver<Command>,
    pub(crate) events: broadcast::Sender<Event>,
    pub(crate) shared: Arc<Shared>,
}

impl Task {
    /// Drives the connection until it closes.
    pub(crate) async fn run(self) {
        let Task { socket, mut core, mut read_buf, mut rx, events, shared } = self;
        let (mut rd, mut wr) = socket.into_split();
        let mut input_open = true;
        let mut coalesced = false;
        let timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(timer);
        let mut armed_at: Option<std::time::Instant> = None;

        let failure: ConnectionError = loop {
            // The clock is read only when there is something to encode (when bytes may
            // start to wait, which starts the write-stall clock).
            if core.has_unencoded() {
                core.encode_waiting(now());
            }
            shared.in_flight.store(core.in_flight(), Ordering::Relaxed);
            // Write coalescing: before writing what was just encoded, step aside once so
            // that every task already runnable (typically the requesters woken by the
            // last read) can queue its next request, and they all leave in one write.
            // Without it, a requester's wake-up runs this task at once and each request
            // costs a write syscall of its own (and a read on the server).
            if !core.transmit().is_empty() && !coalesced && input_open {
                coalesced = true;
                tokio::task::yield_now().await;
                take_queued(&mut rx, &mut core);
                continue;
            }
            if !input_open && core.is_idle() {
                break ConnectionError::Closed;
            }

            let wake_at = core.poll_timeout();
            if wake_at != armed_at {
                armed_at = wake_at;
                // Far away when nothing is due: the branch is disabled then anyway.
                let at = wake_at.map_or_else(|| Instant::now() + Duration::from_secs(86_400), Instant::from_std);
                timer.as_mut().reset(at);
            }
            tokio::select! {
                read = rd.read_buf(&mut read_buf) => {
                    match read {
                        Ok(0) => break ConnectionError::Closed,
                        Err(e) => break e.into(),
                        Ok(_) => {}
                    }
                    let fed = core.handle_read(&mut read_buf, now());
                    while let Some(ev) = core.poll_event() {
                        let _ = events.send(ev);
                    }
                    if let Err(e) = fed {
                        break e;
                    }
                }
                // Always read commands, even with the write buffer full: a command left
                // in the channel would have no deadline.
                cmd = rx.recv(), if input_open => {
                    match cmd {
                        Some(c) => {
                            core.handle_command(c);
                            take_queued(&mut rx, &mut core);
                        }
                        // Every handle is gone: finish what is in flight, then close.
                        None => input_open = false,
                    }
                }
                written = wr.write(core.transmit()), if !core.transmit().is_empty() => {
                    match written {
                        Err(e) => break e.into(),
                        Ok(0) => break std::io::Error::from(std::io::ErrorKind::WriteZero).into(),
                        Ok(n) => core.handle_written(n, now()),
                    }
                    coalesced = false;
                }
                () = &mut timer, if armed_at.is_some() => {
                    armed_at = None;
                    if let Err(e) = core.handle_timeout(now()) {
                        break e;
                    }
                }
            }
        };

        *shared.closed.lock().unwrap_or_else(|e| e.into_inner()) = Some(failure.clone());
        rx.close();
        core.close(&failure);
        while let Ok(cmd) = rx.try_recv() {
            let _ = cmd.reply.send(Err(failure.clone().into()));
        }
        shared.in_flight.store(0, Ordering::Relaxed);
        // Does not wait for the peer, stalled or not: it only queues a FIN. The socket
        // closes when both halves drop, here.
        let _ = wr.shutdown().await;
    }
}
