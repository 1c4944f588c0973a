//! The machinery of the store models. Each model lists its fields once, in
//! [`model!`]; from that list come the struct, its reading (known keys into
//! fields, unknown ones kept in `extra`), its writing (fields in the listed
//! order, then the extras) and its hash.
//!
//! Strings are read with `deserialize_str`, which hands over the scalar's text
//! as written, so `id: 123` or `name: 1.50` load as the strings `123` and `1.50`
//! instead of failing or being reformatted.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use serde_yaml::value::{Tag, TaggedValue};
use serde_yaml::{Mapping, Number, Value};

use super::hash::Keyed;
use super::omap::{Damage, OrderedMap};
use super::salvage::{self, Check, Place, kept};
use super::yaml::{BIG_INTEGER, Emitter, Node, key_string};

/// Keys a newer official tool may write that this one does not know: kept in
/// file order and written back after the known keys. (The official tool drops
/// them; we would rather not lose a newer tool's data.)
pub type Extra = Vec<(String, Value)>;

/// A YAML mapping read into a struct: known keys go to fields, the rest to
/// `extra`. Duplicate keys are an error, as in js-yaml. Implemented by
/// [`model!`].
pub(crate) trait Object: Default + Node {
    const EXPECTING: &'static str;
    /// The keys of the fields, in the order they are written.
    const FIELDS: &'static [&'static str];
    /// Keys that must be present (null counts as present).
    const REQUIRED: &'static [&'static str];

    /// Reads the value of `key` into its field; false (and nothing read)
    /// when no field has that key.
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error>;

    fn extra(&mut self) -> &mut Extra;

    /// Whether reading `map` succeeds, as [`Check::check`] says.
    fn check_map(map: &Mapping, at: &mut Place) -> Result<(), String>;
}

/// How a field's type is read, written, and checked as a YAML value (see
/// [`salvage`]).
pub(crate) trait Field: Sized + Check {
    fn read<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error>;

    /// The node written for the field; `None` leaves the key out (as js-yaml
    /// leaves out `undefined`).
    fn node(&self) -> Option<&dyn Node>;
}

