//! Opening a connection: TCP connect, OPTIONS → SUPPORTED (which also probes the
//! protocol version: a server that does not speak it answers with a protocol error and
//! we step down, v5 → v4 → v3), STARTUP with LZ4 when offered, SASL PLAIN login, and
//! the switch to v5 framing after READY/AUTHENTICATE (spec v5 §2.3.1).
//!
//! On v3/v4 the reply to a STARTUP that asked for LZ4 is already compressed by real
//! servers (Cassandra and ScyllaDB switch compression on while processing STARTUP), so
//! compressed envelopes are accepted from the moment that STARTUP is sent; an
//! uncompressed reply (an error raised before the switch) reads just as well, since
//! only envelopes flagged compressed are decompressed. On v5 the reply is neither framed
//! nor compressed, and compression starts with the segments after it.
//!
//! The first byte the server sends must start a CQL response (direction bit and a
//! protocol version), checked before any length in it is trusted; anything else is
//! [`ConnectionError::NotCql`]. The whole of opening a connection, the `USE` and
//! REGISTER that [`super::Connection::open`] runs included, gets one deadline
//! ([`within_deadline`]), and [`StageCell`] records which step it was waiting for.
//!
//! Runs before the connection task exists, on a plain socket; it owns nothing after.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::config::ConnectionConfig;
use super::error::{ConnectionError, HandshakeStage};
use crate::protocol::request::{AuthResponse, Options, Startup};
use crate::protocol::response::{ErrorKind, Supported};
use crate::protocol::{
    Compression, CqlCodec, Framing, Request, RequestMessage, Response, ResponseMessage, Role, Version,
};

/// How many of the first bytes a [`ConnectionError::NotCql`] keeps.
const NOT_CQL_BYTES: usize = 16;

/// How long to wait for the rest of those bytes once the first one shows the peer is
/// not a CQL server (only to make the error more telling).
const NOT_CQL_GRACE: Duration = Duration::from_millis(100);

/// The step of opening a connection in progress, for [`ConnectionError::HandshakeTimeout`].
#[derive(Debug)]
pub(crate) struct StageCell(Mutex<HandshakeStage>);

impl StageCell {
    pub(crate) fn new() -> StageCell {
        StageCell(Mutex::new(HandshakeStage::Connect))
    }

    pub(crate) fn set(&self, stage: HandshakeStage) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = stage;
    }

    pub(crate) fn get(&self) -> HandshakeStage {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Runs `open` (which reports its steps to `stage`) within the config's handshake
/// timeout; past it, fails with [`ConnectionError::HandshakeTimeout`] naming the step.
pub(crate) async fn within_deadline<T>(
    addr: SocketAddr,
    config: &ConnectionConfig,
    stage: &StageCell,
    open: impl std::future::Future<Output = Result<T, ConnectionError>>,
) -> Result<T, ConnectionError> {
    match tokio::time::timeout(config.handshake_timeout, open).await {
        Ok(result) => result,
        Err(_) => Err(ConnectionError::HandshakeTimeout { addr, after: config.handshake_timeout, stage: stage.get() }),
    }
}

/// Whether `byte` can begin a CQL response: the direction bit set and a protocol
/// version that has existed (v1 to v5; an older server may answer in its own).
fn starts_a_response(byte: u8) -> bool {
    byte & 0x80 != 0 && (1..=5).contains(&(byte & 0x7f))
}

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
    addr: SocketAddr,
    /// Whether the first byte from the server has been seen to start a CQL response.
    checked_first: bool,
}

impl Wire {
    async fn send(&mut self, request: Request) -> Result<(), ConnectionError> {
        let env = RequestMessage::new(0, request)
            .to_envelope(self.version)
            .map_err(|e| ConnectionError::Unexpected(e.to_string()))?;
        let mut out = BytesMut::new();
        self.codec.encode_envelope(&env, &mut out).map_err(|e| ConnectionError::Unexpected(e.to_string()))?;
        self.socket.write_all(&out).await?;
        Ok(())
    }

