//! Ready-made states for tests of commands that need a signed-in context,
//! without running `auth login`: `hosts.yml` and `tokens.yml` contents built
//! by [`Hosts`] and [`Tokens`], and the contexts most tests start from.
//!
//! ```ignore
//! let hosts = Hosts::file()
//!     .with(Context::new("cloud.dify.ai", "alice@example.com").id("acc-1").name("Alice"))
//!     .with(Context::new("two.example", "bob@x.io").name("Bob"));
//! let t = Test::new().hosts(&hosts).tokens(&Tokens::new().with("cloud.dify.ai", "alice@example.com", "dfoa_a"));
//! ```
//!
//! The builders write the layout the official tool writes (and difyctl
//! too): so a test may compare a file a command rewrote with one built
//! here. What a test says about the exact bytes of a file (quoting, key
//! order, an empty map) it says with a literal.

use std::fmt;

use super::mock::{MockConfig, MockDify, SessionInfo};
use super::runner::Test;

/// A `hosts.yml`: its token store and contexts, grouped by host in the order
/// they were added. The first host is the current host and each host's
/// first account its current account unless [`Hosts::current_host`] or
/// [`Hosts::current_account`] say otherwise.
#[derive(Clone, Debug)]
pub struct Hosts {
    storage: &'static str,
    current_host: Pointer,
    hosts: Vec<Host>,
}

#[derive(Clone, Debug)]
struct Host {
    name: String,
    scheme: Option<&'static str>,
    current_account: Pointer,
    accounts: Vec<Context>,
}

/// `current_host` or a host's `current_account`: the first one, a named one,
/// or no key at all.
#[derive(Clone, Debug)]
enum Pointer {
    First,
    Named(String),
    Absent,
}

impl Pointer {
    fn from(name: Option<&str>) -> Pointer {
        name.map_or(Pointer::Absent, |n| Pointer::Named(n.to_string()))
    }

    fn resolve<'a>(&'a self, first: Option<&'a str>) -> Option<&'a str> {
        match self {
            Pointer::First => first,
            Pointer::Named(n) => Some(n),
            Pointer::Absent => None,
        }
    }
}

impl Hosts {
    /// `token_storage: file`, no context yet.
    pub fn file() -> Hosts {
        Hosts::with_storage("file")
    }

    /// `token_storage: keychain`, no context yet.
    pub fn keychain() -> Hosts {
        Hosts::with_storage("keychain")
    }

    fn with_storage(storage: &'static str) -> Hosts {
        Hosts {
            storage,
            current_host: Pointer::First,
            hosts: Vec::new(),
        }
    }

    /// Adds a context, after the others of its host.
    pub fn with(mut self, context: Context) -> Hosts {
        let host = match self.hosts.iter_mut().find(|h| h.name == context.host) {
            Some(host) => host,
            None => {
                self.hosts.push(Host {
                    name: context.host.clone(),
                    scheme: None,
                    current_account: Pointer::First,
                    accounts: Vec::new(),
                });
                self.hosts.last_mut().unwrap()
            }
        };
        if context.http {
            host.scheme = Some("http");
        }
        host.accounts.push(context);
        self
    }

    /// The current host (`None`: no `current_host` key).
    pub fn current_host(mut self, host: Option<&str>) -> Hosts {
        self.current_host = Pointer::from(host);
        self
    }

    /// `host`'s current account (`None`: no `current_account` key).
    pub fn current_account(mut self, host: &str, email: Option<&str>) -> Hosts {
        let h = self
            .hosts
            .iter_mut()
            .find(|h| h.name == host)
            .unwrap_or_else(|| panic!("no host {host} to point at"));
        h.current_account = Pointer::from(email);
        self
    }
}

impl fmt::Display for Hosts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "token_storage: {}", self.storage)?;
        let first = self.hosts.first().map(|h| h.name.as_str());
        if let Some(current) = self.current_host.resolve(first) {
            writeln!(f, "current_host: {current}")?;
        }
        if self.hosts.is_empty() {
            return writeln!(f, "hosts: {{}}");
        }
        writeln!(f, "hosts:")?;
        for host in &self.hosts {
            writeln!(f, "  {}:", host.name)?;
            if let Some(scheme) = host.scheme {
                writeln!(f, "    scheme: {scheme}")?;
            }
            let first = host.accounts.first().map(|c| c.email.as_str());
            if let Some(current) = host.current_account.resolve(first) {
                writeln!(f, "    current_account: {current}")?;
            }
            writeln!(f, "    accounts:")?;
            for context in &host.accounts {
                write!(f, "{context}")?;
            }
        }
        Ok(())
    }
}

