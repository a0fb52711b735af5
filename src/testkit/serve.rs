//! Serving one client connection of a test node: the handshake (OPTIONS, STARTUP, protocol
//! version negotiation, authentication), the framing switch of v5 (spec v5 §2.3.1),
//! the v3/v4 compression switch before the reply to STARTUP (as Cassandra does it),
//! and the request loop with fault injection.
//!
//! A reader loop decodes requests and answers most of them inline; a writer task owns
//! the socket's write half and coalesces replies, so a delayed reply (a fault) never
//! holds up the others. Statement execution belongs to [`super::engine`].

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, watch};
use tokio_util::codec::{Decoder, Encoder};

use super::engine::{ClientState, Outcome};
use super::faults::FaultAction;
use super::node::ClusterShared;
use crate::protocol::request::Startup;
use crate::protocol::response::{AuthSuccess, Authenticate, ErrorBody, ErrorKind, Supported};
use crate::protocol::{
    CodecError, Compression, CqlCodec, DecodeError, Envelope, Framing, Request, RequestMessage, Response,
    ResponseMessage, Role, Version,
};

/// What the writer task is told to do.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// Write an envelope.
    Envelope(Envelope),
    /// After what came before is written, use this framing and compression.
    Switch(Framing, Compression),
    /// Write these bytes as they are (a malformed frame).
    Raw(Bytes),
    /// Flush and close the connection.
    Close,
}

/// The authenticator class Cassandra names in AUTHENTICATE.
const PASSWORD_AUTHENTICATOR: &str = "org.apache.cassandra.auth.PasswordAuthenticator";

#[derive(Debug, PartialEq, Eq)]
enum Phase {
    /// Before STARTUP: only OPTIONS and STARTUP are accepted.
    Initial,
    /// STARTUP done, waiting for AUTH_RESPONSE.
    Authenticating,
    /// Ready for queries.
    Ready,
}

/// One client connection being served: where it is in the handshake, its version,
/// and its statement state.
struct ClientConn {
    cluster: Arc<ClusterShared>,
    node: usize,
    tx: mpsc::UnboundedSender<Outgoing>,
    version: Option<Version>,
    phase: Phase,
    client: ClientState,
}

/// Serves the client on `socket` for node `node` until it hangs up, or `stop` says so.
pub(crate) async fn connection(
    socket: TcpStream,
    cluster: Arc<ClusterShared>,
    node: usize,
    mut stop: watch::Receiver<bool>,
) {
    let (mut rd, wr) = socket.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_loop(wr, rx));
    let mut conn =
        ClientConn { cluster, node, tx, version: None, phase: Phase::Initial, client: ClientState::default() };
    let mut codec = CqlCodec::new(Role::Server);
    let mut buf = BytesMut::with_capacity(64 * 1024);
    'conn: loop {
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(env)) => {
                    if !conn.handle(env, &mut codec) {
                        break 'conn;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    conn.protocol_failure(e);
                    break 'conn;
                }
            }
        }
        tokio::select! {
            _ = stop.changed() => {
                // A stopped node drops its connections without a word.
                writer.abort();
                return;
            }
            read = rd.read_buf(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            },
        }
    }
    let _ = conn.tx.send(Outgoing::Close);
    drop(conn);
    let _ = writer.await;
}

async fn write_loop(mut wr: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
    let mut codec = CqlCodec::new(Role::Server);
    let mut out = BytesMut::with_capacity(64 * 1024);
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        let mut close = false;
        // Coalesce whatever is already queued into one write.
        while let Some(item) = next.take() {
            match item {
                Outgoing::Envelope(env) => {
                    if codec.encode(env, &mut out).is_err() {
                        close = true;
                    }
                }
                Outgoing::Switch(framing, compression) => {
                    codec.set_framing(framing);
                    codec.set_compression(compression);
                }
                Outgoing::Raw(bytes) => out.extend_from_slice(&bytes),
                Outgoing::Close => close = true,
            }
            if close || out.len() > 1 << 20 {
                break;
            }
            next = rx.try_recv().ok();
        }
        if !out.is_empty() && wr.write_all(&out).await.is_err() {
            return;
        }
        out.clear();
        if close {
            let _ = wr.shutdown().await;
            return;
        }
    }
}

fn protocol_error(message: impl Into<String>) -> Response {
    Response::Error(ErrorBody { kind: ErrorKind::ProtocolError, message: message.into() })
}

fn supported_versions(max: Version) -> Vec<String> {
    Version::ALL.iter().filter(|v| **v <= max).map(|v| format!("{0}/v{0}", v.as_u8())).collect()
}

impl ClientConn {
    fn send(&self, version: Version, stream: i16, response: Response) {
        match ResponseMessage::new(stream, response).to_envelope(version) {
            Ok(env) => {
                let _ = self.tx.send(Outgoing::Envelope(env));
            }
            Err(e) => {
                let body = ErrorBody { kind: ErrorKind::ServerError, message: format!("cannot encode the reply: {e}") };
                if let Ok(env) = ResponseMessage::new(stream, Response::Error(body)).to_envelope(version) {
                    let _ = self.tx.send(Outgoing::Envelope(env));
                }
            }
        }
    }

