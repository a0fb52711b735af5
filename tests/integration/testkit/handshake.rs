//! Handshake: versions, framing switch, compression, authentication, events.
//!
//! Against a real node: every version it takes (ScyllaDB turns v5 away, which is the
//! step-down the v4-node test wants), the login it was given, and protocol errors. Only
//! against the testkit: its exact SUPPORTED lists, a forced v4 ceiling, configured users,
//! and events, which need nodes stopped, decommissioned and rejoined.

use crate::support::TestTarget;
use cqlstream::protocol::request::{AuthResponse, Options, Register, Startup};
use cqlstream::protocol::response::{ErrorKind, Event, EventType, StatusChangeType};
use cqlstream::protocol::{
    Compression, CqlCodec, DecodeError, Request, RequestMessage, Response, ResponseMessage, Role, Version,
};
use cqlstream::testkit::{TestCluster, TestNode};

use super::{Client, real_credentials};

#[tokio::test]
async fn every_version_and_compression_gets_ready_then_answers_framed() {
    let target =
        TestTarget::from_env("testkit::every_version_and_compression_gets_ready_then_answers_framed").await.unwrap();
    // Issue 7 point 3: Cassandra also offers snappy and lists v6-beta (4 versions);
    // ScyllaDB sends no PROTOCOL_VERSIONS at all.
    let exact = target.require_testkit("the exact SUPPORTED lists, which real servers fill differently").is_some();
    'versions: for version in Version::ALL {
        for compression in [Compression::None, Compression::Lz4] {
            // READY (after a login, on a real node that asks), or a version it turns away.
            let Some(mut c) = Client::ready_at(&target, version, compression).await else { continue 'versions };
            // After READY, v5 speaks segments and v4 compresses bodies: OPTIONS must work.
            let Response::Supported(s) = c.request(Request::Options(Options)).await else { panic!("not SUPPORTED") };
            let offered = s.get("COMPRESSION").unwrap_or_default();
            assert!(offered.iter().any(|c| c == "lz4"), "{offered:?}");
            if exact {
                assert_eq!(s.get("COMPRESSION"), Some(&["lz4".to_string()][..]));
                assert_eq!(s.get("PROTOCOL_VERSIONS").unwrap().len(), 3);
            }
        }
    }
}

#[tokio::test]
async fn a_v4_node_turns_v5_away_with_the_error_drivers_step_down_on() {
    // A real node is taken as it is: ScyllaDB speaks v4 at most, Cassandra takes v5.
    let v4_node = TestNode::builder().max_protocol(Version::V4);
    let target =
        TestTarget::from_env_with("testkit::a_v4_node_turns_v5_away_with_the_error_drivers_step_down_on", v4_node)
            .await
            .unwrap();
    let mut c = Client::connect(target.addr().await.unwrap(), Version::V5).await;
    let stream = c.send(Request::Startup(Startup::new(None))).await;
    let env = c.recv_envelope().await;
    let reply = ResponseMessage::from_envelope(&env).unwrap();
    if target.is_real() && !matches!(reply.response, Response::Error(_)) {
        // Only a node that speaks v4 at most can turn v5 away; the testkit is made one.
        let _ = target.require_testkit("turning v5 away, which this node speaks");
    } else {
        assert_eq!(env.header.version, Version::V4, "the error comes in the server's highest version");
        assert_eq!(reply.stream, stream);
        let Response::Error(e) = reply.response else { panic!("not an error") };
        assert_eq!(e.kind, ErrorKind::ProtocolError);
        // Cassandra's and ScyllaDB's texts both contain this.
        assert!(e.message.contains("unsupported protocol version"), "{}", e.message);
    }
    // v4 is accepted.
    Client::ready_at(&target, Version::V4, Compression::None).await.expect("v4 taken");
}

/// Sends STARTUP (asking for LZ4) at `version` on a fresh socket and returns the reply
/// exactly as it came off the wire: the 9-byte header and the body as sent.
async fn raw_startup_reply(addr: std::net::SocketAddr, version: Version) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let startup = RequestMessage::new(0, Request::Startup(Startup::new(Some("lz4")))).to_envelope(version).unwrap();
    let mut out = bytes::BytesMut::new();
    CqlCodec::new(Role::Client).encode_envelope(&startup, &mut out).unwrap();
    socket.write_all(&out).await.unwrap();
    let mut raw = vec![0u8; 9];
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), socket.read_exact(&mut raw)).await;
    read.expect("no reply to STARTUP within 5 s").unwrap();
    let len = u32::from_be_bytes([raw[5], raw[6], raw[7], raw[8]]) as usize;
    let mut body = vec![0u8; len];
    socket.read_exact(&mut body).await.unwrap();
    raw.extend_from_slice(&body);
    raw
}

