//! The handshake as a state machine with no IO: fed each response, it answers with the
//! next request, a step down to a lower protocol version (on a new socket), the
//! negotiated result, or the error.
//!
//! Owns the handshake's codec, so the switches of framing and compression happen at
//! the right envelope: on v3/v4 compression applies from the reply to a STARTUP that
//! asked for LZ4 ([`Handshake::encode`] switches right after encoding it); on v5 the
//! framing switches to segments, and compression starts, after READY/AUTHENTICATE
//! (spec v5 §2.3.1). Also owns the versions left to try, the SASL PLAIN exchange, and
//! which [`HandshakeStage`] a reply is awaited at.
//!
//! Never touches the socket, the clock, or the first-byte check: the [shell](super)
//! does those.

use bytes::BytesMut;

use crate::connection::config::ConnectionConfig;
use crate::connection::error::{ConnectionError, HandshakeStage};
use crate::protocol::request::{AuthResponse, Options, Startup};
use crate::protocol::response::{ErrorKind, Supported};
use crate::protocol::{
    Compression, CqlCodec, Framing, Request, RequestMessage, Response, ResponseMessage, Role, Version,
};

/// How many AUTH_CHALLENGEs are answered before the login is given up as endless.
const MAX_CHALLENGES: usize = 8;

/// What the handshake does after a response.
#[derive(Debug)]
pub(crate) enum Next {
    /// Send this request on the same socket and feed back its reply.
    Send(Request),
    /// The server refused the version: open a new socket and send `request` (OPTIONS)
    /// at `version`, the next lower one.
    Reconnect {
        /// The version tried next.
        version: Version,
        /// The first request on the new socket.
        request: Request,
    },
    /// The connection is ready.
    Done(Negotiated),
    /// The handshake failed.
    Fail(ConnectionError),
}

/// What a finished handshake settled on.
#[derive(Debug)]
pub(crate) struct Negotiated {
    /// The codec, with the negotiated framing and compression.
    pub(crate) codec: CqlCodec,
    pub(crate) version: Version,
    pub(crate) compression: Compression,
    pub(crate) supported: Supported,
}

/// Which reply the handshake waits for.
#[derive(Debug)]
enum Step {
    Options,
    Startup { supported: Supported, compression: Compression },
    Auth { supported: Supported, compression: Compression, challenges: usize },
    Finished,
}

/// One connection's handshake. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Handshake {
    /// The versions to try, highest first; `next` indexes the one after the current.
    versions: Vec<Version>,
    next: usize,
    version: Version,
    tried: Vec<u8>,
    codec: CqlCodec,
    max_envelope_len: usize,
    max_compression_ratio: usize,
    want_lz4: bool,
    credentials: Option<(String, String)>,
    step: Step,
    /// A compression to switch to once the request being encoded is out.
    after_send: Option<Compression>,
}

impl Handshake {
    /// The handshake `config` asks for, and its first request (OPTIONS, at the highest
    /// version to try).
    pub(crate) fn new(config: &ConnectionConfig) -> (Handshake, Request) {
        let versions = match config.protocol {
            Some(v) => vec![v],
            None => vec![Version::V5, Version::V4, Version::V3],
        };
        let version = versions[0];
        let hs = Handshake {
            versions,
            next: 1,
            version,
            tried: vec![version.as_u8()],
            codec: new_codec(config.max_envelope_len, config.max_compression_ratio),
            max_envelope_len: config.max_envelope_len,
            max_compression_ratio: config.max_compression_ratio,
            want_lz4: config.compression == Compression::Lz4,
            credentials: config.credentials.clone(),
            step: Step::Options,
            after_send: None,
        };
        (hs, Request::Options(Options))
    }

    /// The step whose reply is awaited.
    pub(crate) fn stage(&self) -> HandshakeStage {
        match self.step {
            Step::Options => HandshakeStage::Options,
            Step::Startup { .. } => HandshakeStage::Startup,
            Step::Auth { .. } | Step::Finished => HandshakeStage::AuthResponse,
        }
    }

    /// Appends `request`, as the current version and framing encode it, to `out`.
    pub(crate) fn encode(&mut self, request: Request, out: &mut BytesMut) -> Result<(), ConnectionError> {
        let env = RequestMessage::new(0, request)
            .to_envelope(self.version)
            .map_err(|e| ConnectionError::Unexpected(e.to_string()))?;
        self.codec.encode_envelope(&env, out).map_err(|e| ConnectionError::Unexpected(e.to_string()))?;
        if let Some(c) = self.after_send.take() {
            self.codec.set_compression(c);
        }
        Ok(())
    }

    /// The next response in `buf`, or `None` if more bytes are needed. Events (which
    /// cannot precede READY) are skipped.
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Response>, ConnectionError> {
        while let Some(env) = self.codec.decode_envelope(buf).map_err(ConnectionError::Decode)? {
            if env.header.stream < 0 {
                continue;
            }
            return Ok(Some(ResponseMessage::from_envelope(&env).map_err(ConnectionError::Decode)?.response));
        }
        Ok(None)
    }

    /// Takes the reply to the last request sent.
    pub(crate) fn on_response(&mut self, response: Response) -> Next {
        match std::mem::replace(&mut self.step, Step::Finished) {
            Step::Options => self.on_supported(response),
            Step::Startup { supported, compression } => self.on_startup_reply(response, supported, compression),
            Step::Auth { supported, compression, challenges } => {
                self.on_auth_reply(response, supported, compression, challenges)
            }
            Step::Finished => {
                Next::Fail(ConnectionError::Unexpected(format!("{:?} after the handshake finished", response.opcode())))
            }
        }
    }