/// Declares a store model: the struct with its fields and an `extra` for
/// unknown keys, and everything [`Object`] needs, from one list of fields.
macro_rules! model {
    (
        $(#[$meta:meta])*
        pub struct $name:ident ($expecting:literal, required: [$($required:ident),*]) {
            $( $(#[$field_meta:meta])* pub $field:ident: $type:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $type, )*
            /// Keys this version does not know, in file order.
            pub extra: $crate::state::Extra,
        }

        // A required key names a field, or this does not compile.
        const _: fn(&$name) = |_m| { $( let _ = &_m.$required; )* };

        impl $crate::state::model::Object for $name {
            const EXPECTING: &'static str = $expecting;
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];
            const REQUIRED: &'static [&'static str] = &[$(stringify!($required)),*];

            fn field<'de, A: serde::de::MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
            ) -> Result<bool, A::Error> {
                $(
                    if key == stringify!($field) {
                        self.$field = $crate::state::model::Field::read(map)?;
                        return Ok(true);
                    }
                )*
                Ok(false)
            }

            fn extra(&mut self) -> &mut $crate::state::Extra {
                &mut self.extra
            }

            fn check_map(
                map: &serde_yaml::Mapping,
                at: &mut $crate::state::salvage::Place,
            ) -> Result<(), String> {
                let mut seen: Vec<String> = Vec::with_capacity(map.len());
                for (key, value) in map {
                    let key = $crate::state::salvage::key_text(key)?;
                    if seen.contains(&key) {
                        return Err(format!("duplicated mapping key `{key}`"));
                    }
                    let mut known = false;
                    $(
                        if key == stringify!($field) {
                            known = true;
                            at.field::<$type>(&key, value)?;
                        }
                    )*
                    if !known {
                        $crate::state::model::check_preserved(value)?;
                    }
                    seen.push(key);
                }
                for required in <Self as $crate::state::model::Object>::REQUIRED {
                    if !seen.iter().any(|k| k == required) {
                        return Err(format!("missing field `{required}`"));
                    }
                }
                Ok(())
            }
        }

        impl $crate::state::salvage::Check for $name {
            fn check(
                value: &serde_yaml::Value,
                at: &mut $crate::state::salvage::Place,
            ) -> Result<(), String> {
                $crate::state::salvage::object(
                    value,
                    $expecting,
                    <$name as $crate::state::model::Object>::check_map,
                    at,
                )
            }
        }

        impl $crate::state::salvage::Check for Option<$name> {
            fn check(
                value: &serde_yaml::Value,
                at: &mut $crate::state::salvage::Place,
            ) -> Result<(), String> {
                if value.is_null() {
                    return Ok(());
                }
                <$name as $crate::state::salvage::Check>::check(value, at)
            }
        }

        impl $crate::state::yaml::Node for $name {
            fn is_block(&self) -> bool {
                $( $crate::state::model::Field::node(&self.$field).is_some() || )*
                    !self.extra.is_empty()
            }

            fn write(&self, e: &mut $crate::state::yaml::Emitter, level: usize) {
                $(
                    if let Some(node) = $crate::state::model::Field::node(&self.$field) {
                        e.pair(stringify!($field), node, level);
                    }
                )*
                for (key, value) in &self.extra {
                    e.pair(key, value, level);
                }
            }
        }

        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
                $( self.$field.hash(h); )*
                self.extra.hash(h);
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_map($crate::state::model::ObjectVisitor::<$name>::new())
            }
        }

        /// Present: `null` reads as the default.
        impl $crate::state::model::Field for $name {
            fn read<'de, A: serde::de::MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
                Ok(map.next_value::<Option<$name>>()?.unwrap_or_default())
            }

            fn node(&self) -> Option<&dyn $crate::state::yaml::Node> {
                Some(self)
            }
        }

        impl $crate::state::model::Field for Option<$name> {
            fn read<'de, A: serde::de::MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
                map.next_value()
            }

            fn node(&self) -> Option<&dyn $crate::state::yaml::Node> {
                self.as_ref().map(|v| v as &dyn $crate::state::yaml::Node)
            }
        }
    };
}
pub(crate) use model;

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
        // The known keys seen so far, as bits of their index in FIELDS.
        let mut seen = 0u64;
        while let Some(Key(key)) = map.next_key::<Key>()? {
            let duplicate = match T::FIELDS.iter().position(|f| *f == key) {
                Some(index) => {
                    let bit = 1 << index;
                    let again = seen & bit != 0;
                    seen |= bit;
                    again
                }
                None => obj.extra().iter().any(|(k, _)| *k == key),
            };
            if duplicate {
                return Err(de::Error::custom(format_args!(
                    "duplicated mapping key `{key}`"
                )));
            }
            if !obj.field(&key, &mut map)? {
                let value = map.next_value::<Preserved>()?.0;
                obj.extra().push((key.into_owned(), value));
            }
        }
        for required in T::REQUIRED {
            let index = T::FIELDS.iter().position(|f| f == required).unwrap_or(63);
            if seen & (1 << index) == 0 {
                return Err(de::Error::missing_field(required));
            }
        }
        Ok(obj)
    }
}

/// A mapping key, borrowed from the text where the parser allows.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                charge(v.len())?;
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                charge(v.len())?;
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                charge(v.len())?;
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A string field's text, counted against the load's budget.
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Key::deserialize(d).map(|Key(k)| Text(k.into_owned()))
    }
}

/// A string that defaults to `''` (also for `null`).
impl Field for String {
    fn read<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        Ok(Option::<String>::read(map)?.unwrap_or_default())
    }

    fn node(&self) -> Option<&dyn Node> {
        Some(self)
    }
}

/// An optional string; YAML `null`/`~`/empty reads as absent.
impl Field for Option<String> {
    fn read<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        Ok(map.next_value::<Option<Text>>()?.map(|t| t.0))
    }

    fn node(&self) -> Option<&dyn Node> {
        self.as_ref().map(|s| s as &dyn Node)
    }
}

impl Check for String {
    fn check(value: &Value, _: &mut Place) -> Result<(), String> {
        salvage::text(value)
    }
}