    /// Answers an undecodable input with a protocol error where the stream is known.
    fn protocol_failure(&self, e: CodecError) {
        let max = self.cluster.max_protocol;
        match e {
            CodecError::Decode(DecodeError::UnsupportedVersion { version, stream }) => {
                // Cassandra's wording; drivers look for "unsupported protocol version"
                // and step down (spec v5 §2.4.1.1).
                let message = format!(
                    "Invalid or unsupported protocol version ({version}); supported versions are ({})",
                    supported_versions(max).join(", ")
                );
                let reply_version = self.version.unwrap_or(if version > max.as_u8() { max } else { Version::V3 });
                self.send(reply_version, stream.max(0), protocol_error(message));
            }
            other => {
                if let Some(v) = self.version {
                    self.send(v, 0, protocol_error(other.to_string()));
                }
            }
        }
    }

    /// Handles one request; false closes the connection.
    fn handle(&mut self, env: Envelope, codec: &mut CqlCodec) -> bool {
        let version = env.header.version;
        let stream = env.header.stream;
        let max = self.cluster.max_protocol;
        if version > max {
            let message = format!(
                "Invalid or unsupported protocol version ({}); supported versions are ({})",
                version.as_u8(),
                supported_versions(max).join(", ")
            );
            self.send(max, stream, protocol_error(message));
            return false;
        }
        match self.version {
            None => self.version = Some(version),
            Some(v) if v != version => {
                self.send(v, stream, protocol_error(format!("Invalid message version. Got {version} but previous messages on this connection had version {v}")));
                return false;
            }
            Some(_) => {}
        }
        let msg = match RequestMessage::from_envelope(&env) {
            Ok(m) => m,
            Err(e) => {
                self.send(version, stream, protocol_error(format!("Invalid {:?} message: {e}", env.header.opcode)));
                return true;
            }
        };
        match (&self.phase, msg.request) {
            (_, Request::Options(_)) => {
                self.cluster.nodes[self.node].stats.record_options();
                let options = vec![
                    (Supported::CQL_VERSION.to_owned(), vec!["3.4.7".to_owned()]),
                    (Supported::COMPRESSION.to_owned(), vec!["lz4".to_owned()]),
                    (Supported::PROTOCOL_VERSIONS.to_owned(), supported_versions(max)),
                ];
                self.send(version, stream, Response::Supported(Supported { options }));
            }
            (Phase::Initial, Request::Startup(s)) => return self.startup(version, stream, &s, codec),
            (Phase::Initial, other) => {
                let m = format!("Unexpected message {:?}, expecting STARTUP or OPTIONS", other.opcode());
                self.send(version, stream, protocol_error(m));
            }
            (Phase::Authenticating, Request::AuthResponse(a)) => {
                let ok =
                    a.token.as_deref().and_then(parse_plain).is_some_and(|(user, pass)| {
                        self.cluster.auth.users.iter().any(|(u, p)| *u == user && *p == pass)
                    });
                if ok {
                    self.phase = Phase::Ready;
                    self.send(version, stream, Response::AuthSuccess(AuthSuccess { token: None }));
                } else {
                    let user = a.token.as_deref().and_then(parse_plain).map(|(u, _)| u).unwrap_or_default();
                    let message = format!("Provided username {user} and/or password are incorrect");
                    self.send(
                        version,
                        stream,
                        Response::Error(ErrorBody { kind: ErrorKind::AuthenticationError, message }),
                    );
                }
            }
            (Phase::Authenticating, other) => {
                let m = format!("Unexpected message {:?}, expecting SASL response", other.opcode());
                self.send(version, stream, protocol_error(m));
            }
            (Phase::Ready, Request::Startup(_)) => {
                self.send(
                    version,
                    stream,
                    protocol_error("Unexpected message STARTUP, the connection is already initialised"),
                );
            }
            (Phase::Ready, Request::AuthResponse(_)) => {
                self.send(version, stream, protocol_error("Unexpected message AUTH_RESPONSE"));
            }
            (Phase::Ready, Request::Register(r)) => {
                self.cluster.nodes[self.node].subscribers.add(version, r.events, self.tx.clone());
                self.send(version, stream, Response::Ready);
            }
            (Phase::Ready, request) => return self.statement(version, stream, msg.tracing, request),
        }
        true
    }

