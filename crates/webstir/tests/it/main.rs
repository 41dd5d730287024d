//! Runtime behaviour over a real loopback socket, with the server in-process.

mod http;
mod util;
