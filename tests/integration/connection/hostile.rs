//! Connections to scripted hostile peers: a raw TCP listener on 127.0.0.1 that completes a
//! v4 handshake with `CqlCodec` in `Role::Server` and then misbehaves byte by byte (stops
//! reading, announces a frame it never finishes, leaves queries unanswered, answers in
//! another protocol version, sends an LZ4 bomb). Started by each test, so these need no
//! testkit node and run the same against a real cluster.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use cqlstream::connection::{Connection, ConnectionConfig, ConnectionError, DefunctReason, RequestError};
use cqlstream::protocol::request::Query;
use cqlstream::protocol::response::{ResultBody, Supported};
use cqlstream::protocol::{
    Compression, Consistency, CqlCodec, DecodeError, Envelope, QueryParameters, Request, RequestMessage, Response,
    ResponseMessage, Role, Version,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::protocol::hostile::lz4_bomb;

/// Generous bound on every test, so that a regression fails instead of hanging.
const OUTER: Duration = Duration::from_secs(20);

/// The server end of one scripted connection, past its handshake.
struct Peer {
    socket: TcpStream,
    codec: CqlCodec,
    buf: BytesMut,
}

impl Peer {
    /// The next request, or `None` when the client went away.
    async fn recv(&mut self) -> Option<(Envelope, Request)> {
        loop {
            match self.codec.decode_envelope(&mut self.buf) {
                Ok(Some(env)) => {
                    let msg = RequestMessage::from_envelope(&env).ok()?;
                    return Some((env, msg.request));
                }
                Ok(None) => {}
                Err(_) => return None,
            }
            match self.socket.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    async fn reply(&mut self, stream: i16, response: Response) {
        let env = ResponseMessage::new(stream, response).to_envelope(Version::V4).unwrap();
        let mut out = BytesMut::new();
        self.codec.encode_envelope(&env, &mut out).unwrap();
        let _ = self.socket.write_all(&out).await;
    }

    async fn raw(&mut self, bytes: &[u8]) {
        let _ = self.socket.write_all(bytes).await;
    }

    /// Reads and drops everything until the client goes away.
    async fn drain(mut self) {
        let mut sink = vec![0; 64 * 1024];
        while matches!(self.socket.read(&mut sink).await, Ok(n) if n > 0) {}
    }
}

/// Listens on 127.0.0.1, accepts one connection, answers OPTIONS with SUPPORTED (LZ4
/// offered) and STARTUP with READY at v4, then runs `script` on it.
async fn peer<F, Fut>(script: F) -> SocketAddr
where
    F: FnOnce(Peer) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        socket.set_nodelay(true).unwrap();
        let mut p = Peer { socket, codec: CqlCodec::new(Role::Server), buf: BytesMut::new() };
        let Some((env, Request::Options(_))) = p.recv().await else { return };
        let supported = Supported {
            options: vec![
                (Supported::COMPRESSION.into(), vec!["lz4".into()]),
                (Supported::PROTOCOL_VERSIONS.into(), vec!["4/v4".into()]),
            ],
        };
        p.reply(env.header.stream, Response::Supported(supported)).await;
        let Some((env, Request::Startup(startup))) = p.recv().await else { return };
        p.reply(env.header.stream, Response::Ready).await;
        if startup.options.iter().any(|(k, v)| k == "COMPRESSION" && v == "lz4") {
            p.codec.set_compression(Compression::Lz4);
        }
        script(p).await;
    });
    addr
}

fn config() -> ConnectionConfig {
    ConnectionConfig::new().protocol(Version::V4)
}

fn q(cql: impl Into<String>) -> RequestMessage {
    RequestMessage::new(0, Request::Query(Query::new(cql, QueryParameters::new(Consistency::One))))
}

/// The CQL text of a query, if `request` is one.
fn cql(request: &Request) -> &str {
    match request {
        Request::Query(q) => &q.query,
        _ => "",
    }
}

