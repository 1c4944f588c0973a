//! Everything that reaches the user: the error model, rendering and terminal helpers.

pub mod error;

pub use error::{CliError, Result};
