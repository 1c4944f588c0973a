//! The commands of the real binary, one module per command, each run in a
//! throw-away config dir and home against the mock Dify server
//! (tests/support): stdout, stderr, the exit code and the files left behind.
//!
//! What cuts across commands has a module of its own: `context` (which
//! stored context, or `DIFY_TOKEN`, a command acts on), `store` (the files on
//! disk), `store_contents` (what unusual contents of them do), `generations` (each server generation), `banner` (the
//! compatibility banner) and `parser` (the command line itself).

#[path = "../support/mod.rs"]
mod support;

mod api;
mod banner;
mod common;
mod completion;
mod context;
mod devices;
mod env;
mod formats;
mod generations;
mod help;
mod label;
mod list;
mod login;
mod logout;
mod parser;
mod proxy;
mod refresh;
mod runner;
mod status;
mod store;
mod store_contents;
mod token;
mod use_;
mod version;
mod whoami;
