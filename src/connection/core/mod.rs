//! The connection's state machine, with no IO (quinn-proto's shape): everything a
//! connection decides, and nothing it waits for.
//!
//! [`Core`] owns the stream ids ([`stream_ids`]), the requests on the wire
//! ([`in_flight`]), the requests waiting for an id or for room in the write buffer
//! ([`waiting`]), the orphaned-id count, every deadline, the heartbeat, the
//! write-stall check, the write buffer with its high water, and the codec that fills it
//! and reads replies. It decides when the connection is defunct.
//!
//! It is fed, by the [task](super::task) that drives it:
//! - commands ([`Core::handle_command`]: an encoded request, its reply sender, its
//!   deadline and timeout), and when to encode what they hold ([`Core::encode_waiting`]);
//! - the bytes read from the socket ([`Core::handle_read`]) or single envelopes
//!   ([`Core::handle_envelope`]);
//! - how many bytes the socket took ([`Core::handle_written`]);
//! - the current time, passed in as an [`Instant`] to every call that needs it and
//!   when its wake-up comes ([`Core::handle_timeout`]).
//!
//! It hands out the bytes to write ([`Core::transmit`]), when it next wants to be woken
//! ([`Core::poll_timeout`]), the server's events ([`Core::poll_event`]), and, as an
//! `Err` from the calls above, why the connection must close; [`Core::close`] then
//! fails everything it holds with that error. Replies go straight to their callers'
//! `oneshot` senders, which is no IO either.
//!
//! It never reads a clock, sleeps, spawns, or touches a socket, so every timeout,
//! heartbeat and defunct case is tested here with plain `Instant`s (see `tests.rs`).
//! It does not expand compressed replies (their callers do, in their own tasks).

mod in_flight;
pub(crate) mod stream_ids;
mod waiting;

#[cfg(test)]
mod tests;

pub use stream_ids::MAX_STREAMS;
pub(crate) use stream_ids::request_ids;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::sync::{OwnedSemaphorePermit, oneshot};
use tracing::{debug, trace, warn};

use self::in_flight::{InFlight, InFlightTable};
use self::stream_ids::{HEARTBEAT_STREAM, StreamIds};
use self::waiting::Waiting;
use super::error::{ConnectionError, DefunctReason, RequestError};
use crate::protocol::codec::decompress_envelope;
use crate::protocol::request::Options;
use crate::protocol::response::Event;
use crate::protocol::{CqlCodec, Envelope, HEADER_LEN, Request, RequestMessage, Response, ResponseMessage, Version};

/// Stop taking new requests while this much is waiting to be written.
pub(crate) const WRITE_HIGH_WATER: usize = 4 << 20;

/// The largest uncompressed event body the core expands: events (topology, status and
/// schema changes) are a few hundred bytes, and the connection must not spend more on one.
const MAX_EVENT_BODY: usize = 64 * 1024;

/// Where a request's reply (or why there is none) goes.
pub(crate) type ReplyTx = oneshot::Sender<Result<Envelope, RequestError>>;

/// One request for the connection.
#[derive(Debug)]
pub(crate) struct Command {
    /// The encoded request; its stream id is stamped when it gets one.
    pub(crate) envelope: Envelope,
    /// Where the reply goes.
    pub(crate) reply: ReplyTx,
    /// The caller's permit for a stream id, released when the id is free again.
    pub(crate) permit: OwnedSemaphorePermit,
    /// When the caller stops waiting.
    pub(crate) deadline: Instant,
    /// The timeout reported then.
    pub(crate) timeout: Duration,
}

/// What the core needs to know besides its codec.
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
    /// Orphaned ids allowed at once (capped below `request_ids` by the core).
    pub(crate) max_orphans: usize,
    /// The ratio limit on compressed bodies: checked by the codec on their declared
    /// length, and applied when events are expanded (replies are expanded by their callers).
    pub(crate) max_compression_ratio: usize,
}

