//! Every flag of the command line, once. The command table ([`super::spec`])
//! lists these by reference, and the parser hands their values to the
//! commands keyed by the same statics, so a flag is named in code by its
//! constant: a misspelled name does not compile.

/// What a flag's value is, decided when the command line is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No value: `--flag`, or `--flag=true|1|false|0`.
    Switch,
    /// Any text.
    Text,
    /// A whole number; anything else is a parser error (exit 1).
    Integer,
    /// A number of retries: a non-number is a parser error (exit 1), a
    /// negative number a usage error (exit 2).
    Retries,
    /// A page size from 1 to 200, checked by the official rules; the error
    /// (exit 2) waits for the command, which reports it after its auth gate.
    PageSize,
    /// One of these values; another is `illegal_argument` (exit 2).
    Enum(&'static [&'static str]),
    /// `-o/--output`: an [`Kind::Enum`] of output formats (see
    /// [`super::Format`]); `--json` is its synonym for `json`.
    Format(&'static [&'static str]),
    /// A length of time such as `30m`, `12h`, `2d` or `1d12h`.
    Duration,
    /// A file name, or `-` for standard input.
    Path,
}

/// Where the values of a text flag come from, for completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    Any,
    /// A stored host (`cloud.dify.ai`).
    Hosts,
    /// A host URL; the stored hosts are offered.
    HostUrls,
    /// A stored account email (of the host given on the line, else the active one).
    Accounts,
}

/// A flag: its spellings, its kind and its help line.
#[derive(Debug)]
pub struct Flag {
    pub long: &'static str,
    pub short: Option<char>,
    /// The value's placeholder in help (`url` shows as `<url>`); empty for a switch.
    pub metavar: &'static str,
    pub kind: Kind,
    pub help: &'static str,
    /// Every value counts, in order (`-H a -H b`); otherwise the last wins.
    pub repeatable: bool,
    pub values: Values,
}

impl Flag {
    pub fn takes_value(&self) -> bool {
        self.kind != Kind::Switch
    }

    /// The values an enumerated flag allows (none for other kinds).
    pub fn choices(&self) -> &'static [&'static str] {
        match self.kind {
            Kind::Enum(choices) | Kind::Format(choices) => choices,
            _ => &[],
        }
    }

    /// `--output / -o` as errors name it.
    pub fn names(&self) -> String {
        match self.short {
            Some(c) => format!("--{} / -{c}", self.long),
            None => format!("--{}", self.long),
        }
    }

    const fn switch(long: &'static str, help: &'static str) -> Flag {
        Flag {
            long,
            short: None,
            metavar: "",
            kind: Kind::Switch,
            help,
            repeatable: false,
            values: Values::Any,
        }
    }

    const fn text(long: &'static str, metavar: &'static str, help: &'static str) -> Flag {
        Flag {
            long,
            short: None,
            metavar,
            kind: Kind::Text,
            help,
            repeatable: false,
            values: Values::Any,
        }
    }

    const fn short(self, c: char) -> Flag {
        Flag {
            short: Some(c),
            ..self
        }
    }

    const fn kind(self, kind: Kind) -> Flag {
        Flag { kind, ..self }
    }

    const fn values(self, values: Values) -> Flag {
        Flag { values, ..self }
    }

    const fn repeatable(self) -> Flag {
        Flag {
            repeatable: true,
            ..self
        }
    }
}

// Accepted by every command (groups take only --help).
pub static VERBOSE: Flag = Flag::switch(
    "verbose",
    "log HTTP requests and responses on stderr (tokens redacted)",
)
.short('v');
pub static HELP: Flag = Flag::switch("help", "show help for this command").short('h');
/// The root's own.
pub static VERSION: Flag = Flag::switch("version", "print the version");

pub static JSON: Flag = Flag::switch("json", "emit JSON instead of text (the same as -o json)");
pub static HTTP_RETRY: Flag = Flag::text(
    "http-retry",
    "n",
    "retries for GET/PUT/DELETE on transient errors; 0 disables (default 3, env DIFYCTL_HTTP_RETRY)",
)
.kind(Kind::Retries);

/// `--host` on the commands that use a context (not `auth login`'s own).
pub static SELECT_HOST: Flag = Flag::text(
    "host",
    "domain",
    "use the stored context of this host for this command only (env DIFY_HOST)",
)
.values(Values::Hosts);
pub static SELECT_ACCOUNT: Flag = Flag::text(
    "account",
    "email",
    "use the stored context of this account for this command only (env DIFY_ACCOUNT)",
)
.values(Values::Accounts);

// auth login and auth refresh
pub static LOGIN_HOST: Flag = Flag::text("host", "url", "Dify host URL").values(Values::HostUrls);
pub static NO_BROWSER: Flag = Flag::switch("no-browser", "do not auto-open the browser");
pub static INSECURE: Flag = Flag::switch("insecure", "allow http:// hosts (local-dev only)");
pub static DEVICE_FLOW: Flag = Flag::switch(
    "device-flow",
    "sign in with the device flow (the default), also without a terminal",
);
pub static WITH_TOKEN: Flag = Flag::switch(
    "with-token",
    "read a dfoa_ token from stdin instead of the device flow",
);
pub static PASSWORD: Flag =
    Flag::switch("password", "sign in with email and password (self-hosted)");
