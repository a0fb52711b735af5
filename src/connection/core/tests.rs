//! The core driven by hand: a fake clock (plain `Instant`s, advanced by the test), no
//! socket, and a server-role codec that reads what the core would write and encodes
//! the replies it is fed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::sync::{Semaphore, oneshot};

use super::stream_ids::HEARTBEAT_STREAM;
use super::*;
use crate::protocol::request::Query;
use crate::protocol::response::{ResultBody, StatusChangeType, Supported};
use crate::protocol::{Consistency, DecodeError, QueryParameters, Role};

type Reply = oneshot::Receiver<Result<Envelope, RequestError>>;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn limits() -> Limits {
    Limits {
        request_ids: 8,
        heartbeat: None,
        heartbeat_timeout: ms(500),
        write_timeout: ms(2000),
        max_orphans: 4,
        max_compression_ratio: 64,
    }
}

/// A core at v4 and the server end of its would-be socket.
struct Harness {
    core: Core,
    t0: Instant,
    permits: Arc<Semaphore>,
    server: CqlCodec,
    /// What the server has not decoded yet of what the core wrote.
    wire: BytesMut,
}

impl Harness {
    fn new(limits: Limits) -> Harness {
        Harness::with_codec(limits, CqlCodec::new(Role::Client))
    }

    fn with_codec(limits: Limits, codec: CqlCodec) -> Harness {
        let t0 = Instant::now();
        Harness {
            core: Core::new(codec, Version::V4, limits, t0),
            t0,
            permits: Arc::new(Semaphore::new(MAX_STREAMS)),
            server: CqlCodec::new(Role::Server),
            wire: BytesMut::new(),
        }
    }

    /// The fake clock: `n` ms after the start.
    fn at(&self, n: u64) -> Instant {
        self.t0 + ms(n)
    }

    /// Hands the core a query whose caller waits `timeout_ms` from the start.
    fn request(&mut self, cql: &str, timeout_ms: u64) -> Reply {
        let query = Query::new(cql, QueryParameters::new(Consistency::One));
        let envelope = RequestMessage::new(0, Request::Query(query)).to_envelope(Version::V4).unwrap();
        let (reply, rx) = oneshot::channel();
        let permit = self.permits.clone().try_acquire_owned().unwrap();
        let timeout = ms(timeout_ms);
        self.core.handle_command(Command { envelope, reply, permit, deadline: self.t0 + timeout, timeout });
        rx
    }

    /// Encodes what waits, "writes" all of it at `now_ms`, and returns the stream id and
    /// request of each envelope the server reads from it.
    fn flush(&mut self, now_ms: u64) -> Vec<(i16, Request)> {
        let now = self.at(now_ms);
        self.core.encode_waiting(now);
        let n = self.core.transmit().len();
        self.wire.extend_from_slice(self.core.transmit());
        self.core.handle_written(n, now);
        let mut sent = Vec::new();
        while let Some(env) = self.server.decode_envelope(&mut self.wire).unwrap() {
            sent.push((env.header.stream, RequestMessage::from_envelope(&env).unwrap().request));
        }
        sent
    }

    /// Feeds the core the server's `response` on `stream`, received at `now_ms`.
    fn reply(&mut self, stream: i16, response: Response, now_ms: u64) -> Result<(), ConnectionError> {
        let env = ResponseMessage::new(stream, response).to_envelope(Version::V4).unwrap();
        let mut bytes = BytesMut::new();
        self.server.encode_envelope(&env, &mut bytes).unwrap();
        self.core.handle_read(&mut bytes, self.at(now_ms))
    }
}

fn void() -> Response {
    Response::Result(ResultBody::Void)
}

fn is_timeout(rx: &mut Reply, after_ms: u64) -> bool {
    matches!(rx.try_recv(), Ok(Err(RequestError::Timeout(t))) if t == ms(after_ms))
}

fn is_pending(rx: &mut Reply) -> bool {
    matches!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty))
}

fn ids(sent: &[(i16, Request)]) -> Vec<i16> {
    sent.iter().map(|(id, _)| *id).collect()
}

