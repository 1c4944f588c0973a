//! `tokens.yml`: bearer tokens when no keychain is used (difyctl-files(5)).
//!
//! ```yaml
//! version: 1
//! tokens:
//!   cloud.dify.ai:
//!     alice@example.com: dfoa_...
//! ```
//! A file without `version` (legacy) has the same shape; any other version reads
//! as empty and is replaced by a fresh version-1 document on the next change.

use std::fmt;
use std::io;
use std::path::Path;

use serde::de::MapAccess;
use serde_yaml::Value;

use super::model::{Extra, Field, Raw, model};
use super::omap::{Damage, OrderedMap};
use super::salvage::{Check, Place, kept};
use super::store::Document;
use super::yaml::{self, Emitter, Node};
use crate::error::{CliError, Result};

pub const TOKENS_FILE: &str = "tokens.yml";

const VERSION: i64 = 1;

/// Host → email → token, in file order. Tokens never show in `Debug` output or
/// in error messages.
#[derive(Clone, Default, PartialEq, Hash)]
pub struct TokenFile {
    tokens: OrderedMap<OrderedMap<String>>,
    extra: Extra,
}

impl TokenFile {
    /// The token of (host, email); `None` when there is none, or when its
    /// entry (or its host's) is damaged: see [`TokenFile::token`].
    pub fn get(&self, host: &str, email: &str) -> Option<&str> {
        self.token(host, email).ok().flatten()
    }

    /// The token of (host, email), or the error of its damaged entry (or its
    /// host's): one bad entry costs only its own context.
    pub fn token(&self, host: &str, email: &str) -> Result<Option<&str>> {
        if let Some(d) = self.tokens.damage(host) {
            return Err(d.error());
        }
        let Some(accounts) = self.tokens.get(host) else {
            return Ok(None);
        };
        if let Some(d) = accounts.damage(email) {
            return Err(d.error());
        }
        Ok(accounts.get(email).map(String::as_str))
    }

    /// Stores the token of (host, email), replacing a damaged entry of that
    /// very context. A damaged entry of the host is not overwritten: its error.
    pub fn set(&mut self, host: &str, email: &str, token: impl Into<String>) -> Result<()> {
        self.tokens
            .get_or_insert_with(host, OrderedMap::new)
            .map_err(Damage::error)?
            .insert(email, token.into());
        Ok(())
    }

    /// Deletes one token, dropping the host when nothing is left of it.
    /// Returns whether there was one (a damaged entry is left alone).
    pub fn remove(&mut self, host: &str, email: &str) -> bool {
        let Some(accounts) = self.tokens.get_mut(host) else {
            return false;
        };
        let removed = accounts.remove(email).is_some();
        if accounts.holds_nothing() {
            self.tokens.remove(host);
        }
        removed
    }

    /// Keeps only the tokens of the contexts `keep(host, email)` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        let drop: Vec<(String, String)> = self
            .tokens
            .iter()
            .flat_map(|(h, a)| a.keys().map(move |e| (h.to_owned(), e.to_owned())))
            .filter(|(h, e)| !keep(h, e))
            .collect();
        for (host, email) in drop {
            self.remove(&host, &email);
        }
    }

    /// The emails with a stored token on `host`, in file order.
    pub fn emails(&self, host: &str) -> Vec<&str> {
        self.tokens
            .get(host)
            .map(|a| a.keys().collect())
            .unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

impl fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Redacted<'a>(&'a OrderedMap<String>);
        impl fmt::Debug for Redacted<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.keys().map(|k| (k, "[redacted]")))
                    .finish()
            }
        }
        let hosts: Vec<_> = self.tokens.iter().map(|(h, a)| (h, Redacted(a))).collect();
        let extra: Vec<&str> = self.extra.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("TokenFile")
            .field("tokens", &DebugMap(hosts))
            .field("extra_keys", &extra)
            .finish()
    }
}

struct DebugMap<K, V>(Vec<(K, V)>);

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for DebugMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

model! {
    /// The file as YAML values: `tokens` is checked by hand afterwards so that
    /// no error message can quote a token.
    pub struct RawFile ("a map of version and tokens", required: []) {
        pub version: Option<Value>,
        pub tokens: Option<Value>,
    }
}

/// Any value fits.
impl Check for Option<Value> {
    fn check(_: &Value, _: &mut Place) -> Result<(), String> {
        Ok(())
    }
}

/// Any value, as read (`null` reads as absent).
impl Field for Option<Value> {
    fn read<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        Ok(map.next_value::<Option<Raw>>()?.map(|raw| raw.0))
    }

    fn node(&self) -> Option<&dyn Node> {
        self.as_ref().map(|v| v as &dyn Node)
    }
}

/// A damaged entry, kept as read; `what` (never a token) says what is wrong.
fn damage(path: &Path, value: Value, what: &str, context: bool) -> Result<Damage> {
    let error = yaml::invalid(path, what);
    let hint = if context {
        format!(
            "Fix or remove that entry of {} by hand, or sign in again to replace it.",
            path.display()
        )
    } else {
        format!("Fix or remove that entry of {} by hand.", path.display())
    };
    let value = kept::<serde_yaml::Error>(value).map_err(|_| error.clone())?;
    Ok(Damage::new(value, error.message, hint))
}

