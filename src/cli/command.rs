//! The typed result of parsing: one [`Command`] per command of the table,
//! built from the [`Matches`] of its flags.

use super::flags::*;
use super::parse::{Matches, Source, Span};
use super::spec::Node;
use crate::error::{CliError, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Help for a command, a group or a guide.
    Help(HelpRequest),
    /// `version`.
    Version(VersionArgs),
    /// `--version`: one line.
    VersionLine,
    Login(LoginArgs),
    Logout {
        select: Selection,
    },
    Whoami {
        format: Format,
    },
    List {
        format: Format,
    },
    Status {
        format: Format,
        /// `--all`: every stored context.
        all: bool,
        select: Selection,
    },
    Token {
        select: Selection,
    },
    Refresh {
        if_expiring_within: Option<Span>,
        login: LoginArgs,
        select: Selection,
    },
    DevicesList {
        format: Format,
        page: Option<i64>,
        /// `--limit`, checked: its error is reported after the auth gate,
        /// as the official tool does.
        limit: Option<Result<u32>>,
        http_retry: Option<u32>,
        select: Selection,
    },
    DevicesRevoke {
        target: Option<String>,
        all: bool,
        yes: bool,
        http_retry: Option<u32>,
        select: Selection,
    },
    UseHost {
        domain: Option<String>,
        /// Also switch to this account of the host.
        email: Option<String>,
    },
    UseAccount {
        email: Option<String>,
        /// The host of the account; it becomes the active one.
        host: Option<String>,
    },
    UseWorkspace {
        id: Option<String>,
        http_retry: Option<u32>,
        select: Selection,
    },
    EnvList {
        format: Format,
    },
    Api(ApiArgs),
    Completion {
        shell: Shell,
    },
    /// The hidden entry point of the completion scripts: the words typed so
    /// far, the last one being completed.
    Complete(Vec<String>),
}

/// `--help`, `help …`: what to describe, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpRequest {
    /// The command or group (empty: the top level).
    pub path: Vec<&'static str>,
    /// A guide (`help environment`) instead of a command.
    pub topic: Option<&'static str>,
    /// Text, or the command table as JSON or YAML (`--help -o json`).
    pub format: Format,
}

impl HelpRequest {
    pub fn path(path: Vec<&'static str>, format: Format) -> HelpRequest {
        HelpRequest {
            path,
            topic: None,
            format,
        }
    }
}

/// How a command prints its data: its default view (a table or text), or
/// as JSON, YAML, or names one per line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Text,
    Json,
    Yaml,
    Name,
}

impl Format {
    /// `json`, `yaml`, `name`, `text` (the names `-o` takes).
    pub fn named(name: &str) -> Option<Format> {
        match name {
            "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            "yaml" => Some(Format::Yaml),
            "name" => Some(Format::Name),
            _ => None,
        }
    }

    /// JSON or YAML: data for programs (no spinner, no banner).
    pub fn structured(self) -> bool {
        matches!(self, Format::Json | Format::Yaml)
    }
}

/// `--host DOMAIN` / `--account EMAIL` of the commands that use a context:
/// which stored context to use for this invocation (see
/// [`crate::commands::context`] for the whole order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub host: Option<String>,
    pub account: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoginArgs {
    pub host: Option<String>,
    pub no_browser: bool,
    pub insecure: bool,
    pub method: LoginMethod,
    /// `--device-flow`: the device flow asked for by name, which `auth
    /// refresh` needs to start one without a terminal.
    pub device_flow: bool,
    pub email: Option<String>,
    pub password_stdin: bool,
    /// `keychain` or `file`.
    pub token_storage: Option<&'static str>,
    /// `--label`, as given (checked when the label is chosen).
    pub label: Option<String>,
    /// How a device-flow sign-in ends (`auth login` only).
    pub finish: Finish,
    /// `--json` / `-o json`: the outcome as one JSON object on stdout.
    pub json: bool,
}

