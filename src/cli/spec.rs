//! The command table: every command, its flags and help text. The parser,
//! `--help`, the shell completions and the man-page check all read this one
//! table, so they cannot drift apart.

/// A flag of a command. `value` is the metavar for flags that take a value;
/// `None` means a boolean switch.
#[derive(Debug)]
pub struct Flag {
    pub long: &'static str,
    pub short: Option<char>,
    pub value: Option<&'static str>,
    pub help: &'static str,
    /// Allowed values, for enumerated flags (checked after parsing, exit 2).
    pub choices: &'static [&'static str],
    /// Integer flags: a non-number is a parser error (exit 1).
    pub integer: bool,
}

/// A positional argument.
#[derive(Debug)]
pub struct Arg {
    pub name: &'static str,
    pub required: bool,
    pub help: &'static str,
    pub choices: &'static [&'static str],
}

/// A node of the command tree: a group (has children) or a command.
#[derive(Debug)]
pub struct Node {
    pub name: &'static str,
    pub summary: &'static str,
    /// Longer text shown under the summary in `--help`.
    pub about: &'static str,
    pub flags: &'static [Flag],
    pub args: &'static [Arg],
    pub children: &'static [Node],
    pub examples: &'static [&'static str],
}

impl Node {
    pub fn is_group(&self) -> bool {
        !self.children.is_empty()
    }

    pub fn child(&self, name: &str) -> Option<&'static Node> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn flag_long(&self, long: &str) -> Option<&'static Flag> {
        self.flags
            .iter()
            .chain(GLOBAL_FLAGS)
            .find(|f| f.long == long)
    }

    pub fn flag_short(&self, short: char) -> Option<&'static Flag> {
        self.flags
            .iter()
            .chain(GLOBAL_FLAGS)
            .find(|f| f.short == Some(short))
    }
}

const fn switch(long: &'static str, help: &'static str) -> Flag {
    Flag {
        long,
        short: None,
        value: None,
        help,
        choices: &[],
        integer: false,
    }
}

const fn valued(long: &'static str, value: &'static str, help: &'static str) -> Flag {
    Flag {
        long,
        short: None,
        value: Some(value),
        help,
        choices: &[],
        integer: false,
    }
}

