//! The guides of `difyctl help <guide>`: one text each, which is also a
//! section of difyctl(1) (the man page's section is generated from the
//! same blocks and checked by the packaging tests), so the two cannot
//! disagree. In the text, `code` in backquotes is set in bold in the man page.

pub mod environment;

use crate::error::ErrorCode;

/// A guide.
#[derive(Debug)]
pub struct Topic {
    pub name: &'static str,
    /// The line that lists it under GUIDES.
    pub summary: &'static str,
    /// The section of difyctl(1) that holds the same text.
    pub section: &'static str,
    pub body: fn() -> Vec<Block>,
}

impl Topic {
    /// The first line of the guide.
    pub fn title(&self) -> String {
        format!(
            "difyctl help {}: {}",
            self.name,
            self.summary.to_lowercase()
        )
    }
}

/// A piece of a guide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A subsection heading.
    Heading(&'static str),
    Para(String),
    /// A term (several, comma-separated, for one meaning) and what it means.
    Item(String, String),
    /// Shell lines, shown as `$ line`.
    Example(Vec<String>),
}

pub static TOPICS: &[Topic] = &[
    Topic {
        name: "agent",
        summary: "How an agent or a script signs in and reads results",
        section: "AGENTS AND AUTOMATION",
        body: agent,
    },
    Topic {
        name: "environment",
        summary: "The environment variables difyctl reads",
        section: "ENVIRONMENT",
        body: environment,
    },
    Topic {
        name: "exit-codes",
        summary: "What each exit status means",
        section: "EXIT STATUS",
        body: exit_codes,
    },
];

pub fn find(name: &str) -> Option<&'static Topic> {
    TOPICS.iter().find(|t| t.name == name)
}

/// Text without the backquotes that mark code.
pub fn plain(text: &str) -> String {
    text.replace('`', "")
}

fn para(text: &str) -> Block {
    Block::Para(text.to_string())
}

fn item(term: &str, text: &str) -> Block {
    Block::Item(term.to_string(), text.to_string())
}

fn example(lines: &[&str]) -> Block {
    Block::Example(lines.iter().map(|l| l.to_string()).collect())
}

fn environment() -> Vec<Block> {
    let mut blocks = vec![para(
        "The environment is read once, when difyctl starts. A variable read as text that \
         is not valid UTF-8 is refused by the command that reads it (`usage_invalid_flag`, \
         exit 2, naming the variable), never taken as unset; a path (`DIFY_CONFIG_DIR`, \
         `DIFY_CACHE_DIR`, `HOME`, `SSL_CERT_FILE`, ...) may hold any bytes.",
    )];
    blocks.extend(
        environment::VARIABLES
            .iter()
            .map(|v| item(&v.names.join(", "), v.about)),
    );
    blocks
}

/// What each exit status means; the codes under each come from
/// [`ErrorCode::exit_status`], so the guide lists every code where it exits.
fn exit_codes() -> Vec<Block> {
    let statuses: [(u8, &str); 9] = [
        (0, "Success, including help and `version`."),
        (
            1,
            "A network, server or local-file error. Also parser mistakes: an unknown \
             command, help topic or flag, a flag missing its value, a non-integer value for \
             an integer flag.",
        ),
        (
            2,
            "A usage error: an invalid value for a known flag or argument, a required value \
             missing without a terminal, or a choice cancelled at a prompt.",
        ),
        (
            3,
            "`auth login --resume` only: the sign-in still waits for its approval; standard \
             output says `pending` (or gives the JSON object), standard error nothing. No \
             other outcome exits 3, so a shell can loop on it (see AGENTS AND AUTOMATION in \
             difyctl(1), or `difyctl help agent`).",
        ),
        (
            4,
            "Sign in again: no active context or no stored token, a session expired or \
             revoked (HTTP 401), a sign-in denied or not permitted (HTTP 403), a sign-in code \
             that expired.",
        ),
        (
            6,
            "The server lacks the endpoint, or its version or catalog does not match \
             (HTTP 426, HTTP 412).",
        ),
        (7, "Rate limited (HTTP 429): try again later."),
        (
            64,
            "`version --check-compat` only: the server is not one this build supports, or \
             its version could not be found out.",
        ),
        (
            130,
            "Interrupted (Ctrl-C); files are left exactly as they were. Ctrl-C works at \
             every wait; only the final writes of the files (milliseconds) make it wait. \
             SIGTERM, SIGHUP and SIGQUIT end difyctl as they normally do (exit status 128 plus the signal's \
             number), after restoring the terminal.",
        ),
    ];
    let mut blocks = vec![para(
        "Errors name their code first (`not_logged_in: not logged in`); the code decides \
         the exit status. Codes not listed here exit 1.",
    )];
    for (status, meaning) in statuses {
        let codes: Vec<String> = ErrorCode::ALL
            .iter()
            .filter(|c| c.exit_status() == status)
            .filter(|c| !matches!(c, ErrorCode::Interrupted | ErrorCode::CompatCheckFailed))
            .map(|c| format!("`{c}`"))
            .collect();
        let text = if codes.is_empty() {
            meaning.to_string()
        } else {
            format!("{meaning} Codes: {}.", codes.join(", "))
        };
        blocks.push(item(&status.to_string(), &text));
    }
    blocks
}

