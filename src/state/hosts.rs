//! `hosts.yml`: the saved host/account contexts (PROTOCOL.md §2.3).

use std::fmt;
use std::io;
use std::path::Path;

use serde::de::{self, Deserialize, Deserializer, MapAccess};
use serde_yaml::Value;

use super::model::{Field, model};
use super::omap::{Damage, OrderedMap};
use super::salvage::{Check, Place};
use super::store::Document;
use super::yaml::{self, Emitter, Node};
use crate::error::{CliError, Result};

pub const HOSTS_FILE: &str = "hosts.yml";

/// Where the bearer tokens of all contexts are kept (registry-wide).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TokenStorage {
    Keychain,
    #[default]
    File,
}

impl TokenStorage {
    /// `keychain` or `file` (as in the file and the `--token-storage` flag).
    pub fn from_name(name: &str) -> Option<TokenStorage> {
        match name {
            "keychain" => Some(TokenStorage::Keychain),
            "file" => Some(TokenStorage::File),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TokenStorage::Keychain => "keychain",
            TokenStorage::File => "file",
        }
    }
}

impl fmt::Display for TokenStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TokenStorage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Checked inside the visitor so the error carries the value's position.
        struct V;
        impl de::Visitor<'_> for V {
            type Value = TokenStorage;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`keychain` or `file`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TokenStorage, E> {
                TokenStorage::from_name(v)
                    .ok_or_else(|| E::unknown_variant(v, &["keychain", "file"]))
            }
        }
        d.deserialize_str(V)
    }
}

/// The default (`file`) when `null`.
impl Field for TokenStorage {
    fn read<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        Ok(map
            .next_value::<Option<TokenStorage>>()?
            .unwrap_or_default())
    }

    fn node(&self) -> Option<&dyn Node> {
        Some(self)
    }
}

impl Check for TokenStorage {
    fn check(value: &Value, _: &mut Place) -> Result<(), String> {
        match value {
            Value::Null => Ok(()),
            Value::String(s) if TokenStorage::from_name(s).is_some() => Ok(()),
            Value::Tagged(t) => Self::check(&t.value, &mut Place::default()),
            _ => Err("expected `keychain` or `file`".into()),
        }
    }
}

impl Node for TokenStorage {
    fn is_block(&self) -> bool {
        false
    }

    fn write(&self, e: &mut Emitter, level: usize) {
        e.scalar(self.as_str(), level, false)
    }
}

model! {
    /// The whole `hosts.yml`.
    pub struct Registry ("a map of token_storage, current_host and hosts", required: []) {
        pub token_storage: TokenStorage,
        pub current_host: Option<String>,
        /// Bare host (`cloud.dify.ai`, `localhost:5001`) → entry, in file order.
        pub hosts: OrderedMap<HostEntry>,
    }
}

model! {
    pub struct HostEntry ("a host entry (a map of scheme, current_account and accounts)", required: []) {
        /// Only stored when not `https`.
        pub scheme: Option<String>,
        pub current_account: Option<String>,
        /// Email → context, in file order.
        pub accounts: OrderedMap<Context>,
    }
}

model! {
    /// One signed-in account on one host.
    pub struct Context ("an account context (a map with an account)", required: [account]) {
        pub account: Account,
        pub workspace: Option<Workspace>,
        /// The server's session row id, used to mark the current device.
        pub token_id: Option<String>,
        pub token_expires_at: Option<String>,
        /// Set for external-SSO (`dfoe_`) sign-ins, whose `account` fields are empty.
        pub external_subject: Option<ExternalSubject>,
    }
}

model! {
    pub struct Account ("an account (a map of id, email and name)", required: []) {
        pub id: Option<String>,
        pub email: String,
        pub name: String,
    }
}

model! {
    pub struct Workspace ("a workspace (a map of id, name and role)", required: [id, name, role]) {
        pub id: String,
        pub name: String,
        pub role: String,
    }
}

model! {
    pub struct ExternalSubject ("an external subject (a map of email and issuer)", required: [email, issuer]) {
        pub email: String,
        pub issuer: String,
    }
}

impl HostEntry {
    /// `https` unless another scheme was stored.
    pub fn scheme(&self) -> &str {
        self.scheme.as_deref().unwrap_or("https")
    }
}

