//! `hosts.yml`: the saved host/account contexts (difyctl-files(5)).

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

/// A context's own store: absent (or `null`) when it is the registry's.
impl Field for Option<TokenStorage> {
    fn read<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        map.next_value()
    }

    fn node(&self) -> Option<&dyn Node> {
        self.as_ref().map(|s| s as &dyn Node)
    }
}

impl Check for Option<TokenStorage> {
    fn check(value: &Value, place: &mut Place) -> Result<(), String> {
        TokenStorage::check(value, place)
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
        /// The device label the user chose for this context's sign-ins (none:
        /// the default, `difyctl on <node name>`); refresh signs in with it again.
        pub device_label: Option<String>,
        /// Where this context's token is when that is not the registry's
        /// `token_storage` (a sign-in that found no usable keychain, or the
        /// keychain where the others are in the file); see
        /// [`Registry::storage_of`].
        pub token_storage: Option<TokenStorage>,
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

    /// Where the token of `context` is: its own store, else the registry's.
    pub fn storage_of(&self, context: &Context) -> TokenStorage {
        context.token_storage.unwrap_or(self.token_storage)
    }

    /// Where the token of (host, email) is: the context's own store, else
    /// the registry's (also for a damaged or missing entry).
    pub fn storage_at(&self, host: &str, email: &str) -> TokenStorage {
        self.context(host, email)
            .map_or(self.token_storage, |c| self.storage_of(c))
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

    /// Forgets (host, email) (`auth logout`): when it was its host's current
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
mod tests;
