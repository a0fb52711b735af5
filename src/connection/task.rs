//! The task that owns one connection's socket: it stamps stream ids on outgoing
//! envelopes, coalesces them into few writes, routes replies to their requests by
//! stream id, forwards events, sends heartbeats, and when the socket dies fails every
//! request in flight with the same error.
//!
//! It also times requests out: each carries its deadline, and one timer (re-armed only
//! when the earliest deadline or the heartbeat check moves) sweeps the expired ones, so
//! a request costs no timer registration of its own.
//!
//! Encoding requests and decoding replies happen in the callers' tasks; this one only
//! moves envelopes. It never waits on a caller, so a slow consumer cannot stall it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, broadcast, mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, trace};

use super::error::{ConnectionError, RequestError};
use super::stream_ids::StreamIds;
use crate::protocol::request::Options;
use crate::protocol::response::Event;
use crate::protocol::{CqlCodec, Envelope, Request, RequestMessage, Response, ResponseMessage, Version};

/// Stop taking new requests while this much is waiting to be written.
const WRITE_HIGH_WATER: usize = 4 << 20;

/// Where a request's reply (or why there is none) goes.
pub(crate) type ReplyTx = oneshot::Sender<Result<Envelope, RequestError>>;

/// A request for the task.
#[derive(Debug)]
pub(crate) enum Command {
    Send {
        envelope: Envelope,
        reply: ReplyTx,
        permit: OwnedSemaphorePermit,
        /// When the caller stops waiting, and the timeout it reports then.
        deadline: Instant,
        timeout: Duration,
    },
}

struct InFlight {
    /// `None` once the caller has its answer (a timeout) or for the heartbeat: the id
    /// stays taken until the reply comes.
    reply: Option<ReplyTx>,
    deadline: Instant,
    timeout: Duration,
    _permit: Option<OwnedSemaphorePermit>,
}

/// Requests awaiting their reply, indexed by stream id: ids are handed out lowest
/// first and reused, so they stay dense and a slot per id beats hashing. The table
/// grows to the highest id used, not to the 32,768 possible.
struct InFlightTable {
    slots: Vec<Option<InFlight>>,
    len: usize,
}

impl InFlightTable {
    fn new() -> InFlightTable {
        InFlightTable { slots: Vec::new(), len: 0 }
    }

    fn insert(&mut self, id: i16, f: InFlight) {
        let Ok(i) = usize::try_from(id) else { return };
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        if self.slots[i].replace(f).is_none() {
            self.len += 1;
        }
    }

    fn remove(&mut self, id: i16) -> Option<InFlight> {
        let f = usize::try_from(id).ok().and_then(|i| self.slots.get_mut(i))?.take();
        if f.is_some() {
            self.len -= 1;
        }
        f
    }

    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn drain(&mut self) -> impl Iterator<Item = InFlight> + '_ {
        self.len = 0;
        self.slots.iter_mut().filter_map(Option::take)
    }

    /// Answers every request past its deadline with a timeout (its id stays taken until
    /// the late reply) and returns the earliest deadline still pending.
    fn expire(&mut self, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for f in self.slots.iter_mut().flatten() {
            if f.reply.is_none() {
                continue;
            }
            if f.deadline <= now {
                if let Some(r) = f.reply.take() {
                    let _ = r.send(Err(RequestError::Timeout(f.timeout)));
                }
            } else {
                next = earliest(next, Some(f.deadline));
            }
        }
        next
    }
}

/// Moves the requests already queued on the channel to `waiting`, up to a batch's worth
/// (4096), without waiting for more.
fn take_queued(rx: &mut mpsc::UnboundedReceiver<Command>, waiting: &mut VecDeque<Command>) {
    while waiting.len() < 4096 {
        match rx.try_recv() {
            Ok(c) => waiting.push_back(c),
            Err(_) => break,
        }
    }
}

/// The earlier of two optional instants.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    a.into_iter().chain(b).min()
}

/// State shared between the task and the handles.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) closed: std::sync::Mutex<Option<ConnectionError>>,
    pub(crate) in_flight: std::sync::atomic::AtomicUsize,
}

