//! What is shipped: the release binary (`release`), `make install` and
//! `make uninstall` with the committed completion scripts (`install`), and
//! the man pages (`man`).

#[path = "../support/mod.rs"]
mod support;

mod guides;
mod install;
mod man;
mod release;
