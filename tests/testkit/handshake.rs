//! Handshake: versions, framing switch, compression, authentication, events.

use cqlstream::protocol::request::{AuthResponse, Options, Register};
use cqlstream::protocol::response::{ErrorKind, Event, EventType, StatusChangeType};
use cqlstream::protocol::{Compression, Response, Version};
use cqlstream::testkit::{TestCluster, TestNode};

use super::Client;

#[tokio::test]
async fn every_version_and_compression_gets_ready_then_answers_framed() {
    let node = TestNode::builder().start().await.unwrap();
    for version in Version::ALL {
        for compression in [Compression::None, Compression::Lz4] {
            let mut c = Client::connect(node.addr(), version).await;
            assert_eq!(c.startup(compression).await, Response::Ready, "{version} {compression:?}");
            // After READY, v5 speaks segments and v4 compresses bodies: OPTIONS must work.
            let Response::Supported(s) = c.request(Request::Options(Options)).await else { panic!("not SUPPORTED") };
            assert_eq!(s.get("COMPRESSION"), Some(&["lz4".to_string()][..]));
            assert_eq!(s.get("PROTOCOL_VERSIONS").unwrap().len(), 3);
        }
    }
}

use cqlstream::protocol::Request;

#[tokio::test]
async fn a_v4_node_turns_v5_away_with_the_error_drivers_step_down_on() {
    let node = TestNode::builder().max_protocol(Version::V4).start().await.unwrap();
    let mut c = Client::connect(node.addr(), Version::V5).await;
    let stream = c.send(Request::Startup(cqlstream::protocol::request::Startup::new(None))).await;
    let env = c.recv_envelope().await;
    assert_eq!(env.header.version, Version::V4, "the error comes in the server's highest version");
    let reply = cqlstream::protocol::ResponseMessage::from_envelope(&env).unwrap();
    assert_eq!(reply.stream, stream);
    let Response::Error(e) = reply.response else { panic!("not an error") };
    assert_eq!(e.kind, ErrorKind::ProtocolError);
    assert!(e.message.contains("unsupported protocol version"), "{}", e.message);
    // v4 is accepted.
    let mut c = Client::connect(node.addr(), Version::V4).await;
    assert_eq!(c.startup(Compression::None).await, Response::Ready);
}

#[tokio::test]
async fn queries_before_startup_are_protocol_errors() {
    let node = TestNode::builder().start().await.unwrap();
    let mut c = Client::connect(node.addr(), Version::V4).await;
    let reply = c.request(Request::Register(Register { events: vec![EventType::SchemaChange] })).await;
    assert!(matches!(reply, Response::Error(e) if e.kind == ErrorKind::ProtocolError));
}

#[tokio::test]
async fn password_authentication() {
    let node = TestNode::builder().user("cassandra", "cassandra").start().await.unwrap();
    for version in [Version::V4, Version::V5] {
        let mut c = Client::connect(node.addr(), version).await;
        let Response::Authenticate(a) = c.startup(Compression::Lz4).await else { panic!("no AUTHENTICATE") };
        assert_eq!(a.authenticator, "org.apache.cassandra.auth.PasswordAuthenticator");
        let wrong = c.request(Request::AuthResponse(AuthResponse::plain("cassandra", "nope"))).await;
        assert!(matches!(&wrong, Response::Error(e) if e.kind == ErrorKind::AuthenticationError), "{wrong:?}");
        let right = c.request(Request::AuthResponse(AuthResponse::plain("cassandra", "cassandra"))).await;
        assert!(matches!(right, Response::AuthSuccess(_)), "{right:?}");
    }
}

#[tokio::test]
async fn stopping_a_node_pushes_status_change_to_the_others() {
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
