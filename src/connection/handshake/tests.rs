//! The handshake's state machine fed canned responses, and the first-byte check.

use super::*;

#[test]
fn only_response_headers_of_known_versions_start_a_response() {
    for v in 1..=5u8 {
        assert!(starts_a_response(0x80 | v), "v{v}");
        assert!(!starts_a_response(v), "v{v} request");
    }
    for b in [0x80, 0x86, 0xff, b'H', b'S', 0x15, 0x16, 0x00] {
        assert!(!starts_a_response(b), "{b:#04x}");
    }
}

use bytes::Bytes;

use super::machine::Negotiated;
use crate::protocol::response::{AuthChallenge, AuthSuccess, Authenticate, ErrorBody, ErrorKind};
use crate::protocol::{Framing, RequestMessage, ResponseMessage, Role};

fn supported(lz4: bool) -> Response {
    let compression = if lz4 { vec!["lz4".to_string()] } else { Vec::new() };
    Response::Supported(Supported { options: vec![(Supported::COMPRESSION.into(), compression)] })
}

fn error(kind: ErrorKind, message: &str) -> Response {
    Response::Error(ErrorBody { kind, message: message.into() })
}

fn version_refusal() -> Response {
    error(ErrorKind::ProtocolError, "Invalid or unsupported protocol version (5); supported versions are (3/v3, 4/v4)")
}

fn authenticate() -> Response {
    Response::Authenticate(Authenticate { authenticator: "org.apache.cassandra.auth.PasswordAuthenticator".into() })
}

fn challenge() -> Response {
    Response::AuthChallenge(AuthChallenge { token: None })
}

fn done(next: Next) -> Negotiated {
    match next {
        Next::Done(n) => n,
        other => panic!("not done: {other:?}"),
    }
}

fn fail(next: Next) -> ConnectionError {
    match next {
        Next::Fail(e) => e,
        other => panic!("not failed: {other:?}"),
    }
}

/// Feeds the replies that get a handshake to its STARTUP.
fn to_startup(config: &ConnectionConfig, lz4: bool) -> Handshake {
    let (mut hs, first) = Handshake::new(config);
    assert!(matches!(first, Request::Options(_)));
    assert!(matches!(hs.on_response(supported(lz4)), Next::Send(Request::Startup(_))));
    hs
}

#[test]
fn steps_down_on_a_version_refusal_until_no_version_is_left() {
    let (mut hs, first) = Handshake::new(&ConnectionConfig::new());
    assert!(matches!(first, Request::Options(_)));
    assert_eq!(hs.stage(), HandshakeStage::Options);
    for expected in [Version::V4, Version::V3] {
        match hs.on_response(version_refusal()) {
            Next::Reconnect { version, request: Request::Options(_) } => assert_eq!(version, expected),
            other => panic!("{other:?}"),
        }
        assert_eq!(hs.stage(), HandshakeStage::Options);
    }
    let e = fail(hs.on_response(version_refusal()));
    assert!(matches!(&e, ConnectionError::NoCommonVersion { tried } if tried == &[5, 4, 3]), "{e}");
}

#[test]
fn a_pinned_version_is_the_only_one_tried() {
    let (mut hs, _) = Handshake::new(&ConnectionConfig::new().protocol(Version::V5));
    let e = fail(hs.on_response(version_refusal()));
    assert!(matches!(&e, ConnectionError::NoCommonVersion { tried } if tried == &[5]), "{e}");
}

#[test]
fn the_version_after_a_step_down_is_the_one_negotiated() {
    let (mut hs, _) = Handshake::new(&ConnectionConfig::new());
    assert!(matches!(hs.on_response(version_refusal()), Next::Reconnect { version: Version::V4, .. }));
    assert!(matches!(hs.on_response(supported(false)), Next::Send(Request::Startup(_))));
    assert_eq!(hs.stage(), HandshakeStage::Startup);
    let n = done(hs.on_response(Response::Ready));
    assert_eq!((n.version, n.compression), (Version::V4, Compression::None));
}