/// One account on one host, as `hosts.yml` holds it. Only the email is
/// there unless the other fields are given.
#[derive(Clone, Debug)]
pub struct Context {
    host: String,
    email: String,
    http: bool,
    id: Option<String>,
    name: Option<String>,
    workspace: Option<[String; 3]>,
    token_id: Option<String>,
    token_expires_at: Option<String>,
    device_label: Option<String>,
    issuer: Option<String>,
}

impl Context {
    pub fn new(host: &str, email: &str) -> Context {
        Context {
            host: host.to_string(),
            email: email.to_string(),
            http: false,
            id: None,
            name: None,
            workspace: None,
            token_id: None,
            token_expires_at: None,
            device_label: None,
            issuer: None,
        }
    }

    /// The mock's account on the mock's (http) host, in its first workspace.
    pub fn of(mock: &MockDify) -> Context {
        let cfg = mock.config();
        let a = &cfg.account;
        let mut context = Context::new(&mock.host(), &a.email)
            .http()
            .id(&a.id)
            .name(&a.name);
        if let Some(w) = cfg.workspaces.first() {
            context = context.workspace(&w.id, &w.name, &w.role);
        }
        context
    }

    /// Signed in over http (the host's `scheme: http`).
    pub fn http(mut self) -> Context {
        self.http = true;
        self
    }

    /// Signed in over https (no `scheme` key): for a context of the mock
    /// as if its host had been reached over TLS.
    pub fn https(mut self) -> Context {
        self.http = false;
        self
    }

    pub fn id(mut self, id: &str) -> Context {
        self.id = Some(id.to_string());
        self
    }

    /// The display name (`''` when empty).
    pub fn name(mut self, name: &str) -> Context {
        self.name = Some(name.to_string());
        self
    }

    pub fn workspace(mut self, id: &str, name: &str, role: &str) -> Context {
        self.workspace = Some([id, name, role].map(String::from));
        self
    }

    /// The server session of the stored token.
    pub fn token_id(mut self, id: &str) -> Context {
        self.token_id = Some(id.to_string());
        self
    }

    /// When the token expires, as the token response said (quoted, as
    /// js-yaml quotes a timestamp).
    pub fn token_expires_at(mut self, at: &str) -> Context {
        self.token_expires_at = Some(at.to_string());
        self
    }

    /// The device label the user chose for the context's sign-ins.
    pub fn device_label(mut self, label: &str) -> Context {
        self.device_label = Some(label.to_string());
        self
    }

    /// An external-SSO account: the `account` fields empty, the email and
    /// `issuer` under `external_subject`.
    pub fn sso(mut self, issuer: &str) -> Context {
        self.issuer = Some(issuer.to_string());
        self
    }
}

/// A plain scalar, or `''` for the empty string.
fn scalar(value: &str) -> &str {
    if value.is_empty() { "''" } else { value }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "      {}:", self.email)?;
        writeln!(f, "        account:")?;
        let sso = self.issuer.is_some();
        if sso {
            writeln!(
                f,
                "          id: ''\n          email: ''\n          name: ''"
            )?;
        } else {
            if let Some(id) = &self.id {
                writeln!(f, "          id: {}", scalar(id))?;
            }
            writeln!(f, "          email: {}", self.email)?;
            if let Some(name) = &self.name {
                writeln!(f, "          name: {}", scalar(name))?;
            }
        }
        if let Some([id, name, role]) = &self.workspace {
            writeln!(f, "        workspace:")?;
            writeln!(
                f,
                "          id: {id}\n          name: {name}\n          role: {role}"
            )?;
        }
        if let Some(id) = &self.token_id {
            writeln!(f, "        token_id: {id}")?;
        }
        if let Some(at) = &self.token_expires_at {
            writeln!(f, "        token_expires_at: '{at}'")?;
        }
        if let Some(label) = &self.device_label {
            writeln!(f, "        device_label: {label}")?;
        }
        if let Some(issuer) = &self.issuer {
            writeln!(f, "        external_subject:")?;
            writeln!(
                f,
                "          email: {}\n          issuer: {issuer}",
                self.email
            )?;
        }
        Ok(())
    }
}

/// A `tokens.yml`: tokens by host, then account, in the order added.
#[derive(Clone, Debug, Default)]
pub struct Tokens(Vec<(String, String, String)>);

impl Tokens {
    pub fn new() -> Tokens {
        Tokens::default()
    }

    pub fn with(mut self, host: &str, email: &str, token: &str) -> Tokens {
        self.0.push((host.into(), email.into(), token.into()));
        self
    }
}

impl fmt::Display for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "version: 1")?;
        if self.0.is_empty() {
            return writeln!(f, "tokens: {{}}");
        }
        writeln!(f, "tokens:")?;
        let mut hosts: Vec<&str> = Vec::new();
        for (host, _, _) in &self.0 {
            if !hosts.contains(&host.as_str()) {
                hosts.push(host);
            }
        }
        for host in hosts {
            writeln!(f, "  {host}:")?;
            for (_, email, token) in self.0.iter().filter(|(h, _, _)| h == host) {
                writeln!(f, "    {email}: {}", scalar(token))?;
            }
        }
        Ok(())
    }
}