/// Decodes one response envelope from `raw` with the client codec set to `compression`.
fn decode_with(raw: &[u8], compression: Compression) -> Result<Response, DecodeError> {
    let mut codec = CqlCodec::new(Role::Client);
    codec.set_compression(compression);
    let env = codec.decode_envelope(&mut bytes::BytesMut::from(raw))?.expect("a whole envelope");
    Ok(ResponseMessage::from_envelope(&env)?.response)
}

#[tokio::test]
async fn a_v3_or_v4_startup_asking_for_lz4_is_answered_compressed_as_cassandra_does() {
    let open =
        TestTarget::from_env("testkit::a_v3_or_v4_startup_asking_for_lz4_is_answered_compressed_as_cassandra_does")
            .await
            .unwrap();
    // Against the testkit, both a node without and a node with users; a real node is
    // taken as it is (READY or AUTHENTICATE, whichever it answers).
    let with_users = match open.testkit() {
        Some(_) => Some(TestNode::builder().user("cassandra", "cassandra").start().await.unwrap()),
        None => None,
    };
    let mut addrs = vec![(open.addr().await.unwrap(), open.is_real())];
    addrs.extend(with_users.as_ref().map(|n| (n.addr(), false)));
    for (i, (addr, real)) in addrs.into_iter().enumerate() {
        for version in [Version::V3, Version::V4, Version::V5] {
            let raw = raw_startup_reply(addr, version).await;
            let plain = decode_with(&raw, Compression::None);
            if real && matches!(&plain, Ok(Response::Error(e)) if e.kind == ErrorKind::ProtocolError) {
                let _ = open.require_testkit(&format!("speaking {version} (the node turns it away)"));
                continue;
            }
            assert_eq!(raw[0], 0x80 | version.as_u8(), "a response at {version}");
            let opcode = raw[4];
            if i == 1 {
                assert_eq!(opcode, 0x03, "the node with users answers AUTHENTICATE");
            } else if !real {
                assert_eq!(opcode, 0x02, "the node without users answers READY");
            }
            assert!(matches!(opcode, 0x02 | 0x03), "READY or AUTHENTICATE, not {opcode:#04x}");
            if version.uses_segments() {
                // v5: the reply is neither framed nor compressed; compression starts with
                // the segments after it (spec v5 §2.3.1).
                assert_eq!(raw[1] & 0x01, 0, "{version}: the reply to STARTUP is not compressed");
                assert!(matches!(plain, Ok(Response::Ready | Response::Authenticate(_))), "{plain:?}");
            } else {
                // Cassandra (the legacy pipeline's Envelope.Compressor) and ScyllaDB
                // (process_startup sets the compression the reply is written with)
                // both compress the reply to the STARTUP that asked for LZ4.
                assert_eq!(raw[1] & 0x01, 0x01, "{version}: the reply to STARTUP is flagged compressed");
                // A client that switches compression on only after READY cannot read it.
                assert_eq!(plain, Err(DecodeError::UnexpectedCompression { stream: 0 }), "{version}");
                let decoded = decode_with(&raw, Compression::Lz4).unwrap();
                assert!(matches!(decoded, Response::Ready | Response::Authenticate(_)), "{decoded:?}");
            }
        }
    }
}

#[tokio::test]
async fn queries_before_startup_are_protocol_errors() {
    let target = TestTarget::from_env("testkit::queries_before_startup_are_protocol_errors").await.unwrap();
    let mut c = Client::connect(target.addr().await.unwrap(), Version::V4).await;
    let reply = c.request(Request::Register(Register { events: vec![EventType::SchemaChange] })).await;
    assert!(matches!(reply, Response::Error(e) if e.kind == ErrorKind::ProtocolError));
}

#[tokio::test]
async fn password_authentication() {
    let node = TestNode::builder().user("cassandra", "cassandra");
    let target = TestTarget::from_env_with("testkit::password_authentication", node).await.unwrap();
    // A real node is asked for the login it was given; the testkit has the user above.
    let (user, password) = if target.is_real() {
        let Some(login) = real_credentials() else {
            let _ = target.require_testkit("a node with users: CQLSTREAM_TEST_USERNAME is not set");
            return;
        };
        login
    } else {
        ("cassandra".to_owned(), "cassandra".to_owned())
    };
    for version in [Version::V4, Version::V5] {
        let Some((mut c, reply)) = Client::start(&target, version, Compression::Lz4).await else { continue };
        let Response::Authenticate(a) = reply else { panic!("no AUTHENTICATE") };
        assert_eq!(a.authenticator, "org.apache.cassandra.auth.PasswordAuthenticator");
        // Issue 7 point 3: that a real node lets the same connection try again after a
        // wrong password is still to be confirmed.
        let wrong = c.request(Request::AuthResponse(AuthResponse::plain(&user, &format!("{password}-wrong")))).await;
        assert!(matches!(&wrong, Response::Error(e) if e.kind == ErrorKind::AuthenticationError), "{wrong:?}");
        let right = c.request(Request::AuthResponse(AuthResponse::plain(&user, &password))).await;
        assert!(matches!(right, Response::AuthSuccess(_)), "{right:?}");
    }
}

