//! One blocking function per command. Each gets its parsed arguments and a
//! [`Ctx`], and returns an [`Output`] or a
//! [`CliError`](crate::error::CliError); none of them decides an exit status
//! or formats an error.

pub mod api;
pub mod auth;
pub mod banner;
pub mod context;
pub mod env;
pub mod use_;
pub mod version;

use crate::build_facts::version_line;
use crate::cli::{Command, complete, help};
use crate::ctx::Ctx;
use crate::error::Result;
use crate::output::Output;

pub fn run(command: Command, ctx: &Ctx) -> Result<Output> {
    match command {
        Command::Help(path) => Ok(Output::Text(help::render(&path))),
        Command::Version(args) => version::run(ctx, &args),
        Command::VersionLine => Ok(Output::Text(version_line())),
        Command::EnvList { json } => env::list(ctx, json),
        Command::Login(args) => auth::login::run(ctx, &args),
        Command::Logout { select } => auth::logout::run(ctx, &select),
        Command::Whoami { json } => auth::whoami::run(ctx, json),
        Command::List { format } => auth::list::run(ctx, format),
        Command::Status { json, select } => auth::status::run(ctx, json, &select),
        Command::Token { select } => auth::token::run(ctx, &select),
        Command::Refresh {
            if_expiring_within,
            login,
            select,
        } => auth::refresh::run(ctx, if_expiring_within.as_ref(), &login, &select),
        Command::DevicesList {
            json,
            page,
            limit,
            http_retry,
            select,
        } => auth::devices::list(ctx, json, page, limit, http_retry, &select),
        Command::DevicesRevoke {
            target,
            all,
            yes,
            http_retry,
            select,
        } => auth::devices::revoke(ctx, target, all, yes, http_retry, &select),
        Command::UseHost { domain } => use_::host(ctx, domain),
        Command::UseAccount { email } => use_::account(ctx, email),
        Command::UseWorkspace {
            id,
            http_retry,
            select,
        } => use_::workspace(ctx, id, http_retry, &select),
        Command::Api(args) => api::run(ctx, &args),
        Command::Completion { shell } => Ok(Output::Text(complete::script(shell))),
    }
}
