//! Shared glue for the store models: reading YAML mappings into structs that
//! keep unknown keys, and building the mapping that is written back.
//!
//! Strings are read with `deserialize_str`, which hands over the scalar's text
//! as written, so `id: 123` or `name: 1.50` load as the strings `123` and `1.50`
//! instead of failing or being reformatted.

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_yaml::{Mapping, Number, Value};

use super::yaml::key_string;

use super::omap::OrderedMap;

/// Keys a newer official tool may write that this one does not know: kept in
/// file order and written back after the known keys. (The official tool drops
/// them; we would rather not lose a newer tool's data.)
pub type Extra = Vec<(String, Value)>;

/// A YAML mapping read into a struct: known keys go to `field`, the rest to
/// `extra`. Duplicate keys are an error, as in js-yaml.
pub(crate) trait Object: Default {
    const EXPECTING: &'static str;
    const FIELDS: &'static [&'static str];
    /// Keys that must be present (null counts as present).
    const REQUIRED: &'static [&'static str] = &[];

    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;

    fn extra(&mut self) -> &mut Extra;
}

pub(crate) struct ObjectVisitor<T>(PhantomData<T>);

impl<T> ObjectVisitor<T> {
    pub(crate) fn new() -> Self {
        ObjectVisitor(PhantomData)
    }
}

impl<'de, T: Object> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut obj = T::default();
        let mut seen: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicated mapping key `{key}`"
                )));
            }
            if T::FIELDS.contains(&key.as_str()) {
                obj.field(&key, &mut map)?;
            } else {
                let value = normalize(map.next_value()?)?;
                obj.extra().push((key.clone(), value));
            }
            seen.push(key);
        }
        if let Some(missing) = T::REQUIRED.iter().find(|k| !seen.iter().any(|s| s == *k)) {
            return Err(de::Error::missing_field(missing));
        }
        Ok(obj)
    }
}

/// Implements `Deserialize` for an [`Object`].
macro_rules! deserialize_object {
    ($t:ty) => {
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_map($crate::state::de::ObjectVisitor::<$t>::new())
            }
        }
    };
}
pub(crate) use deserialize_object;

/// A preserved value as the official tool holds it, so that what we write
/// reads back as the same value: js-yaml refuses unknown tags (so could not
/// read such a file); JS object keys are strings (`1:`, `~:` or a `? {a: 1}`
/// key become the string we write, and two keys that become the same string
/// are a duplicate, as in js-yaml); a JS number has no separate integer type,
/// so an integral float that an integer holds exactly (`1.0`, written `1`) is
/// that integer.
fn normalize<E: de::Error>(value: Value) -> Result<Value, E> {
    Ok(match value {
        Value::Tagged(t) => {
            return Err(E::custom(format_args!("unsupported YAML tag {}", t.tag)));
        }
        Value::Sequence(s) => {
            Value::Sequence(s.into_iter().map(normalize).collect::<Result<_, E>>()?)
        }
        Value::Mapping(m) => {
            let mut out = Mapping::with_capacity(m.len());
            for (k, v) in m {
                if let Value::Tagged(t) = &k {
                    return Err(E::custom(format_args!("unsupported YAML tag {}", t.tag)));
                }
                normalize::<E>(k.clone())?;
                let key = key_string(&k);
                if out.contains_key(key.as_str()) {
                    return Err(E::custom(format_args!("duplicated mapping key `{key}`")));
                }
                out.insert(Value::String(key), normalize(v)?);
            }
            Value::Mapping(out)
        }
        Value::Number(n) => Value::Number(integral(&n).unwrap_or(n)),
        other => other,
    })
}

/// The integer an integral float holds exactly, if any.
fn integral(n: &Number) -> Option<Number> {
    if !n.is_f64() {
        return None;
    }
    let f = n.as_f64()?;
    if f.fract() != 0.0 || f.is_sign_negative() && f == 0.0 {
        return None;
    }
    if f >= -(2f64.powi(63)) && f < 2f64.powi(63) {
        Some(Number::from(f as i64))
    } else if f >= 0.0 && f < 2f64.powi(64) {
        Some(Number::from(f as u64))
    } else {
        None
    }
}

/// A string-keyed mapping in file order; `null` reads as empty.
pub(crate) struct MapOf<V>(pub OrderedMap<V>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for MapOf<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V2<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V2<V> {
            type Value = MapOf<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(MapOf(OrderedMap::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = OrderedMap::new();
                let mut seen = HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(de::Error::custom(format_args!(
                            "duplicated mapping key `{key}`"
                        )));
                    }
                    out.push_unchecked(key, map.next_value()?);
                }
                Ok(MapOf(out))
            }
        }
        d.deserialize_option(OptionalMap(V2(PhantomData)))
    }
}

/// Routes `null`/empty to `visit_unit` and anything else to `deserialize_map`.
struct OptionalMap<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for OptionalMap<V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.expecting(f)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_unit()
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self.0)
    }
}

/// An optional string; YAML `null`/`~`/empty reads as absent.
pub(crate) fn opt_string<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<String>, A::Error> {
    map.next_value::<Option<String>>()
}

/// A string that defaults to `''` (also for `null`).
pub(crate) fn string<'de, A: MapAccess<'de>>(map: &mut A) -> Result<String, A::Error> {
    Ok(opt_string(map)?.unwrap_or_default())
}

/// Builds the mapping written to disk: known fields in schema order (absent
/// ones omitted, as js-yaml omits `undefined`), then the preserved extras.
pub(crate) fn mapping(
    fields: impl IntoIterator<Item = (&'static str, Option<Value>)>,
    extra: &Extra,
) -> Value {
    let mut m = Mapping::new();
    for (k, v) in fields {
        if let Some(v) = v {
            m.insert(Value::String(k.to_owned()), v);
        }
    }
    for (k, v) in extra {
        m.insert(Value::String(k.clone()), v.clone());
    }
    Value::Mapping(m)
}

pub(crate) fn str_value(s: &str) -> Value {
    Value::String(s.to_owned())
}

pub(crate) fn map_value<V>(map: &OrderedMap<V>, f: impl Fn(&V) -> Value) -> Value {
    Value::Mapping(map.iter().map(|(k, v)| (str_value(k), f(v))).collect())
}
