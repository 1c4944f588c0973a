//! `auth …` commands.

pub mod devices;
pub mod list;
pub mod whoami;
