//! `tokens.yml`: bearer tokens when no keychain is used (PROTOCOL.md §2.4).
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
use super::omap::OrderedMap;
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
    pub fn get(&self, host: &str, email: &str) -> Option<&str> {
        self.tokens.get(host)?.get(email).map(String::as_str)
    }

    pub fn set(&mut self, host: &str, email: &str, token: impl Into<String>) {
        self.tokens
            .get_or_insert_with(host, OrderedMap::new)
            .insert(email, token.into());
    }

    /// Deletes one token, dropping the host when it was its last. Returns
    /// whether there was one.
    pub fn remove(&mut self, host: &str, email: &str) -> bool {
        let Some(accounts) = self.tokens.get_mut(host) else {
            return false;
        };
        let removed = accounts.remove(email).is_some();
        if accounts.is_empty() {
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

/// Any value, as read (`null` reads as absent).
impl Field for Option<Value> {
    fn read<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        Ok(map.next_value::<Option<Raw>>()?.map(|raw| raw.0))
    }

    fn node(&self) -> Option<&dyn Node> {
        self.as_ref().map(|v| v as &dyn Node)
    }
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
                                    _ => {
                                        return Err(yaml::invalid(
                                            path,
                                            format_args!("tokens.{host}.{email} is not a string"),
                                        ));
                                    }
                                }
                            }
                        }
                        _ => {
                            return Err(yaml::invalid(
                                path,
                                format_args!("tokens.{host} is not a map of email to token"),
                            ));
                        }
                    }
                    if !map.is_empty() {
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
        t.set("h", "a@x", "dfoa_1");
        t.set("h", "b@x", "dfoa_2");
        t.set("h", "a@x", "dfoa_3");
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
            .update(|t: &mut TokenFile| Ok(t.set("g", "b@x", "dfoa_2")))
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
            .update(|t: &mut TokenFile| Ok(t.set("h", "a@x", "dfoa_1")))
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

    #[test]
    fn tokens_never_show_in_debug_or_errors() {
        let t = parse(TWO).unwrap();
        let debug = format!("{t:?}");
        assert!(!debug.contains("dfo"), "{debug}");
        assert!(
            debug.contains(r#""alice@example.com": "[redacted]""#),
            "{debug}"
        );
        for bad in [
            "version: 1\ntokens:\n  h: dfoa_secret\n",
            "version: 1\ntokens:\n  h:\n    a@x: [dfoa_secret]\n",
            "version: 1\ntokens: dfoa_secret\n",
            "version: 1\ntokens:\n  h:\n    a@x: dfoa_secret\n  h:\n    b: 1\n",
            "version: 1\ntokens:\n  h:\n    a@x: 'dfoa_secret\n",
            "version: 1\ntokens:\n  h:\n    a@x: !t dfoa_secret\n",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::ClientError);
            assert!(err.message.contains("/cfg/tokens.yml"), "{}", err.message);
            assert!(!err.message.contains("secret"), "{}", err.message);
            assert!(!err.hint.unwrap_or_default().contains("secret"));
        }
        let err = parse("version: 1\ntokens:\n  h: x\n").unwrap_err();
        assert_eq!(
            err.message,
            "Invalid content in /cfg/tokens.yml: tokens.h is not a map of email to token."
        );
    }
}
