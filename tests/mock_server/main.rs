//! The test support itself, before the command tests rely on it: the mock
//! Dify server (tests/support/mock), exercised over raw HTTP/1.1, answers as
//! a Dify server does (`generations`: the newer server generations), and
//! the file builders write what the official tool writes (`fixtures`).

#[path = "../support/mod.rs"]
mod support;

mod bearer;
mod common;
mod console;
mod device;
mod fixtures;
mod generations;
mod http;
