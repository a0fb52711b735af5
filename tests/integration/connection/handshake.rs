//! Hostile and unusual handshakes: peers that accept TCP and then say nothing (or stop
//! after OPTIONS or AUTHENTICATE), peers that are not CQL servers at all (HTTP, SSH,
//! TLS, garbage), v3/v4 LZ4 replies to STARTUP compressed or not, and a wrong password
//! with and without LZ4.
//!
//! The hostile peers are scripted here on 127.0.0.1 with our own codec in
//! `Role::Server`, so they run the same whatever `CQLSTREAM_TEST_CONTACT_POINTS` says;
//! the tests that need a real node or the testkit go through [`TestTarget`].

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use crate::support::{RealCluster, TestTarget};
use cqlstream::connection::{Connection, ConnectionConfig, ConnectionError, HandshakeStage};
use cqlstream::protocol::response::{Authenticate, ErrorBody, ErrorKind, Supported};
use cqlstream::protocol::{Compression, CqlCodec, Request, RequestMessage, Response, ResponseMessage, Role, Version};
use cqlstream::session::Session;
use cqlstream::testkit::TestNode;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

/// Far longer than any deadline under test: a regression fails instead of hanging.
const OUTER: Duration = Duration::from_secs(20);

/// Listens on 127.0.0.1 and runs `script` on every connection accepted.
async fn peer<F, Fut>(script: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(script(socket));
        }
    });
    addr
}

