//! Every environment variable difyctl reads: what `env list` lists and
//! `difyctl help environment` (the ENVIRONMENT section of difyctl(1))
//! explains.

/// An environment variable.
#[derive(Debug)]
pub struct Variable {
    /// Several names for one meaning are listed together (`NO_COLOR`, `DIFYCTL_NO_COLOR`).
    pub names: &'static [&'static str],
    /// The line `env list` shows; `None` for variables it does not list
    /// (those that are not difyctl's own: `NO_COLOR`, proxies, XDG).
    pub listed: Option<&'static str>,
    /// Its value is shown by `env list` only as `<set>` or `<unset>`.
    pub sensitive: bool,
    /// What it does, in full (`code` in backquotes).
    pub about: &'static str,
}

const fn var(name: &'static [&'static str], listed: &'static str, about: &'static str) -> Variable {
    Variable {
        names: name,
        listed: Some(listed),
        sensitive: false,
        about,
    }
}

const fn other(names: &'static [&'static str], about: &'static str) -> Variable {
    Variable {
        names,
        listed: None,
        sensitive: false,
        about,
    }
}

/// In `env list` order: the official registry's variables first (with its
/// descriptions), then ours, then the ones `env list` leaves out.
pub static VARIABLES: &[Variable] = &[
    var(
        &["DIFY_CONFIG_DIR"],
        "Override the config-dir resolution (precedes XDG_CONFIG_HOME on Linux).",
        "The configuration directory, used verbatim when set and non-empty.",
    ),
    var(
        &["DIFY_FORMAT"],
        "Default output format for list commands (table | json | yaml | wide | name).",
        "The output format of commands that print data when no `-o` or `--json` is \
         given: `json`, `yaml` or `name` where the command has that format; `table`, \
         `text` and `wide` (and a format the command does not have) mean its default \
         view. Another value is a usage error (exit 2). With `json`, errors are the \
         JSON envelope too.",
    ),
    var(
        &["DIFY_HOST"],
        "Default Dify host (overridden by --host).",
        "With `DIFY_TOKEN`: the host that token belongs to, a bare host (https) or a URL \
         (`http://` only with `DIFY_INSECURE`; a path after the host is kept for every \
         request). Alone: use the stored context of this host (its current account) for \
         one invocation, without changing the active context. The `--host` flag wins.",
    ),
    var(
        &["DIFY_LIMIT"],
        "Default page size for list commands (1..200).",
        "Default page size of `auth devices list` (1 to 200); the `--limit` flag wins. An \
         invalid value is a usage error (exit 2).",
    ),
    var(
        &["DIFY_NO_PROGRESS"],
        "Suppress progress spinners. Truthy values: 1, true, yes.",
        "When truthy (`1`, `true`, `yes`): no spinner is shown.",
    ),
    var(
        &["DIFY_PLAIN"],
        "Disable ANSI colors and decorative output. Truthy values: 1, true, yes.",
        "When truthy (`1`, `true`, `yes`): no colour, no spinner, and pickers are numbered \
         prompts.",
    ),
    Variable {
        sensitive: true,
        ..var(
            &["DIFY_TOKEN"],
            "Bearer token for non-interactive auth.",
            "A bearer token (`dfoa_...`) to use instead of stored state, for CI, with the host \
             from `DIFY_HOST` (or `--host`, or else the active context's host; with none, exit \
             2). Commands that need a context then read no token from the store and write \
             nothing to the configuration directory; `auth status` names the token's source \
             `DIFY_TOKEN`, and `auth logout` refuses (exit 2). Shown by `env list` only as \
             `<set>` or `<unset>`.",
        )
    },
    var(
        &["DIFYCTL_HTTP_RETRY"],
        "Retries for GET/PUT/DELETE on transient errors (default 3; 0 disables; the --http-retry flag wins).",
        "Retries of idempotent HTTP requests (GET, PUT, DELETE) after a transient failure \
         (a network error, HTTP 408, 413, 500, 502, 503 or 504): n retries are n+1 \
         attempts, as the official tool counts them; 0 disables them; default 3. The \
         `--http-retry` flag wins. A value that is not a non-negative integer is a usage \
         error (exit 2).",
    ),
    var(
        &["DIFY_ACCOUNT"],
        "Account email of the stored context to use (overridden by --account).",
        "Use the stored context of this account email (on the active host, or on \
         `DIFY_HOST`) for one invocation, without changing the active context. The \
         `--account` flag wins; ignored with `DIFY_TOKEN`.",
    ),
    var(
        &["DIFY_TOKEN_STORAGE"],
        "Where login keeps the token: keychain or file (overridden by --token-storage).",
        "Where `auth login` keeps the token: `keychain` or `file`; the `--token-storage` \
         flag wins. Any other non-empty value is `usage_invalid_flag` (exit 2); a keychain \
         asked for that cannot be used is `keyring_unavailable` (exit 1), never a fallback \
         to the file.",
    ),
    var(
        &["BROWSER"],
        "Browser for the device flow's URL, before the platform's opener (commands separated by ':', %s for the URL).",
        "The browser `auth login` opens the verification URL with, before the platform's \
         opener (commands separated by `:`, `%s` for the URL); see difyctl-auth(1).",
    ),
    var(
        &["DIFY_DEVICE_LABEL"],
        "Device label of auth login/refresh sign-ins (default: difyctl on <node name>; overridden by --label).",
        "The device label of `auth login` and `auth refresh` sign-ins when `--label` is not \
         given (default `difyctl on <node name>`); see difyctl-auth(1) for why two config \
         dirs on one machine need different labels.",
    ),
    var(
        &["DIFY_INSECURE"],
        "Let DIFY_TOKEN go to an http:// host (clear text). Truthy values: 1, true, yes.",
        "When truthy (`1`, `true`, `yes`): `DIFY_TOKEN` may be sent to an `http://` host \
         named by `DIFY_HOST` or `--host`. Without it that is a usage error (exit 2) and \
         nothing is sent: the token would travel in clear text.",
    ),
    var(
        &["DIFYCTL_LOCK_TIMEOUT"],
        "Seconds a write waits for another process's lock on a file (default 10; 0: fail at once).",
        "Whole seconds a write waits for the lock of a file that another live process \
         holds, default 10; `0` fails at once. Locks whose holder is gone are never waited \
         for. Any other value is a usage error (exit 2).",
    ),
    var(
        &["DIFY_CACHE_DIR"],
        "Override the cache-dir resolution (precedes XDG_CACHE_HOME on Linux).",
        "The cache directory, used verbatim when set and non-empty.",
    ),
    other(
        &["XDG_CONFIG_HOME"],
        "Without `DIFY_CONFIG_DIR`, the configuration directory is `$XDG_CONFIG_HOME/difyctl`, \
         or `~/.config/difyctl` when `XDG_CONFIG_HOME` is unset or empty (on macOS always \
         `~/.config/difyctl`).",
    ),
    other(
        &["XDG_CACHE_HOME"],
        "Without `DIFY_CACHE_DIR`, the cache directory is `$XDG_CACHE_HOME/difyctl`, or \
         `~/.cache/difyctl` when `XDG_CACHE_HOME` is unset or empty (on macOS \
         `~/Library/Caches/difyctl`, on Windows the configuration directory's place).",
    ),
    other(
        &["NO_COLOR", "DIFYCTL_NO_COLOR"],
        "Set to a non-empty value: no colour.",
    ),
    other(
        &["TERM"],
        "Unset or `dumb`: pickers are numbered prompts instead of lists moved through with \
         the arrow keys.",
    ),
    other(
        &["COLUMNS"],
        "The width help is wrapped to; without it, the terminal's width, or 80 when \
         standard output is not a terminal.",
    ),
    other(
        &["DIFY_E2E_NO_KEYRING"],
        "Set to `1`: never use the keychain; tokens go to `tokens.yml` (the official \
         tool's test hook, honoured the same way), and `auth login` does not say so. \
         `--token-storage` and `DIFY_TOKEN_STORAGE` win over it.",
    ),
    other(
        &["SSL_CERT_FILE", "SSL_CERT_DIR"],
        "Extra roots of trust for TLS, for servers with a private CA: a PEM file of CA \
         certificates, and directories (separated by `:`) of PEM files (OpenSSL's hashed \
         links included; other files are skipped). The roots are, in this order: the file, \
         the directories, then the system's CA bundle, the first of \
         /etc/ssl/certs/ca-certificates.crt (Debian, Ubuntu, Arch), \
         /etc/pki/tls/certs/ca-bundle.crt (Fedora, RHEL), \
         /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem (RHEL 7 and later), \
         /etc/ssl/ca-bundle.pem (openSUSE), /etc/ssl/cert.pem (Alpine, the BSDs) and \
         /usr/local/share/certs/ca-root-nss.crt (FreeBSD) that holds certificates, so a CA \
         installed with `update-ca-certificates` or `update-ca-trust` is trusted as by curl \
         and git; difyctl's built-in Mozilla roots stand in for the bundle when the machine \
         has none (an empty container). The macOS and Windows stores are not read. An \
         unreadable file or directory, or one without certificates, is an error (exit 1). A \
         certificate that is not trusted is `network_connection: the certificate of <host> \
         is not trusted (UnknownIssuer)` with a hint naming the roots consulted.",
    ),
    other(
        &["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"],
        "Proxy for https and http requests, a fallback proxy for both, and a \
         comma-separated list of hosts and domains (`localhost`, `.internal`, or `*` for \
         all) to reach directly. The lowercase spellings are honoured too and take \
         precedence. The proxy is an HTTP proxy (`http://[user:password@]host:port`): an \
         https host is reached through a `CONNECT` tunnel, an `http://` host with \
         forward-proxy requests (the full URL on the request line, no tunnel, which \
         proxies such as Squid refuse for ports other than 443), the credentials of the \
         proxy URL going in `Proxy-Authorization`. A SOCKS proxy (`socks5://`, \
         `socks5h://`, `socks4://`) is refused with `usage_invalid_flag` (exit 2) naming \
         the variable, and nothing is sent: this build has no SOCKS client (it would cost \
         about 10 kB, more than the size limit leaves), and a proxy ignored would connect \
         directly. An error through a proxy names it, credentials hidden (`cannot connect \
         to the proxy http://proxy:3128 (from HTTPS_PROXY): connection refused`), and a \
         proxy that wants credentials (HTTP 407) gets a hint to put them in the URL. With \
         `-v` standard error says which proxy the requests go through, or that `NO_PROXY` \
         exempts the host from the one that is set.",
    ),
    other(
        &["SSH_CONNECTION", "SSH_TTY", "DISPLAY", "WAYLAND_DISPLAY"],
        "Decide whether `auth login` opens a browser: not in an SSH session, and on Linux \
         only with a display.",
    ),
];