impl Context {
    pub fn is_external_sso(&self) -> bool {
        self.external_subject.is_some()
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

impl Registry {
    /// The active context: `hosts[current_host].accounts[current_account]`,
    /// as `(host, email, context)`; `None` when any level is missing.
    pub fn active(&self) -> Option<(&str, &str, &Context)> {
        let (host, entry) = self.current_host_entry()?;
        let email = non_empty(&entry.current_account)?;
        let ctx = entry.accounts.get(email)?;
        Some((host, email, ctx))
    }

    /// The entry named by `current_host`, when it exists.
    pub fn current_host_entry(&self) -> Option<(&str, &HostEntry)> {
        let host = non_empty(&self.current_host)?;
        self.hosts.get(host).map(|entry| (host, entry))
    }

    pub fn context(&self, host: &str, email: &str) -> Option<&Context> {
        self.hosts.get(host)?.accounts.get(email)
    }

    pub fn context_mut(&mut self, host: &str, email: &str) -> Option<&mut Context> {
        self.hosts.get_mut(host)?.accounts.get_mut(email)
    }

    /// Every context as `(host, email, context)`, in file order.
    pub fn contexts(&self) -> impl Iterator<Item = (&str, &str, &Context)> {
        self.hosts.iter().flat_map(|(host, entry)| {
            entry
                .accounts
                .iter()
                .map(move |(email, ctx)| (host, email, ctx))
        })
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Why (host, email) cannot be used, when its entry in the file is
    /// damaged (or its host's is): an error naming the file and the entry.
    pub fn damage(&self, host: &str, email: Option<&str>) -> Option<CliError> {
        if let Some(d) = self.hosts.damage(host) {
            return Some(d.error());
        }
        let entry = self.hosts.get(host)?;
        entry.accounts.damage(email?).map(Damage::error)
    }

    /// Why the active context cannot be used, when `current_host` (or its
    /// current account) names an entry that is damaged in the file.
    pub fn active_damage(&self) -> Option<CliError> {
        let host = non_empty(&self.current_host)?;
        let email = self
            .hosts
            .get(host)
            .and_then(|entry| non_empty(&entry.current_account));
        self.damage(host, email)
    }

    /// Every (host, email) the file holds: the readable contexts, and those
    /// whose entry (or whose host's) is damaged, as far as it names them.
    pub fn context_keys(&self) -> impl Iterator<Item = (&str, &str)> {
        self.hosts.entries().flat_map(|(host, entry)| {
            let emails: Vec<&str> = match entry {
                Ok(entry) => entry.accounts.entries().map(|(email, _)| email).collect(),
                Err(damage) => match &damage.value()["accounts"] {
                    Value::Mapping(accounts) => accounts.keys().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                },
            };
            emails.into_iter().map(move |email| (host, email))
        })
    }

    /// The damaged entries, hosts and contexts, in file order.
    pub fn damaged(&self) -> impl Iterator<Item = &Damage> {
        self.hosts.entries().flat_map(|(_, entry)| {
            let (host, accounts) = match entry {
                Ok(entry) => (None, Some(entry.accounts.damaged().map(|(_, d)| d))),
                Err(d) => (Some(d), None),
            };
            host.into_iter().chain(accounts.into_iter().flatten())
        })
    }

    /// Stores `ctx` under (host, email), replacing an earlier one in place, and
    /// makes it the active context. `scheme` is the one signed in with: `https`
    /// clears a stored scheme, anything else is stored. A damaged entry of the
    /// host is not overwritten: its error.
    pub fn upsert(&mut self, host: &str, scheme: &str, email: &str, ctx: Context) -> Result<()> {
        self.replace(host, scheme, email, ctx)?;
        if let Some(entry) = self.hosts.get_mut(host) {
            entry.current_account = Some(email.to_owned());
        }
        self.current_host = Some(host.to_owned());
        Ok(())
    }

    /// [`Registry::upsert`] without making the context active (`auth
    /// refresh`): `current_host` and every host's `current_account` stay as
    /// they were.
    pub fn replace(&mut self, host: &str, scheme: &str, email: &str, ctx: Context) -> Result<()> {
        let entry = self
            .hosts
            .get_or_insert_with(host, HostEntry::default)
            .map_err(Damage::error)?;
        entry.scheme = (scheme != "https").then(|| scheme.to_owned());
        entry.accounts.insert(email, ctx);
        Ok(())
    }

    /// Forgets (host, email) (PROTOCOL.md §4.4): when it was its host's current
    /// account that pointer is unset, and so is `current_host` if it named the
    /// host; a host left without accounts is dropped.
    pub fn remove(&mut self, host: &str, email: &str) -> Option<Context> {
        let entry = self.hosts.get_mut(host)?;
        let removed = entry.accounts.remove(email)?;
        let was_current = entry.current_account.as_deref() == Some(email);
        if was_current {
            entry.current_account = None;
        }
        let host_now_empty = entry.accounts.holds_nothing();
        if host_now_empty {
            self.hosts.remove(host);
        }
        if (was_current || host_now_empty) && self.current_host.as_deref() == Some(host) {
            self.current_host = None;
        }
        Some(removed)
    }

    /// Makes `host` the current host (its own current account is kept). Returns
    /// false, changing nothing, when no such host is stored.
    pub fn set_current_host(&mut self, host: &str) -> bool {
        let known = self.hosts.contains_key(host);
        if known {
            self.current_host = Some(host.to_owned());
        }
        known
    }

    /// Makes `email` the current account of `host`. Returns false, changing
    /// nothing, when that context is not stored.
    pub fn set_current_account(&mut self, host: &str, email: &str) -> bool {
        match self.hosts.get_mut(host) {
            Some(entry) if entry.accounts.contains_key(email) => {
                entry.current_account = Some(email.to_owned());
                true
            }
            _ => false,
        }
    }
}

impl Document for Registry {
    fn parse(text: &str, path: &Path) -> Result<Self> {
        // An empty file (or a lone `null`) is an empty registry, as upstream.
        let hint = format!(
            "Fix or remove that entry of {} by hand, or sign in again to replace it.",
            path.display()
        );
        Ok(yaml::parse_salvaging::<Registry>(text, path, &hint)?.unwrap_or_default())
    }

    fn unwritable(text: &str, path: &Path) -> Option<CliError> {
        yaml::unwritable(text, path)
    }

    fn write(&self, out: &mut dyn io::Write) -> io::Result<u64> {
        Emitter::new(out).document(self)
    }
}

#[cfg(test)]
#[allow(clippy::unit_arg)] // `Ok(doc.change())` keeps update closures on one line
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::state::store::Store;
    use crate::state::testutil::TempDir;
    use std::fs;
    use std::sync::Arc;

    const EXAMPLE: &str = include_str!("../../tests/fixtures/hosts-example.yml");

    fn parse(text: &str) -> Result<Registry> {
        Registry::parse(text, Path::new("/cfg/hosts.yml"))
    }

    fn round_trip(text: &str) {
        let reg = parse(text).unwrap();
        assert_eq!(reg.render(), text);
    }

    #[test]
    fn protocol_example_round_trips_byte_for_byte() {
        let reg = parse(EXAMPLE).unwrap();
        assert_eq!(reg.token_storage, TokenStorage::Keychain);
        let (host, email, ctx) = reg.active().unwrap();
        assert_eq!((host, email), ("localhost:5001", "dev@example.com"));
        assert_eq!(ctx.token_id.as_deref(), Some("t2"));
        assert_eq!(reg.hosts.get("localhost:5001").unwrap().scheme(), "http");
        assert_eq!(reg.hosts.get("cloud.dify.ai").unwrap().scheme(), "https");
        let hosts: Vec<_> = reg.contexts().map(|(h, e, _)| (h, e)).collect();
        assert_eq!(
            hosts,
            [
                ("cloud.dify.ai", "alice@example.com"),
                ("localhost:5001", "dev@example.com")
            ]
        );
        assert_eq!(reg.render(), EXAMPLE);
    }

    #[test]
    fn built_in_code_renders_the_example() {
        let mut reg = Registry {
            token_storage: TokenStorage::Keychain,
            ..Registry::default()
        };
        let alice = Context {
            account: Account {
                id: Some("acc-1".into()),
                email: "alice@example.com".into(),
                name: "Alice".into(),
                ..Account::default()
            },
            workspace: Some(Workspace {
                id: "ws-1".into(),
                name: "Acme Team".into(),
                role: "owner".into(),
                ..Workspace::default()
            }),
            token_id: Some("tok-1".into()),
            ..Context::default()
        };
        let dev = Context {
            account: Account {
                id: Some("a2".into()),
                email: "dev@example.com".into(),
                name: "Dev".into(),
                ..Account::default()
            },
            token_id: Some("t2".into()),
            ..Context::default()
        };
        reg.upsert("cloud.dify.ai", "https", "alice@example.com", alice)
            .unwrap();
        reg.upsert("localhost:5001", "http", "dev@example.com", dev)
            .unwrap();
        assert_eq!(reg.render(), EXAMPLE);
    }

    #[test]
    fn empty_registry_forms() {
        assert_eq!(parse("").unwrap(), Registry::default());
        assert_eq!(parse("# nothing\n").unwrap(), Registry::default());
        assert_eq!(parse("~\n").unwrap(), Registry::default());
        assert_eq!(
            Registry::default().render(),
            "token_storage: file\nhosts: {}\n"
        );
        round_trip("token_storage: file\nhosts: {}\n");
        round_trip("token_storage: keychain\nhosts: {}\n");
        let reg = parse("hosts:\n").unwrap();
        assert!(reg.is_empty());
    }

    #[test]
    fn sso_context_round_trips() {
        round_trip(
            "token_storage: file\ncurrent_host: cloud.dify.ai\nhosts:\n  cloud.dify.ai:\n    \
             current_account: sso@corp.example\n    accounts:\n      sso@corp.example:\n        \
             account:\n          id: ''\n          email: ''\n          name: ''\n        \
             token_id: s-1\n        external_subject:\n          email: sso@corp.example\n          \
             issuer: https://idp.corp.example/realms/x\n",
        );
        let reg = parse(
            "hosts:\n  h:\n    accounts:\n      e:\n        account: {id: '', email: '', name: ''}\n        \
             external_subject: {email: e, issuer: i}\n",
        )
        .unwrap();
        let ctx = reg.context("h", "e").unwrap();
        assert!(ctx.is_external_sso());
        assert_eq!(ctx.account.id.as_deref(), Some(""));
    }

    #[test]
    fn unknown_keys_are_preserved_after_known_ones() {
        let text = "future_root: 1\ntoken_storage: file\nhosts:\n  h:\n    insecure: true\n    accounts:\n      \
                    e:\n        available_workspaces:\n          - id: w\n            name: W\n            \
                    role: owner\n        account:\n          email: e\n          avatar: null\n        \
                    workspace:\n          id: w\n          name: W\n          role: owner\n          plan: 'yes'\n";
        let reg = parse(text).unwrap();
        assert_eq!(
            reg.render(),
            "token_storage: file\nhosts:\n  h:\n    accounts:\n      e:\n        account:\n          \
             email: e\n          name: ''\n          avatar: null\n        workspace:\n          id: w\n          \
             name: W\n          role: owner\n          plan: 'yes'\n        available_workspaces:\n          \
             - id: w\n            name: W\n            role: owner\n    insecure: true\nfuture_root: 1\n"
        );
        // Stable from then on.
        round_trip(&reg.render());
    }

    #[test]
    fn preserved_values_load_as_js_yaml_holds_them() {
        // Keys are strings, integral floats integers: what is written reads back the same.
        let reg = parse("x:\n  1: one\n  ~: n\n  ? {a: 1}\n  : m\n  f: 2.0\n  g: 2.5\n").unwrap();
        assert_eq!(
            reg.render(),
            "token_storage: file\nhosts: {}\nx:\n  '1': one\n  'null': 'n'\n  'a: 1': m\n  f: 2\n  g: 2.5\n"
        );
        assert_eq!(parse(&reg.render()).unwrap(), reg);
        round_trip(&reg.render());
        // Two keys that become the same string are a duplicate, as in js-yaml.
        let err = parse("x:\n  1: a\n  '1': b\n").unwrap_err();
        assert!(
            err.message.contains("duplicated mapping key `1`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn ambiguous_strings_are_quoted_and_read_back() {
        let mut reg = Registry::default();
        let ctx = Context {
            account: Account {
                id: Some("123".into()),
                email: "yes".into(),
                name: "@x".into(),
                ..Account::default()
            },
            token_expires_at: Some("2026-07-01T00:00:00Z".into()),
            token_id: Some("null".into()),
            ..Context::default()
        };
        reg.upsert("h", "https", "true", ctx.clone()).unwrap();
        let text = reg.render();
        assert!(text.contains("    current_account: 'true'\n"), "{text}");
        assert!(text.contains("      'true':\n"), "{text}");
        assert!(text.contains("          id: '123'\n"), "{text}");
        assert!(text.contains("          email: 'yes'\n"), "{text}");
        assert!(text.contains("          name: '@x'\n"), "{text}");
        assert!(text.contains("        token_id: 'null'\n"), "{text}");
        assert!(
            text.contains("        token_expires_at: '2026-07-01T00:00:00Z'\n"),
            "{text}"
        );
        assert_eq!(parse(&text).unwrap().context("h", "true"), Some(&ctx));
    }

    #[test]
    fn hand_written_scalars_load_as_written() {
        let reg = parse("hosts:\n  h:\n    accounts:\n      e:\n        account:\n          id: 0x10\n          name: 1.50\n").unwrap();
        let acc = &reg.context("h", "e").unwrap().account;
        assert_eq!(acc.id.as_deref(), Some("0x10"));
        assert_eq!(acc.name, "1.50");
    }

    #[test]
    fn schema_errors_name_the_file_and_place() {
        let err = parse("token_storage: cloud\nhosts: {}\n").unwrap_err();
        assert_eq!(err.code, ErrorCode::ClientError);
        assert_eq!(
            err.message,
            "Invalid content in /cfg/hosts.yml: token_storage: unknown variant `cloud`, expected \
             `keychain` or `file` at line 1, column 16.\n\n> 1 | token_storage: cloud\n                     ^\n  2 | hosts: {}"
        );
        assert_eq!(
            err.hint.as_deref(),
            Some("Fix /cfg/hosts.yml by hand or remove the file to reset it.")
        );
        let err = parse("hosts: [1, 2]\n").unwrap_err();
        assert!(err.message.starts_with("Invalid content in /cfg/hosts.yml: hosts: invalid type: sequence, expected a map at line 1, column 8."), "{}", err.message);
        let err = parse("- a\n").unwrap_err();
        assert!(
            err.message
                .starts_with("Invalid content in /cfg/hosts.yml: invalid type: sequence"),
            "{}",
            err.message
        );
    }

    /// A context or host whose entry does not fit costs only itself: it is
    /// kept aside (and written back as it was), with an error naming it.
    #[test]
    fn damaged_entries_are_set_aside_one_by_one() {
        let good = "      g:\n        account:\n          email: g\n          id: 0x10\n";
        for (bad, host, email, what) in [
            (
                "      e:\n        token_id: t\n",
                "h",
                Some("e"),
                "hosts.h.accounts.e: missing field `account`",
            ),
            (
                "      e:\n        account: {}\n        workspace: {id: w}\n",
                "h",
                Some("e"),
                "hosts.h.accounts.e: workspace: missing field `name`",
            ),
            (
                "      e:\n        account: {}\n        x: !custom 1\n",
                "h",
                Some("e"),
                "hosts.h.accounts.e: unsupported YAML tag !custom",
            ),
            (
                "      e:\n        account:\n          name: [x]\n",
                "h",
                Some("e"),
                "hosts.h.accounts.e: account: name: invalid type: sequence, expected a string",
            ),
            (
                "      e: just text\n",
                "h",
                Some("e"),
                "hosts.h.accounts.e: invalid type, expected an account context (a map with an account)",
            ),
        ] {
            let text = format!(
                "current_host: h\nhosts:\n  h:\n    current_account: e\n    accounts:\n{bad}{good}"
            );
            let reg = parse(&text).unwrap_or_else(|e| panic!("{text}: {}", e.message));
            assert_eq!(
                reg.context("h", "g").unwrap().account.id.as_deref(),
                Some("0x10")
            );
            assert!(reg.context(host, email.unwrap()).is_none());
            let err = reg.damage(host, email).unwrap();
            assert_eq!(
                err.message,
                format!("Invalid content in /cfg/hosts.yml: {what}.")
            );
            assert_eq!(
                err.hint.as_deref(),
                Some(
                    "Fix or remove that entry of /cfg/hosts.yml by hand, or sign in again to replace it."
                )
            );
            assert_eq!(reg.active_damage().unwrap().message, err.message);
            assert!(reg.active().is_none());
            assert_eq!(reg.contexts().count(), 1);
            assert_eq!(reg.damaged().count(), 1);
            // Written back as it was (as values), and read back the same;
            // a tag is not written back, so such a file is not rewritten.
            let path = Path::new("/cfg/hosts.yml");
            if Registry::unwritable(&text, path).is_none() {
                assert_eq!(parse(&reg.render()).unwrap(), reg);
            }
        }
        // A whole host.
        let reg = parse("hosts:\n  h: 5\n  g:\n    accounts: {}\n").unwrap();
        assert_eq!(
            reg.damage("h", Some("x")).unwrap().message,
            "Invalid content in /cfg/hosts.yml: hosts.h: invalid type, expected a host entry \
             (a map of scheme, current_account and accounts)."
        );
        assert_eq!(
            reg.render(),
            "token_storage: file\nhosts:\n  h: 5\n  g:\n    accounts: {}\n"
        );
        // It is not overwritten by a sign-in, nor dropped with its last readable neighbour.
        let mut changed = reg.clone();
        let e = changed.upsert("h", "https", "x", ctx("x")).unwrap_err();
        assert_eq!(e.message, reg.damage("h", None).unwrap().message);
        let mut reg =
            parse("hosts:\n  h:\n    accounts:\n      a:\n        account: {}\n      b: 1\n")
                .unwrap();
        assert!(reg.remove("h", "a").is_some());
        assert_eq!(
            reg.render(),
            "token_storage: file\nhosts:\n  h:\n    accounts:\n      b: 1\n"
        );
    }

    #[test]
    fn syntax_and_duplicate_key_errors_use_the_official_wording() {
        let err = parse("token_storage: file\nhosts:\n  a: [\n").unwrap_err();
        assert!(
            err.message
                .starts_with("Failed to parse YAML file /cfg/hosts.yml: "),
            "{}",
            err.message
        );
        assert!(err.message.contains("\n\n"), "{}", err.message);
        let err = parse("hosts:\n  h:\n    accounts: {}\n  h:\n    accounts: {}\n").unwrap_err();
        assert!(
            err.message
                .starts_with("Failed to parse YAML file /cfg/hosts.yml: "),
            "{}",
            err.message
        );
        assert!(err.message.contains("duplicate"), "{}", err.message);
        assert_eq!(
            err.hint.as_deref(),
            Some("Fix the YAML syntax in /cfg/hosts.yml or remove the file to reset it.")
        );
    }

    fn ctx(email: &str) -> Context {
        Context {
            account: Account {
                email: email.into(),
                ..Account::default()
            },
            ..Context::default()
        }
    }

    /// h/a and h/b over http, g/c over https (g active), and a new version
    /// of h/a with another token_id.
    fn two_hosts_and_a_new_a() -> (Registry, Context) {
        let mut reg = Registry::default();
        reg.upsert("h", "http", "a", ctx("a")).unwrap();
        reg.upsert("h", "http", "b", ctx("b")).unwrap();
        reg.upsert("g", "https", "c", ctx("c")).unwrap();
        let mut again = ctx("a");
        again.token_id = Some("new".into());
        (reg, again)
    }

    #[test]
    fn upsert_replaces_in_place_and_tracks_scheme() {
        let (mut reg, again) = two_hosts_and_a_new_a();
        reg.upsert("h", "https", "a", again).unwrap();
        let order: Vec<_> = reg.contexts().map(|(h, e, _)| format!("{h}/{e}")).collect();
        assert_eq!(order, ["h/a", "h/b", "g/c"]);
        assert_eq!(
            reg.active().map(|(h, e, c)| (h, e, c.token_id.as_deref())),
            Some(("h", "a", Some("new")))
        );
        assert_eq!(reg.hosts.get("h").unwrap().scheme, None);
    }

    #[test]
    fn replace_keeps_the_active_context() {
        let (mut reg, again) = two_hosts_and_a_new_a();
        reg.replace("h", "http", "a", again).unwrap();
        let order: Vec<_> = reg.contexts().map(|(h, e, _)| format!("{h}/{e}")).collect();
        assert_eq!(order, ["h/a", "h/b", "g/c"]);
        assert_eq!(reg.active().map(|(h, e, _)| (h, e)), Some(("g", "c")));
        let h = reg.hosts.get("h").unwrap();
        assert_eq!(
            (h.current_account.as_deref(), h.scheme.as_deref()),
            (Some("b"), Some("http"))
        );
        assert_eq!(
            reg.context("h", "a").unwrap().token_id.as_deref(),
            Some("new")
        );
    }

    #[test]
    fn remove_follows_logout_rules() {
        let mut reg = Registry::default();
        reg.upsert("h", "https", "a", ctx("a")).unwrap();
        reg.upsert("h", "https", "b", ctx("b")).unwrap();
        reg.upsert("g", "https", "c", ctx("c")).unwrap();
        // Not the current account of h: pointers untouched.
        reg.set_current_host("h");
        assert!(reg.remove("h", "a").is_some());
        assert_eq!(reg.active().map(|(h, e, _)| (h, e)), Some(("h", "b")));
        // The active one: nothing is active afterwards, and h (now empty) is gone.
        assert!(reg.remove("h", "b").is_some());
        assert_eq!(reg.current_host, None);
        assert!(!reg.hosts.contains_key("h"));
        assert_eq!(
            reg.hosts.get("g").unwrap().current_account.as_deref(),
            Some("c")
        );
        assert!(reg.remove("g", "zzz").is_none());
        assert!(reg.remove("g", "c").is_some());
        assert_eq!(reg.render(), "token_storage: file\nhosts: {}\n");
    }

    #[test]
    fn current_pointers_only_name_stored_things() {
        let mut reg = Registry::default();
        reg.upsert("h", "https", "a", ctx("a")).unwrap();
        reg.upsert("h", "https", "b", ctx("b")).unwrap();
        reg.upsert("g", "https", "c", ctx("c")).unwrap();
        assert!(!reg.set_current_host("nope"));
        assert!(!reg.set_current_account("h", "nope"));
        assert!(reg.set_current_host("h"));
        assert_eq!(reg.active().map(|(h, e, _)| (h, e)), Some(("h", "b")));
        assert!(reg.set_current_account("h", "a"));
        assert_eq!(reg.active().map(|(h, e, _)| (h, e)), Some(("h", "a")));
        reg.current_host = Some(String::new());
        assert!(reg.active().is_none());
    }

    #[test]
    fn file_is_never_rewritten_after_a_parse_failure() {
        let dir = TempDir::new();
        let file = dir.path().join(HOSTS_FILE);
        for bad in ["hosts: [\n", "token_storage: cloud\n"] {
            fs::write(&file, bad).unwrap();
            let err = Store::new(&file)
                .update(|r: &mut Registry| r.upsert("h", "https", "a", ctx("a")))
                .unwrap_err();
            assert_eq!(err.code, ErrorCode::ClientError);
            assert_eq!(fs::read_to_string(&file).unwrap(), bad);
        }
    }

    #[test]
    fn concurrent_updaters_all_land() {
        let dir = TempDir::new();
        let file = Arc::new(dir.path().join(HOSTS_FILE));
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let file = Arc::clone(&file);
                std::thread::spawn(move || {
                    for j in 0..5 {
                        let email = format!("u{i}-{j}@example.com");
                        Store::new(file.as_path())
                            .update(|r: &mut Registry| {
                                r.upsert(&format!("h{}", i % 3), "https", &email, ctx(&email))
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let reg: Registry = Store::new(file.as_path()).load().unwrap();
        assert_eq!(reg.contexts().count(), 80);
        for i in 0..16 {
            for j in 0..5 {
                assert!(
                    reg.context(&format!("h{}", i % 3), &format!("u{i}-{j}@example.com"))
                        .is_some()
                );
            }
        }
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, [HOSTS_FILE]);
    }
}
