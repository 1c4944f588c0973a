//! The command table: every command, its flags and help text. The parser,
//! `--help`, the shell completions and the man-page test all read this one
//! table, so they cannot drift apart. The flags themselves are declared once
//! in [`super::flags`].

use super::flags::*;

/// A positional argument.
#[derive(Debug)]
pub struct Arg {
    pub name: &'static str,
    pub required: bool,
    pub help: &'static str,
    pub choices: &'static [&'static str],
}

impl Arg {
    /// `command...`: takes every remaining word.
    pub fn variadic(&self) -> bool {
        self.name.ends_with("...")
    }
}

/// A node of the command tree: a group (has children) or a command.
#[derive(Debug)]
pub struct Node {
    pub name: &'static str,
    pub summary: &'static str,
    /// Longer text shown under the summary in `--help`.
    pub about: &'static str,
    /// The node's own flags; see [`Node::accepted_flags`] for all it takes.
    pub flags: &'static [&'static Flag],
    pub args: &'static [Arg],
    pub children: &'static [Node],
    pub examples: &'static [&'static str],
    /// What running it does, for agents (`--help -o json`).
    pub effect: Effect,
    /// The man page of a top-level node (its children's too), without the
    /// section: `difyctl-auth`.
    pub man: &'static str,
}

/// What a command does to state, as `--help -o json` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads local files or asks a server; changes nothing.
    Read,
    /// Changes local files or server state.
    Write,
    /// Ends something that cannot be brought back (sessions).
    Destructive,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Read => "read",
            Effect::Write => "write",
            Effect::Destructive => "destructive",
        }
    }
}

/// The fields most nodes leave as they are.
const NODE: Node = Node {
    name: "",
    summary: "",
    about: "",
    flags: &[],
    args: &[],
    children: &[],
    examples: &[],
    effect: Effect::Read,
    man: "",
};

impl Node {
    pub fn is_group(&self) -> bool {
        !self.children.is_empty()
    }

    pub fn child(&self, name: &str) -> Option<&'static Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every flag this node takes, in help order: its own, then the global
    /// ones. A command takes `-v/--verbose` and `-h/--help`; a group only
    /// `-h/--help` (and the root its `--version`). The parser, help and
    /// completions all ask here.
    pub fn accepted_flags(&self) -> impl Iterator<Item = &'static Flag> + '_ {
        static GROUP: [&Flag; 1] = [&HELP];
        static COMMAND: [&Flag; 2] = [&VERBOSE, &HELP];
        let globals: &'static [&'static Flag] = if self.is_group() { &GROUP } else { &COMMAND };
        self.flags.iter().chain(globals).copied()
    }

    pub fn flag_long(&self, long: &str) -> Option<&'static Flag> {
        self.accepted_flags().find(|f| f.long == long)
    }

    pub fn flag_short(&self, short: char) -> Option<&'static Flag> {
        self.accepted_flags().find(|f| f.short == Some(short))
    }

    /// Does this node take `flag` (the very flag, not one of the same name)?
    pub fn accepts(&self, flag: &Flag) -> bool {
        self.accepted_flags().any(|f| std::ptr::eq(f, flag))
    }
}

const fn arg(name: &'static str, required: bool, help: &'static str) -> Arg {
    Arg {
        name,
        required,
        help,
        choices: &[],
    }
}

/// Every node with its path, the root (empty path) first, then depth-first
/// in table order: the one walk of the tree that everything else filters.
pub fn walk() -> Vec<(Vec<&'static str>, &'static Node)> {
    fn visit(
        node: &'static Node,
        path: &mut Vec<&'static str>,
        out: &mut Vec<(Vec<&'static str>, &'static Node)>,
    ) {
        out.push((path.clone(), node));
        for child in node.children {
            path.push(child.name);
            visit(child, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    visit(&ROOT, &mut Vec::new(), &mut out);
    out
}

/// Every command (leaf) with its path, in table order.
pub fn leaves() -> Vec<(Vec<&'static str>, &'static Node)> {
    walk().into_iter().filter(|(_, n)| !n.is_group()).collect()
}

/// The man page that documents the node at `path` (`difyctl-auth`).
pub fn man_page(path: &[&str]) -> &'static str {
    path.first()
        .and_then(|top| ROOT.child(top))
        .map_or(ROOT.man, |n| n.man)
}

/// The path of a node of the table.
pub fn path_of(node: &Node) -> Vec<&'static str> {
    walk()
        .into_iter()
        .find(|(_, n)| std::ptr::eq(*n, node))
        .map(|(p, _)| p)
        .unwrap_or_default()
}

/// The node at `path`, if the table has one.
pub fn find(path: &[&str]) -> Option<&'static Node> {
    path.iter().try_fold(&ROOT, |node, name| node.child(name))
}

