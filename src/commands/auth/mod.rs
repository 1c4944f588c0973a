//! `auth …` commands.

pub mod devices;
pub mod list;
pub mod login;
pub mod logout;
pub mod pending;
pub mod refresh;
pub mod sign_in;
pub mod status;
pub mod token;
pub mod whoami;
