//! STUB: to be replaced by the responses module (contract below is fixed).
#![allow(missing_docs, unreachable_pub, dead_code)]
use bytes::BytesMut;

use super::error::{DecodeError, EncodeError};
use super::header::{Opcode, Version};
use super::wire::Reader;

#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Ready,
}

impl Response {
    pub fn opcode(&self) -> Opcode {
        Opcode::Ready
    }
    pub fn encode_body(&self, _version: Version, _buf: &mut BytesMut) -> Result<(), EncodeError> {
        Ok(())
    }
    pub fn decode_body(_opcode: Opcode, _version: Version, _r: &mut Reader<'_>) -> Result<Response, DecodeError> {
        Ok(Response::Ready)
    }
}
