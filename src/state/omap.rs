//! A small insertion-ordered string-keyed map: `hosts.yml` and `tokens.yml` keep
//! their entries in file order (`auth list` shows them that way), like a JS object.
//!
//! An entry read from a file may be damaged (its value is not what the format
//! says): it is kept, in its place, and written back as it was, but the map's
//! accessors do not see it; [`OrderedMap::damage`] tells what is wrong with it.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde_yaml::Value;

use crate::error::CliError;

#[derive(Clone, PartialEq)]
pub struct OrderedMap<V> {
    entries: Vec<(String, Slot<V>)>,
}

#[derive(Clone, PartialEq, Hash)]
enum Slot<V> {
    Read(V),
    Damaged(Box<Damage>),
}

/// A value that does not fit the file format, as read, and the error its
/// own context gets: `message` names the file and the entry.
#[derive(Clone, PartialEq, Hash)]
pub struct Damage {
    value: Value,
    message: String,
    hint: String,
}

impl Damage {
    pub(crate) fn new(value: Value, message: String, hint: String) -> Damage {
        Damage {
            value,
            message,
            hint,
        }
    }

    /// The value as read, written back as it is.
    pub(crate) fn value(&self) -> &Value {
        &self.value
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn error(&self) -> CliError {
        CliError::client(self.message.clone()).with_hint(self.hint.clone())
    }
}

/// The value may hold a token: only the message shows.
impl fmt::Debug for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Damage").field(&self.message).finish()
    }
}

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap {
            entries: Vec::new(),
        }
    }
}

impl<V> OrderedMap<V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The readable entries.
    pub fn len(&self) -> usize {
        self.iter().len()
    }

    /// No readable entry (damaged ones may be kept).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// No entry at all, not even a damaged one.
    pub fn holds_nothing(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        match self.entries.iter().find(|(k, _)| k == key) {
            Some((_, Slot::Read(v))) => Some(v),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, Slot::Read(v))) => Some(v),
            _ => None,
        }
    }

    /// What is wrong with the entry of `key`, when it is damaged.
    pub fn damage(&self, key: &str) -> Option<&Damage> {
        match self.entries.iter().find(|(k, _)| k == key) {
            Some((_, Slot::Damaged(d))) => Some(d),
            _ => None,
        }
    }

    /// The damaged entries, in file order.
    pub fn damaged(&self) -> impl Iterator<Item = (&str, &Damage)> {
        self.entries.iter().filter_map(|(k, slot)| match slot {
            Slot::Damaged(d) => Some((k.as_str(), &**d)),
            Slot::Read(_) => None,
        })
    }

    /// Replaces the value in place when the key exists (its position is kept, as
    /// assigning to an existing JS object key does; a damaged entry is
    /// replaced too), else appends.
    pub fn insert(&mut self, key: impl Into<String>, value: V) -> Option<V> {
        let key = key.into();
        match self.position(&key) {
            Some(i) => match std::mem::replace(&mut self.entries[i].1, Slot::Read(value)) {
                Slot::Read(old) => Some(old),
                Slot::Damaged(_) => None,
            },
            None => {
                self.entries.push((key, Slot::Read(value)));
                None
            }
        }
    }

    /// Sets the entry of `key` aside as damaged, in place or appended.
    pub(crate) fn insert_damaged(&mut self, key: impl Into<String>, damage: Damage) {
        let key = key.into();
        let slot = Slot::Damaged(Box::new(damage));
        match self.position(&key) {
            Some(i) => self.entries[i].1 = slot,
            None => self.entries.push((key, slot)),
        }
    }

    /// Returns the entry for `key`, appending `make()` first when it is
    /// missing; a damaged entry is left as it is (and its damage returned).
    pub fn get_or_insert_with(
        &mut self,
        key: &str,
        make: impl FnOnce() -> V,
    ) -> Result<&mut V, &Damage> {
        let i = match self.position(key) {
            Some(i) => i,
            None => {
                self.entries.push((key.to_owned(), Slot::Read(make())));
                self.entries.len() - 1
            }
        };
        match &mut self.entries[i].1 {
            Slot::Read(v) => Ok(v),
            Slot::Damaged(d) => Err(d),
        }
    }

    /// Removes the readable entry of `key`, keeping the order of the others
    /// (a damaged one stays: its data is not difyctl's to drop).
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let i = self.position(key)?;
        if let Slot::Damaged(_) = self.entries[i].1 {
            return None;
        }
        match self.entries.remove(i).1 {
            Slot::Read(v) => Some(v),
            Slot::Damaged(_) => None,
        }
    }

    /// The readable entries, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &V)> {
        Readable(self.entries.iter())
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut V)> {
        self.entries.iter_mut().filter_map(|(k, slot)| match slot {
            Slot::Read(v) => Some((k.as_str(), v)),
            Slot::Damaged(_) => None,
        })
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl ExactSizeIterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    /// Every entry, damaged ones as `Err`, in file order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, Result<&V, &Damage>)> {
        self.entries.iter().map(|(k, slot)| match slot {
            Slot::Read(v) => (k.as_str(), Ok(v)),
            Slot::Damaged(d) => (k.as_str(), Err(&**d)),
        })
    }

    /// The map of `entries` (`Err`: damaged), whose keys the caller has
    /// checked are distinct.
    pub(crate) fn from_entries(entries: Vec<(String, Result<V, Damage>)>) -> Self {
        let entries = entries
            .into_iter()
            .map(|(k, v)| match v {
                Ok(v) => (k, Slot::Read(v)),
                Err(d) => (k, Slot::Damaged(Box::new(d))),
            })
            .collect();
        OrderedMap { entries }
    }
}

