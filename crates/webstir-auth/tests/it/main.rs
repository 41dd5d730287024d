//! Integration tests for webstir-auth: one binary, one module per area.

mod access;
mod api_keys;
mod config;
mod jwks;
mod jwt_hs256;
mod jwt_rs256;
mod logging;
mod service_tokens;
mod util;