/// How an agent or a script works with difyctl.
fn agent() -> Vec<Block> {
    vec![
        Block::Heading("Sign in"),
        para(
            "No prompt is ever shown without a terminal: a value that would be asked for must \
             be given as a flag, or the command fails with a usage error (exit 2).",
        ),
        para(
            "With a token minted elsewhere, set `DIFY_TOKEN` (a `dfoa_` token) and \
             `DIFY_HOST` (the host it belongs to): commands that need a context use them, \
             read no stored state and write nothing. To store it instead, pipe it to \
             `auth login --with-token`.",
        ),
        example(&[
            "export DIFY_HOST=cloud.dify.ai DIFY_TOKEN=dfoa_...",
            "difyctl auth status -o json",
            "difyctl auth login --host cloud.dify.ai --with-token < token.txt",
        ]),
        para(
            "On a self-hosted server, an account's password signs in without a browser \
             (`--password --password-stdin`); on Dify Cloud, an emailed code \
             (`--email-code`).",
        ),
        example(&[
            "difyctl auth login --host dify.example.com --password --email me@example.com \
             --password-stdin < pw.txt",
        ]),
        para(
            "The device flow prints a code for a person to approve in a browser and waits \
             until it is approved. An agent that cannot keep a process alive that long, or \
             has to hand the code to a person through another channel first, splits it in \
             two: `auth login --no-wait` requests the code, prints it and saves the sign-in \
             as pending (with `--json` also as one JSON object on standard output, with the \
             code, the URL and when it expires, for the agent to relay), and exits at once; \
             `auth login --resume` later polls once and exits 3 while the sign-in still \
             waits, or stores the context as a blocking sign-in would. `auth login --resume \
             --wait` polls until the sign-in is decided instead. Sign-ins to several hosts \
             can be pending at once (`--resume --host` picks one); see difyctl-auth(1).",
        ),
        example(&[
            "difyctl auth login --host https://dify.example.com --no-wait --json",
            "until difyctl auth login --resume; do sleep 5; done",
        ]),
        para(
            "The pending sign-in, like the contexts, lives in the configuration directory: a \
             job whose home directory does not survive between steps sets `DIFY_CONFIG_DIR` \
             to a directory on persistent storage. In a sandbox or container without a \
             keychain, `--token-storage file` (or `DIFY_TOKEN_STORAGE=file`) keeps the token \
             in tokens.yml (mode 0600) without probing for one.",
        ),
        Block::Heading("Read results"),
        para(
            "Every command that prints data takes `-o json` (or `--json`) and `-o yaml`, and \
             `-o name` where there is a list of names; `DIFY_FORMAT=json` makes JSON the \
             default. Standard output carries the data and nothing else; progress, warnings \
             and errors go to standard error. `auth token` prints the bearer token for other \
             tools.",
        ),
        para(
            "With JSON output an error is one line of JSON on standard error, \
             {\"error\":{\"code\":...,\"message\":...,\"hint\":...}}: switch on `code`, never \
             on the message.",
        ),
        example(&[
            "difyctl auth list -o json",
            "curl -H \"Authorization: Bearer $(difyctl auth token)\" \
             https://cloud.dify.ai/openapi/v1/account",
            "difyctl --help -o json",
        ]),
        Block::Heading("Check and renew"),
        para(
            "`auth status` exits 0 while the server accepts the token, 4 when it is time to \
             sign in again, 1 when the server cannot be reached; `auth status --all` checks \
             every stored context. `auth refresh --if-expiring-within 2d` signs in again only \
             when the token expires within two days.",
        ),
        Block::Heading("Exit codes"),
        para(
            "0 success; 1 network, server or local error; 2 usage; 3 a resumed sign-in still \
             waits; 4 sign in again; 6 server version; 7 rate limited, try later; 130 \
             interrupted. Details: `difyctl help exit-codes`.",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::spec;

    /// Every code appears once, under its own exit status.
    #[test]
    fn exit_codes_list_each_code_under_its_status() {
        let mut seen = Vec::new();
        for block in exit_codes() {
            let Block::Item(status, text) = block else {
                continue;
            };
            let status: u8 = status.parse().unwrap();
            for code in ErrorCode::ALL {
                if text.contains(&format!("`{code}`")) {
                    assert_eq!(code.exit_status(), status, "{code}");
                    seen.push(*code);
                }
            }
        }
        for code in ErrorCode::ALL {
            let bare = matches!(code, ErrorCode::Interrupted | ErrorCode::CompatCheckFailed);
            assert!(bare || seen.contains(code), "{code} is not listed");
        }
    }

    /// The agent guide names the sign-in flags meant for agents, once
    /// `auth login` has them.
    #[test]
    fn the_agent_guide_names_the_login_flags_for_agents() {
        let login = spec::find(&["auth", "login"]).unwrap();
        let text: String = agent().iter().map(|b| format!("{b:?}")).collect();
        for name in ["no-wait", "resume", "wait", "with-token", "password-stdin"] {
            if login.flag_long(name).is_some() {
                assert!(
                    text.contains(&format!("--{name}")),
                    "help agent lacks --{name}"
                );
            }
        }
    }
}
