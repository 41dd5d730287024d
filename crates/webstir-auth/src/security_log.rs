//! Security events. Every event goes to the `tracing` target [`SECURITY_TARGET`] with an `event`
//! name, a `reason` code and a `credential` kind, and never the credential itself: no token, key,
//! secret, cookie, `kid` or claim value is ever passed to these functions.
//!
//! Events are emitted inside the caller's span, so a runtime that wraps each request in a span
//! carrying `request_id` gets the request id on every event.

use crate::access::Forbidden;
use crate::outcome::{CredentialKind, RejectReason};

/// The `tracing` target of every security event.
pub const SECURITY_TARGET: &str = "webstir::security";

/// A presented credential was refused.
pub(crate) fn rejected(kind: CredentialKind, reason: RejectReason) {
    if reason.is_server_side() {
        tracing::error!(
            target: SECURITY_TARGET,
            event = "auth.rejected",
            reason = reason.code(),
            credential = kind.as_str(),
            "credential could not be verified"
        );
    } else {
        tracing::warn!(
            target: SECURITY_TARGET,
            event = "auth.rejected",
            reason = reason.code(),
            credential = kind.as_str(),
            "credential rejected"
        );
    }
}

/// A credential was sent in the query string.
pub(crate) fn credential_in_query() {
    tracing::warn!(
        target: SECURITY_TARGET,
        event = "auth.rejected",
        reason = RejectReason::CredentialInQuery.code(),
        credential = "query",
        "credential sent in the query string refused"
    );
}

/// A request was denied with 401.
pub(crate) fn unauthorized(reason: Option<RejectReason>) {
    tracing::info!(
        target: SECURITY_TARGET,
        event = "auth.denied",
        status = 401u16,
        reason = reason.map_or("missing_credential", RejectReason::code),
        "request denied: authentication required"
    );
}

/// A request was denied with 403.
pub(crate) fn forbidden(reason: &Forbidden, kind: Option<CredentialKind>) {
    tracing::warn!(
        target: SECURITY_TARGET,
        event = "auth.denied",
        status = 403u16,
        reason = reason.code(),
        credential = kind.map_or("none", CredentialKind::as_str),
        "request denied: insufficient scope or role"
    );
}
