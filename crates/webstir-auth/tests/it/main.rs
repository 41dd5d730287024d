//! Integration tests for webstir-auth: one binary, one module per area.

#[cfg(feature = "jwt")]
mod access;
mod api_keys;
mod config;
#[cfg(feature = "jwt")]
mod jwks;
#[cfg(feature = "jwt")]
mod jwt_hs256;
#[cfg(feature = "jwt")]
mod jwt_rs256;
#[cfg(feature = "jwt")]
mod logging;
mod service_tokens;
mod util;
