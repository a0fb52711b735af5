//! The task that owns one connection's socket: it stamps stream ids on outgoing
//! envelopes, coalesces them into few writes, routes replies to their requests by
//! stream id, forwards events, sends heartbeats, and when the socket dies fails every
//! request in flight with the same error.
//!
//! It also times requests out: each carries its deadline, and one timer (re-armed only
//! when the earliest deadline, the heartbeat check or the write-stall check moves)
//! sweeps the expired ones, so a request costs no timer registration of its own. The
//! timer covers requests still waiting for an id or for room in the write buffer too:
//! commands always leave the channel, so none sits where no deadline is checked.
//!
//! It declares the connection defunct (and closes it) when a heartbeat goes unanswered,
//! when more stream ids are orphaned than allowed, or when the socket takes no bytes
//! for the write timeout; see [`DefunctReason`].
//!
//! Encoding requests and decoding replies happen in the callers' tasks; this one only
//! moves envelopes. Compressed v3/v4 bodies are handed over compressed and expanded by
//! the caller, so the work here stays proportional to the bytes read (events excepted:
//! they are expanded here, up to [`MAX_EVENT_BODY`]). It never waits on a caller, so a
//! slow consumer cannot stall it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, broadcast, mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, trace, warn};

use super::error::{ConnectionError, DefunctReason, RequestError};
use super::stream_ids::{HEARTBEAT_STREAM, StreamIds};
use crate::protocol::codec::decompress_envelope;
use crate::protocol::request::Options;
use crate::protocol::response::Event;
use crate::protocol::{CqlCodec, Envelope, HEADER_LEN, Request, RequestMessage, Response, ResponseMessage, Version};

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
    /// `None` once the caller has its answer (a timeout): the id stays taken (orphaned)
    /// until the reply comes.
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
    /// the late reply: orphaned) and returns the earliest deadline still pending and how
    /// many ids were orphaned now.
    fn expire(&mut self, now: Instant) -> (Option<Instant>, usize) {
        let mut next: Option<Instant> = None;
        let mut orphaned = 0;
        for f in self.slots.iter_mut().flatten() {
            if f.reply.is_none() {
                continue;
            }
            if f.deadline <= now {
                if let Some(r) = f.reply.take() {
                    let _ = r.send(Err(RequestError::Timeout(f.timeout)));
                    orphaned += 1;
                }
            } else {
                next = earliest(next, Some(f.deadline));
            }
        }
        (next, orphaned)
    }
}