fn is_current_version(v: &Value) -> bool {
    v.as_i64() == Some(VERSION) || v.as_f64() == Some(VERSION as f64)
}

impl Document for TokenFile {
    const SECRET: bool = true;

    fn parse(text: &str, path: &Path) -> Result<Self> {
        let raw = yaml::parse::<Option<RawFile>>(text, path, true)?.unwrap_or_default();
        match &raw.version {
            None | Some(Value::Null) => {}
            Some(v) if is_current_version(v) => {}
            Some(_) => return Ok(TokenFile::default()),
        }
        let mut tokens = OrderedMap::new();
        match raw.tokens {
            None | Some(Value::Null) => {}
            Some(Value::Mapping(hosts)) => {
                for (host, accounts) in hosts {
                    let host = yaml::key_string(&host);
                    let mut map = OrderedMap::new();
                    match accounts {
                        Value::Null => {}
                        Value::Mapping(accounts) => {
                            for (email, token) in accounts {
                                let email = yaml::key_string(&email);
                                match token {
                                    Value::String(t) => {
                                        map.insert(email, t);
                                    }
                                    // A blank entry holds no token.
                                    Value::Null => {}
                                    other => {
                                        let what = format!("tokens.{host}.{email} is not a string");
                                        map.insert_damaged(
                                            email,
                                            damage(path, other, &what, true)?,
                                        );
                                    }
                                }
                            }
                        }
                        other => {
                            let what = format!("tokens.{host} is not a map of email to token");
                            tokens.insert_damaged(host, damage(path, other, &what, false)?);
                            continue;
                        }
                    }
                    if !map.holds_nothing() {
                        tokens.insert(host, map);
                    }
                }
            }
            Some(_) => {
                return Err(yaml::invalid(
                    path,
                    "tokens is not a map of host to accounts",
                ));
            }
        }
        Ok(TokenFile {
            tokens,
            extra: raw.extra,
        })
    }

    fn unwritable(text: &str, path: &Path) -> Option<CliError> {
        yaml::unwritable(text, path)
    }

    fn write(&self, out: &mut dyn io::Write) -> io::Result<u64> {
        Emitter::new(out).document(self)
    }
}

/// `version: 1`, the tokens, then the keys this version does not know.
impl Node for TokenFile {
    fn is_block(&self) -> bool {
        true
    }

    fn write(&self, e: &mut Emitter, level: usize) {
        e.pair("version", &Value::from(VERSION), level);
        e.pair("tokens", &self.tokens, level);
        for (key, value) in &self.extra {
            e.pair(key, value, level);
        }
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

    fn parse(text: &str) -> Result<TokenFile> {
        TokenFile::parse(text, Path::new("/cfg/tokens.yml"))
    }

    const TWO: &str = "version: 1\ntokens:\n  cloud.dify.ai:\n    alice@example.com: dfoa_aaa\n    \
                       bob@example.com: dfoa_bbb\n  localhost:5001:\n    dev@example.com: dfoe_ccc\n";

    #[test]
    fn round_trips_in_file_order() {
        let t = parse(TWO).unwrap();
        assert_eq!(t.get("cloud.dify.ai", "bob@example.com"), Some("dfoa_bbb"));
        assert_eq!(t.get("localhost:5001", "dev@example.com"), Some("dfoe_ccc"));
        assert_eq!(t.get("localhost:5001", "x"), None);
        assert_eq!(
            t.emails("cloud.dify.ai"),
            ["alice@example.com", "bob@example.com"]
        );
        assert_eq!(t.render(), TWO);
    }

    #[test]
    fn set_and_remove_keep_the_shape() {
        let mut t = TokenFile::default();
        assert_eq!(t.render(), "version: 1\ntokens: {}\n");
        t.set("h", "a@x", "dfoa_1").unwrap();
        t.set("h", "b@x", "dfoa_2").unwrap();
        t.set("h", "a@x", "dfoa_3").unwrap();
        assert_eq!(
            t.render(),
            "version: 1\ntokens:\n  h:\n    a@x: dfoa_3\n    b@x: dfoa_2\n"
        );
        assert!(t.remove("h", "a@x"));
        assert!(!t.remove("h", "a@x"));
        assert!(!t.remove("nope", "a@x"));
        assert!(t.remove("h", "b@x"));
        assert!(t.is_empty());
        assert_eq!(t.render(), "version: 1\ntokens: {}\n");
    }

    #[test]
    fn legacy_files_without_version_are_read_and_upgraded() {
        let t = parse("tokens:\n  h:\n    a@x: dfoa_1\n").unwrap();
        assert_eq!(t.get("h", "a@x"), Some("dfoa_1"));
        assert_eq!(t.render(), "version: 1\ntokens:\n  h:\n    a@x: dfoa_1\n");
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn other_versions_read_as_empty_and_are_replaced_on_write() {
        for v in ["2", "'1'", "[1]"] {
            let text = format!("version: {v}\ntokens:\n  h:\n    a@x: dfoa_1\nother: 1\n");
            assert!(parse(&text).unwrap().is_empty(), "{v}");
        }
        let dir = TempDir::new();
        let file = dir.path().join(TOKENS_FILE);
        let old = "version: 2\ntokens:\n  h:\n    a@x: dfoa_1\n";
        fs::write(&file, old).unwrap();
        let store = Store::new(&file);
        // Nothing to remove: the file is left as it was.
        store
            .update(|t: &mut TokenFile| Ok(t.remove("h", "a@x")))
            .unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), old);
        store
            .update(|t: &mut TokenFile| t.set("g", "b@x", "dfoa_2"))
            .unwrap();
        assert_eq!(
            fs::read_to_string(&file).unwrap(),
            "version: 1\ntokens:\n  g:\n    b@x: dfoa_2\n"
        );
    }

