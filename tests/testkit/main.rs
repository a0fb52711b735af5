//! The test server over real TCP, driven by a scripted client built on our codec.

mod cql;
mod faults;
mod handshake;

use std::net::SocketAddr;

use cqlstream::protocol::request::Startup;
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
    pub(crate) async fn startup(&mut self, compression: Compression) -> Response {
        let name = (compression == Compression::Lz4).then_some("lz4");
        let reply = self.request(Request::Startup(Startup::new(name))).await;
        if matches!(reply, Response::Ready | Response::Authenticate(_)) {
            let codec = self.io.codec_mut();
            codec.set_compression(compression);
            if self.version.uses_segments() {
                codec.set_framing(Framing::Segments);
            }
        }
        reply
    }
}