/// The state of one connection after its handshake. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Core {
    codec: CqlCodec,
    version: Version,
    heartbeat: Option<Duration>,
    heartbeat_timeout: Duration,
    write_timeout: Duration,
    max_orphans: usize,
    max_compression_ratio: usize,
    ids: StreamIds,
    in_flight: InFlightTable,
    orphans: usize,
    waiting: Waiting,
    write_buf: BytesMut,
    /// Envelopes with ids, to be encoded together (reused, so it allocates once).
    batch: Vec<Envelope>,
    events: VecDeque<Event>,
    last_read: Instant,
    /// When bytes last left (or, if none left since, when they started to wait).
    last_written: Instant,
    heartbeat_sent: Option<Instant>,
    /// The earliest deadline of the requests on the wire still waited for.
    next_expiry: Option<Instant>,
    /// The heartbeat and write checks are lazy: traffic moves their due time without
    /// moving these, which re-check when they come.
    heartbeat_check: Option<Instant>,
    write_check: Option<Instant>,
}

impl Core {
    /// The core of a connection whose handshake (with `codec`) settled on `version`,
    /// starting at `now`.
    pub(crate) fn new(codec: CqlCodec, version: Version, limits: Limits, now: Instant) -> Core {
        let Limits { request_ids, heartbeat, heartbeat_timeout, write_timeout, max_orphans, max_compression_ratio } =
            limits;
        // After the handshake: only the negotiated version is valid, and v3/v4 bodies
        // are expanded by their callers, so that the connection's work per frame stays
        // proportional to the bytes it reads (events excepted: small and bounded).
        let mut codec = codec.with_max_compression_ratio(max_compression_ratio);
        codec.set_expected_version(Some(version));
        codec.set_deferred_decompression(true);
        Core {
            codec,
            version,
            heartbeat,
            heartbeat_timeout,
            write_timeout,
            // At most one below the ids in use, so that a healthy request finds an id
            // until the connection is declared defunct.
            max_orphans: max_orphans.min(request_ids.saturating_sub(1)),
            max_compression_ratio,
            ids: StreamIds::new(request_ids),
            in_flight: InFlightTable::default(),
            orphans: 0,
            waiting: Waiting::default(),
            write_buf: BytesMut::with_capacity(64 * 1024),
            batch: Vec::new(),
            events: VecDeque::new(),
            last_read: now,
            last_written: now,
            heartbeat_sent: None,
            next_expiry: None,
            heartbeat_check: heartbeat.map(|h| now + h),
            write_check: None,
        }
    }

    /// Accepts a request. It waits until [`encode_waiting`](Self::encode_waiting) gives
    /// it an id and room in the write buffer; its deadline counts from now on either way.
    pub(crate) fn handle_command(&mut self, cmd: Command) {
        self.waiting.push_back(cmd);
    }

    /// Gives ids to waiting requests and encodes them into the write buffer as one batch
    /// (with a heartbeat due), while the buffer is under its high water: past it,
    /// requests stay waiting, where [`poll_timeout`](Self::poll_timeout) still covers
    /// their deadlines. An envelope the codec refuses (over the size limit) fails its
    /// request alone.
    pub(crate) fn encode_waiting(&mut self, now: Instant) {
        let mut batch_len = 0;
        while self.write_buf.len() + batch_len < WRITE_HIGH_WATER {
            let Some(cmd) = self.waiting.pop_front() else { break };
            if cmd.reply.is_closed() {
                // The caller gave up (dropped, or timed out) before it was sent.
                continue;
            }
            let Some(id) = self.ids.take() else {
                // Out of ids (rare: the permits normally stop callers first).
                self.waiting.push_front(cmd);
                break;
            };
            let Command { mut envelope, reply, permit, deadline, timeout } = cmd;
            envelope.header.stream = id;
            trace!(stream = id, opcode = ?envelope.header.opcode, "send");
            self.in_flight.insert(id, InFlight { reply: Some(reply), deadline, timeout, _permit: permit });
            self.next_expiry = earliest(self.next_expiry, Some(deadline));
            batch_len += HEADER_LEN + envelope.body.len();
            self.batch.push(envelope);
        }
        self.waiting.settle();
        if self.batch.is_empty() {
            return;
        }
        let was_empty = self.write_buf.is_empty();
        if self.codec.encode_batch(&self.batch, &mut self.write_buf).is_err() {
            // Only an envelope over the size limit gets here, and the batch wrote
            // nothing: encode them one by one and fail just those refused (the others,
            // a heartbeat among them perhaps, still go).
            for env in self.batch.drain(..) {
                let Err(e) = self.codec.encode_envelope(&env, &mut self.write_buf) else { continue };
                if let Some(mut f) = self.in_flight.remove(env.header.stream) {
                    self.ids.free(env.header.stream);
                    if let Some(r) = f.reply.take() {
                        let _ = r.send(Err(ConnectionError::Unexpected(e.to_string()).into()));
                    }
                }
            }
        }
        self.batch.clear();
        if was_empty && !self.write_buf.is_empty() {
            // The write-stall clock starts when bytes start to wait.
            self.last_written = now;
            self.write_check = self.write_check.or(Some(now + self.write_timeout));
        }
    }