static AUTH: &[Node] = &[
    Node {
        name: "login",
        summary: "Sign in to Dify via OAuth device flow",
        about: "Prints a one-time code and a verification URL, opens the URL in a browser and waits for \
                the sign-in to be approved there. The token is stored per host and account. Without a \
                browser: --with-token reads a token from stdin; --password, --email-code and \
                --console-cookie approve the sign-in with a console session (password and cookie from \
                stdin or a prompt that does not echo, never from a flag). For agents and jobs that \
                cannot wait: --no-wait shows the code and saves the sign-in as pending \
                (login-pending.yml, one per host); --resume polls it once, exiting 3 while it still \
                waits for approval, or finishes it as a blocking sign-in would (--resume --wait \
                polls until it is decided).",
        flags: &[
            &LOGIN_HOST,
            &NO_BROWSER,
            &INSECURE,
            &DEVICE_FLOW,
            &WITH_TOKEN,
            &PASSWORD,
            &EMAIL_CODE,
            &CONSOLE_COOKIE,
            &SIGN_IN_EMAIL,
            &PASSWORD_STDIN,
            &TOKEN_STORAGE,
            &LABEL,
            &NO_WAIT,
            &RESUME,
            &WAIT,
            &JSON,
            &LOGIN_OUTPUT,
        ],
        examples: &[
            "difyctl auth login --host https://cloud.dify.ai",
            "difyctl auth login --host https://cloud.dify.ai --no-wait --json",
            "difyctl auth login --resume --host cloud.dify.ai",
            "difyctl auth login --host http://localhost:5001 --insecure --no-browser",
            "difyctl auth login --host https://dify.example.com --password --email me@example.com --password-stdin < pw.txt",
            "difyctl auth login --host https://cloud.dify.ai --with-token < token.txt",
        ],
        effect: Effect::Write,
        ..NODE
    },
    Node {
        name: "logout",
        summary: "Log out of the active Dify host",
        about: "Revokes the active context's session on the server, then deletes its token and \
                hosts.yml entry. The local cleanup happens even when the server cannot be reached.",
        flags: &[&SELECT_HOST, &SELECT_ACCOUNT],
        examples: &["difyctl auth logout"],
        effect: Effect::Write,
        ..NODE
    },
    Node {
        name: "whoami",
        summary: "Print the active subject's identity",
        about: "Reads the stored context without contacting the server.",
        flags: &[&OUTPUT_DOCUMENT, &JSON],
        examples: &["difyctl auth whoami", "difyctl auth whoami --json"],
        ..NODE
    },
    Node {
        name: "list",
        summary: "List all authenticated contexts (host + account pairs)",
        about: "Local only; marks the active context with '*'.",
        flags: &[&OUTPUT, &JSON],
        examples: &["difyctl auth list", "difyctl auth list -o json"],
        ..NODE
    },
    Node {
        name: "status",
        summary: "Check the active session against the server",
        about: "Shows identity, workspace, host, where the token is kept, its expiry and whether the \
                server still accepts it.",
        flags: &[
            &OUTPUT_DOCUMENT,
            &JSON,
            &ALL_CONTEXTS,
            &SELECT_HOST,
            &SELECT_ACCOUNT,
        ],
        examples: &["difyctl auth status", "difyctl auth status --json"],
        ..NODE
    },
    Node {
        name: "token",
        summary: "Print the active bearer token",
        about: "Prints the token and a newline to stdout, for use in scripts.",
        flags: &[&SELECT_HOST, &SELECT_ACCOUNT],
        examples: &[
            "curl -H \"Authorization: Bearer $(difyctl auth token)\" https://cloud.dify.ai/openapi/v1/account",
        ],
        ..NODE
    },
    Node {
        name: "refresh",
        summary: "Sign in again to the active context's host",
        about: "Dify has no refresh tokens: this signs in again to the context's host with the same \
                methods as login, which rotates the server-side token of this device. The new token \
                must be the same account's; the active context stays the active one. With \
                --if-expiring-within, a token the server still accepts for longer is left alone.",
        flags: &[
            &SELECT_HOST,
            &SELECT_ACCOUNT,
            &IF_EXPIRING_WITHIN,
            &NO_BROWSER,
            &INSECURE,
            &DEVICE_FLOW,
            &PASSWORD,
            &EMAIL_CODE,
            &CONSOLE_COOKIE,
            &SIGN_IN_EMAIL,
            &PASSWORD_STDIN,
            &LABEL,
        ],
        examples: &[
            "difyctl auth refresh --if-expiring-within 2d",
            "difyctl auth refresh --host dify.example.com --password --password-stdin < pw.txt",
        ],
        effect: Effect::Write,
        ..NODE
    },
    Node {
        name: "devices",
        summary: "Manage server-side sessions",
        children: DEVICES,
        ..NODE
    },
];

static DEVICES: &[Node] = &[
    Node {
        name: "list",
        summary: "List active sessions for the current bearer",
        about: "The session this context uses is marked with '*' under CURRENT.",
        flags: &[
            &OUTPUT,
            &JSON,
            &PAGE,
            &LIMIT,
            &HTTP_RETRY,
            &SELECT_HOST,
            &SELECT_ACCOUNT,
        ],
        examples: &[
            "difyctl auth devices list",
            "difyctl auth devices list --limit 200 --page 2",
        ],
        ..NODE
    },
    Node {
        name: "revoke",
        summary: "Revoke one or all session devices",
        about: "TARGET matches an exact label, then an exact session id, then a case-insensitive \
                label substring. Revoking this context's own session also signs it out locally.",
        flags: &[&ALL, &YES, &HTTP_RETRY, &SELECT_HOST, &SELECT_ACCOUNT],
        args: &[arg("target", false, "a device label or session id")],
        examples: &[
            "difyctl auth devices revoke \"difyctl on build-runner-3\"",
            "difyctl auth devices revoke --all --yes",
        ],
        effect: Effect::Destructive,
        ..NODE
    },
];