impl Check for Option<String> {
    fn check(value: &Value, _: &mut Place) -> Result<(), String> {
        salvage::text(value)
    }
}

impl<T: Object + Check> Check for OrderedMap<T> {
    fn check(value: &Value, at: &mut Place) -> Result<(), String> {
        match value {
            Value::Null => Ok(()),
            Value::Mapping(map) => at.entries::<T>(map),
            Value::Tagged(t) => Self::check(&t.value, at),
            _ => Err("invalid type, expected a map".into()),
        }
    }
}

/// Whether a value under an unknown key would be kept ([`Preserved`]).
pub(crate) fn check_preserved(value: &Value) -> Result<(), String> {
    normalize::<serde_yaml::Error>(value.clone())
        .map(drop)
        .map_err(|e| e.to_string())
}

/// A string-keyed mapping in file order; `null` reads as empty.
impl<T: for<'de> Deserialize<'de> + Node + Object + Check> Field for OrderedMap<T> {
    fn read<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        Ok(map.next_value::<MapOf<T>>()?.0)
    }

    fn node(&self) -> Option<&dyn Node> {
        Some(self)
    }
}

impl<T: Node> Node for OrderedMap<T> {
    fn is_block(&self) -> bool {
        !self.holds_nothing()
    }

    fn write(&self, e: &mut Emitter, level: usize) {
        if self.holds_nothing() {
            return e.empty_map();
        }
        for (key, value) in self.entries() {
            match value {
                Ok(value) => e.pair(key, value, level),
                Err(damage) => e.pair(key, damage.value(), level),
            }
        }
    }
}

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
                let mut entries = Vec::new();
                while let Some(Text(key)) = map.next_key::<Text>()? {
                    let value = match salvage::damaged(&key) {
                        Some((message, hint)) => {
                            let value = kept(map.next_value::<Raw>()?.0)?;
                            Err(Damage::new(value, message, hint))
                        }
                        None => {
                            let _entry = salvage::enter(&key);
                            Ok(map.next_value()?)
                        }
                    };
                    entries.push((key, value));
                }
                if let Some(key) = first_duplicate(&entries) {
                    return Err(de::Error::custom(format_args!(
                        "duplicated mapping key `{key}`"
                    )));
                }
                entries.shrink_to_fit();
                Ok(MapOf(OrderedMap::from_entries(entries)))
            }
        }
        d.deserialize_option(OptionalMap(V2(PhantomData)))
    }
}

/// The first key that comes again, checked once all are read (a set of the
/// keys can then borrow them; small maps need no set).
fn first_duplicate<V>(entries: &[(String, V)]) -> Option<&str> {
    if entries.len() <= 16 {
        return entries
            .iter()
            .enumerate()
            .find(|(i, (k, _))| entries[..*i].iter().any(|(seen, _)| seen == k))
            .map(|(_, (k, _))| k.as_str());
    }
    let mut seen = HashSet::with_capacity_and_hasher(entries.len(), Keyed::new());
    entries
        .iter()
        .find(|(k, _)| !seen.insert(k.as_str()))
        .map(|(k, _)| k.as_str())
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

// ---------------------------------------------------------------- budget

thread_local! {
    /// Bytes the values of the load in progress may still take; `None` when
    /// no load has set a bound.
    static BUDGET: Cell<Option<usize>> = const { Cell::new(None) };
}

/// While alive, the values read on this thread may take at most `bytes`: a
/// file's own text bounds what it holds, but YAML aliases can repeat a node
/// any number of times.
pub(crate) struct Budget(Option<usize>);

impl Budget {
    pub(crate) fn set(bytes: usize) -> Budget {
        Budget(BUDGET.with(|b| b.replace(Some(bytes))))
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        BUDGET.with(|b| b.set(self.0));
    }
}

/// The message when a load runs over its [`Budget`].
pub(crate) const OVER_BUDGET: &str = "its YAML aliases repeat more data than the file holds";

#[inline(always)]
fn charge<E: de::Error>(bytes: usize) -> Result<(), E> {
    BUDGET.with(|b| match b.get() {
        None => Ok(()),
        Some(left) if bytes <= left => {
            b.set(Some(left - bytes));
            Ok(())
        }
        Some(_) => {
            b.set(Some(0));
            Err(E::custom(OVER_BUDGET))
        }
    })
}

// ------------------------------------------------------- preserved values

/// A value kept as the official tool holds it ([`normalize`]), read within the
/// load's budget, with integers beyond 64 bits kept as their digits.
pub(crate) struct Preserved(pub Value);

impl<'de> Deserialize<'de> for Preserved {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = d.deserialize_any(RawVisitor)?;
        Ok(Preserved(normalize(raw)?))
    }
}

