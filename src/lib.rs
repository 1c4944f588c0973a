//! difyctl: sign in to Dify hosts and manage saved host/account contexts.
//!
//! argv → [`cli::parse`] → [`commands::run`] → [`output::finish`] (rendering
//! and the exit status, decided in one place).

pub mod build_facts;
pub mod cli;
pub mod commands;
pub mod compat;
pub mod credentials;
pub mod ctx;
pub mod dify;
pub mod env;
pub mod error;
pub mod harden;
pub mod host;
pub mod output;
pub mod secret;
pub mod state;
pub mod time;

#[cfg(test)]
mod architecture;

use std::process::ExitCode;

pub fn run() -> ExitCode {
    // Before any secret is read: no core file, no ptrace by the same user.
    harden::non_dumpable();
    output::interrupt::install();
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    // The environment, the terminals and the config dir, found once.
    let env = env::Env::from_process();
    let invocation = cli::parse(args, &env);
    let style = invocation.error_style();
    let ui = output::term::Ui::detect(&env);
    let ctx = ctx::Ctx::new(env, ui, ctx::Clock::System, style.verbose);
    let result = invocation
        .command
        .and_then(|command| commands::run(command, &ctx));
    output::finish(result, &ctx.ui, style)
}
