//! difyctl: sign in to Dify hosts and manage saved host/account contexts.

pub mod output;
pub mod state;