/// How a device-flow sign-in ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Finish {
    /// Waits for the approval (the default).
    #[default]
    Wait,
    /// `--no-wait`: the code is shown and the sign-in saved as pending.
    Save,
    /// `--resume`: a pending sign-in polled once, or until it is decided
    /// (`--wait`).
    Resume { wait: bool },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LoginMethod {
    #[default]
    DeviceFlow,
    WithToken,
    Password,
    EmailCode,
    ConsoleCookie,
}

impl LoginMethod {
    /// The flag that asks for the method (none for the device flow).
    pub fn flag(self) -> Option<&'static str> {
        match self {
            LoginMethod::DeviceFlow => None,
            LoginMethod::WithToken => Some("--with-token"),
            LoginMethod::Password => Some("--password"),
            LoginMethod::EmailCode => Some("--email-code"),
            LoginMethod::ConsoleCookie => Some("--console-cookie"),
        }
    }
}

/// `version [-o text|json|yaml] [--client] [--short] [--check-compat]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VersionArgs {
    pub format: Format,
    /// Report the client only; no request.
    pub client: bool,
    /// The client version alone.
    pub short: bool,
    /// Exit 64 unless the server is compatible.
    pub check_compat: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiArgs {
    pub path: String,
    pub method: Option<String>,
    pub headers: Vec<String>,
    pub input: Option<Source>,
    pub include: bool,
    pub http_retry: Option<u32>,
    pub select: Selection,
}

impl Matches {
    fn selection(&self) -> Selection {
        Selection {
            host: self.text(&SELECT_HOST),
            account: self.text(&SELECT_ACCOUNT),
        }
    }

    /// The sign-in flags `login` and `refresh` share (refresh's `--host`
    /// selects a context: it is not login's host URL).
    fn login_args(&self, host: Option<String>) -> Result<LoginArgs> {
        let methods = [
            (&DEVICE_FLOW, LoginMethod::DeviceFlow),
            (&WITH_TOKEN, LoginMethod::WithToken),
            (&PASSWORD, LoginMethod::Password),
            (&EMAIL_CODE, LoginMethod::EmailCode),
            (&CONSOLE_COOKIE, LoginMethod::ConsoleCookie),
        ];
        let chosen: Vec<_> = methods
            .iter()
            .filter(|(f, _)| self.node_accepts(f) && self.switch(f))
            .collect();
        if chosen.len() > 1 {
            let names: Vec<String> = chosen
                .iter()
                .map(|(f, _)| format!("--{}", f.long))
                .collect();
            return Err(CliError::usage_invalid(format!(
                "{} cannot be combined",
                names.join(" and ")
            )));
        }
        let login_only = |flag: &'static Flag| self.node_accepts(flag) && self.switch(flag);
        let (no_wait, resume, wait) =
            (login_only(&NO_WAIT), login_only(&RESUME), login_only(&WAIT));
        let finish = match (no_wait, resume) {
            (true, true) => {
                return Err(CliError::usage_invalid(
                    "--no-wait and --resume cannot be combined",
                ));
            }
            (true, false) => Finish::Save,
            (false, true) => Finish::Resume { wait },
            (false, false) => Finish::Wait,
        };
        if wait && !resume {
            return Err(CliError::usage_invalid("--wait only applies to --resume"));
        }
        let json = self.node_accepts(&JSON) && self.format()? == Format::Json;
        Ok(LoginArgs {
            host,
            no_browser: self.switch(&NO_BROWSER),
            insecure: self.switch(&INSECURE),
            method: chosen
                .first()
                .map_or(LoginMethod::DeviceFlow, |(_, method)| *method),
            device_flow: self.node_accepts(&DEVICE_FLOW) && self.switch(&DEVICE_FLOW),
            email: self.text(&SIGN_IN_EMAIL),
            password_stdin: self.switch(&PASSWORD_STDIN),
            token_storage: if self.node_accepts(&TOKEN_STORAGE) {
                self.choice(&TOKEN_STORAGE)
            } else {
                None
            },
            label: self.text(&LABEL),
            finish,
            json,
        })
    }
}