/// Waits until the connection reports that it closed, and why.
async fn closed(conn: &Connection) -> ConnectionError {
    loop {
        if let Some(e) = conn.closed() {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn requests_time_out_and_the_connection_goes_defunct_when_the_server_stops_reading() {
    // The peer never reads after the handshake: its receive window and our send buffer
    // fill up, and what is left waits in the connection task.
    let addr = peer(|p| async move {
        std::future::pending::<()>().await;
        drop(p);
    })
    .await;
    let config = config().heartbeat_interval(None).write_timeout(Duration::from_millis(1500));
    let conn = Connection::open(addr, &config).await.unwrap();
    tokio::time::timeout(OUTER, async {
        // 32 MiB of queries: more than the socket buffers (a few MiB on loopback) and
        // the task's write high water (4 MiB).
        let big = "x".repeat(4 << 20);
        let mut large = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (conn, big) = (conn.clone(), big.clone());
            large.spawn(async move { conn.request_message(q(big), Some(Duration::from_millis(500))).await });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = tokio::time::Instant::now();
        let mut small = tokio::task::JoinSet::new();
        for i in 0..10 {
            let conn = conn.clone();
            small.spawn(async move {
                conn.request_message(q(format!("SELECT {i}")), Some(Duration::from_millis(500))).await
            });
        }
        while let Some(r) = small.join_next().await {
            let r = r.unwrap();
            assert!(matches!(r, Err(RequestError::Timeout(t)) if t == Duration::from_millis(500)), "{r:?}");
        }
        assert!(started.elapsed() < Duration::from_secs(3), "the deadlines held: {:?}", started.elapsed());
        while let Some(r) = large.join_next().await {
            assert!(r.unwrap().is_err());
        }
        let e = closed(&conn).await;
        assert!(
            matches!(&e, ConnectionError::Defunct { reason: DefunctReason::WriteStalled { after } } if *after == Duration::from_millis(1500)),
            "{e}"
        );
        // Later requests fail at once with the same error.
        let r = conn.request_message(q("SELECT 1"), None).await;
        assert!(matches!(r, Err(RequestError::Connection(ConnectionError::Defunct { .. }))), "{r:?}");
    })
    .await
    .expect("requests hung on a connection whose server stopped reading");
}

#[tokio::test]
async fn a_frame_announced_and_never_finished_makes_a_busy_connection_defunct() {
    // The first QUERY is answered with a header announcing 200 MiB and 3 bytes of it;
    // then nothing more, while the peer keeps reading (so writes never stall).
    let addr = peer(|mut p| async move {
        let Some((env, _)) = p.recv().await else { return };
        let s = env.header.stream.to_be_bytes();
        let len = (200u32 << 20).to_be_bytes();
        p.raw(&[0x84, 0, s[0], s[1], 0x08, len[0], len[1], len[2], len[3], 0, 0, 0]).await;
        p.drain().await;
    })
    .await;
    let config = config()
        .heartbeat_interval(Some(Duration::from_millis(200)))
        .heartbeat_timeout(Duration::from_millis(300))
        .request_timeout(Duration::from_millis(150));
    let conn = Connection::open(addr, &config).await.unwrap();
    tokio::time::timeout(OUTER, async {
        let started = tokio::time::Instant::now();
        // A busy connection: a request every 30 ms, so writes never let it look idle.
        let mut failures = Vec::new();
        while conn.closed().is_none() && started.elapsed() < Duration::from_secs(10) {
            let conn = conn.clone();
            let r = tokio::spawn(async move { conn.request_message(q("SELECT 1"), None).await });
            tokio::time::sleep(Duration::from_millis(30)).await;
            if r.is_finished() {
                failures.push(r.await.unwrap().unwrap_err());
            }
        }
        let e = closed(&conn).await;
        assert!(matches!(&e, ConnectionError::Defunct { reason: DefunctReason::HeartbeatUnanswered { .. } }), "{e}");
        // Interval (200 ms without a byte) + timeout (300 ms), with slack for a loaded machine.
        assert!(started.elapsed() < Duration::from_secs(3), "defunct after {:?}", started.elapsed());
        assert!(failures.iter().all(|e| matches!(e, RequestError::Timeout(_) | RequestError::Connection(_))));
        let r = conn.request_message(q("SELECT 1"), None).await;
        assert!(matches!(r, Err(RequestError::Connection(ConnectionError::Defunct { .. }))), "{r:?}");
    })
    .await
    .expect("the wedged connection was never declared defunct");
}

/// A peer that answers OPTIONS (heartbeats) and every QUERY but those containing
/// `hang`, counting the OPTIONS it gets.
async fn selective_peer(options: Arc<AtomicUsize>) -> SocketAddr {
    peer(move |mut p| async move {
        while let Some((env, request)) = p.recv().await {
            match &request {
                Request::Options(_) => {
                    options.fetch_add(1, Ordering::SeqCst);
                    p.reply(env.header.stream, Response::Supported(Supported::default())).await;
                }
                r if cql(r).contains("hang") => {}
                _ => p.reply(env.header.stream, Response::Result(ResultBody::Void)).await,
            }
        }
    })
    .await
}

#[tokio::test]
async fn orphaned_stream_ids_past_the_limit_make_the_connection_defunct() {
    let options = Arc::new(AtomicUsize::new(0));
    let addr = selective_peer(options.clone()).await;
    let config = config()
        .max_streams(8)
        .max_orphaned_streams(4)
        .request_timeout(Duration::from_millis(150))
        .heartbeat_interval(Some(Duration::from_millis(100)))
        .heartbeat_timeout(Duration::from_secs(2));
    let conn = Connection::open(addr, &config).await.unwrap();
    tokio::time::timeout(OUTER, async {
        for _ in 0..4 {
            let r = conn.request_message(q("SELECT hang"), None).await;
            assert!(matches!(r, Err(RequestError::Timeout(_))), "{r:?}");
        }
        // At the limit, not over it: the ids left still serve healthy requests, and the
        // heartbeats are answered.
        assert_eq!(conn.in_flight(), 4, "the orphaned ids stay taken");
        let beats = options.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(options.load(Ordering::SeqCst) > beats, "heartbeats went on");
        for _ in 0..10 {
            let r = conn.request_message(q("SELECT ok"), None).await.unwrap();
            assert!(matches!(r.response, Response::Result(ResultBody::Void)));
        }
        assert!(conn.closed().is_none());
        // One more orphan passes the limit.
        let r = conn.request_message(q("SELECT hang"), None).await;
        assert!(matches!(r, Err(RequestError::Timeout(_))), "{r:?}");
        let e = closed(&conn).await;
        assert!(
            matches!(&e, ConnectionError::Defunct { reason: DefunctReason::TooManyOrphans { count: 5, max: 4 } }),
            "{e}"
        );
        let r = conn.request_message(q("SELECT ok"), None).await;
        assert!(matches!(r, Err(RequestError::Connection(ConnectionError::Defunct { .. }))), "{r:?}");
        assert_eq!(conn.in_flight(), 0);
    })
    .await
    .expect("the connection with orphaned ids hung");
}

#[tokio::test]
async fn heartbeats_and_healthy_requests_work_while_ids_are_nearly_exhausted() {
    // Two ids, the limit capped at one orphan: with one id orphaned and the other busy,
    // the heartbeat still gets its own id.
    let options = Arc::new(AtomicUsize::new(0));
    let addr = selective_peer(options.clone()).await;
    let config = config()
        .max_streams(2)
        .max_orphaned_streams(100)
        .request_timeout(Duration::from_millis(150))
        .heartbeat_interval(Some(Duration::from_millis(100)))
        .heartbeat_timeout(Duration::from_secs(2));
    let conn = Connection::open(addr, &config).await.unwrap();
    tokio::time::timeout(OUTER, async {
        let r = conn.request_message(q("SELECT hang"), None).await;
        assert!(matches!(r, Err(RequestError::Timeout(_))), "{r:?}");
        // The last id holds a long unanswered request (timeout 1 s).
        let busy = {
            let conn = conn.clone();
            tokio::spawn(async move { conn.request_message(q("SELECT hang"), Some(Duration::from_secs(1))).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(conn.in_flight(), 2, "every request id is taken");
        let beats = options.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(options.load(Ordering::SeqCst) >= beats + 2, "heartbeats need no request id");
        assert!(conn.closed().is_none(), "one orphan is within the limit");
        // The busy request times out: a second orphan, over the capped limit of one.
        assert!(matches!(busy.await.unwrap(), Err(RequestError::Timeout(_))));
        let e = closed(&conn).await;
        assert!(
            matches!(&e, ConnectionError::Defunct { reason: DefunctReason::TooManyOrphans { count: 2, max: 1 } }),
            "{e}"
        );
    })
    .await
    .expect("hung");
}

#[tokio::test]
async fn a_reply_in_another_protocol_version_closes_the_connection() {
    let addr = peer(|mut p| async move {
        let Some((env, _)) = p.recv().await else { return };
        let s = env.header.stream.to_be_bytes();
        // RESULT Void, but with a v5 version byte on this v4 connection.
        p.raw(&[0x85, 0, s[0], s[1], 0x08, 0, 0, 0, 4, 0, 0, 0, 1]).await;
        p.drain().await;
    })
    .await;
    let conn = Connection::open(addr, &config()).await.unwrap();
    tokio::time::timeout(OUTER, async {
        let r = conn.request_message(q("SELECT 1"), None).await;
        let expected = |e: &ConnectionError| {
            matches!(e, ConnectionError::Decode(DecodeError::VersionMismatch { expected: 4, found: 5, .. }))
        };
        assert!(matches!(&r, Err(RequestError::Connection(e)) if expected(e)), "{r:?}");
        assert!(expected(&closed(&conn).await));
    })
    .await
    .expect("hung");
}

fn compressed(stream: i16, body: &[u8]) -> Vec<u8> {
    let s = stream.to_be_bytes();
    let len = (body.len() as u32).to_be_bytes();
    let mut out = vec![0x84, 0x01, s[0], s[1], 0x08, len[0], len[1], len[2], len[3]];
    out.extend_from_slice(body);
    out
}

#[tokio::test]
async fn an_lz4_bomb_is_refused_with_a_typed_error() {
    let addr = peer(|mut p| async move {
        while let Some((env, request)) = p.recv().await {
            if cql(&request).contains("bomb") {
                p.raw(&compressed(env.header.stream, &lz4_bomb(200 << 20))).await;
            } else {
                p.reply(env.header.stream, Response::Result(ResultBody::Void)).await;
            }
        }
    })
    .await;
    let conn = Connection::open(addr, &config().compression(Compression::Lz4)).await.unwrap();
    assert_eq!(conn.compression(), Compression::Lz4);
    tokio::time::timeout(OUTER, async {
        let r = conn.request_message(q("SELECT ok"), None).await.unwrap();
        assert!(matches!(r.response, Response::Result(ResultBody::Void)));
        let r = conn.request_message(q("SELECT bomb"), None).await;
        let bomb = |e: &ConnectionError| {
            matches!(e, ConnectionError::Decode(DecodeError::CompressionRatio { declared, max_ratio: 64, .. }) if *declared == 200 << 20)
        };
        assert!(matches!(&r, Err(RequestError::Connection(e)) if bomb(e)), "{r:?}");
        assert!(bomb(&closed(&conn).await));
    })
    .await
    .expect("hung");
}

#[tokio::test]
async fn large_compressed_replies_are_expanded_for_the_caller() {
    // A compressed reply of 1 MiB (within the ratio-free size) and small ones. The
    // connection task hands bodies over compressed (the codec's deferred decompression,
    // tests/integration/protocol/hostile.rs); the caller's `send_envelope` expands them.
    let addr = peer(|mut p| async move {
        while let Some((env, request)) = p.recv().await {
            if cql(&request).contains("large") {
                // Not a valid RESULT body, so read through `send_envelope`, undecoded.
                p.raw(&compressed(env.header.stream, &lz4_bomb(1 << 20))).await;
            } else {
                p.reply(env.header.stream, Response::Result(ResultBody::Void)).await;
            }
        }
    })
    .await;
    let conn = Connection::open(addr, &config().compression(Compression::Lz4)).await.unwrap();
    tokio::time::timeout(OUTER, async {
        let large = RequestMessage::new(0, q("SELECT large").request).to_envelope(Version::V4).unwrap();
        let reply = conn.send_envelope(large, None).await.unwrap();
        assert_eq!(reply.body.len(), 1 << 20, "send_envelope returns the body expanded");
        assert_eq!(&reply.body[..2], b"aa");
        let r = conn.request_message(q("SELECT ok"), None).await.unwrap();
        assert!(matches!(r.response, Response::Result(ResultBody::Void)));
    })
    .await
    .expect("hung");
}

#[tokio::test]
async fn compressed_events_are_expanded_on_the_task_within_a_bound() {
    use cqlstream::protocol::response::{Event, StatusChangeType};
    let up = Event::StatusChange { change: StatusChangeType::Up, addr: "10.0.0.7:9042".parse().unwrap() };
    let sent = up.clone();
    let addr = peer(move |mut p| async move {
        while let Some((env, _)) = p.recv().await {
            // An "event" that declares 1 MiB uncompressed: over what the task expands.
            p.raw(&compressed(-1, &lz4_bomb(1 << 20))).await;
            // A real one, compressed by the peer's codec.
            p.reply(-1, Response::Event(sent.clone())).await;
            p.reply(env.header.stream, Response::Result(ResultBody::Void)).await;
        }
    })
    .await;
    let conn = Connection::open(addr, &config().compression(Compression::Lz4)).await.unwrap();
    let mut events = conn.events();
    tokio::time::timeout(OUTER, async {
        let r = conn.request_message(q("SELECT 1"), None).await.unwrap();
        assert!(matches!(r.response, Response::Result(ResultBody::Void)));
        assert_eq!(events.recv().await.unwrap(), up, "the oversized event was dropped, the real one delivered");
        assert!(conn.closed().is_none());
    })
    .await
    .expect("hung");
}

#[tokio::test]
async fn an_oversized_request_fails_alone_in_its_batch() {
    let addr = selective_peer(Arc::new(AtomicUsize::new(0))).await;
    let conn = Connection::open(addr, &config().max_envelope_len(10_000)).await.unwrap();
    tokio::time::timeout(OUTER, async {
        // Queued together, so that the task encodes them in one batch.
        let mut tasks = Vec::new();
        for i in 0..5 {
            let conn = conn.clone();
            let cql = if i == 2 { "x".repeat(20_000) } else { format!("SELECT {i}") };
            tasks.push(tokio::spawn(async move { conn.request_message(q(cql), None).await }));
        }
        for (i, t) in tasks.into_iter().enumerate() {
            let r = t.await.unwrap();
            if i == 2 {
                assert!(matches!(r, Err(RequestError::Connection(ConnectionError::Unexpected(_)))), "{r:?}");
            } else {
                assert!(
                    matches!(r, Ok(ResponseMessage { response: Response::Result(ResultBody::Void), .. })),
                    "{i}: {r:?}"
                );
            }
        }
        assert!(conn.closed().is_none());
    })
    .await
    .expect("hung");
}

#[tokio::test]
async fn the_compression_ratio_limit_is_configurable() {
    let addr = peer(|mut p| async move {
        while let Some((env, _)) = p.recv().await {
            p.raw(&compressed(env.header.stream, &lz4_bomb(8 << 20))).await;
        }
    })
    .await;
    let config = config().compression(Compression::Lz4).max_compression_ratio(255);
    let conn = Connection::open(addr, &config).await.unwrap();
    tokio::time::timeout(OUTER, async {
        let env = RequestMessage::new(0, q("SELECT zeros").request).to_envelope(Version::V4).unwrap();
        let reply = conn.send_envelope(env, None).await.unwrap();
        assert_eq!(reply.body.len(), 8 << 20, "255x accepted when configured");
    })
    .await
    .expect("hung");
}
