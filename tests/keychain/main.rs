//! The OS keychain against a real Secret Service (gnome-keyring on a private
//! D-Bus session bus, see support/secret_service.rs), no bus, a bus without
//! a Secret Service and a locked collection: the backend in-process
//! (`backend`) and the real binary (`cli`).

#[path = "../support/mod.rs"]
mod support;

mod backend;
mod cli;
