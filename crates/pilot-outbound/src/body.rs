//! Reading a response body without letting the far end choose how much memory it
//! takes.
//!
//! The body is read chunk by chunk and reading stops at the bound: a server that
//! streams forever costs `max_response_bytes` and the time limit, nothing more. What
//! happens at the bound is the caller's choice ([`Oversize`]): keep the first bytes
//! and say so, or fail. A `Content-Length` over the bound fails before reading.

use bytes::{Bytes, BytesMut};

/// What to do with a body longer than the bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Oversize {
    /// Keep the first `limit` bytes and report the body as truncated.
    Truncate,
    /// Fail with [`crate::OutboundError::BodyTooLarge`].
    Fail,
}

/// Why a body could not be read within the bound.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Over the bound under [`Oversize::Fail`].
    TooLarge,
    /// The connection failed while reading.
    Read(reqwest::Error),
}

/// Reads at most `limit` bytes of `response`'s body: the bytes, and whether more
/// were left unread.
pub(crate) async fn read(
    mut response: reqwest::Response,
    limit: usize,
    oversize: Oversize,
) -> Result<(Bytes, bool), BodyError> {
    let declared = response.content_length().unwrap_or(0);
    if oversize == Oversize::Fail && declared > limit as u64 {
        return Err(BodyError::TooLarge);
    }
    let capacity = usize::try_from(declared).unwrap_or(limit).min(limit);
    let mut body = BytesMut::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        let room = limit - body.len();
        if chunk.len() > room {
            if oversize == Oversize::Fail {
                return Err(BodyError::TooLarge);
            }
            body.extend_from_slice(&chunk[..room]);
            return Ok((body.freeze(), true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body.freeze(), false))
}