static USE: &[Node] = &[
    Node {
        name: "host",
        summary: "Switch the active Dify host",
        about: "Local only: re-points the active context among stored sign-ins.",
        flags: &[&DOMAIN, &HOST_ACCOUNT],
        examples: &[
            "difyctl use host --domain cloud.dify.ai",
            "difyctl use host --domain cloud.dify.ai --email me@example.com",
        ],
        effect: Effect::Write,
        ..NODE
    },
    Node {
        name: "account",
        summary: "Switch the active account on the current host",
        about: "Local only: switches between accounts already signed in on the active host.",
        flags: &[&USE_EMAIL, &ACCOUNT_HOST],
        examples: &[
            "difyctl use account --email teammate@example.com",
            "difyctl use account --host dify.example.com --email me@example.com",
        ],
        effect: Effect::Write,
        ..NODE
    },
    Node {
        name: "workspace",
        summary: "Switch the active workspace on the server (omit the id to pick interactively)",
        flags: &[&HTTP_RETRY, &SELECT_HOST, &SELECT_ACCOUNT],
        args: &[arg("workspace-id", false, "the workspace to switch to")],
        examples: &["difyctl use workspace 3c90c3cc-0d44-4b50-8888-8dd25736052a"],
        effect: Effect::Write,
        ..NODE
    },
];

static ENV: &[Node] = &[Node {
    name: "list",
    summary: "List the environment variables difyctl reads",
    about: "Sensitive values are shown only as <set> or <unset>.",
    flags: &[&OUTPUT, &JSON],
    examples: &["difyctl env list", "difyctl env list -o name"],
    ..NODE
}];

pub static ROOT: Node = Node {
    name: "difyctl",
    summary: "Sign in to Dify hosts and manage saved host/account contexts",
    flags: &[&VERSION],
    man: "difyctl",
    children: &[
        Node {
            name: "auth",
            man: "difyctl-auth",
            summary: "Sign in, sign out and manage sessions",
            children: AUTH,
            ..NODE
        },
        Node {
            name: "use",
            man: "difyctl-use",
            summary: "Switch the active host, account or workspace",
            children: USE,
            ..NODE
        },
        Node {
            name: "env",
            man: "difyctl-env",
            summary: "Inspect environment variables",
            children: ENV,
            ..NODE
        },
        Node {
            name: "api",
            man: "difyctl-api",
            summary: "Make an authenticated request to the Dify OpenAPI",
            about: "Sends a request to /openapi/v1/PATH of the active context and prints the response \
                    body. Non-2xx responses still print the body and exit with the mapped code.",
            flags: &[
                &METHOD,
                &HEADER,
                &INPUT,
                &INCLUDE,
                &HTTP_RETRY,
                &SELECT_HOST,
                &SELECT_ACCOUNT,
            ],
            args: &[arg("path", true, "path under /openapi/v1/, e.g. account")],
            examples: &[
                "difyctl api account",
                "echo '{}' | difyctl api -X POST --input - workspaces/ID/switch",
            ],
            ..NODE
        },
        Node {
            name: "completion",
            man: "difyctl-completion",
            summary: "Print a shell completion script",
            args: &[Arg {
                choices: &["bash", "zsh", "fish"],
                ..arg("shell", true, "bash, zsh or fish")
            }],
            examples: &["difyctl completion bash > /etc/bash_completion.d/difyctl"],
            ..NODE
        },
        Node {
            name: "version",
            man: "difyctl-version",
            summary: "Show difyctl version, probe server, and report compatibility",
            about: "Reports this build, asks the active context's server its version \
                    (GET /openapi/v1/_version, no token, one attempt of at most 2 s) and says \
                    whether this build supports it. Exits 0 whatever the verdict, unless \
                    --check-compat is given.",
            flags: &[&VERSION_OUTPUT, &JSON, &CLIENT, &SHORT, &CHECK_COMPAT],
            examples: &[
                "difyctl version",
                "difyctl version --short",
                "difyctl version --client",
                "difyctl version -o json",
                "difyctl version --check-compat",
            ],
            ..NODE
        },
        Node {
            name: "help",
            summary: "Help about any command or guide",
            flags: &[&OUTPUT_DOCUMENT],
            args: &[arg("command...", false, "the command or guide to describe")],
            examples: &["difyctl help auth login", "difyctl help agent"],
            man: "difyctl",
            ..NODE
        },
    ],
    examples: &[
        "difyctl auth login --host https://cloud.dify.ai",
        "difyctl auth list",
        "difyctl use host --domain cloud.dify.ai --email me@example.com",
        "difyctl auth status -o json",
    ],
    ..NODE
};
