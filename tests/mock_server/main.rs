//! The mock Dify server itself (tests/support/mock), exercised over raw
//! HTTP/1.1: proof that it answers as a Dify server does before the command
//! tests rely on it. `generations` covers the newer server generations.

#[path = "../support/mod.rs"]
mod support;

mod bearer;
mod common;
mod console;
mod device;
mod generations;
mod http;