#[test]
fn each_request_times_out_at_its_own_deadline() {
    let mut h = Harness::new(limits());
    let mut a = h.request("SELECT a", 100);
    let mut b = h.request("SELECT b", 300);
    assert_eq!(ids(&h.flush(0)), [0, 1]);
    assert_eq!(h.core.poll_timeout(), Some(h.at(100)));
    h.core.handle_timeout(h.at(100)).unwrap();
    assert!(is_timeout(&mut a, 100));
    assert!(is_pending(&mut b));
    assert_eq!(h.core.poll_timeout(), Some(h.at(300)));
    h.core.handle_timeout(h.at(300)).unwrap();
    assert!(is_timeout(&mut b, 300));
    assert_eq!(h.core.in_flight(), 2, "both ids stay taken until the late replies");
    assert_eq!(h.core.poll_timeout(), Some(h.at(2000)), "only the (lazy) write check is left");
}

#[test]
fn a_request_waiting_for_an_id_times_out() {
    let mut h = Harness::new(Limits { request_ids: 1, ..limits() });
    let mut sent = h.request("SELECT sent", 1000);
    let mut waits = h.request("SELECT waits", 100);
    assert_eq!(ids(&h.flush(0)), [0]);
    assert_eq!(h.core.poll_timeout(), Some(h.at(100)), "the waiting request's deadline wakes the core");
    h.core.handle_timeout(h.at(100)).unwrap();
    assert!(is_timeout(&mut waits, 100));
    assert!(is_pending(&mut sent));
    assert_eq!(h.core.poll_timeout(), Some(h.at(1000)));
    // Its id freed, the connection has nothing more to send.
    h.reply(0, void(), 200).unwrap();
    assert!(matches!(sent.try_recv(), Ok(Ok(_))));
    assert!(h.flush(200).is_empty());
    assert!(h.core.is_idle());
}

#[test]
fn orphans_past_the_limit_make_the_connection_defunct() {
    let mut h = Harness::new(Limits { max_orphans: 2, ..limits() });
    let mut replies: Vec<Reply> = (0..2).map(|_| h.request("SELECT hang", 100)).collect();
    h.flush(0);
    h.core.handle_timeout(h.at(100)).unwrap();
    assert!(replies.iter_mut().all(|r| is_timeout(r, 100)), "at the limit, not over it");
    let mut third = h.request("SELECT hang", 200);
    h.flush(150);
    let e = h.core.handle_timeout(h.at(200)).unwrap_err();
    assert!(is_timeout(&mut third, 200));
    assert!(
        matches!(e, ConnectionError::Defunct { reason: DefunctReason::TooManyOrphans { count: 3, max: 2 } }),
        "{e}"
    );
}

#[test]
fn the_orphan_limit_stays_below_the_request_ids() {
    let mut h = Harness::new(Limits { request_ids: 2, max_orphans: 100, ..limits() });
    let _a = h.request("SELECT hang", 100);
    let _b = h.request("SELECT hang", 100);
    h.flush(0);
    let e = h.core.handle_timeout(h.at(100)).unwrap_err();
    assert!(
        matches!(e, ConnectionError::Defunct { reason: DefunctReason::TooManyOrphans { count: 2, max: 1 } }),
        "{e}"
    );
}

#[test]
fn late_replies_free_orphaned_ids() {
    let mut h = Harness::new(Limits { request_ids: 3, max_orphans: 2, ..limits() });
    let _a = h.request("SELECT a", 100);
    let _b = h.request("SELECT b", 100);
    assert_eq!(ids(&h.flush(0)), [0, 1]);
    h.core.handle_timeout(h.at(100)).unwrap();
    assert_eq!(h.core.in_flight(), 2);
    // The late reply frees its id and no longer counts as an orphan.
    h.reply(0, void(), 150).unwrap();
    assert_eq!(h.core.in_flight(), 1);
    let mut c = h.request("SELECT c", 300);
    assert_eq!(ids(&h.flush(150)), [0], "the freed id is used again");
    h.core.handle_timeout(h.at(300)).unwrap();
    assert!(is_timeout(&mut c, 300));
    assert_eq!(h.core.in_flight(), 2, "two orphans: at the limit, the connection stays");
    // A reply on an id nobody holds is ignored.
    h.reply(2, void(), 400).unwrap();
    assert_eq!(h.core.in_flight(), 2);
}

#[test]
fn a_heartbeat_goes_out_after_an_interval_without_receiving() {
    let mut h = Harness::new(Limits { heartbeat: Some(ms(1000)), ..limits() });
    assert_eq!(h.core.poll_timeout(), Some(h.at(1000)));
    h.core.handle_timeout(h.at(1000)).unwrap();
    let sent = h.flush(1000);
    assert!(matches!(sent.as_slice(), [(HEARTBEAT_STREAM, Request::Options(_))]), "{sent:?}");
    assert_eq!(h.core.poll_timeout(), Some(h.at(1500)), "its timeout");
}

