//! Reading a store with damaged entries: one entry whose value does not fit
//! the format (a context whose `workspace` is a list, a host that is a
//! string) costs only that entry, which is kept as it was read.
//!
//! serde cannot step over a value that fails half way, so a store that fails
//! to read is looked at again as plain YAML values: [`Check`] finds the map
//! entries that do not fit (or that the whole file does not), and the text is
//! read once more with those entries set aside, as values, by [`MapOf`]
//! (through [`damaged`] and [`enter`]).
//!
//! [`MapOf`]: super::model::MapOf

use std::cell::RefCell;

use serde::de;
use serde_yaml::{Mapping, Value};

use super::yaml::{BIG_INTEGER, key_string};

/// What a value is, at the YAML level, for a field type: whether the typed
/// read of `value` succeeds, with the damaged map entries found inside.
pub(crate) trait Check {
    fn check(value: &Value, at: &mut Place) -> Result<(), String>;
}

/// Where a check is: the path to the value (field names and keys, for
/// messages), the keys of the maps of entries on the way (to find an entry
/// again), and the damaged entries found so far.
#[derive(Default)]
pub(crate) struct Place {
    path: Vec<String>,
    keys: Vec<String>,
    pub(crate) found: Vec<Found>,
}

/// A damaged map entry: the keys that lead to it, and what is wrong, from
/// the file's root (`hosts.h.accounts.e: workspace: missing field `name``).
pub(crate) struct Found {
    pub(crate) keys: Vec<String>,
    pub(crate) what: String,
}

impl Place {
    /// Checks the field `name` of an object.
    pub(crate) fn field<F: Check>(&mut self, name: &str, value: &Value) -> Result<(), String> {
        self.path.push(name.to_owned());
        let result = F::check(value, self);
        self.path.pop();
        result.map_err(|e| format!("{name}: {e}"))
    }

    /// Checks the entries of a map of `T`: an entry that does not fit is
    /// recorded, not an error.
    pub(crate) fn entries<T: Check>(&mut self, map: &Mapping) -> Result<(), String> {
        let mut seen: Vec<String> = Vec::with_capacity(map.len());
        for (key, value) in map {
            let key = key_text(key)?;
            if seen.contains(&key) {
                return Err(format!("duplicated mapping key `{key}`"));
            }
            self.path.push(key.clone());
            self.keys.push(key.clone());
            if let Err(what) = T::check(value, self) {
                self.found.push(Found {
                    keys: self.keys.clone(),
                    what: format!("{}: {what}", self.path.join(".")),
                });
            }
            self.keys.pop();
            self.path.pop();
            seen.push(key);
        }
        Ok(())
    }
}

/// A key read as text: any scalar (YAML keys of difyctl's maps are strings).
pub(crate) fn key_text(key: &Value) -> Result<String, String> {
    match untagged(key) {
        Value::Sequence(_) | Value::Mapping(_) => Err("a key is not a string".into()),
        key => Ok(key_string(key)),
    }
}

/// A field read as text: any scalar, or null.
pub(crate) fn text(value: &Value) -> Result<(), String> {
    match untagged(value) {
        Value::Sequence(_) => Err("invalid type: sequence, expected a string".into()),
        Value::Mapping(_) => Err("invalid type: map, expected a string".into()),
        _ => Ok(()),
    }
}

fn untagged(value: &Value) -> &Value {
    match value {
        Value::Tagged(t) if t.tag != BIG_INTEGER => untagged(&t.value),
        other => other,
    }
}

/// An object field: null, or a map the object's own check accepts.
pub(crate) fn object(
    value: &Value,
    expecting: &str,
    check: impl FnOnce(&Mapping, &mut Place) -> Result<(), String>,
    at: &mut Place,
) -> Result<(), String> {
    match untagged(value) {
        Value::Null => check(&Mapping::new(), at),
        Value::Mapping(map) => check(map, at),
        _ => Err(format!("invalid type, expected {expecting}")),
    }
}

/// A damaged entry's value as it is kept, and written back: keys as strings
/// and integral floats as integers (as the official tool holds them), tags
/// left out (a file with one is not rewritten anyway). A key that is a
/// collection, or keys that become the same string, could not be written
/// back as they were: an error (the whole file is then refused, as before).
pub(crate) fn kept<E: de::Error>(value: Value) -> Result<Value, E> {
    Ok(match value {
        Value::Tagged(t) if t.tag == BIG_INTEGER => Value::Tagged(t),
        Value::Tagged(t) => kept(t.value)?,
        Value::Sequence(s) => Value::Sequence(s.into_iter().map(kept).collect::<Result<_, E>>()?),
        Value::Mapping(m) => {
            let mut out = Mapping::with_capacity(m.len());
            for (k, v) in m {
                let key = match untagged(&k) {
                    Value::Sequence(_) | Value::Mapping(_) => {
                        return Err(E::custom("a key is not a string"));
                    }
                    key => key_string(key),
                };
                if out.contains_key(key.as_str()) {
                    return Err(E::custom(format_args!("duplicated mapping key `{key}`")));
                }
                out.insert(Value::String(key), kept(v)?);
            }
            Value::Mapping(out)
        }
        Value::Number(n) => Value::Number(super::model::integral(&n).unwrap_or(n)),
        other => other,
    })
}

// ------------------------------------------------- the read with damage set aside

thread_local! {
    /// While a store is read again: its damaged entries, and the keys of the
    /// map entries being read.
    static SALVAGE: RefCell<Option<Salvage>> = const { RefCell::new(None) };
}

struct Salvage {
    /// Keys leading to each damaged entry, with its error message and hint.
    damaged: Vec<(Vec<String>, String, String)>,
    keys: Vec<String>,
}

/// While alive, the reads on this thread set the `damaged` entries aside.
pub(crate) struct Setting(());

impl Setting {
    pub(crate) fn new(damaged: Vec<(Vec<String>, String, String)>) -> Setting {
        SALVAGE.with(|s| {
            *s.borrow_mut() = Some(Salvage {
                damaged,
                keys: Vec::new(),
            })
        });
        Setting(())
    }
}

impl Drop for Setting {
    fn drop(&mut self) {
        SALVAGE.with(|s| *s.borrow_mut() = None);
    }
}

/// The message and hint of the map entry `key` (in the entries being read)
/// when it is one set aside.
pub(crate) fn damaged(key: &str) -> Option<(String, String)> {
    SALVAGE.with(|s| {
        let s = s.borrow();
        let s = s.as_ref()?;
        s.damaged
            .iter()
            .find(|(keys, _, _)| {
                keys.len() == s.keys.len() + 1
                    && keys.last().is_some_and(|k| k == key)
                    && keys[..s.keys.len()] == s.keys[..]
            })
            .map(|(_, message, hint)| (message.clone(), hint.clone()))
    })
}

/// While alive, the map entry `key` is being read.
pub(crate) struct Entered(bool);

pub(crate) fn enter(key: &str) -> Entered {
    Entered(SALVAGE.with(|s| match s.borrow_mut().as_mut() {
        Some(s) => {
            s.keys.push(key.to_owned());
            true
        }
        None => false,
    }))
}

impl Drop for Entered {
    fn drop(&mut self) {
        if self.0 {
            SALVAGE.with(|s| {
                if let Some(s) = s.borrow_mut().as_mut() {
                    s.keys.pop();
                }
            });
        }
    }
}