    fn startup(&mut self, version: Version, stream: i16, s: &Startup, codec: &mut CqlCodec) -> bool {
        if s.get(Startup::CQL_VERSION).is_none() {
            self.send(version, stream, protocol_error("Missing value CQL_VERSION in STARTUP message"));
            return true;
        }
        let compression = match s.get(Startup::COMPRESSION).map(str::to_ascii_lowercase) {
            None => Compression::None,
            Some(c) if c == "lz4" => Compression::Lz4,
            Some(c) => {
                self.send(version, stream, protocol_error(format!("Unknown compression algorithm: {c}")));
                return true;
            }
        };
        let auth = !self.cluster.auth.users.is_empty();
        let reply = if auth {
            self.phase = Phase::Authenticating;
            Response::Authenticate(Authenticate::new(PASSWORD_AUTHENTICATOR))
        } else {
            self.phase = Phase::Ready;
            Response::Ready
        };
        let framing = if version.uses_segments() { Framing::Segments } else { Framing::Envelopes };
        codec.set_framing(framing);
        codec.set_compression(compression);
        if version.uses_segments() {
            // v5: the reply goes out unframed and uncompressed; everything after it in both
            // directions uses segments (spec v5 §2.3.1), compressed if negotiated.
            self.send(version, stream, reply);
            let _ = self.tx.send(Outgoing::Switch(framing, compression));
        } else {
            // v3/v4: Cassandra turns compression on while it processes STARTUP, before the
            // reply is written, so READY or AUTHENTICATE already comes compressed (its
            // legacy pipeline's Envelope.Compressor spares only STARTUP itself). Errors
            // raised above, before that point, stay uncompressed, as there.
            let _ = self.tx.send(Outgoing::Switch(framing, compression));
            self.send(version, stream, reply);
        }
        true
    }

    fn statement(&mut self, version: Version, stream: i16, tracing: bool, request: Request) -> bool {
        let node = &self.cluster.nodes[self.node];
        let (text, page) = self.cluster.engine.describe(self.node, &request);
        for t in &text {
            node.stats.record_request(t);
        }
        let first = text.first().map(|t| &**t).unwrap_or("");
        let fault = node.faults.take(first, page);
        if let Some(page) = page {
            node.stats.record_page(first, page);
        }
        let close_after = matches!(fault, Some(FaultAction::CloseAfterReply));
        let mut delay = None;
        let mut page_rows = None;
        let mut warning = None;
        match fault {
            Some(FaultAction::Error(e)) => {
                self.send(version, stream, Response::Error(e));
                return true;
            }
            Some(FaultAction::NoReply) => return true,
            Some(FaultAction::Void) => {
                self.send(version, stream, Response::Result(crate::protocol::response::ResultBody::Void));
                return true;
            }
            Some(FaultAction::MalformedFrame) => {
                let _ = self.tx.send(Outgoing::Raw(Bytes::from_static(&[0xff; 16])));
                return true;
            }
            Some(FaultAction::CloseAtPage(_)) => {
                let _ = self.tx.send(Outgoing::Close);
                return false;
            }
            Some(FaultAction::Delay(d)) => delay = Some(d),
            Some(FaultAction::PageRows(n)) => page_rows = Some(n),
            Some(FaultAction::Warning(w)) => warning = Some(w),
            Some(FaultAction::CloseAfterReply) | None => {}
        }
        let Outcome { response, event } =
            self.cluster.engine.execute_with(&self.cluster, self.node, &mut self.client, version, request, page_rows);
        if let Some(event) = event {
            self.cluster.broadcast(&event, None);
        }
        let mut msg = ResponseMessage::new(stream, response);
        // Warnings exist from v4 on (spec v4 §2.2); a v3 client gets none.
        msg.warnings = warning.filter(|_| version >= Version::V4).map(|w| vec![w]);
        if tracing {
            // Tracing sessions are not recorded; the id only has to be unique.
            static NEXT_TRACE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
            let n = NEXT_TRACE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            msg.tracing_id = Some(uuid::Uuid::from_u64_pair(0x7472_6163_6500_1000, n));
        }
        let env = match msg.to_envelope(version) {
            Ok(env) => env,
            Err(e) => {
                let body = ErrorBody { kind: ErrorKind::ServerError, message: format!("cannot encode the reply: {e}") };
                self.send(version, stream, Response::Error(body));
                return true;
            }
        };
        match delay {
            Some(d) => {
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(d).await;
                    let _ = tx.send(Outgoing::Envelope(env));
                });
            }
            None => {
                let _ = self.tx.send(Outgoing::Envelope(env));
            }
        }
        if close_after {
            let _ = self.tx.send(Outgoing::Close);
            return false;
        }
        true
    }
}

/// Splits a SASL PLAIN token `authzid \0 user \0 password`.
fn parse_plain(token: &[u8]) -> Option<(String, String)> {
    let mut parts = token.split(|b| *b == 0);
    let _authzid = parts.next()?;
    let user = std::str::from_utf8(parts.next()?).ok()?;
    let pass = std::str::from_utf8(parts.next()?).ok()?;
    Some((user.to_owned(), pass.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_plain_tokens() {
        assert_eq!(parse_plain(b"\0cassandra\0secret"), Some(("cassandra".into(), "secret".into())));
        assert_eq!(parse_plain(b"nouser"), None);
        assert_eq!(supported_versions(Version::V4), vec!["3/v3", "4/v4"]);
    }
}