#[test]
fn receiving_postpones_the_heartbeat_and_writing_does_not() {
    let mut h = Harness::new(Limits { heartbeat: Some(ms(1000)), ..limits() });
    let _r = h.request("SELECT 1", 5000);
    h.flush(100);
    h.reply(0, void(), 600).unwrap();
    let _r = h.request("SELECT 2", 5000);
    h.flush(900);
    // Due at 1000 when the core last looked; now 600 + 1000.
    h.core.handle_timeout(h.at(1000)).unwrap();
    assert!(h.flush(1000).is_empty(), "no heartbeat 400 ms after a reply");
    assert_eq!(h.core.poll_timeout(), Some(h.at(1600)));
    h.core.handle_timeout(h.at(1600)).unwrap();
    assert_eq!(ids(&h.flush(1600)), [HEARTBEAT_STREAM], "writes do not count as life");
}

#[test]
fn an_unanswered_heartbeat_makes_the_connection_defunct() {
    let mut h = Harness::new(Limits { heartbeat: Some(ms(1000)), ..limits() });
    h.core.handle_timeout(h.at(1000)).unwrap();
    h.flush(1000);
    h.core.handle_timeout(h.at(1499)).unwrap();
    let e = h.core.handle_timeout(h.at(1500)).unwrap_err();
    assert!(
        matches!(e, ConnectionError::Defunct { reason: DefunctReason::HeartbeatUnanswered { after } } if after == ms(500)),
        "{e}"
    );
}

#[test]
fn an_answered_heartbeat_keeps_the_connection() {
    let mut h = Harness::new(Limits { heartbeat: Some(ms(1000)), ..limits() });
    h.core.handle_timeout(h.at(1000)).unwrap();
    h.flush(1000);
    h.reply(HEARTBEAT_STREAM, Response::Supported(Supported::default()), 1200).unwrap();
    h.core.handle_timeout(h.at(1500)).unwrap();
    assert!(h.flush(1500).is_empty());
    assert_eq!(h.core.poll_timeout(), Some(h.at(2200)), "the next one an interval after the answer");
    h.core.handle_timeout(h.at(2200)).unwrap();
    assert_eq!(ids(&h.flush(2200)), [HEARTBEAT_STREAM]);
}

#[test]
fn with_every_id_taken_requests_wait_and_the_heartbeat_has_its_own() {
    let mut h = Harness::new(Limits { request_ids: 2, heartbeat: Some(ms(1000)), ..limits() });
    let mut a = h.request("SELECT a", 5000);
    let _b = h.request("SELECT b", 5000);
    let mut c = h.request("SELECT c", 5000);
    assert_eq!(ids(&h.flush(0)), [0, 1]);
    h.core.handle_timeout(h.at(1000)).unwrap();
    assert_eq!(ids(&h.flush(1000)), [HEARTBEAT_STREAM], "with every request id taken");
    h.reply(0, void(), 1100).unwrap();
    assert!(matches!(a.try_recv(), Ok(Ok(env)) if env.header.stream == 0));
    let sent = h.flush(1100);
    assert!(matches!(sent.as_slice(), [(0, Request::Query(q))] if q.query == "SELECT c"), "{sent:?}");
    assert!(is_pending(&mut c));
}

#[test]
fn past_the_high_water_requests_are_accepted_and_their_deadlines_hold() {
    let mut h = Harness::new(limits());
    let _big = h.request(&"x".repeat(WRITE_HIGH_WATER + 1), 10_000);
    h.core.encode_waiting(h.at(0));
    assert!(h.core.transmit().len() > WRITE_HIGH_WATER);
    let mut small = h.request("SELECT small", 100);
    h.core.encode_waiting(h.at(10));
    assert_eq!(h.core.in_flight(), 1, "the small request waits for room");
    assert_eq!(h.core.poll_timeout(), Some(h.at(100)));
    h.core.handle_timeout(h.at(100)).unwrap();
    assert!(is_timeout(&mut small, 100));
    // Accepted while the buffer is full; it goes out once there is room again.
    let mut later = h.request("SELECT later", 5000);
    assert_eq!(ids(&h.flush(200)), [0], "the big one is written, the later one still waits");
    assert_eq!(ids(&h.flush(210)), [1]);
    assert!(is_pending(&mut later));
}