pub static EMAIL_CODE: Flag = Flag::switch("email-code", "sign in with a code sent by email");
pub static CONSOLE_COOKIE: Flag = Flag::switch(
    "console-cookie",
    "sign in with a browser session's Cookie header read from stdin",
);
pub static SIGN_IN_EMAIL: Flag = Flag::text(
    "email",
    "email",
    "account email for --password / --email-code",
)
.values(Values::Accounts);
pub static PASSWORD_STDIN: Flag = Flag::switch("password-stdin", "read the password from stdin");
pub static TOKEN_STORAGE: Flag = Flag::text(
    "token-storage",
    "store",
    "where to keep the token: keychain or file (env DIFY_TOKEN_STORAGE)",
)
.kind(Kind::Enum(&["keychain", "file"]));
pub static LABEL: Flag = Flag::text(
    "label",
    "text",
    "the server's name for this sign-in's session (default: difyctl on <node name>; env DIFY_DEVICE_LABEL)",
);
pub static NO_WAIT: Flag = Flag::switch(
    "no-wait",
    "show the code, save the sign-in as pending and exit; finish it with --resume",
);
pub static RESUME: Flag = Flag::switch(
    "resume",
    "finish a pending sign-in: poll once (exit 3 while it waits for approval)",
);
pub static WAIT: Flag = Flag::switch("wait", "with --resume: poll until the sign-in is decided");
pub static LOGIN_OUTPUT: Flag = Flag::text(
    "output",
    "format",
    "output format: text or json (default: text)",
)
.short('o')
.kind(Kind::Format(&["text", "json"]));
pub static IF_EXPIRING_WITHIN: Flag = Flag::text(
    "if-expiring-within",
    "duration",
    "only sign in again when the token expires within DURATION (30m, 12h, 2d)",
)
.kind(Kind::Duration);

// Output formats (with --json, their synonym for json): the official
// spellings of auth list and version, and ours for the other data commands.
pub static OUTPUT: Flag = Flag::text(
    "output",
    "format",
    "output format: json, yaml or name (default: table)",
)
.short('o')
.kind(Kind::Format(&["json", "yaml", "name"]));
pub static OUTPUT_DOCUMENT: Flag = Flag::text(
    "output",
    "format",
    "output format: json or yaml (default: text)",
)
.short('o')
.kind(Kind::Format(&["json", "yaml"]));

// auth devices
pub static PAGE: Flag = Flag::text("page", "n", "page number (default 1)").kind(Kind::Integer);
pub static LIMIT: Flag = Flag::text(
    "limit",
    "n",
    "page size, 1 to 200 (default 20, env DIFY_LIMIT)",
)
.kind(Kind::PageSize);
pub static ALL: Flag = Flag::switch("all", "revoke every session except the current one");
pub static ALL_CONTEXTS: Flag = Flag::switch(
    "all",
    "check every stored context (exit 0 only when all are valid)",
);
pub static YES: Flag = Flag::switch("yes", "skip the confirmation prompt").short('y');

// use
pub static DOMAIN: Flag = Flag::text(
    "domain",
    "host",
    "the stored host to switch to, as a bare domain",
)
.values(Values::Hosts);
pub static USE_EMAIL: Flag =
    Flag::text("email", "email", "the account to switch to").values(Values::Accounts);
/// `use host --email`: the host and its account in one step.
pub static HOST_ACCOUNT: Flag = Flag::text(
    "email",
    "email",
    "also make this account the host's current one",
)
.values(Values::Accounts);
/// `use account --host`: the account of another host in one step.
pub static ACCOUNT_HOST: Flag = Flag::text(
    "host",
    "domain",
    "the stored host of the account (default: the active host); it becomes the active host",
)
.values(Values::Hosts);

// api
pub static METHOD: Flag = Flag::text(
    "method",
    "method",
    "HTTP method (default GET, or POST with --input)",
)
.short('X');
pub static HEADER: Flag = Flag::text(
    "header",
    "'key: value'",
    "add a request header (repeatable)",
)
.short('H')
.repeatable();
pub static INPUT: Flag =
    Flag::text("input", "file", "request body from FILE, or - for stdin").kind(Kind::Path);
pub static INCLUDE: Flag =
    Flag::switch("include", "print the status line and headers first").short('i');

// version
pub static VERSION_OUTPUT: Flag = Flag::text(
    "output",
    "format",
    "output format: text, json or yaml (default: text)",
)
.short('o')
.kind(Kind::Format(&["text", "json", "yaml"]));
pub static CLIENT: Flag = Flag::switch("client", "skip server probe");
pub static SHORT: Flag = Flag::switch("short", "print only the client semver");
pub static CHECK_COMPAT: Flag =
    Flag::switch("check-compat", "exit 64 if server is not 'compatible'");