    #[test]
    fn removing_the_last_token_keeps_the_file() {
        let dir = TempDir::new();
        let file = dir.path().join(TOKENS_FILE);
        let store = Store::new(&file);
        store
            .update(|t: &mut TokenFile| t.set("h", "a@x", "dfoa_1"))
            .unwrap();
        store
            .update(|t: &mut TokenFile| Ok(t.remove("h", "a@x")))
            .unwrap();
        assert_eq!(
            fs::read_to_string(&file).unwrap(),
            "version: 1\ntokens: {}\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    /// One bad entry costs only its own context (the official tool skips
    /// it); it is kept as it was, for the person to fix.
    #[test]
    fn a_damaged_entry_costs_only_its_context() {
        let text = "version: 1\ntokens:\n  h:\n    a@x: dfoa_1\n    bad@x:\n      nested: map\n  g: just text\n  k:\n    c@x: dfoa_3\n";
        let mut t = parse(text).unwrap();
        assert_eq!(t.token("h", "a@x").unwrap(), Some("dfoa_1"));
        assert_eq!(t.token("k", "c@x").unwrap(), Some("dfoa_3"));
        assert_eq!(t.token("h", "nobody").unwrap(), None);
        let e = t.token("h", "bad@x").unwrap_err();
        assert_eq!(
            e.message,
            "Invalid content in /cfg/tokens.yml: tokens.h.bad@x is not a string."
        );
        assert_eq!(
            e.hint.as_deref(),
            Some(
                "Fix or remove that entry of /cfg/tokens.yml by hand, or sign in again to replace it."
            )
        );
        assert_eq!(
            t.token("g", "a@x").unwrap_err().message,
            "Invalid content in /cfg/tokens.yml: tokens.g is not a map of email to token."
        );
        assert_eq!(t.get("h", "bad@x"), None);
        // Written back as it was, around the changes.
        assert!(t.remove("h", "a@x"));
        assert!(!t.remove("h", "bad@x"));
        assert!(t.set("g", "x@x", "dfoa_4").is_err());
        t.set("k", "d@x", "dfoa_5").unwrap();
        assert_eq!(
            t.render(),
            "version: 1\ntokens:\n  h:\n    bad@x:\n      nested: map\n  g: just text\n  k:\n    c@x: dfoa_3\n    d@x: dfoa_5\n"
        );
        // Signing that context in again replaces it.
        t.set("h", "bad@x", "dfoa_6").unwrap();
        assert_eq!(t.token("h", "bad@x").unwrap(), Some("dfoa_6"));
    }

    #[test]
    fn tokens_never_show_in_debug_or_errors() {
        let t = parse(TWO).unwrap();
        let debug = format!("{t:?}");
        assert!(!debug.contains("dfo"), "{debug}");
        assert!(
            debug.contains(r#""alice@example.com": "[redacted]""#),
            "{debug}"
        );
        // Broken files, or damaged entries: no message quotes a token.
        let errors = [
            "version: 1\ntokens:\n  h: dfoa_secret\n",
            "version: 1\ntokens:\n  h:\n    a@x: [dfoa_secret]\n",
            "version: 1\ntokens: dfoa_secret\n",
            "version: 1\ntokens:\n  h:\n    a@x: dfoa_secret\n  h:\n    b: 1\n",
            "version: 1\ntokens:\n  h:\n    a@x: 'dfoa_secret\n",
            "version: 1\ntokens:\n  h:\n    a@x: !t dfoa_secret\n",
        ]
        .map(|bad| match parse(bad) {
            Err(err) => err,
            Ok(file) => {
                let debug = format!("{file:?}");
                assert!(!debug.contains("secret"), "{debug}");
                file.token("h", "a@x").unwrap_err()
            }
        });
        for err in errors {
            assert_eq!(err.code, ErrorCode::ClientError);
            assert!(err.message.contains("/cfg/tokens.yml"), "{}", err.message);
            assert!(!err.message.contains("secret"), "{}", err.message);
            assert!(!err.hint.unwrap_or_default().contains("secret"));
        }
    }
}