#[test]
fn a_socket_that_takes_no_bytes_for_the_write_timeout_is_defunct() {
    let mut h = Harness::new(limits());
    let _big = h.request(&"x".repeat(100_000), 10_000);
    h.core.encode_waiting(h.at(0));
    assert_eq!(h.core.poll_timeout(), Some(h.at(2000)), "the write-stall check");
    // Some progress at 1500 moves the check.
    h.core.handle_written(1000, h.at(1500));
    h.core.handle_timeout(h.at(2000)).unwrap();
    assert_eq!(h.core.poll_timeout(), Some(h.at(3500)));
    let e = h.core.handle_timeout(h.at(3500)).unwrap_err();
    assert!(
        matches!(e, ConnectionError::Defunct { reason: DefunctReason::WriteStalled { after } } if after == ms(2000)),
        "{e}"
    );
}

#[test]
fn an_emptied_write_buffer_stops_the_write_check() {
    let mut h = Harness::new(limits());
    let _r = h.request("SELECT 1", 10_000);
    h.flush(0);
    assert_eq!(h.core.poll_timeout(), Some(h.at(2000)), "checked lazily");
    h.core.handle_timeout(h.at(2000)).unwrap();
    assert_eq!(h.core.poll_timeout(), Some(h.at(10_000)));
}

#[test]
fn an_oversized_envelope_fails_alone() {
    let mut h = Harness::with_codec(limits(), CqlCodec::new(Role::Client).with_max_envelope_len(1000));
    let mut a = h.request("SELECT a", 5000);
    let mut big = h.request(&"x".repeat(2000), 5000);
    let mut c = h.request("SELECT c", 5000);
    let sent = h.flush(0);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(matches!(big.try_recv(), Ok(Err(RequestError::Connection(ConnectionError::Unexpected(_))))));
    assert!(is_pending(&mut a) && is_pending(&mut c));
    assert_eq!(h.core.in_flight(), 2, "the refused request's id is free again");
}

#[test]
fn a_reply_in_another_protocol_version_fails_the_connection() {
    let mut h = Harness::new(limits());
    let _r = h.request("SELECT 1", 5000);
    h.flush(0);
    // RESULT Void with a v5 version byte on this v4 connection.
    let mut bytes = BytesMut::from(&[0x85, 0, 0, 0, 0x08, 0, 0, 0, 4, 0, 0, 0, 1][..]);
    let e = h.core.handle_read(&mut bytes, h.at(10)).unwrap_err();
    assert!(matches!(e, ConnectionError::Decode(DecodeError::VersionMismatch { expected: 4, found: 5, .. })), "{e}");
}

#[test]
fn events_are_handed_out_and_replies_routed() {
    let mut h = Harness::new(limits());
    let mut r = h.request("SELECT 1", 5000);
    h.flush(0);
    let up = Event::StatusChange { change: StatusChangeType::Up, addr: "10.0.0.7:9042".parse().unwrap() };
    h.reply(-1, Response::Event(up.clone()), 5).unwrap();
    h.reply(0, void(), 6).unwrap();
    assert_eq!(h.core.poll_event(), Some(up));
    assert_eq!(h.core.poll_event(), None);
    assert!(matches!(r.try_recv(), Ok(Ok(env)) if env.header.stream == 0));
}

#[test]
fn closing_fails_what_is_in_flight_and_waiting_with_the_error() {
    let mut h = Harness::new(Limits { request_ids: 1, ..limits() });
    let mut sent = h.request("SELECT sent", 5000);
    let mut waits = h.request("SELECT waits", 5000);
    h.flush(0);
    let failure = ConnectionError::Defunct { reason: DefunctReason::HeartbeatUnanswered { after: ms(500) } };
    h.core.close(&failure);
    for rx in [&mut sent, &mut waits] {
        let r = rx.try_recv();
        assert!(matches!(r, Ok(Err(RequestError::Connection(ConnectionError::Defunct { .. })))), "{r:?}");
    }
    assert!(h.core.is_idle());
}

#[test]
fn a_dropped_caller_is_not_sent() {
    let mut h = Harness::new(limits());
    drop(h.request("SELECT gone", 5000));
    let _kept = h.request("SELECT kept", 5000);
    let sent = h.flush(0);
    assert!(matches!(sent.as_slice(), [(0, Request::Query(q))] if q.query == "SELECT kept"), "{sent:?}");
}