#[test]
fn lz4_is_asked_for_only_when_wanted_and_offered() {
    for (want, offered, expected) in [(true, true, true), (true, false, false), (false, true, false)] {
        let compression = if want { Compression::Lz4 } else { Compression::None };
        let (mut hs, _) = Handshake::new(&ConnectionConfig::new().compression(compression));
        let Next::Send(Request::Startup(startup)) = hs.on_response(supported(offered)) else { panic!() };
        let asks = startup.options.iter().any(|(k, v)| k == "COMPRESSION" && v == "lz4");
        assert_eq!(asks, expected, "want {want}, offered {offered}");
        let n = done(hs.on_response(Response::Ready));
        assert_eq!(n.compression == Compression::Lz4, expected);
    }
}

#[test]
fn sasl_plain_login_answers_challenges() {
    let config = ConnectionConfig::new().credentials("alice", "secret");
    let mut hs = to_startup(&config, false);
    let Next::Send(Request::AuthResponse(token)) = hs.on_response(authenticate()) else { panic!() };
    assert_eq!(token.token, Some(Bytes::from_static(b"\0alice\0secret")));
    assert_eq!(hs.stage(), HandshakeStage::AuthResponse);
    assert!(matches!(hs.on_response(challenge()), Next::Send(Request::AuthResponse(_))));
    assert_eq!(hs.stage(), HandshakeStage::AuthResponse);
    done(hs.on_response(Response::AuthSuccess(AuthSuccess { token: None })));
}

#[test]
fn login_errors_are_typed() {
    let e = fail(to_startup(&ConnectionConfig::new(), false).on_response(authenticate()));
    assert!(
        matches!(&e, ConnectionError::AuthenticationRequired { authenticator, .. } if authenticator.contains("Password"))
    );

    let config = ConnectionConfig::new().credentials("alice", "wrong");
    let mut hs = to_startup(&config, false);
    hs.on_response(authenticate());
    let e = fail(
        hs.on_response(error(ErrorKind::AuthenticationError, "Provided username alice and/or password are incorrect")),
    );
    assert!(matches!(e, ConnectionError::AuthenticationFailed(_)), "{e}");

    let mut hs = to_startup(&config, false);
    hs.on_response(authenticate());
    for _ in 0..8 {
        assert!(matches!(hs.on_response(challenge()), Next::Send(_)));
    }
    let e = fail(hs.on_response(challenge()));
    assert!(matches!(&e, ConnectionError::Unexpected(m) if m.contains("endless")), "{e}");

    // Another error than Authentication_error is about the node, not the credentials,
    // and the server's error is kept even after the last challenge allowed.
    let mut hs = to_startup(&config, false);
    hs.on_response(authenticate());
    let e = fail(hs.on_response(error(ErrorKind::Overloaded, "too busy to log you in")));
    assert!(matches!(&e, ConnectionError::Refused(b) if b.message == "too busy to log you in"), "{e}");
    let mut hs = to_startup(&config, false);
    hs.on_response(authenticate());
    for _ in 0..8 {
        assert!(matches!(hs.on_response(challenge()), Next::Send(_)));
    }
    let e = fail(hs.on_response(error(ErrorKind::AuthenticationError, "no")));
    assert!(matches!(e, ConnectionError::AuthenticationFailed(_)), "{e}");
}

#[test]
fn unexpected_messages_and_errors_fail_the_handshake() {
    let (mut hs, _) = Handshake::new(&ConnectionConfig::new());
    let e = fail(hs.on_response(Response::Ready));
    assert!(matches!(&e, ConnectionError::Unexpected(m) if m.contains("in reply to OPTIONS")), "{e}");

    let (mut hs, _) = Handshake::new(&ConnectionConfig::new());
    let e = fail(hs.on_response(error(ErrorKind::ServerError, "busy")));
    assert!(matches!(e, ConnectionError::Refused(_)), "{e}");

    let e = fail(to_startup(&ConnectionConfig::new(), false).on_response(supported(false)));
    assert!(matches!(&e, ConnectionError::Unexpected(m) if m.contains("in reply to STARTUP")), "{e}");

    let e = fail(to_startup(&ConnectionConfig::new(), false).on_response(version_refusal()));
    assert!(matches!(e, ConnectionError::Refused(_)), "a refusal of STARTUP is no step down: {e}");

    let config = ConnectionConfig::new().credentials("alice", "secret");
    let mut hs = to_startup(&config, false);
    hs.on_response(authenticate());
    let e = fail(hs.on_response(Response::Ready));
    assert!(matches!(&e, ConnectionError::Unexpected(m) if m.contains("during authentication")), "{e}");
}