/// Reads and drops whatever arrives, and never answers.
async fn swallow(mut socket: TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = socket.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

fn supported() -> Response {
    Response::Supported(Supported {
        options: vec![
            (Supported::CQL_VERSION.to_owned(), vec!["3.4.7".to_owned()]),
            (Supported::COMPRESSION.to_owned(), vec!["lz4".to_owned()]),
        ],
    })
}

/// What a scripted CQL peer does after SUPPORTED.
#[derive(Clone, Copy)]
enum AfterOptions {
    /// Never answers STARTUP.
    Silent,
    /// Answers STARTUP with AUTHENTICATE, compressed as Cassandra does on v3/v4, then
    /// never answers AUTH_RESPONSE.
    AuthenticateThenSilent,
    /// Answers STARTUP with AUTHENTICATE (uncompressed), then AUTH_RESPONSE with an
    /// Overloaded error: a node too busy to check the login, not a refusal of it.
    AuthenticateThenOverloaded,
    /// Answers STARTUP with READY (no compression asked), then nothing else.
    ReadyThenSilent,
    /// Answers STARTUP with a protocol error, flagged compressed or not.
    Error { compressed: bool },
}

/// A CQL peer that answers OPTIONS and then does `after`.
async fn cql_peer(after: AfterOptions) -> SocketAddr {
    peer(move |socket| async move {
        let mut io = Framed::new(socket, CqlCodec::new(Role::Server));
        while let Some(Ok(env)) = io.next().await {
            let version = env.header.version;
            let Ok(msg) = RequestMessage::from_envelope(&env) else { return };
            let reply = match (msg.request, after) {
                (Request::Options(_), _) => supported(),
                (Request::Startup(_), AfterOptions::Silent) => continue,
                (Request::Startup(_), AfterOptions::AuthenticateThenSilent) => {
                    io.codec_mut().set_compression(Compression::Lz4);
                    Response::Authenticate(Authenticate::new("org.apache.cassandra.auth.PasswordAuthenticator"))
                }
                (Request::Startup(_), AfterOptions::AuthenticateThenOverloaded) => {
                    Response::Authenticate(Authenticate::new("org.apache.cassandra.auth.PasswordAuthenticator"))
                }
                (Request::AuthResponse(_), AfterOptions::AuthenticateThenOverloaded) => {
                    Response::Error(ErrorBody::new(ErrorKind::Overloaded, "scripted: too busy to log you in"))
                }
                (Request::Startup(_), AfterOptions::ReadyThenSilent) => Response::Ready,
                (Request::Startup(_), AfterOptions::Error { compressed }) => {
                    if compressed {
                        io.codec_mut().set_compression(Compression::Lz4);
                    }
                    Response::Error(ErrorBody::new(ErrorKind::ProtocolError, "scripted refusal of STARTUP"))
                }
                _ => continue,
            };
            let env = ResponseMessage::new(msg.stream, reply).to_envelope(version).unwrap();
            if io.send(env).await.is_err() {
                return;
            }
        }
    })
    .await
}

async fn open_within(addr: SocketAddr, config: &ConnectionConfig) -> Result<Connection, ConnectionError> {
    tokio::time::timeout(OUTER, Connection::open(addr, config)).await.expect("Connection::open hung past the deadline")
}

#[test]
fn the_handshake_timeout_defaults_to_five_seconds() {
    assert_eq!(ConnectionConfig::new().get_handshake_timeout(), Duration::from_secs(5));
    let t = Duration::from_millis(250);
    assert_eq!(ConnectionConfig::new().handshake_timeout(t).get_handshake_timeout(), t);
}

#[tokio::test]
async fn a_node_that_accepts_and_says_nothing_fails_within_the_handshake_timeout() {
    let silent = peer(swallow).await;
    let deadline = Duration::from_millis(300);
    let err = open_within(silent, &ConnectionConfig::new().handshake_timeout(deadline)).await.unwrap_err();
    match &err {
        ConnectionError::HandshakeTimeout { addr, after, stage } => {
            assert_eq!(*addr, silent);
            assert_eq!(*after, deadline);
            assert_eq!(*stage, HandshakeStage::Options, "{err}");
        }
        other => panic!("expected a handshake timeout, got {other}"),
    }
    let text = err.to_string();
    assert!(text.contains("OPTIONS") && text.contains(&silent.to_string()), "{text}");
}

#[tokio::test]
async fn a_node_that_answers_options_but_never_startup_times_out_at_startup() {
    let addr = cql_peer(AfterOptions::Silent).await;
    for version in [Version::V4, Version::V5] {
        let config = ConnectionConfig::new().protocol(version).handshake_timeout(Duration::from_millis(300));
        let err = open_within(addr, &config).await.unwrap_err();
        assert!(
            matches!(err, ConnectionError::HandshakeTimeout { stage: HandshakeStage::Startup, .. }),
            "{version}: {err}"
        );
        assert!(err.to_string().contains("STARTUP"), "{err}");
    }
}

#[tokio::test]
async fn a_node_that_never_answers_the_login_times_out_at_auth_response() {
    let addr = cql_peer(AfterOptions::AuthenticateThenSilent).await;
    let config = ConnectionConfig::new()
        .protocol(Version::V4)
        .compression(Compression::Lz4)
        .credentials("alice", "secret")
        .handshake_timeout(Duration::from_millis(300));
    let err = open_within(addr, &config).await.unwrap_err();
    assert!(matches!(err, ConnectionError::HandshakeTimeout { stage: HandshakeStage::AuthResponse, .. }), "{err}");
    assert!(err.to_string().contains("AUTH_RESPONSE"), "{err}");
}

#[tokio::test]
async fn a_node_that_never_answers_use_times_out_at_use() {
    let addr = cql_peer(AfterOptions::ReadyThenSilent).await;
    let config = ConnectionConfig::new()
        .protocol(Version::V4)
        .keyspace("ks")
        .request_timeout(Duration::from_secs(30))
        .handshake_timeout(Duration::from_millis(300));
    let err = open_within(addr, &config).await.unwrap_err();
    assert!(matches!(err, ConnectionError::HandshakeTimeout { stage: HandshakeStage::UseKeyspace, .. }), "{err}");
}

#[tokio::test]
async fn a_session_moves_past_a_silent_contact_point() {
    let target = TestTarget::from_env("connection::a_session_moves_past_a_silent_contact_point").await.unwrap();
    let silent = peer(swallow).await;
    let mut builder = Session::builder()
        .contact_point(silent.to_string())
        .connection_config(target.connection_config().handshake_timeout(Duration::from_millis(400)));
    for p in target.contact_points() {
        builder = builder.contact_point(p);
    }
    let session = tokio::time::timeout(OUTER, builder.build()).await.expect("build() hung on the silent node").unwrap();
    let rows = session.query("SELECT release_version FROM system.local", ()).await.unwrap();
    drop(rows);

    // With only the silent one, build() fails in time and says why (the session's own
    // setter this time).
    let alone = Session::builder().contact_point(silent.to_string()).handshake_timeout(Duration::from_millis(300));
    let err = tokio::time::timeout(OUTER, alone.build()).await.expect("build() hung on the silent node").unwrap_err();
    let cqlstream::Error::NoNodeAvailable(failures) = &err else { panic!("{err}") };
    assert!(
        matches!(
            &failures[..],
            [cqlstream::session::ContactPointFailure {
                error: cqlstream::session::ContactPointError::Connect(ConnectionError::HandshakeTimeout { .. }),
                ..
            }]
        ),
        "{err}"
    );
}

/// `first_bytes`, and the message, of the error a peer that writes `reply` gets.
async fn not_cql(reply: &[u8], speaks_first: bool) -> (Vec<u8>, String) {
    let bytes = reply.to_vec();
    let addr = peer(move |mut socket| {
        let bytes = bytes.clone();
        async move {
            if !speaks_first {
                let mut buf = [0u8; 64];
                let _ = socket.read(&mut buf).await;
            }
            let _ = socket.write_all(&bytes).await;
            // Then stay open and silent, as a confused server might.
            swallow(socket).await;
        }
    })
    .await;
    let config = ConnectionConfig::new().handshake_timeout(Duration::from_secs(5));
    let err = open_within(addr, &config).await.unwrap_err();
    match &err {
        ConnectionError::NotCql { addr: a, first_bytes } => {
            assert_eq!(*a, addr);
            (first_bytes.clone(), err.to_string())
        }
        other => panic!("expected NotCql for {:?}, got {other}", String::from_utf8_lossy(reply)),
    }
}

#[tokio::test]
async fn an_http_server_is_not_a_cql_port() {
    let (first, text) =
        not_cql(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", false).await;
    assert_eq!(first, b"HTTP/1.1 400 Bad".to_vec(), "at most 16 bytes are kept");
    assert!(text.contains("is this a CQL native-protocol port?"), "{text}");
    assert!(text.contains("HTTP/1.1 400 Bad"), "printable ASCII shown: {text}");
    assert!(text.contains("48 54 54 50"), "hex shown: {text}");
}

#[tokio::test]
async fn an_ssh_banner_a_tls_alert_and_garbage_are_not_cql() {
    let (first, text) = not_cql(b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n", true).await;
    assert_eq!(first, b"SSH-2.0-OpenSSH_".to_vec());
    assert!(text.contains("is this a CQL native-protocol port?"), "{text}");
    // A TLS server answering plaintext: alert record, protocol_version alert.
    let (first, text) = not_cql(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46], false).await;
    assert_eq!(first, vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]);
    assert!(text.contains("15 03 03 00 02 02 46"), "{text}");
    // The response bit set, but no version CQL ever had; and a request-direction header.
    for garbage in [&[0x8f, 0x00, 0x00, 0x00, 0x06, 0x7f, 0xff, 0xff, 0xff][..], &[0x04, 0, 0, 0, 0x06, 0, 0, 0, 0]] {
        let (first, _) = not_cql(garbage, false).await;
        assert_eq!(first, garbage.to_vec());
    }
}

#[tokio::test]
async fn a_v4_lz4_startup_refused_with_an_error_compressed_or_not_is_refused() {
    for compressed in [false, true] {
        let addr = cql_peer(AfterOptions::Error { compressed }).await;
        let config = ConnectionConfig::new().protocol(Version::V4).compression(Compression::Lz4);
        let err = open_within(addr, &config).await.unwrap_err();
        assert!(
            matches!(&err, ConnectionError::Refused(e)
                if e.kind == ErrorKind::ProtocolError && e.message == "scripted refusal of STARTUP"),
            "compressed {compressed}: {err}"
        );
    }
}

#[tokio::test]
async fn every_version_with_and_without_lz4_logs_in_and_a_wrong_password_is_authentication_failed() {
    let target = TestTarget::from_env_with(
        "connection::every_version_with_and_without_lz4_logs_in_and_a_wrong_password_is_authentication_failed",
        TestNode::builder().user("alice", "secret"),
    )
    .await
    .unwrap();
    // The testkit has the user above; a real node is asked for the login it was given.
    let (user, password) = match RealCluster::from_env().unwrap().and_then(|c| c.credentials) {
        Some(login) => login,
        None if target.is_real() => {
            let _ = target.require_testkit("a node with users: CQLSTREAM_TEST_USERNAME is not set");
            return;
        }
        None => ("alice".to_owned(), "secret".to_owned()),
    };
    let addr = target.addr().await.unwrap();
    for version in [Version::V3, Version::V4, Version::V5] {
        for compression in [Compression::None, Compression::Lz4] {
            let config = ConnectionConfig::new().protocol(version).compression(compression);
            let ok = match open_within(addr, &config.clone().credentials(&user, &password)).await {
                Ok(c) => c,
                Err(ConnectionError::NoCommonVersion { .. }) if target.is_real() => {
                    let _ = target.require_testkit(&format!("speaking {version} (the node turns it away)"));
                    continue;
                }
                Err(e) => panic!("{version} {compression:?}: {e}"),
            };
            assert_eq!((ok.version(), ok.compression()), (version, compression));
            let reply = ok.request(Request::Options(cqlstream::protocol::request::Options)).await.unwrap();
            assert!(matches!(reply.response, Response::Supported(_)), "{version} {compression:?}");

            let wrong = open_within(addr, &config.clone().credentials(&user, format!("{password}-wrong"))).await;
            match wrong {
                Err(ConnectionError::AuthenticationFailed(e)) => {
                    assert_eq!(e.code(), 0x0100, "{version} {compression:?}: {e}");
                    assert!(e.message.contains("incorrect"), "the server's message is kept: {}", e.message);
                }
                Err(other) => panic!("{version} {compression:?}: a wrong password gave {other}"),
                Ok(_) => panic!("{version} {compression:?}: a wrong password logged in"),
            }
        }
    }
}

#[tokio::test]
async fn a_server_error_during_login_is_not_a_refusal_of_the_credentials() {
    let addr = cql_peer(AfterOptions::AuthenticateThenOverloaded).await;
    // (v4: the scripted peer does not switch to v5 segments after AUTHENTICATE.)
    let config = ConnectionConfig::new()
        .protocol(Version::V4)
        .credentials("alice", "secret")
        .handshake_timeout(Duration::from_secs(2));
    let err = open_within(addr, &config).await.unwrap_err();
    assert!(matches!(&err, ConnectionError::Refused(e) if e.kind == ErrorKind::Overloaded), "{err:?}");
    assert!(err.to_string().contains("too busy"), "the server's message is kept: {err}");
    // So a session moves on to its next contact point instead of giving up on the
    // credentials (the testkit node below needs no login and ignores them).
    let target = TestTarget::from_env("connection::a_server_error_during_login_is_not_a_refusal_of_the_credentials")
        .await
        .unwrap();
    let Some(node) = target.require_testkit("a node that accepts any credentials") else { return };
    let builder = Session::builder()
        .contact_point(addr.to_string())
        .contact_point(node.addr().to_string())
        .protocol(Version::V4)
        .credentials("alice", "secret")
        .handshake_timeout(Duration::from_secs(2));
    let session = tokio::time::timeout(OUTER, builder.build())
        .await
        .expect("build() hung")
        .unwrap_or_else(|e| panic!("the second contact point was not tried: {e}"));
    session.query("SELECT release_version FROM system.local", ()).await.unwrap();
}
