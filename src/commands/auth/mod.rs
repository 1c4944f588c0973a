//! `auth …` commands.

pub mod list;
pub mod whoami;
