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
//! The decisions (which request next, when to step down, when the codec switches
//! framing and compression) are the state machine's, [`machine::Handshake`], fed each
//! response and tested without sockets. This module is its shell: it owns the socket,
//! the read buffer, the first-byte check and the deadline. It runs before the
//! connection task exists, on a plain socket, and owns nothing after.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use self::machine::{Handshake, Next};
use super::config::ConnectionConfig;
use super::error::{ConnectionError, HandshakeStage};
use crate::protocol::response::Supported;
use crate::protocol::{Compression, CqlCodec, Request, Response, Version};

mod machine;
#[cfg(test)]
mod tests;

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

/// One socket of the handshake: its bytes, and whether the first one was checked.
struct Wire {
    socket: TcpStream,
    buf: BytesMut,
    addr: SocketAddr,
    /// Whether the first byte from the server has been seen to start a CQL response.
    checked_first: bool,
}

impl Wire {
    fn new(socket: TcpStream, addr: SocketAddr) -> Wire {
        Wire { socket, buf: BytesMut::with_capacity(16 * 1024), addr, checked_first: false }
    }

    async fn send(&mut self, hs: &mut Handshake, request: Request) -> Result<(), ConnectionError> {
        let mut out = BytesMut::new();
        hs.encode(request, &mut out)?;
        self.socket.write_all(&out).await?;
        Ok(())
    }

    async fn recv(&mut self, hs: &mut Handshake) -> Result<Response, ConnectionError> {
        loop {
            if !self.checked_first && !self.buf.is_empty() {
                self.check_first().await?;
            }
            if let Some(response) = hs.decode(&mut self.buf)? {
                return Ok(response);
            }
            if self.socket.read_buf(&mut self.buf).await? == 0 {
                return Err(ConnectionError::Closed);
            }
        }
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
    let (mut hs, mut request) = Handshake::new(config);
    loop {
        stage.set(HandshakeStage::Connect);
        let mut wire = Wire::new(connect(addr, config).await?, addr);
        loop {
            stage.set(hs.stage());
            wire.send(&mut hs, request).await?;
            let response = wire.recv(&mut hs).await?;
            match hs.on_response(response) {
                Next::Send(next) => request = next,
                // A new socket for the lower version; this one closes here.
                Next::Reconnect { version, request: next } => {
                    tracing::debug!(%addr, %version, "stepping down the protocol version");
                    request = next;
                    break;
                }
                Next::Done(n) => {
                    return Ok(Ready {
                        socket: wire.socket,
                        codec: n.codec,
                        read_buf: wire.buf,
                        version: n.version,
                        compression: n.compression,
                        supported: n.supported,
                    });
                }
                Next::Fail(e) => return Err(e),
            }
        }
    }
}