/// Any YAML value, as serde_norway's own `Value` reads it, except that every
/// node is counted against the budget and an integer too large for 64 bits is
/// kept (tagged [`BIG_INTEGER`]) instead of refused.
pub(crate) struct Raw(pub Value);

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor).map(Raw)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        charge(1)?;
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        charge(1)?;
        Ok(Value::Number(i.into()))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        charge(1)?;
        Ok(Value::Number(u.into()))
    }
    fn visit_i128<E: de::Error>(self, i: i128) -> Result<Value, E> {
        big_integer(i.to_string())
    }
    fn visit_u128<E: de::Error>(self, u: u128) -> Result<Value, E> {
        big_integer(u.to_string())
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        charge(1)?;
        Ok(Value::Number(f.into()))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        charge(s.len())?;
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        charge(s.len())?;
        Ok(Value::String(s))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(RawVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        charge(2)?;
        let mut items = Vec::new();
        while let Some(Raw(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        charge(2)?;
        let mut out = Mapping::new();
        while let Some(Raw(key)) = map.next_key()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate entry {}",
                    DuplicateKey(&key)
                )));
            }
            let Raw(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(Value::Mapping(out))
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        use serde::de::VariantAccess;
        let (tag, contents) = data.variant::<String>()?;
        // Only an integer read as such carries that tag.
        if tag.is_empty() || Tag::new(tag.as_str()) == BIG_INTEGER {
            return Err(de::Error::custom(format_args!(
                "unsupported YAML tag !{tag}"
            )));
        }
        let Raw(value) = contents.newtype_variant()?;
        Ok(Value::Tagged(Box::new(TaggedValue {
            tag: Tag::new(tag),
            value,
        })))
    }
}

fn big_integer<E: de::Error>(digits: String) -> Result<Value, E> {
    charge(digits.len())?;
    Ok(Value::Tagged(Box::new(TaggedValue {
        tag: Tag::new(BIG_INTEGER),
        value: Value::String(digits),
    })))
}

/// serde_norway's wording for a duplicate key of a mapping value.
struct DuplicateKey<'a>(&'a Value);

impl fmt::Display for DuplicateKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.0 {
            Value::Null => f.write_str("with null key"),
            Value::Bool(b) => write!(f, "with key `{b}`"),
            Value::Number(n) => write!(f, "with key {n}"),
            Value::String(s) => write!(f, "with key {s:?}"),
            _ => f.write_str("in YAML map"),
        }
    }
}

/// A preserved value as the official tool holds it, so that what we write
/// reads back as the same value: js-yaml refuses unknown tags (so could not
/// read such a file); JS object keys are strings (`1:`, `~:` or a `? {a: 1}`
/// key become the string we write, and two keys that become the same string
/// are a duplicate, as in js-yaml); a JS number has no separate integer type,
/// so an integral float that an integer holds exactly (`1.0`, written `1`) is
/// that integer.
fn normalize<E: de::Error>(value: Value) -> Result<Value, E> {
    Ok(match value {
        Value::Tagged(t) if t.tag == BIG_INTEGER => Value::Tagged(t),
        Value::Tagged(t) => {
            return Err(E::custom(format_args!("unsupported YAML tag {}", t.tag)));
        }
        Value::Sequence(s) => {
            Value::Sequence(s.into_iter().map(normalize).collect::<Result<_, E>>()?)
        }
        Value::Mapping(m) => {
            let mut out = Mapping::with_capacity(m.len());
            for (k, v) in m {
                if let Value::Tagged(t) = &k
                    && t.tag != BIG_INTEGER
                {
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
pub(crate) fn integral(n: &Number) -> Option<Number> {
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