    fn on_supported(&mut self, response: Response) -> Next {
        let supported = match response {
            Response::Supported(s) => s,
            r if is_version_refusal(&r) => return self.step_down(),
            Response::Error(e) => return Next::Fail(ConnectionError::Refused(e)),
            other => {
                return Next::Fail(ConnectionError::Unexpected(format!("{:?} in reply to OPTIONS", other.opcode())));
            }
        };
        let offers_lz4 =
            supported.get(Supported::COMPRESSION).is_some_and(|c| c.iter().any(|c| c.eq_ignore_ascii_case("lz4")));
        let compression = if self.want_lz4 && offers_lz4 { Compression::Lz4 } else { Compression::None };
        let startup = Startup::new((compression == Compression::Lz4).then_some("lz4"))
            .with(Startup::DRIVER_NAME, "cqlstream")
            .with(Startup::DRIVER_VERSION, env!("CARGO_PKG_VERSION"));
        if !self.version.uses_segments() {
            // v3/v4: the reply to this STARTUP may already be compressed (see the
            // module docs of the shell); an uncompressed one is read as it is. STARTUP
            // itself is never compressed: the switch comes once it is encoded.
            self.after_send = Some(compression);
        }
        self.step = Step::Startup { supported, compression };
        Next::Send(Request::Startup(startup))
    }

    /// The next lower version on a new socket, or [`ConnectionError::NoCommonVersion`].
    fn step_down(&mut self) -> Next {
        let Some(&version) = self.versions.get(self.next) else {
            return Next::Fail(ConnectionError::NoCommonVersion { tried: std::mem::take(&mut self.tried) });
        };
        self.next += 1;
        self.version = version;
        self.tried.push(version.as_u8());
        self.codec = new_codec(self.max_envelope_len, self.max_compression_ratio);
        self.after_send = None;
        self.step = Step::Options;
        Next::Reconnect { version, request: Request::Options(Options) }
    }

    fn on_startup_reply(&mut self, response: Response, supported: Supported, compression: Compression) -> Next {
        if matches!(response, Response::Ready | Response::Authenticate(_)) {
            // From here on both directions use the negotiated framing and compression.
            self.codec.set_compression(compression);
            if self.version.uses_segments() {
                self.codec.set_framing(Framing::Segments);
            }
        }
        match response {
            Response::Ready => self.done(supported, compression),
            Response::Authenticate(a) => match &self.credentials {
                None => Next::Fail(ConnectionError::AuthenticationRequired {
                    authenticator: a.authenticator,
                    reason: "no credentials were configured".into(),
                }),
                Some((user, password)) => {
                    let request = Request::AuthResponse(AuthResponse::plain(user, password));
                    self.step = Step::Auth { supported, compression, challenges: 0 };
                    Next::Send(request)
                }
            },
            Response::Error(e) => Next::Fail(ConnectionError::Refused(e)),
            other => Next::Fail(ConnectionError::Unexpected(format!("{:?} in reply to STARTUP", other.opcode()))),
        }
    }

    /// SASL PLAIN needs no further rounds, but challenges are answered with the same
    /// token (up to [`MAX_CHALLENGES`]) rather than hanging if a server sends one.
    fn on_auth_reply(
        &mut self,
        response: Response,
        supported: Supported,
        compression: Compression,
        challenges: usize,
    ) -> Next {
        if matches!(response, Response::AuthSuccess(_)) {
            return self.done(supported, compression);
        }
        match response {
            // Only an Authentication_error refuses the credentials; any other error
            // (Overloaded, Server_error, ...) is about this node, and another contact
            // point may do.
            Response::Error(e) if e.kind == ErrorKind::AuthenticationError => {
                Next::Fail(ConnectionError::AuthenticationFailed(e))
            }
            Response::Error(e) => Next::Fail(ConnectionError::Refused(e)),
            Response::AuthChallenge(_) if challenges >= MAX_CHALLENGES => {
                Next::Fail(ConnectionError::Unexpected("endless authentication challenges".into()))
            }
            Response::AuthChallenge(_) => {
                let Some((user, password)) = &self.credentials else {
                    return Next::Fail(ConnectionError::Unexpected("authentication without credentials".into()));
                };
                let request = Request::AuthResponse(AuthResponse::plain(user, password));
                self.step = Step::Auth { supported, compression, challenges: challenges + 1 };
                Next::Send(request)
            }
            other => Next::Fail(ConnectionError::Unexpected(format!("{:?} during authentication", other.opcode()))),
        }
    }

    fn done(&mut self, supported: Supported, compression: Compression) -> Next {
        let codec = std::mem::replace(&mut self.codec, new_codec(self.max_envelope_len, self.max_compression_ratio));
        Next::Done(Negotiated { codec, version: self.version, compression, supported })
    }
}

fn new_codec(max_envelope_len: usize, max_compression_ratio: usize) -> CqlCodec {
    CqlCodec::new(Role::Client)
        .with_max_envelope_len(max_envelope_len)
        .with_max_compression_ratio(max_compression_ratio)
}

/// Whether an error answer means "I do not speak that protocol version".
fn is_version_refusal(r: &Response) -> bool {
    matches!(r, Response::Error(e) if e.kind == ErrorKind::ProtocolError && e.message.to_ascii_lowercase().contains("version"))
}
