//! Request bodies under the size cap: refused from `content-length` before reading; the streamed
//! total is capped by `http_body_util::Limited` around every body handlers see (chunked too).

use http_body::Body;

pub(crate) fn declared_too_large<B: Body>(body: &B, limit: u64) -> bool {
    body.size_hint().lower() > limit
}