    /// Whether [`encode_waiting`](Self::encode_waiting) has anything to do: requests
    /// waiting, or a heartbeat due.
    pub(crate) fn has_unencoded(&self) -> bool {
        !self.waiting.is_empty() || !self.batch.is_empty()
    }

    /// The bytes waiting to be written, oldest first.
    pub(crate) fn transmit(&self) -> &[u8] {
        &self.write_buf
    }

    /// The socket took the first `n` bytes of [`transmit`](Self::transmit) at `now`.
    pub(crate) fn handle_written(&mut self, n: usize, now: Instant) {
        self.write_buf.advance(n.min(self.write_buf.len()));
        self.last_written = now;
    }

    /// Decodes every whole envelope in `buf` (bytes read from the socket at `now`; the
    /// rest stays for the next read) and routes it. Fails when the bytes are not valid
    /// CQL for this connection, a reply in another protocol version included.
    pub(crate) fn handle_read(&mut self, buf: &mut BytesMut, now: Instant) -> Result<(), ConnectionError> {
        self.last_read = now;
        while let Some(env) = self.codec.decode_envelope(buf).map_err(ConnectionError::Decode)? {
            self.handle_envelope(env);
        }
        Ok(())
    }

    /// Routes one received envelope: a reply to its request (freeing its id, orphaned or
    /// not), a heartbeat's answer to the heartbeat, an event to [`poll_event`](Self::poll_event).
    pub(crate) fn handle_envelope(&mut self, env: Envelope) {
        let stream = env.header.stream;
        trace!(stream, opcode = ?env.header.opcode, len = env.body.len(), "recv");
        if stream < 0 {
            self.queue_event(env);
            return;
        }
        if stream == HEARTBEAT_STREAM {
            // Answered: the next one is due an interval after the last byte received.
            self.heartbeat_sent = None;
            self.heartbeat_check = self.heartbeat.map(|h| self.last_read + h);
            return;
        }
        match self.in_flight.remove(stream) {
            Some(mut f) => {
                self.ids.free(stream);
                match f.reply.take() {
                    // The requester may have gone (dropped): the send fails and the
                    // reply is dropped.
                    Some(r) => {
                        let _ = r.send(Ok(env));
                    }
                    // A late reply to a timed-out request: its id was orphaned until now.
                    None => self.orphans = self.orphans.saturating_sub(1),
                }
            }
            None => debug!(stream, "reply on a stream with no request"),
        }
    }

    /// Decodes an event (stream -1) for [`poll_event`](Self::poll_event). Events are
    /// expanded here, so their size is bounded by [`MAX_EVENT_BODY`]; one that is not a
    /// valid event is dropped.
    fn queue_event(&mut self, env: Envelope) {
        let env = match decompress_envelope(env, MAX_EVENT_BODY, self.max_compression_ratio) {
            Ok(env) => env,
            Err(e) => {
                warn!(error = %e, "dropping an event that cannot be expanded");
                return;
            }
        };
        match ResponseMessage::from_envelope(&env) {
            Ok(ResponseMessage { response: Response::Event(ev), .. }) => self.events.push_back(ev),
            Ok(other) => debug!(opcode = ?other.response.opcode(), "non-event message on the event stream"),
            Err(e) => debug!(error = %e, "dropping an event that does not decode"),
        }
    }

