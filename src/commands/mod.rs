//! One blocking function per command. Each gets its parsed arguments and a
//! [`Ctx`], and returns an [`Output`] or a [`CliError`]; none of them decides
//! an exit status or formats an error.

pub mod completion;
pub mod env;

use crate::cli::{Command, help};
use crate::output::term::Ui;
use crate::output::{CliError, Output, Result};

/// What every command may use besides its arguments.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub ui: Ui,
    pub verbose: bool,
}

impl Ctx {
    pub fn new(verbose: bool) -> Ctx {
        Ctx {
            ui: Ui::detect(),
            verbose,
        }
    }
}

pub fn run(command: Command, ctx: &Ctx) -> Result<Output> {
    let _ = ctx;
    match command {
        Command::Help(path) => Ok(Output::Text(help::render(&path))),
        Command::Version => Ok(Output::Text(format!(
            "difyctl {}\n",
            env!("CARGO_PKG_VERSION")
        ))),
        Command::EnvList { json } => env::list(json),
        Command::Login(_) => Err(CliError::not_implemented("auth login")),
        Command::Logout => Err(CliError::not_implemented("auth logout")),
        Command::Whoami { .. } => Err(CliError::not_implemented("auth whoami")),
        Command::List { .. } => Err(CliError::not_implemented("auth list")),
        Command::Status { .. } => Err(CliError::not_implemented("auth status")),
        Command::Token => Err(CliError::not_implemented("auth token")),
        Command::Refresh { .. } => Err(CliError::not_implemented("auth refresh")),
        Command::DevicesList { .. } => Err(CliError::not_implemented("auth devices list")),
        Command::DevicesRevoke { .. } => Err(CliError::not_implemented("auth devices revoke")),
        Command::UseHost { .. } => Err(CliError::not_implemented("use host")),
        Command::UseAccount { .. } => Err(CliError::not_implemented("use account")),
        Command::UseWorkspace { .. } => Err(CliError::not_implemented("use workspace")),
        Command::Api(_) => Err(CliError::not_implemented("api")),
        Command::Completion { shell } => completion::script(&shell),
    }
}