/// The readable entries of a slice of slots, counted up front (for `len`).
struct Readable<'a, V>(std::slice::Iter<'a, (String, Slot<V>)>);

impl<'a, V> Iterator for Readable<'a, V> {
    type Item = (&'a str, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.by_ref().find_map(|(k, slot)| match slot {
            Slot::Read(v) => Some((k.as_str(), v)),
            Slot::Damaged(_) => None,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self
            .0
            .clone()
            .filter(|(_, slot)| matches!(slot, Slot::Read(_)))
            .count();
        (n, Some(n))
    }
}

impl<V> ExactSizeIterator for Readable<'_, V> {}

impl<V: Hash> Hash for OrderedMap<V> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_usize(self.entries.len());
        for (key, slot) in &self.entries {
            key.hash(h);
            slot.hash(h);
        }
    }
}

impl<V: fmt::Debug> fmt::Debug for OrderedMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, slot)| {
                let v: &dyn fmt::Debug = match slot {
                    Slot::Read(v) => v,
                    Slot::Damaged(d) => d,
                };
                (k, v)
            }))
            .finish()
    }
}

impl<K: Into<String>, V> FromIterator<(K, V)> for OrderedMap<V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = OrderedMap::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_insertion_order_and_replaces_in_place() {
        let mut m: OrderedMap<i32> = [("b", 1), ("a", 2), ("c", 3)].into_iter().collect();
        assert_eq!(m.insert("a", 20), Some(2));
        assert_eq!(m.insert("d", 4), None);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["b", "a", "c", "d"]);
        assert_eq!(m.remove("a"), Some(20));
        assert_eq!(m.keys().collect::<Vec<_>>(), ["b", "c", "d"]);
        *m.get_or_insert_with("e", || 5).unwrap() += 1;
        *m.get_or_insert_with("b", || 0).unwrap() += 10;
        assert_eq!(m.get("e"), Some(&6));
        assert_eq!(m.get("b"), Some(&11));
        assert_eq!(format!("{m:?}"), r#"{"b": 11, "c": 3, "d": 4, "e": 6}"#);
    }

    #[test]
    fn damaged_entries_are_kept_in_place_but_not_seen() {
        let damage = || Damage::new(Value::from(7), "bad x".into(), "fix x".into());
        let mut m = OrderedMap::from_entries(vec![
            ("a".to_string(), Ok(1)),
            ("x".to_string(), Err(damage())),
            ("b".to_string(), Ok(2)),
        ]);
        assert_eq!(
            (m.len(), m.is_empty(), m.holds_nothing()),
            (2, false, false)
        );
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!((m.get("x"), m.contains_key("x")), (None, false));
        assert_eq!(m.damage("x").map(Damage::message), Some("bad x"));
        assert_eq!(m.damaged().count(), 1);
        // Not removed, not replaced by a lookup.
        assert_eq!(m.remove("x"), None);
        assert_eq!(m.get_or_insert_with("x", || 9).unwrap_err(), &damage());
        assert_eq!(
            format!("{m:?}"),
            r#"{"a": 1, "x": Damage("bad x"), "b": 2}"#
        );
        // A new value for the key replaces it, in its place.
        assert_eq!(m.insert("x", 3), None);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "x", "b"]);
        assert_eq!(m.damaged().count(), 0);
    }
}
