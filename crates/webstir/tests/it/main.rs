//! Runtime behaviour over a real loopback socket, with the server in-process.

mod csrf;
mod database;
mod edges;
mod forms;
mod hooks;
mod http;
mod hygiene;
mod jobs;
mod pressure;
mod request_model;
mod session_access;
mod sessions;
mod testing;
mod util;
mod views;
