//! The test server over real TCP, driven by a scripted client built on our codec.
//!
//! Every test runs through [`TestTarget`]: against an in-process testkit node by default,
//! against a real cluster when `CQLSTREAM_TEST_CONTACT_POINTS` is set. `cql` and
//! `handshake` check what a real Cassandra or ScyllaDB must do too, in a keyspace of the
//! test's own; what needs the testkit's control (fault injection, counters, stopping
//! nodes, configured users, a forced protocol ceiling, several nodes) runs only against
//! the testkit, after [`TestTarget::require_testkit`] has said what is skipped. `faults`
//! is all fault injection, so against a real node each of its tests says so and returns.
//!
//! The raw client picks its protocol versions itself (`CQLSTREAM_TEST_PROTOCOL` is for the
//! driver sessions that create and drop keyspaces). A real node may turn a version away
//! (ScyllaDB speaks v4 at most): [`Client::start`] then says what is skipped, and
//! [`ready`] steps down as a driver would.

mod cql;
mod faults;
mod handshake;

use std::net::SocketAddr;

use crate::support::{RealCluster, TestKeyspace, TestTarget};
use cqlstream::protocol::request::{AuthResponse, Startup};
use cqlstream::protocol::response::ErrorKind;
use cqlstream::protocol::{
    Compression, CqlCodec, Envelope, Framing, Request, RequestMessage, Response, ResponseMessage, Role, Version,
};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// A bare connection speaking one protocol version, for byte-level tests.
#[derive(Debug)]
pub(crate) struct Client {
    pub(crate) io: Framed<TcpStream, CqlCodec>,
    version: Version,
    next_stream: i16,
}

impl Client {
    pub(crate) async fn connect(addr: SocketAddr, version: Version) -> Client {
        let stream = TcpStream::connect(addr).await.unwrap();
        Client { io: Framed::new(stream, CqlCodec::new(Role::Client)), version, next_stream: 0 }
    }

    pub(crate) async fn send(&mut self, request: Request) -> i16 {
        let stream = self.next_stream;
        self.next_stream += 1;
        let env = RequestMessage::new(stream, request).to_envelope(self.version).unwrap();
        self.io.send(env).await.unwrap();
        stream
    }

    pub(crate) async fn recv_envelope(&mut self) -> Envelope {
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), self.io.next()).await;
        next.expect("no reply within 5 s").expect("connection closed").expect("undecodable reply")
    }

    pub(crate) async fn recv(&mut self) -> ResponseMessage {
        ResponseMessage::from_envelope(&self.recv_envelope().await).unwrap()
    }

    pub(crate) async fn request(&mut self, request: Request) -> Response {
        let stream = self.send(request).await;
        let reply = self.recv().await;
        assert_eq!(reply.stream, stream);
        reply.response
    }

    /// STARTUP, then switch framing as the spec says once READY/AUTHENTICATE arrives.
    /// On v3/v4 compression is on from the moment STARTUP is sent: a real server
    /// compresses its reply (protocol-spec/README.md, "What real servers do").
    pub(crate) async fn startup(&mut self, compression: Compression) -> Response {
        let name = (compression == Compression::Lz4).then_some("lz4");
        let stream = self.send(Request::Startup(Startup::new(name))).await;
        if !self.version.uses_segments() {
            self.io.codec_mut().set_compression(compression);
        }
        let reply = self.recv().await;
        assert_eq!(reply.stream, stream);
        let reply = reply.response;
        if matches!(reply, Response::Ready | Response::Authenticate(_)) {
            let codec = self.io.codec_mut();
            codec.set_compression(compression);
            if self.version.uses_segments() {
                codec.set_framing(Framing::Segments);
            }
        }
        reply
    }

    /// Connects to `target` at `version` and sends STARTUP; the reply is READY or
    /// AUTHENTICATE. `None` when a real node turns the version away: only the testkit
    /// is sure to speak every version, so that is printed as a skip.
    pub(crate) async fn start(
        target: &TestTarget,
        version: Version,
        compression: Compression,
    ) -> Option<(Client, Response)> {
        let mut c = Client::connect(target.addr().await.unwrap(), version).await;
        let reply = c.startup(compression).await;
        if target.is_real() && matches!(&reply, Response::Error(e) if e.kind == ErrorKind::ProtocolError) {
            let _ = target.require_testkit(&format!("speaking {version} (the node turns it away)"));
            return None;
        }
        Some((c, reply))
    }

    /// [`Client::start`], then logged in with `CQLSTREAM_TEST_USERNAME`/`_PASSWORD` when a
    /// real node asks: a client ready for queries. The testkit must answer READY.
    pub(crate) async fn ready_at(target: &TestTarget, version: Version, compression: Compression) -> Option<Client> {
        let (mut c, reply) = Client::start(target, version, compression).await?;
        if target.is_real() && matches!(reply, Response::Authenticate(_)) {
            let (user, password) = real_credentials().expect("the node asks for a login: set CQLSTREAM_TEST_USERNAME");
            let login = c.request(Request::AuthResponse(AuthResponse::plain(&user, &password))).await;
            assert!(matches!(login, Response::AuthSuccess(_)), "{login:?}");
        } else {
            assert_eq!(reply, Response::Ready, "{version} {compression:?}");
        }
        Some(c)
    }
}

/// A client ready at `version` with LZ4 or, on a real node that turns `version` away, at
/// the highest version below it that the node takes, as a driver steps down.
pub(crate) async fn ready(target: &TestTarget, version: Version) -> Client {
    for v in Version::ALL.into_iter().rev().filter(|v| *v <= version) {
        if let Some(c) = Client::ready_at(target, v, Compression::Lz4).await {
            return c;
        }
    }
    panic!("{} takes no protocol version up to {version}", target.describe())
}

/// The start of most tests: a keyspace of the test's own and a client [`ready`] at
/// `version`, not yet using the keyspace. Keep the guard alive (`let (ks, c)` or
/// `let (_ks, c)`) until the test ends: against a real cluster dropping it drops the
/// keyspace.
pub(crate) async fn setup(target: &TestTarget, version: Version) -> (TestKeyspace, Client) {
    let ks = target.keyspace().await.unwrap();
    (ks, ready(target, version).await)
}

/// A second unique keyspace name, for tests of CREATE KEYSPACE itself: the test
/// keyspace's `t_` prefix swapped for `x_`, so no longer than it (CQL allows 48
/// characters) and taken by nobody else. The test drops it at its end.
pub(crate) fn another_keyspace(ks: &TestKeyspace) -> String {
    format!("x{}", &ks.name()[1..])
}

/// The login a real cluster was given, if any.
pub(crate) fn real_credentials() -> Option<(String, String)> {
    RealCluster::from_env().unwrap().and_then(|c| c.credentials)
}