/// `hosts.yml` in file mode once the last context is gone: the exact bytes
/// (js-yaml writes an empty map as `{}`).
pub const NO_HOSTS: &str = "token_storage: file\nhosts: {}\n";

/// `tokens.yml` once the last token is gone, to the byte.
pub const NO_TOKENS: &str = "version: 1\ntokens: {}\n";

/// The `hosts.yml` of one file-mode context on the mock's host for its
/// account, its `token_id` being `token_id` (omitted when `None`).
pub fn hosts_yml(mock: &MockDify, token_id: Option<&str>) -> String {
    let mut context = Context::of(mock);
    if let Some(id) = token_id {
        context = context.token_id(id);
    }
    Hosts::file().with(context).to_string()
}

/// The `tokens.yml` holding `token` for the mock's host and account.
pub fn tokens_yml(mock: &MockDify, token: &str) -> String {
    Tokens::new()
        .with(&mock.host(), &mock.config().account.email, token)
        .to_string()
}

/// A config dir signed in to the mock as its account (file token store), with
/// a fresh server session labelled `label` as the context's session.
pub fn signed_in_as(mock: &MockDify, label: &str) -> (Test, SessionInfo) {
    let s = mock.add_session(label);
    let t = Test::new()
        .hosts(hosts_yml(mock, Some(&s.id)))
        .tokens(tokens_yml(mock, &s.token));
    (t, s)
}

/// [`signed_in_as`] with the label a login from this machine would use.
pub fn signed_in(mock: &MockDify) -> (Test, SessionInfo) {
    signed_in_as(mock, "difyctl on me")
}

/// alice@example.com on cloud.dify.ai (https), signed in: the context a
/// test starts from so that "nothing written" or "added next to it" means
/// more than "still empty".
pub fn alice() -> Context {
    Context::new("cloud.dify.ai", "alice@example.com")
        .id("acc-1")
        .name("Alice")
        .token_id("tok-1")
}

/// The `hosts.yml` of [`alice`] alone.
pub fn other_hosts() -> String {
    Hosts::file().with(alice()).to_string()
}

/// The `tokens.yml` of [`other_hosts`].
pub fn other_tokens() -> String {
    Tokens::new()
        .with("cloud.dify.ai", "alice@example.com", "dfoa_alice")
        .to_string()
}

/// `t` with the context of [`other_hosts`] in its config dir.
pub fn with_other_context(t: Test) -> Test {
    t.hosts(other_hosts()).tokens(other_tokens())
}

/// [`other_hosts`] with a second host (`two.example`, bob@x.io, no token)
/// to switch to, `active` being the current host.
pub fn two_hosts(active: &str) -> String {
    Hosts::file()
        .with(alice())
        .with(Context::new("two.example", "bob@x.io").id("b").name("Bob"))
        .current_host(Some(active))
        .to_string()
}

/// `auth login --with-token` for `mock` (the token comes on stdin).
pub fn with_token_args(mock: &MockDify) -> Vec<String> {
    [
        "auth",
        "login",
        "--with-token",
        "--host",
        &mock.url(),
        "--insecure",
    ]
    .map(String::from)
    .to_vec()
}

/// `auth login` (device flow) for `mock`, no browser.
pub fn login_args(mock: &MockDify) -> Vec<String> {
    [
        "auth",
        "login",
        "--host",
        &mock.url(),
        "--insecure",
        "--no-browser",
    ]
    .map(String::from)
    .to_vec()
}

/// What a device-flow sign-in with `--no-browser` prints on stderr before
/// it waits, for `user_code` at `uri`.
pub fn code_lines(user_code: &str, uri: &str) -> String {
    format!("! Copy this one-time code: {user_code}\n  Open: {uri}\n")
}

/// [`code_lines`] for the mock's newest code and its default verification URI.
pub fn mock_code_lines(mock: &MockDify) -> String {
    let (_, user_code) = mock.codes().pop().expect("a device code was issued");
    code_lines(&user_code, &format!("{}/device", mock.url()))
}

/// A mock that mints external-SSO (`dfoe_`) sessions for `sso@corp.test`
/// (issuer `https://idp.corp.test`), and a config dir signed in to it by the
/// device flow.
pub fn signed_in_sso() -> (MockDify, Test) {
    let mock = MockDify::with(
        MockConfig::default()
            .auto_approve()
            .sso("sso@corp.test", "https://idp.corp.test"),
    );
    let t = Test::new();
    t.run_args(login_args(&mock))
        .stderr(&mock_code_lines(&mock))
        .stdout_has("✓ Logged in to ");
    (mock, t)
}
