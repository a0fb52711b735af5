//! Opening a connection: TCP connect, OPTIONS → SUPPORTED (which also probes the
//! protocol version: a server that does not speak it answers with a protocol error and
//! we step down, v5 → v4 → v3), STARTUP with LZ4 when offered, SASL PLAIN login, and
//! the switch to v5 framing after READY/AUTHENTICATE (spec v5 §2.3.1).
//!
//! Runs before the connection task exists, on a plain socket; it owns nothing after.

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::config::ConnectionConfig;
use super::error::ConnectionError;
use crate::protocol::request::{AuthResponse, Options, Startup};
use crate::protocol::response::{ErrorKind, Supported};
use crate::protocol::{
    Compression, CqlCodec, Framing, Request, RequestMessage, Response, ResponseMessage, Role, Version,
};

/// A socket that finished its handshake.
#[derive(Debug)]
pub(crate) struct Ready {
    pub(crate) socket: TcpStream,
    pub(crate) codec: CqlCodec,
    pub(crate) read_buf: BytesMut,
    pub(crate) version: Version,
    pub(crate) compression: Compression,
    pub(crate) supported: Supported,
}

struct Wire {
    socket: TcpStream,
    codec: CqlCodec,
    buf: BytesMut,
    version: Version,
}

impl Wire {
    async fn call(&mut self, request: Request) -> Result<Response, ConnectionError> {
        let env = RequestMessage::new(0, request)
            .to_envelope(self.version)
            .map_err(|e| ConnectionError::Unexpected(e.to_string()))?;
        let mut out = BytesMut::new();
        self.codec.encode_envelope(&env, &mut out).map_err(|e| ConnectionError::Unexpected(e.to_string()))?;
        self.socket.write_all(&out).await?;
        loop {
            if let Some(env) = self.codec.decode_envelope(&mut self.buf).map_err(ConnectionError::Decode)? {
                if env.header.stream < 0 {
                    continue; // an event cannot precede READY, but ignore it if one does
                }
                return Ok(ResponseMessage::from_envelope(&env).map_err(ConnectionError::Decode)?.response);
            }
            if self.socket.read_buf(&mut self.buf).await? == 0 {
                return Err(ConnectionError::Closed);
            }
        }
    }
}

/// Whether an error answer means "I do not speak that protocol version".
fn is_version_refusal(r: &Response) -> bool {
    matches!(r, Response::Error(e) if e.kind == ErrorKind::ProtocolError && e.message.to_ascii_lowercase().contains("version"))
}

async fn connect(addr: std::net::SocketAddr, config: &ConnectionConfig) -> Result<TcpStream, ConnectionError> {
    let socket = tokio::time::timeout(config.connect_timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| ConnectionError::ConnectTimeout { addr, after: config.connect_timeout })??;
    socket.set_nodelay(true)?;
    Ok(socket)
}

/// Connects and completes the handshake at the highest version both sides speak.
pub(crate) async fn open(addr: std::net::SocketAddr, config: &ConnectionConfig) -> Result<Ready, ConnectionError> {
    let versions: Vec<Version> = match config.protocol {
        Some(v) => vec![v],
        None => vec![Version::V5, Version::V4, Version::V3],
    };
    let mut tried = Vec::new();
    for version in versions {
        let socket = connect(addr, config).await?;
        let codec = CqlCodec::new(Role::Client).with_max_envelope_len(config.max_envelope_len);
        let mut wire = Wire { socket, codec, buf: BytesMut::with_capacity(16 * 1024), version };
        tried.push(version.as_u8());
        let supported = match wire.call(Request::Options(Options)).await? {
            Response::Supported(s) => s,
            r if is_version_refusal(&r) => continue,
            Response::Error(e) => return Err(ConnectionError::Refused(e)),
            other => return Err(ConnectionError::Unexpected(format!("{:?} in reply to OPTIONS", other.opcode()))),
        };
        return finish(wire, supported, config).await;
    }
    Err(ConnectionError::NoCommonVersion { tried })
}

async fn finish(mut wire: Wire, supported: Supported, config: &ConnectionConfig) -> Result<Ready, ConnectionError> {
    let offers_lz4 =
        supported.get(Supported::COMPRESSION).is_some_and(|c| c.iter().any(|c| c.eq_ignore_ascii_case("lz4")));
    let compression =
        if config.compression == Compression::Lz4 && offers_lz4 { Compression::Lz4 } else { Compression::None };
    let startup = Startup::new((compression == Compression::Lz4).then_some("lz4"))
        .with(Startup::DRIVER_NAME, "cqlstream")
        .with(Startup::DRIVER_VERSION, env!("CARGO_PKG_VERSION"));
    let reply = wire.call(Request::Startup(startup)).await?;
    if matches!(reply, Response::Ready | Response::Authenticate(_)) {
        // From here on both directions use the negotiated framing and compression.
        wire.codec.set_compression(compression);
        if wire.version.uses_segments() {
            wire.codec.set_framing(Framing::Segments);
        }
    }
    match reply {
        Response::Ready => {}
        Response::Authenticate(a) => {
            let Some((user, password)) = &config.credentials else {
                return Err(ConnectionError::AuthenticationRequired {
                    authenticator: a.authenticator,
                    reason: "no credentials were configured".into(),
                });
            };
            let mut reply = wire.call(Request::AuthResponse(AuthResponse::plain(user, password))).await?;
            // SASL PLAIN needs no further rounds, but answer challenges with the same
            // token rather than hanging if a server sends one.
            for _ in 0..8 {
                match reply {
                    Response::AuthSuccess(_) => break,
                    Response::AuthChallenge(_) => {
                        reply = wire.call(Request::AuthResponse(AuthResponse::plain(user, password))).await?;
                    }
                    Response::Error(e) => return Err(ConnectionError::AuthenticationFailed(e)),
                    other => {
                        return Err(ConnectionError::Unexpected(format!("{:?} during authentication", other.opcode())));
                    }
                }
            }
            if !matches!(reply, Response::AuthSuccess(_)) {
                return Err(ConnectionError::Unexpected("endless authentication challenges".into()));
            }
        }
        Response::Error(e) => return Err(ConnectionError::Refused(e)),
        other => return Err(ConnectionError::Unexpected(format!("{:?} in reply to STARTUP", other.opcode()))),
    }
    Ok(Ready {
        socket: wire.socket,
        codec: wire.codec,
        read_buf: wire.buf,
        version: wire.version,
        compression,
        supported,
    })
}
