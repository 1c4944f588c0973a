//! `use host`, `use account` and `use workspace`, and the pickers on a
//! terminal.

mod account;
mod host;
mod keys;
mod picker;
mod workspace;
