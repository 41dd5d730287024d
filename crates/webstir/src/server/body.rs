//! Reading request bodies under the size cap: refused from `content-length` before reading, and
//! enforced while streaming (chunked bodies too).

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};

pub(crate) enum BodyError {
    TooLarge,
    Aborted,
    TimedOut,
}

pub(crate) fn declared_too_large(body: &Incoming, limit: u64) -> bool {
    body.size_hint().lower() > limit
}

pub(crate) async fn read(mut body: Incoming, limit: u64) -> Result<Bytes, BodyError> {
    if declared_too_large(&body, limit) {
        return Err(BodyError::TooLarge);
    }
    if body.is_end_stream() {
        return Ok(Bytes::new());
    }
    let mut first: Option<Bytes> = None;
    let mut rest: Option<BytesMut> = None;
    let mut total: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Aborted)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len() as u64;
        if total > limit {
            return Err(BodyError::TooLarge);
        }
        match (&mut first, &mut rest) {
            (None, _) => first = Some(data),
            (Some(head), None) => {
                let mut buf = BytesMut::with_capacity(head.len() + data.len());
                buf.extend_from_slice(head);
                buf.extend_from_slice(&data);
                rest = Some(buf);
            }
            (Some(_), Some(buf)) => buf.extend_from_slice(&data),
        }
    }
    Ok(match rest {
        Some(buf) => buf.freeze(),
        None => first.unwrap_or_default(),
    })
}