/// The command at `path` from its matches.
pub(super) fn build(path: &[&'static str], node: &'static Node, m: &Matches) -> Result<Command> {
    Ok(match path {
        ["auth", "login"] => Command::Login(m.login_args(m.text(&LOGIN_HOST))?),
        ["auth", "logout"] => Command::Logout {
            select: m.selection(),
        },
        ["auth", "whoami"] => Command::Whoami {
            format: m.format()?,
        },
        ["auth", "list"] => Command::List {
            format: m.format()?,
        },
        ["auth", "status"] => Command::Status {
            format: m.format()?,
            all: m.switch(&ALL_CONTEXTS),
            select: m.selection(),
        },
        ["auth", "token"] => Command::Token {
            select: m.selection(),
        },
        ["auth", "refresh"] => {
            let login = m.login_args(None)?;
            Command::Refresh {
                if_expiring_within: m.duration(&IF_EXPIRING_WITHIN)?,
                login,
                select: m.selection(),
            }
        }
        ["auth", "devices", "list"] => Command::DevicesList {
            format: m.format()?,
            page: m.int(&PAGE),
            limit: m.page_size(&LIMIT),
            http_retry: m.retries(&HTTP_RETRY)?,
            select: m.selection(),
        },
        ["auth", "devices", "revoke"] => Command::DevicesRevoke {
            target: m.positional(0),
            all: m.switch(&ALL),
            yes: m.switch(&YES),
            http_retry: m.retries(&HTTP_RETRY)?,
            select: m.selection(),
        },
        ["use", "host"] => Command::UseHost {
            domain: m.text(&DOMAIN),
            email: m.text(&HOST_ACCOUNT),
        },
        ["use", "account"] => Command::UseAccount {
            email: m.text(&USE_EMAIL),
            host: m.text(&ACCOUNT_HOST),
        },
        ["use", "workspace"] => Command::UseWorkspace {
            id: m.positional(0),
            http_retry: m.retries(&HTTP_RETRY)?,
            select: m.selection(),
        },
        ["env", "list"] => Command::EnvList {
            format: m.format()?,
        },
        ["api"] => Command::Api(ApiArgs {
            path: m.positional(0).unwrap_or_default(),
            method: m.text(&METHOD),
            headers: m.texts(&HEADER),
            input: m.path(&INPUT),
            include: m.switch(&INCLUDE),
            http_retry: m.retries(&HTTP_RETRY)?,
            select: m.selection(),
        }),
        ["completion"] => Command::Completion {
            shell: match m.positional(0).as_deref() {
                Some("zsh") => Shell::Zsh,
                Some("fish") => Shell::Fish,
                // The only other value the argument's choices let through.
                _ => Shell::Bash,
            },
        },
        ["version"] => Command::Version(VersionArgs {
            format: m.format()?,
            client: m.switch(&CLIENT),
            short: m.switch(&SHORT),
            check_compat: m.switch(&CHECK_COMPAT),
        }),
        ["help"] => return help_topic(&m.positionals, m.format()?),
        _ => unreachable!(
            "command {path:?} ({}) is in the table but not built",
            node.name
        ),
    })
}

/// `difyctl help auth login` → help for that path; `difyctl help
/// environment` → that guide; else `unknown help topic`.
pub(super) fn help_topic(words: &[String], format: Format) -> Result<Command> {
    let mut node: &'static Node = &super::spec::ROOT;
    let mut path = Vec::new();
    for word in words {
        match node.child(word) {
            Some(child) => {
                path.push(child.name);
                node = child;
            }
            None => {
                if let [name] = words
                    && let Some(topic) = super::topics::find(name)
                {
                    return Ok(Command::Help(HelpRequest {
                        path: Vec::new(),
                        topic: Some(topic.name),
                        format,
                    }));
                }
                let topic = words.join(" ");
                return Err(super::suggest::unknown(
                    "unknown help topic",
                    &topic,
                    &topic,
                ));
            }
        }
    }
    Ok(Command::Help(HelpRequest::path(path, format)))
}
