//! One blocking function per command. Each gets its parsed arguments and a
//! [`Ctx`], and returns an [`Output`] or a
//! [`CliError`](crate::error::CliError); none of them decides an exit status
//! or formats an error.

pub mod api;
pub mod auth;
pub mod banner;
pub mod complete;
pub mod context;
pub mod data;
pub mod env;
pub mod use_;
pub mod version;

use crate::build_facts::version_line;
use crate::cli::{self, Command, HelpRequest, describe, help, topics};
use crate::ctx::Ctx;
use crate::error::Result;
use crate::output::Output;

pub fn run(command: Command, ctx: &Ctx) -> Result<Output> {
    match command {
        Command::Help(req) => Ok(help_output(ctx, &req)),
        Command::Version(args) => version::run(ctx, &args),
        Command::VersionLine => Ok(Output::Text(version_line())),
        Command::EnvList { format } => env::list(ctx, format),
        Command::Login(args) => auth::login::run(ctx, &args),
        Command::Logout { select } => auth::logout::run(ctx, &select),
        Command::Whoami { format } => auth::whoami::run(ctx, format),
        Command::List { format } => auth::list::run(ctx, format),
        Command::Status {
            format,
            all,
            select,
        } => auth::status::run(ctx, format, &select, all),
        Command::Token { select } => auth::token::run(ctx, &select),
        Command::Refresh {
            if_expiring_within,
            login,
            select,
        } => auth::refresh::run(ctx, if_expiring_within.as_ref(), &login, &select),
        Command::DevicesList {
            format,
            page,
            limit,
            http_retry,
            select,
        } => auth::devices::list(ctx, format, page, limit, http_retry, &select),
        Command::DevicesRevoke {
            target,
            all,
            yes,
            http_retry,
            select,
        } => auth::devices::revoke(ctx, target, all, yes, http_retry, &select),
        Command::UseHost { domain, email } => use_::host(ctx, domain, email),
        Command::UseAccount { email, host } => use_::account(ctx, email, host),
        Command::UseWorkspace {
            id,
            http_retry,
            select,
        } => use_::workspace(ctx, id, http_retry, &select),
        Command::Api(args) => api::run(ctx, &args),
        Command::Completion { shell } => Ok(Output::Text(cli::complete::script(shell))),
        Command::Complete(words) => Ok(complete::run(ctx, &words)),
    }
}

/// Help as text wrapped to the terminal, or the table as JSON or YAML.
fn help_output(ctx: &Ctx, req: &HelpRequest) -> Output {
    if req.format.structured() {
        return data::output(&describe::describe(req), req.format, true);
    }
    let width = ctx.ui.columns;
    Output::Text(match req.topic.and_then(topics::find) {
        Some(topic) => help::render_topic(topic, width),
        None => help::render(&req.path, width),
    })
}