pub(crate) struct Task {
    pub(crate) socket: TcpStream,
    pub(crate) codec: CqlCodec,
    pub(crate) read_buf: BytesMut,
    pub(crate) rx: mpsc::UnboundedReceiver<Command>,
    pub(crate) events: broadcast::Sender<Event>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) version: Version,
    pub(crate) max_streams: usize,
    pub(crate) heartbeat: Option<Duration>,
    pub(crate) request_timeout: Duration,
}

impl Task {
    pub(crate) async fn run(self) {
        let Task {
            socket,
            mut codec,
            mut read_buf,
            mut rx,
            events,
            shared,
            version,
            max_streams,
            heartbeat,
            request_timeout,
        } = self;
        let (mut rd, mut wr) = socket.into_split();
        let mut ids = StreamIds::new(max_streams);
        let mut in_flight = InFlightTable::new();
        let mut waiting: VecDeque<Command> = VecDeque::new();
        let mut write_buf = BytesMut::with_capacity(64 * 1024);
        let mut batch: Vec<Envelope> = Vec::new();
        let mut last_activity = Instant::now();
        let mut heartbeat_sent: Option<(i16, Instant)> = None;
        let mut input_open = true;
        let mut coalesced = false;
        // One timer for request deadlines and the heartbeat check, armed at `armed_at`.
        let mut next_expiry: Option<Instant> = None;
        let mut heartbeat_check = heartbeat.map(|h| last_activity + h);
        let timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(timer);
        let mut armed_at: Option<Instant> = None;

        let failure: ConnectionError = loop {
            // Give ids to waiting requests and encode them as one batch.
            while let Some(cmd) = waiting.pop_front() {
                let Some(id) = ids.take() else {
                    // Out of ids (rare: the permits normally stop callers first): the
                    // timer must also cover the deadlines of those left waiting.
                    waiting.push_front(cmd);
                    next_expiry = earliest(next_expiry, expire_waiting(&mut waiting, Instant::now()));
                    break;
                };
                let Command::Send { mut envelope, reply, permit, deadline, timeout } = cmd;
                if reply.is_closed() {
                    // The caller gave up (dropped, or timed out) before an id was free.
                    ids.free(id);
                    continue;
                }
                envelope.header.stream = id;
                trace!(stream = id, opcode = ?envelope.header.opcode, "send");
                in_flight.insert(id, InFlight { reply: Some(reply), deadline, timeout, _permit: Some(permit) });
                next_expiry = earliest(next_expiry, Some(deadline));
                batch.push(envelope);
            }
            if !batch.is_empty() {
                if let Err(e) = codec.encode_batch(&batch, &mut write_buf) {
                    // Only an envelope over the size limit gets here; fail just those.
                    for env in batch.drain(..) {
                        if let Some(mut f) = in_flight.remove(env.header.stream) {
                            ids.free(env.header.stream);
                            if let Some(r) = f.reply.take() {
                                let _ = r.send(Err(ConnectionError::Unexpected(e.to_string()).into()));
                            }
                        }
                    }
                }
                batch.clear();
            }
            shared.in_flight.store(in_flight.len(), std::sync::atomic::Ordering::Relaxed);
            // Write coalescing: before writing what was just encoded, step aside once so
            // that every task already runnable (typically the requesters woken by the
            // last read) can queue its next request, and they all leave in one write.
            // Without it, a requester's wake-up runs this task at once and each request
            // costs a write syscall of its own (and a read on the server).
            if !write_buf.is_empty() && !coalesced && input_open {
                coalesced = true;
                tokio::task::yield_now().await;
                take_queued(&mut rx, &mut waiting);
                continue;
            }
            if !input_open && in_flight.is_empty() && waiting.is_empty() && write_buf.is_empty() {
                break ConnectionError::Closed;
            }

            let wake_at = earliest(next_expiry, heartbeat_check);
            if wake_at != armed_at {
                armed_at = wake_at;
                // Far away when nothing is due: the branch is disabled then anyway.
                timer.as_mut().reset(wake_at.unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400)));
            }
            tokio::select! {
                read = rd.read_buf(&mut read_buf) => {
                    match read {
                        Ok(0) => break ConnectionError::Closed,
                        Err(e) => break e.into(),
                        Ok(_) => {}
                    }
                    last_activity = Instant::now();
                    let mut failed = None;
                    loop {
                        match codec.decode_envelope(&mut read_buf) {
                            Ok(Some(env)) => {
                                let stream = env.header.stream;
                                trace!(stream, opcode = ?env.header.opcode, len = env.body.len(), "recv");
                                if stream < 0 {
                                    if let Ok(ResponseMessage { response: Response::Event(ev), .. }) = ResponseMessage::from_envelope(&env) {
                                        let _ = events.send(ev);
                                    }
                                    continue;
                                }
                                if heartbeat_sent.is_some_and(|(id, _)| id == stream) {
                                    heartbeat_sent = None;
                                }
                                match in_flight.remove(stream) {
                                    Some(mut f) => {
                                        ids.free(stream);
                                        if let Some(r) = f.reply.take() {
                                            // The requester may have gone (timeout, drop): the id
                                            // was orphaned until now, and is free again.
                                            let _ = r.send(Ok(env));
                                        }
                                    }
                                    None => debug!(stream, "reply on a stream with no request"),
                                }
                            }
                            Ok(None) => break,
                            Err(e) => {
                                failed = Some(ConnectionError::Decode(e));
                                break;
                            }
                        }
                    }
                    if let Some(e) = failed {
                        break e;
                    }
                }
                cmd = rx.recv(), if input_open && write_buf.len() < WRITE_HIGH_WATER => {
                    match cmd {
                        Some(c) => {
                            waiting.push_back(c);
                            take_queued(&mut rx, &mut waiting);
                        }
                        // Every handle is gone: finish what is in flight, then close.
                        None => input_open = false,
                    }
                }
                written = wr.write_buf(&mut write_buf), if !write_buf.is_empty() => {
                    if let Err(e) = written {
                        break e.into();
                    }
                    coalesced = false;
                    last_activity = Instant::now();
                }
                () = &mut timer, if armed_at.is_some() => {
                    armed_at = None;
                    let now = Instant::now();
                    if next_expiry.is_some_and(|at| at <= now) {
                        next_expiry = earliest(in_flight.expire(now), expire_waiting(&mut waiting, now));
                    }
                    if let (Some(h), Some(check)) = (heartbeat, heartbeat_check)
                        && check <= now
                    {
                        // Checked lazily: activity moves the due time without re-arming.
                        if now < last_activity + h {
                            heartbeat_check = Some(last_activity + h);
                        } else {
                            match heartbeat_sent {
                                Some((_, at)) if now - at >= request_timeout => {
                                    break ConnectionError::HeartbeatTimeout(request_timeout);
                                }
                                Some(_) => {}
                                None => {
                                    if let Some(id) = ids.take() {
                                        let env = RequestMessage::new(id, Request::Options(Options)).to_envelope(version);
                                        if let Ok(env) = env {
                                            let f = InFlight { reply: None, deadline: now, timeout: request_timeout, _permit: None };
                                            in_flight.insert(id, f);
                                            batch.push(env);
                                            heartbeat_sent = Some((id, now));
                                        }
                                    }
                                }
                            }
                            last_activity = now;
                            heartbeat_check = Some(now + h);
                        }
                    }
                }
            }
        };

        debug!(error = %failure, in_flight = in_flight.len(), "connection closing");
        *shared.closed.lock().unwrap_or_else(|e| e.into_inner()) = Some(failure.clone());
        rx.close();
        for mut f in in_flight.drain() {
            if let Some(r) = f.reply.take() {
                let _ = r.send(Err(failure.clone().into()));
            }
        }
        while let Some(Command::Send { reply, .. }) = waiting.pop_front().or_else(|| rx.try_recv().ok()) {
            let _ = reply.send(Err(failure.clone().into()));
        }
        shared.in_flight.store(0, std::sync::atomic::Ordering::Relaxed);
        let _ = wr.shutdown().await;
    }
}

/// Times out the requests still waiting for a stream id past their deadline, drops
/// those whose caller left, and returns the earliest deadline of the rest.
fn expire_waiting(waiting: &mut VecDeque<Command>, now: Instant) -> Option<Instant> {
    let mut next = None;
    for cmd in std::mem::take(waiting) {
        let (closed, deadline) = match &cmd {
            Command::Send { reply, deadline, .. } => (reply.is_closed(), *deadline),
        };
        if closed {
            continue;
        }
        if deadline <= now {
            let Command::Send { reply, timeout, .. } = cmd;
            let _ = reply.send(Err(RequestError::Timeout(timeout)));
            continue;
        }
        next = earliest(next, Some(deadline));
        waiting.push_back(cmd);
    }
    next
}