#[tokio::test]
async fn stopping_a_node_pushes_status_change_to_the_others() {
    let target = TestTarget::from_env("testkit::stopping_a_node_pushes_status_change_to_the_others").await.unwrap();
    if target.require_testkit("a two-node cluster with a node stopped and started").is_none() {
        return;
    }
    let cluster = TestCluster::builder().nodes(2).start().await.unwrap();
    let addrs = cluster.addrs();
    assert_eq!(addrs[0].port(), addrs[1].port());
    assert_eq!(addrs[1].ip().to_string(), "127.0.0.2");
    let mut c = Client::connect(addrs[0], Version::V5).await;
    assert_eq!(c.startup(Compression::None).await, Response::Ready);
    let reply = c.request(Request::Register(Register { events: vec![EventType::StatusChange] })).await;
    assert_eq!(reply, Response::Ready);

    cluster.node(1).stop().await;
    let event = c.recv().await;
    assert_eq!(event.stream, -1);
    assert_eq!(event.response, Response::Event(Event::StatusChange { change: StatusChangeType::Down, addr: addrs[1] }));
    assert!(tokio::net::TcpStream::connect(addrs[1]).await.is_err(), "a stopped node refuses connections");

    cluster.node(1).start().await.unwrap();
    let event = c.recv().await;
    assert_eq!(event.response, Response::Event(Event::StatusChange { change: StatusChangeType::Up, addr: addrs[1] }));
    let mut c2 = Client::connect(addrs[1], Version::V4).await;
    assert_eq!(c2.startup(Compression::None).await, Response::Ready);
}

#[tokio::test]
async fn schema_and_topology_changes_are_pushed() {
    use cqlstream::protocol::request::Query;
    use cqlstream::protocol::response::{SchemaChange, SchemaChangeTarget, SchemaChangeType, TopologyChangeType};
    use cqlstream::protocol::{Consistency, QueryParameters};
    let target = TestTarget::from_env("testkit::schema_and_topology_changes_are_pushed").await.unwrap();
    if target.require_testkit("a three-node cluster with a node decommissioned and rejoined").is_none() {
        return;
    }
    let cluster = TestCluster::builder().nodes(3).start().await.unwrap();
    let addrs = cluster.addrs();
    let mut listener = Client::connect(addrs[0], Version::V4).await;
    assert_eq!(listener.startup(Compression::None).await, Response::Ready);
    let all = vec![EventType::TopologyChange, EventType::StatusChange, EventType::SchemaChange];
    assert_eq!(listener.request(Request::Register(Register { events: all })).await, Response::Ready);

    // DDL sent to another node reaches this connection too: the schema is cluster-wide.
    let mut other = Client::connect(addrs[1], Version::V5).await;
    assert_eq!(other.startup(Compression::Lz4).await, Response::Ready);
    let cql = "CREATE KEYSPACE ks WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 3}";
    let reply = other.request(Request::Query(Query::new(cql, QueryParameters::new(Consistency::One)))).await;
    assert!(matches!(reply, Response::Result(_)), "{reply:?}");
    let change = SchemaChange {
        change: SchemaChangeType::Created,
        target: SchemaChangeTarget::Keyspace { keyspace: "ks".into() },
    };
    assert_eq!(listener.recv().await.response, Response::Event(Event::SchemaChange(change)));

    cluster.node(2).decommission().await;
    assert_eq!(
        listener.recv().await.response,
        Response::Event(Event::StatusChange { change: StatusChangeType::Down, addr: addrs[2] })
    );
    assert_eq!(
        listener.recv().await.response,
        Response::Event(Event::TopologyChange { change: TopologyChangeType::RemovedNode, addr: addrs[2] })
    );
    let peers = listener
        .request(Request::Query(Query::new("SELECT peer FROM system.peers", QueryParameters::new(Consistency::One))))
        .await;
    let Response::Result(cqlstream::protocol::response::ResultBody::Rows(rows)) = peers else { panic!("no rows") };
    assert_eq!(rows.rows_count(), 1, "a decommissioned node leaves system.peers");

    cluster.node(2).rejoin().await.unwrap();
    assert_eq!(
        listener.recv().await.response,
        Response::Event(Event::TopologyChange { change: TopologyChangeType::NewNode, addr: addrs[2] })
    );
    assert_eq!(
        listener.recv().await.response,
        Response::Event(Event::StatusChange { change: StatusChangeType::Up, addr: addrs[2] })
    );
}