/// Moves the requests already queued on the channel to `waiting`, up to a batch's worth
/// (4096), without waiting for more.
fn take_queued(
    rx: &mut mpsc::UnboundedReceiver<Command>,
    waiting: &mut VecDeque<Command>,
    deadline: &mut Option<Instant>,
) {
    for _ in 0..4096 {
        match rx.try_recv() {
            Ok(c) => queue(waiting, deadline, c),
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

/// What the task needs to know besides its socket.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// Ids for requests (the heartbeat has its own).
    pub(crate) request_ids: usize,
    /// Send a heartbeat after this long without receiving a byte.
    pub(crate) heartbeat: Option<Duration>,
    /// How long a heartbeat may go unanswered.
    pub(crate) heartbeat_timeout: Duration,
    /// How long bytes may wait to be written with no progress.
    pub(crate) write_timeout: Duration,
    /// Orphaned ids allowed at once (capped below `request_ids` by the task).
    pub(crate) max_orphans: usize,
    /// The ratio limit on compressed bodies: checked here on their declared length,
    /// and applied when events are expanded (replies are expanded by their callers).
    pub(crate) max_compression_ratio: usize,
}

/// The largest uncompressed event body the task expands: events (topology, status and
/// schema changes) are a few hundred bytes, and the task must not spend more on one.
const MAX_EVENT_BODY: usize = 64 * 1024;

pub(crate) struct Task {
    pub(crate) socket: TcpStream,
    pub(crate) codec: CqlCodec,
    pub(crate) read_buf: BytesMut,
    pub(crate) rx: mpsc::UnboundedReceiver<Command>,
    pub(crate) events: broadcast::Sender<Event>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) version: Version,
    pub(crate) limits: Limits,
}

impl Task {
    pub(crate) async fn run(self) {
        let Task { socket, codec, mut read_buf, mut rx, events, shared, version, limits } = self;
        let Limits { request_ids, heartbeat, heartbeat_timeout, write_timeout, max_orphans, max_compression_ratio } =
            limits;
        // After the handshake: only the negotiated version is valid, and v3/v4 bodies
        // are expanded by their callers, so that this task's work per frame stays
        // proportional to the bytes it reads (events excepted: small and bounded).
        let mut codec = codec.with_max_compression_ratio(max_compression_ratio);
        codec.set_expected_version(Some(version));
        codec.set_deferred_decompression(true);
        // At most one below the ids in use, so that a healthy request finds an id until
        // the connection is declared defunct.
        let max_orphans = max_orphans.min(request_ids.saturating_sub(1));
        let (mut rd, mut wr) = socket.into_split();
        let mut ids = StreamIds::new(request_ids);
        let mut in_flight = InFlightTable::new();
        let mut orphans = 0usize;
        let mut waiting: VecDeque<Command> = VecDeque::new();
        // A lower bound of the deadlines in `waiting` (None when it is empty or not yet
        // computed); the timer covers it, so that a request waiting for an id or for room
        // in the write buffer still times out.
        let mut waiting_deadline: Option<Instant> = None;
        let mut write_buf = BytesMut::with_capacity(64 * 1024);
        let mut batch: Vec<Envelope> = Vec::new();
        let mut last_read = Instant::now();
        // When bytes last left (or, if none left since, when they started to wait).
        let mut last_written = Instant::now();
        let mut heartbeat_sent: Option<Instant> = None;
        let mut input_open = true;
        let mut coalesced = false;
        // One timer for request deadlines, the heartbeat and the write-stall check,
        // armed at `armed_at`. The heartbeat and write checks are lazy: traffic moves
        // their due time without re-arming the timer, which re-checks when it fires.
        let mut next_expiry: Option<Instant> = None;
        let mut heartbeat_check = heartbeat.map(|h| last_read + h);
        let mut write_check: Option<Instant> = None;
        let timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(timer);
        let mut armed_at: Option<Instant> = None;

        let failure: ConnectionError = loop {
            // Give ids to waiting requests and encode them as one batch, while the
            // write buffer has room: past its high water, requests stay in `waiting`,
            // where the timer still sees their deadlines.
            let mut batch_len = 0;
            while write_buf.len() + batch_len < WRITE_HIGH_WATER {
                let Some(cmd) = waiting.pop_front() else { break };
                let Command::Send { mut envelope, reply, permit, deadline, timeout } = cmd;
                if reply.is_closed() {
                    // The caller gave up (dropped, or timed out) before it was sent.
                    continue;
                }
                let Some(id) = ids.take() else {
                    // Out of ids (rare: the permits normally stop callers first).
                    waiting.push_front(Command::Send { envelope, reply, permit, deadline, timeout });
                    break;
                };
                envelope.header.stream = id;
                trace!(stream = id, opcode = ?envelope.header.opcode, "send");
                in_flight.insert(id, InFlight { reply: Some(reply), deadline, timeout, _permit: Some(permit) });
                next_expiry = earliest(next_expiry, Some(deadline));
                batch_len += HEADER_LEN + envelope.body.len();
                batch.push(envelope);
            }
            if waiting.is_empty() {
                waiting_deadline = None;
            } else if waiting_deadline.is_none() {
                waiting_deadline = waiting.iter().map(|Command::Send { deadline, .. }| *deadline).min();
            }
            if !batch.is_empty() {
                let was_empty = write_buf.is_empty();
                if codec.encode_batch(&batch, &mut write_buf).is_err() {
                    // Only an envelope over the size limit gets here, and the batch wrote
                    // nothing: encode them one by one and fail just those refused (the
                    // others, a heartbeat among them perhaps, still go).
                    for env in batch.drain(..) {
                        let Err(e) = codec.encode_envelope(&env, &mut write_buf) else { continue };
                        if let Some(mut f) = in_flight.remove(env.header.stream) {
                            ids.free(env.header.stream);
                            if let Some(r) = f.reply.take() {
                                let _ = r.send(Err(ConnectionError::Unexpected(e.to_string()).into()));
                            }
                        }
                    }
                }
                batch.clear();
                if was_empty && !write_buf.is_empty() {
                    // The write-stall clock starts when bytes start to wait.
                    last_written = Instant::now();
                    write_check = write_check.or(Some(last_written + write_timeout));
                }
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
                take_queued(&mut rx, &mut waiting, &mut waiting_deadline);
                continue;
            }
            if !input_open && in_flight.is_empty() && waiting.is_empty() && write_buf.is_empty() {
                break ConnectionError::Closed;
            }

            let wake_at = [next_expiry, waiting_deadline, heartbeat_check, write_check].into_iter().flatten().min();
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
                    last_read = Instant::now();
                    let mut failed = None;
                    loop {
                        match codec.decode_envelope(&mut read_buf) {
                            Ok(Some(env)) => {
                                let stream = env.header.stream;
                                trace!(stream, opcode = ?env.header.opcode, len = env.body.len(), "recv");
                                if stream < 0 {
                                    forward_event(env, max_compression_ratio, &events);
                                    continue;
                                }
                                if stream == HEARTBEAT_STREAM {
                                    // Answered: the next one is due an interval after the
                                    // last byte received.
                                    heartbeat_sent = None;
                                    heartbeat_check = heartbeat.map(|h| last_read + h);
                                    continue;
                                }
                                match in_flight.remove(stream) {
                                    Some(mut f) => {
                                        ids.free(stream);
                                        match f.reply.take() {
                                            // The requester may have gone (dropped): the
                                            // send fails and the reply is dropped.
                                            Some(r) => {
                                                let _ = r.send(Ok(env));
                                            }
                                            // A late reply to a timed-out request: its
                                            // id was orphaned until now.
                                            None => orphans = orphans.saturating_sub(1),
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
                // Always read commands, even with the write buffer full: a command left
                // in the channel would have no deadline.
                cmd = rx.recv(), if input_open => {
                    match cmd {
                        Some(c) => {
                            queue(&mut waiting, &mut waiting_deadline, c);
                            take_queued(&mut rx, &mut waiting, &mut waiting_deadline);
                        }
                        // Every handle is gone: finish what is in flight, then close.
                        None => input_open = false,
                    }
                }
                written = wr.write_buf(&mut write_buf), if !write_buf.is_empty() => {
                    match written {
                        Err(e) => break e.into(),
                        Ok(0) => break std::io::Error::from(std::io::ErrorKind::WriteZero).into(),
                        Ok(_) => {}
                    }
                    coalesced = false;
                    last_written = Instant::now();
                }
                () = &mut timer, if armed_at.is_some() => {
                    armed_at = None;
                    let now = Instant::now();
                    if next_expiry.is_some_and(|at| at <= now) {
                        let (next, orphaned) = in_flight.expire(now);
                        next_expiry = next;
                        orphans += orphaned;
                        if orphans > max_orphans {
                            break ConnectionError::Defunct {
                                reason: DefunctReason::TooManyOrphans { count: orphans, max: max_orphans },
                            };
                        }
                    }
                    if waiting_deadline.is_some_and(|at| at <= now) {
                        waiting_deadline = expire_waiting(&mut waiting, now);
                    }
                    if write_check.is_some_and(|at| at <= now) {
                        if write_buf.is_empty() {
                            write_check = None;
                        } else if now >= last_written + write_timeout {
                            break ConnectionError::Defunct { reason: DefunctReason::WriteStalled { after: write_timeout } };
                        } else {
                            write_check = Some(last_written + write_timeout);
                        }
                    }
                    if let (Some(h), Some(check)) = (heartbeat, heartbeat_check)
                        && check <= now
                    {
                        match heartbeat_sent {
                            Some(at) if now >= at + heartbeat_timeout => {
                                break ConnectionError::Defunct {
                                    reason: DefunctReason::HeartbeatUnanswered { after: heartbeat_timeout },
                                };
                            }
                            Some(at) => heartbeat_check = Some(at + heartbeat_timeout),
                            // Nothing received for the interval, whether requests are
                            // outstanding or not (writes do not count: a server that
                            // stopped answering still lets us write).
                            None if now >= last_read + h => {
                                let env = RequestMessage::new(HEARTBEAT_STREAM, Request::Options(Options)).to_envelope(version);
                                if let Ok(env) = env {
                                    // Into the next batch, whatever the write buffer holds.
                                    batch.push(env);
                                }
                                heartbeat_sent = Some(now);
                                heartbeat_check = Some(now + heartbeat_timeout);
                            }
                            None => heartbeat_check = Some(last_read + h),
                        }
                    }
                }
            }
        };

        if matches!(failure, ConnectionError::Defunct { .. }) {
            warn!(error = %failure, in_flight = in_flight.len(), waiting = waiting.len(), "connection defunct, closing it");
        } else {
            debug!(error = %failure, in_flight = in_flight.len(), "connection closing");
        }
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
        // Does not wait for the peer, stalled or not: it only queues a FIN. The socket
        // closes when both halves drop, here.
        let _ = wr.shutdown().await;
    }
}

/// Decodes an event (stream -1) and hands it to the subscribers. Events are expanded
/// here, on the task, so their size is bounded by [`MAX_EVENT_BODY`]; one that is not
/// a valid event is dropped.
fn forward_event(env: Envelope, max_ratio: usize, events: &broadcast::Sender<Event>) {
    let env = match decompress_envelope(env, MAX_EVENT_BODY, max_ratio) {
        Ok(env) => env,
        Err(e) => {
            warn!(error = %e, "dropping an event that cannot be expanded");
            return;
        }
    };
    match ResponseMessage::from_envelope(&env) {
        Ok(ResponseMessage { response: Response::Event(ev), .. }) => {
            let _ = events.send(ev);
        }
        Ok(other) => debug!(opcode = ?other.response.opcode(), "non-event message on the event stream"),
        Err(e) => debug!(error = %e, "dropping an event that does not decode"),
    }
}

/// Queues a command for an id, keeping `deadline` a lower bound of the queue's
/// deadlines when it is known.
fn queue(waiting: &mut VecDeque<Command>, deadline: &mut Option<Instant>, cmd: Command) {
    let Command::Send { deadline: d, .. } = &cmd;
    if let Some(at) = deadline.as_mut() {
        *at = (*at).min(*d);
    }
    waiting.push_back(cmd);
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