const fn integer(long: &'static str, value: &'static str, help: &'static str) -> Flag {
    Flag {
        long,
        short: None,
        value: Some(value),
        help,
        choices: &[],
        integer: true,
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

/// Accepted by every command.
pub static GLOBAL_FLAGS: &[Flag] = &[
    Flag {
        short: Some('v'),
        ..switch(
            "verbose",
            "log HTTP requests and responses on stderr (tokens redacted)",
        )
    },
    Flag {
        short: Some('h'),
        ..switch("help", "show help for this command")
    },
];

const JSON: Flag = switch("json", "emit JSON instead of text");
const HTTP_RETRY: Flag = integer(
    "http-retry",
    "n",
    "retries for GET/PUT/DELETE on transient errors; 0 disables (default 3, env DIFYCTL_HTTP_RETRY)",
);

/// `--host` on the commands that use a context (not `auth login`'s own).
const SELECT_HOST: Flag = valued(
    "host",
    "domain",
    "use the stored context of this host for this command only (env DIFY_HOST)",
);
const SELECT_ACCOUNT: Flag = valued(
    "account",
    "email",
    "use the stored context of this account for this command only (env DIFY_ACCOUNT)",
);

static LOGIN_FLAGS: &[Flag] = &[
    valued("host", "url", "Dify host URL"),
    switch("no-browser", "do not auto-open the browser"),
    switch("insecure", "allow http:// hosts (local-dev only)"),
    switch(
        "with-token",
        "read a dfoa_ token from stdin instead of the device flow",
    ),
    switch("password", "sign in with email and password (self-hosted)"),
    switch("email-code", "sign in with a code sent by email"),
    switch(
        "console-cookie",
        "sign in with a browser session's Cookie header read from stdin",
    ),
    valued(
        "email",
        "email",
        "account email for --password / --email-code",
    ),
    switch("password-stdin", "read the password from stdin"),
    Flag {
        choices: &["keychain", "file"],
        ..valued(
            "token-storage",
            "store",
            "where to keep the token: keychain or file (env DIFY_TOKEN_STORAGE)",
        )
    },
];

static REFRESH_FLAGS: &[Flag] = &[
    SELECT_HOST,
    SELECT_ACCOUNT,
    valued(
        "if-expiring-within",
        "duration",
        "only sign in again when the token expires within DURATION (30m, 12h, 2d)",
    ),
    switch("no-browser", "do not auto-open the browser"),
    switch("insecure", "allow http:// hosts (local-dev only)"),
    switch("password", "sign in with email and password (self-hosted)"),
    switch("email-code", "sign in with a code sent by email"),
    switch(
        "console-cookie",
        "sign in with a browser session's Cookie header read from stdin",
    ),
    valued(
        "email",
        "email",
        "account email for --password / --email-code",
    ),
    switch("password-stdin", "read the password from stdin"),
];

static AUTH: &[Node] = &[
    Node {
        name: "login",
        summary: "Sign in to Dify via OAuth device flow",
        about: "Prints a one-time code and a verification URL, opens the URL in a browser and waits for \
                the sign-in to be approved there. The token is stored per host and account. Without a \
                browser: --with-token reads a token from stdin; --password, --email-code and \
                --console-cookie approve the sign-in with a console session (password and cookie from \
                stdin or a prompt that does not echo, never from a flag).",
        flags: LOGIN_FLAGS,
        args: &[],
        children: &[],
        examples: &[
            "difyctl auth login --host https://cloud.dify.ai",
            "difyctl auth login --host http://localhost:5001 --insecure --no-browser",
            "difyctl auth login --host https://dify.example.com --password --email me@example.com --password-stdin < pw.txt",
            "difyctl auth login --host https://cloud.dify.ai --with-token < token.txt",
        ],
    },
    Node {
        name: "logout",
        summary: "Log out of the active Dify host",
        about: "Revokes the active context's session on the server, then deletes its token and \
                hosts.yml entry. The local cleanup happens even when the server cannot be reached.",
        flags: &[SELECT_HOST, SELECT_ACCOUNT],
        args: &[],
        children: &[],
        examples: &["difyctl auth logout"],
    },
    Node {
        name: "whoami",
        summary: "Print the active subject's identity",
        about: "Reads the stored context without contacting the server.",
        flags: &[JSON],
        args: &[],
        children: &[],
        examples: &["difyctl auth whoami", "difyctl auth whoami --json"],
    },
    Node {
        name: "list",
        summary: "List all authenticated contexts (host + account pairs)",
        about: "Local only; marks the active context with '*'.",
        flags: &[Flag {
            short: Some('o'),
            choices: &["json", "yaml", "name"],
            ..valued(
                "output",
                "format",
                "output format: json, yaml or name (default: table)",
            )
        }],
        args: &[],
        children: &[],
        examples: &["difyctl auth list", "difyctl auth list -o json"],
    },
    Node {
        name: "status",
        summary: "Check the active session against the server",
        about: "Shows identity, workspace, host, where the token is kept, its expiry and whether the \
                server still accepts it.",
        flags: &[JSON, SELECT_HOST, SELECT_ACCOUNT],
        args: &[],
        children: &[],
        examples: &["difyctl auth status", "difyctl auth status --json"],
    },
    Node {
        name: "token",
        summary: "Print the active bearer token",
        about: "Prints the token and a newline to stdout, for use in scripts.",
        flags: &[SELECT_HOST, SELECT_ACCOUNT],
        args: &[],
        children: &[],
        examples: &[
            "curl -H \"Authorization: Bearer $(difyctl auth token)\" https://cloud.dify.ai/openapi/v1/account",
        ],
    },
    Node {
        name: "refresh",
        summary: "Sign in again to the active context's host",
        about: "Dify has no refresh tokens: this signs in again to the context's host with the same \
                methods as login, which rotates the server-side token of this device. The new token \
                must be the same account's; the active context stays the active one. With \
                --if-expiring-within, a token the server still accepts for longer is left alone.",
        flags: REFRESH_FLAGS,
        args: &[],
        children: &[],
        examples: &[
            "difyctl auth refresh --if-expiring-within 2d",
            "difyctl auth refresh --host dify.example.com --password --password-stdin < pw.txt",
        ],
    },
    Node {
        name: "devices",
        summary: "Manage server-side sessions",
        about: "",
        flags: &[],
        args: &[],
        children: DEVICES,
        examples: &[],
    },
];

static DEVICES: &[Node] = &[
    Node {
        name: "list",
        summary: "List active sessions for the current bearer",
        about: "The session this context uses is marked with '*' under CURRENT.",
        flags: &[
            JSON,
            integer("page", "n", "page number (default 1)"),
            valued(
                "limit",
                "n",
                "page size, 1 to 200 (default 20, env DIFY_LIMIT)",
            ),
            HTTP_RETRY,
            SELECT_HOST,
            SELECT_ACCOUNT,
        ],
        args: &[],
        children: &[],
        examples: &[
            "difyctl auth devices list",
            "difyctl auth devices list --limit 200 --page 2",
        ],
    },
    Node {
        name: "revoke",
        summary: "Revoke one or all session devices",
        about: "TARGET matches an exact label, then an exact session id, then a case-insensitive \
                label substring. Revoking this context's own session also signs it out locally.",
        flags: &[
            switch("all", "revoke every session except the current one"),
            Flag {
                short: Some('y'),
                ..switch("yes", "skip the confirmation prompt")
            },
            HTTP_RETRY,
            SELECT_HOST,
            SELECT_ACCOUNT,
        ],
        args: &[arg("target", false, "a device label or session id")],
        children: &[],
        examples: &[
            "difyctl auth devices revoke \"difyctl on build-runner-3\"",
            "difyctl auth devices revoke --all --yes",
        ],
    },
];

static USE: &[Node] = &[
    Node {
        name: "host",
        summary: "Switch the active Dify host",
        about: "Local only: re-points the active context among stored sign-ins.",
        flags: &[valued(
            "domain",
            "host",
            "the stored host to switch to, as a bare domain",
        )],
        args: &[],
        children: &[],
        examples: &["difyctl use host --domain cloud.dify.ai"],
    },
    Node {
        name: "account",
        summary: "Switch the active account on the current host",
        about: "Local only: switches between accounts already signed in on the active host.",
        flags: &[valued("email", "email", "the account to switch to")],
        args: &[],
        children: &[],
        examples: &["difyctl use account --email teammate@example.com"],
    },
    Node {
        name: "workspace",
        summary: "Switch the active workspace on the server (omit the id to pick interactively)",
        about: "",
        flags: &[HTTP_RETRY, SELECT_HOST, SELECT_ACCOUNT],
        args: &[arg("workspace-id", false, "the workspace to switch to")],
        children: &[],
        examples: &["difyctl use workspace 3c90c3cc-0d44-4b50-8888-8dd25736052a"],
    },
];

static ENV: &[Node] = &[Node {
    name: "list",
    summary: "List the environment variables difyctl reads",
    about: "Sensitive values are shown only as <set> or <unset>.",
    flags: &[JSON],
    args: &[],
    children: &[],
    examples: &["difyctl env list"],
}];

pub static ROOT: Node = Node {
    name: "difyctl",
    summary: "Sign in to Dify hosts and manage saved host/account contexts",
    about: "",
    flags: &[switch("version", "print the version")],
    args: &[],
    children: &[
        Node {
            name: "auth",
            summary: "Sign in, sign out and manage sessions",
            about: "",
            flags: &[],
            args: &[],
            children: AUTH,
            examples: &[],
        },
        Node {
            name: "use",
            summary: "Switch the active host, account or workspace",
            about: "",
            flags: &[],
            args: &[],
            children: USE,
            examples: &[],
        },
        Node {
            name: "env",
            summary: "Inspect environment variables",
            about: "",
            flags: &[],
            args: &[],
            children: ENV,
            examples: &[],
        },
        Node {
            name: "api",
            summary: "Make an authenticated request to the Dify OpenAPI",
            about: "Sends a request to /openapi/v1/PATH of the active context and prints the response \
                    body. Non-2xx responses still print the body and exit with the mapped code.",
            flags: &[
                Flag {
                    short: Some('X'),
                    ..valued(
                        "method",
                        "method",
                        "HTTP method (default GET, or POST with --input)",
                    )
                },
                Flag {
                    short: Some('H'),
                    ..valued(
                        "header",
                        "'key: value'",
                        "add a request header (repeatable)",
                    )
                },
                valued("input", "file", "request body from FILE, or - for stdin"),
                Flag {
                    short: Some('i'),
                    ..switch("include", "print the status line and headers first")
                },
                HTTP_RETRY,
                SELECT_HOST,
                SELECT_ACCOUNT,
            ],
            args: &[arg("path", true, "path under /openapi/v1/, e.g. account")],
            children: &[],
            examples: &[
                "difyctl api account",
                "echo '{}' | difyctl api -X POST --input - workspaces/ID/switch",
            ],
        },
        Node {
            name: "completion",
            summary: "Print a shell completion script",
            about: "",
            flags: &[],
            args: &[Arg {
                choices: &["bash", "zsh", "fish"],
                ..arg("shell", true, "bash, zsh or fish")
            }],
            children: &[],
            examples: &["difyctl completion bash > /etc/bash_completion.d/difyctl"],
        },
        Node {
            name: "version",
            summary: "Show difyctl version, probe server, and report compatibility",
            about: "Reports this build, asks the active context's server its version \
                    (GET /openapi/v1/_version, no token, one attempt of at most 2 s) and says \
                    whether this build supports it. Exits 0 whatever the verdict, unless \
                    --check-compat is given.",
            flags: &[
                Flag {
                    short: Some('o'),
                    choices: &["text", "json", "yaml"],
                    ..valued(
                        "output",
                        "format",
                        "output format: text, json or yaml (default: text)",
                    )
                },
                switch("client", "skip server probe"),
                switch("short", "print only the client semver"),
                switch("check-compat", "exit 64 if server is not 'compatible'"),
            ],
            args: &[],
            children: &[],
            examples: &[
                "difyctl version",
                "difyctl version --short",
                "difyctl version --client",
                "difyctl version -o json",
                "difyctl version --check-compat",
            ],
        },
        Node {
            name: "help",
            summary: "Help about any command",
            about: "",
            flags: &[],
            args: &[arg("command...", false, "the command to describe")],
            children: &[],
            examples: &["difyctl help auth login"],
        },
    ],
    examples: &[
        "difyctl auth login --host https://cloud.dify.ai",
        "difyctl auth list",
    ],
};

/// Every command (leaf) with its path, in table order.
pub fn leaves() -> Vec<(Vec<&'static str>, &'static Node)> {
    fn walk(
        node: &'static Node,
        path: &mut Vec<&'static str>,
        out: &mut Vec<(Vec<&'static str>, &'static Node)>,
    ) {
        for child in node.children {
            path.push(child.name);
            if child.is_group() {
                walk(child, path, out);
            } else {
                out.push((path.clone(), child));
            }
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(&ROOT, &mut Vec::new(), &mut out);
    out
}
