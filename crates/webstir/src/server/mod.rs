//! The HTTP server: accept loop, fused request pipeline, router, bodies, health.

pub(crate) mod accept;
pub(crate) mod body;
pub(crate) mod client_errors;
pub(crate) mod cors;
pub(crate) mod deadline;
pub(crate) mod edges;
pub(crate) mod health;
pub(crate) mod io;
pub(crate) mod metrics;
pub(crate) mod request_id;
pub(crate) mod response;
pub(crate) mod router;
pub(crate) mod service;
pub(crate) mod statics;