    /// The next event the server pushed, if any.
    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When the core next wants [`handle_timeout`](Self::handle_timeout): the earliest
    /// request deadline (sent or waiting), heartbeat check or write-stall check.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        [self.next_expiry, self.waiting.deadline(), self.heartbeat_check, self.write_check].into_iter().flatten().min()
    }

    /// Does what is due at `now`: times requests out (orphaning the ids of those sent),
    /// checks the write stall, and sends, or gives up on, the heartbeat. Fails when the
    /// connection is defunct.
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Result<(), ConnectionError> {
        if self.next_expiry.is_some_and(|at| at <= now) {
            let (next, orphaned) = self.in_flight.expire(now);
            self.next_expiry = next;
            self.orphans += orphaned;
            if self.orphans > self.max_orphans {
                let reason = DefunctReason::TooManyOrphans { count: self.orphans, max: self.max_orphans };
                return Err(ConnectionError::Defunct { reason });
            }
        }
        if self.waiting.deadline().is_some_and(|at| at <= now) {
            self.waiting.expire(now);
        }
        if self.write_check.is_some_and(|at| at <= now) {
            if self.write_buf.is_empty() {
                self.write_check = None;
            } else if now >= self.last_written + self.write_timeout {
                let reason = DefunctReason::WriteStalled { after: self.write_timeout };
                return Err(ConnectionError::Defunct { reason });
            } else {
                self.write_check = Some(self.last_written + self.write_timeout);
            }
        }
        if let (Some(h), Some(check)) = (self.heartbeat, self.heartbeat_check)
            && check <= now
        {
            match self.heartbeat_sent {
                Some(at) if now >= at + self.heartbeat_timeout => {
                    let reason = DefunctReason::HeartbeatUnanswered { after: self.heartbeat_timeout };
                    return Err(ConnectionError::Defunct { reason });
                }
                Some(at) => self.heartbeat_check = Some(at + self.heartbeat_timeout),
                // Nothing received for the interval, whether requests are outstanding or
                // not (writes do not count: a server that stopped answering still lets
                // us write).
                None if now >= self.last_read + h => {
                    let env =
                        RequestMessage::new(HEARTBEAT_STREAM, Request::Options(Options)).to_envelope(self.version);
                    if let Ok(env) = env {
                        // Into the next batch, whatever the write buffer holds.
                        self.batch.push(env);
                    }
                    self.heartbeat_sent = Some(now);
                    self.heartbeat_check = Some(now + self.heartbeat_timeout);
                }
                None => self.heartbeat_check = Some(self.last_read + h),
            }
        }
        Ok(())
    }

    /// Requests sent and not yet answered, orphaned ones included.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether nothing is on the wire, waiting, or left to write: a connection whose
    /// handles are all gone may close then.
    pub(crate) fn is_idle(&self) -> bool {
        self.in_flight.is_empty() && self.waiting.is_empty() && self.write_buf.is_empty() && self.batch.is_empty()
    }

    /// Fails every request on the wire or waiting with `failure` (the connection is
    /// closing, for that reason). The core holds nothing afterwards.
    pub(crate) fn close(&mut self, failure: &ConnectionError) {
        if matches!(failure, ConnectionError::Defunct { .. }) {
            warn!(error = %failure, in_flight = self.in_flight.len(), waiting = self.waiting.len(), "connection defunct, closing it");
        } else {
            debug!(error = %failure, in_flight = self.in_flight.len(), "connection closing");
        }
        for mut f in self.in_flight.drain() {
            if let Some(r) = f.reply.take() {
                let _ = r.send(Err(failure.clone().into()));
            }
        }
        for cmd in self.waiting.drain() {
            let _ = cmd.reply.send(Err(failure.clone().into()));
        }
        self.orphans = 0;
        self.batch.clear();
    }
}

/// The earlier of two optional instants.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    a.into_iter().chain(b).min()
}