/// The server's side of a byte-level exchange: reads what the handshake encoded and
/// encodes a reply.
struct Server(CqlCodec);

impl Server {
    fn read(&mut self, bytes: &mut BytesMut) -> Request {
        let env = self.0.decode_envelope(bytes).unwrap().expect("a whole request");
        RequestMessage::from_envelope(&env).unwrap().request
    }

    fn reply(&mut self, version: Version, response: Response) -> BytesMut {
        let mut out = BytesMut::new();
        let env = ResponseMessage::new(0, response).to_envelope(version).unwrap();
        self.0.encode_envelope(&env, &mut out).unwrap();
        out
    }
}

/// Runs a handshake over bytes (OPTIONS, STARTUP, READY), the server switching to LZ4
/// on v3/v4 right after reading a STARTUP that asked for it, as real servers do, and
/// returns its result and the server.
fn over_bytes(config: &ConnectionConfig, version: Version) -> (Negotiated, Server) {
    let mut server = Server(CqlCodec::new(Role::Server));
    let (mut hs, options) = Handshake::new(config);
    let mut wire = BytesMut::new();
    hs.encode(options, &mut wire).unwrap();
    assert!(matches!(server.read(&mut wire), Request::Options(_)));
    let mut bytes = server.reply(version, supported(true));
    let startup = hs.decode(&mut bytes).unwrap().unwrap();
    let Next::Send(startup) = hs.on_response(startup) else { panic!() };
    hs.encode(startup, &mut wire).unwrap();
    // STARTUP itself is never compressed: the server reads it uncompressed.
    let Request::Startup(startup) = server.read(&mut wire) else { panic!() };
    let lz4 = startup.options.iter().any(|(k, v)| k == "COMPRESSION" && v == "lz4");
    if lz4 && !version.uses_segments() {
        server.0.set_compression(Compression::Lz4);
    }
    let mut ready = server.reply(version, Response::Ready);
    if lz4 && !version.uses_segments() {
        assert_eq!(ready[1] & 0x01, 0x01, "the READY is flagged compressed");
    }
    let ready = hs.decode(&mut ready).unwrap().unwrap();
    (done(hs.on_response(ready)), server)
}

#[test]
fn a_compressed_ready_is_accepted_on_v4_and_v3() {
    for version in [Version::V4, Version::V3] {
        let config = ConnectionConfig::new().protocol(version).compression(Compression::Lz4);
        let (n, _) = over_bytes(&config, version);
        assert_eq!((n.version, n.compression), (version, Compression::Lz4));
        assert_eq!(n.codec.compression(), Compression::Lz4);
        assert_eq!(n.codec.framing(), Framing::Envelopes);
    }
}

#[test]
fn v5_switches_to_segments_after_ready() {
    let config = ConnectionConfig::new().compression(Compression::Lz4);
    let (mut n, mut server) = over_bytes(&config, Version::V5);
    assert_eq!((n.version, n.compression), (Version::V5, Compression::Lz4));
    assert_eq!((n.codec.framing(), n.codec.compression()), (Framing::Segments, Compression::Lz4));
    // What follows is framed and compressed both ways.
    server.0.set_framing(Framing::Segments);
    server.0.set_compression(Compression::Lz4);
    let mut bytes = server.reply(Version::V5, Response::Ready);
    let env = n.codec.decode_envelope(&mut bytes).unwrap().unwrap();
    assert!(matches!(ResponseMessage::from_envelope(&env).unwrap().response, Response::Ready));
}