    async fn recv(&mut self) -> Result<Response, ConnectionError> {
        loop {
            if !self.checked_first && !self.buf.is_empty() {
                self.check_first().await?;
            }
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

    async fn call(&mut self, request: Request) -> Result<Response, ConnectionError> {
        self.send(request).await?;
        self.recv().await
    }

    /// Fails with [`ConnectionError::NotCql`] unless the buffered bytes start a CQL
    /// response; looked at before the codec reads a length from them.
    async fn check_first(&mut self) -> Result<(), ConnectionError> {
        if self.buf.first().copied().is_some_and(starts_a_response) {
            self.checked_first = true;
            return Ok(());
        }
        // Not CQL: collect a few more bytes, if they come at once, to show what it is.
        let (socket, buf) = (&mut self.socket, &mut self.buf);
        let _ = tokio::time::timeout(NOT_CQL_GRACE, async {
            while buf.len() < NOT_CQL_BYTES {
                match socket.read_buf(buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        let first_bytes = self.buf[..self.buf.len().min(NOT_CQL_BYTES)].to_vec();
        Err(ConnectionError::NotCql { addr: self.addr, first_bytes })
    }
}

/// Whether an error answer means "I do not speak that protocol version".
fn is_version_refusal(r: &Response) -> bool {
    matches!(r, Response::Error(e) if e.kind == ErrorKind::ProtocolError && e.message.to_ascii_lowercase().contains("version"))
}

async fn connect(addr: SocketAddr, config: &ConnectionConfig) -> Result<TcpStream, ConnectionError> {
    let socket = tokio::time::timeout(config.connect_timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| ConnectionError::ConnectTimeout { addr, after: config.connect_timeout })??;
    socket.set_nodelay(true)?;
    Ok(socket)
}

/// Connects and completes the handshake at the highest version both sides speak,
/// reporting each step to `stage`. Has no deadline of its own: see [`within_deadline`].
pub(crate) async fn open(
    addr: SocketAddr,
    config: &ConnectionConfig,
    stage: &StageCell,
) -> Result<Ready, ConnectionError> {
    let versions: Vec<Version> = match config.protocol {
        Some(v) => vec![v],
        None => vec![Version::V5, Version::V4, Version::V3],
    };
    let mut tried = Vec::new();
    for version in versions {
        stage.set(HandshakeStage::Connect);
        let socket = connect(addr, config).await?;
        let codec = CqlCodec::new(Role::Client)
            .with_max_envelope_len(config.max_envelope_len)
            .with_max_compression_ratio(config.max_compression_ratio);
        let mut wire =
            Wire { socket, codec, buf: BytesMut::with_capacity(16 * 1024), version, addr, checked_first: false };
        tried.push(version.as_u8());
        stage.set(HandshakeStage::Options);
        let supported = match wire.call(Request::Options(Options)).await? {
            Response::Supported(s) => s,
            r if is_version_refusal(&r) => continue,
            Response::Error(e) => return Err(ConnectionError::Refused(e)),
            other => return Err(ConnectionError::Unexpected(format!("{:?} in reply to OPTIONS", other.opcode()))),
        };
        return finish(wire, supported, config, stage).await;
    }
    Err(ConnectionError::NoCommonVersion { tried })
}

async fn finish(
    mut wire: Wire,
    supported: Supported,
    config: &ConnectionConfig,
    stage: &StageCell,
) -> Result<Ready, ConnectionError> {
    let offers_lz4 =
        supported.get(Supported::COMPRESSION).is_some_and(|c| c.iter().any(|c| c.eq_ignore_ascii_case("lz4")));
    let compression =
        if config.compression == Compression::Lz4 && offers_lz4 { Compression::Lz4 } else { Compression::None };
    let startup = Startup::new((compression == Compression::Lz4).then_some("lz4"))
        .with(Startup::DRIVER_NAME, "cqlstream")
        .with(Startup::DRIVER_VERSION, env!("CARGO_PKG_VERSION"));
    stage.set(HandshakeStage::Startup);
    wire.send(Request::Startup(startup)).await?;
    if !wire.version.uses_segments() {
        // v3/v4: the reply to this STARTUP may already be compressed (see the module
        // docs); an uncompressed one is read as it is. (STARTUP itself is never
        // compressed, and it has been written.)
        wire.codec.set_compression(compression);
    }
    let reply = wire.recv().await?;
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
            stage.set(HandshakeStage::AuthResponse);
            let mut reply = wire.call(Request::AuthResponse(AuthResponse::plain(user, password))).await?;
            // SASL PLAIN needs no further rounds, but answer challenges with the same
            // token rather than hanging if a server sends one.
            for _ in 0..8 {
                match reply {
                    Response::AuthSuccess(_) => break,
                    Response::AuthChallenge(_) => {
                        reply = wire.call(Request::AuthResponse(AuthResponse::plain(user, password))).await?;
                    }
                    // Only an Authentication_error refuses the credentials; any other
                    // error (Overloaded, Server_error, ...) is about this node, and
                    // another contact point may do.
                    Response::Error(e) if e.kind == ErrorKind::AuthenticationError => {
                        return Err(ConnectionError::AuthenticationFailed(e));
                    }
                    Response::Error(e) => return Err(ConnectionError::Refused(e)),
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

#[cfg(test)]
mod tests {
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
}
