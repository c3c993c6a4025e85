//! Options objects read into their typed structs by hand, with serde's own words.
//!
//! `options` (mod.rs) first turns a call's JS object into a `serde_json::Value`. A derived
//! `Deserialize` per options struct then cost about 70 KB of wasm: each struct, and each field type
//! inside it, became its own copy of serde's visitor machinery. Here one untyped walk over the
//! object ([`read_struct`]) hands each field's value to a few shared readers of numbers, strings and
//! lists, so a struct costs little more than its list of keys.
//!
//! The messages are serde's, word for word, because they reach users and because `key_at_fault`
//! finds the offending key by comparing messages: every error is built with the same
//! `serde::de::Error` constructor, on the same arguments, in the same order as the derived code
//! reading a `Value` would call it (keys in the map's sorted order; unknown keys refused when
//! reached; missing fields after every key, in declaration order; a JSON array read as the fields in
//! order, as serde allows for any struct).

use serde::de::{Error as _, Unexpected};
use serde_json::{Error, Value};

pub(super) type Result<T> = std::result::Result<T, Error>;

/// An options struct read from a `Value` as `#[derive(Deserialize)]` would read it.
pub(super) trait ReadOptions: Sized {
    fn read(value: Value) -> Result<Self>;
}

/// What serde calls the value a type error found (serde_json's `Value::unexpected`).
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Unexpected::Unsigned(u),
            (None, Some(i), _) => Unexpected::Signed(i),
            (None, None, f) => Unexpected::Float(f.unwrap_or_default()),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

fn invalid_type(value: &Value, expected: &str) -> Error {
    Error::invalid_type(unexpected(value), &expected)
}

/// Which fields may be left out, one bit per field in declaration order.
#[derive(Clone, Copy)]
pub(super) struct Optional {
    /// Fields with a default (`#[serde(default)]` on the field or on the struct): filled in by the
    /// caller beforehand, whether the object or the array form leaves them out.
    pub defaults: u32,
    /// `Option` fields without a default: `None` when an object leaves them out, but required in
    /// the array form (serde's rule).
    pub options: u32,
}

impl Optional {
    /// Every field defaults (`#[serde(default)]` on the struct).
    pub const ALL: Optional = Optional { defaults: u32::MAX, options: 0 };
}

/// Reads the struct `name` (`"struct QkvOption"`, serde's wording) with fields `fields` from
/// `value`: an object's keys in its order (serde_json keeps them sorted), or an array's items in
/// field order. `field(i, v)` stores field `i`; what is left out keeps the value the caller put
/// there, or is refused by serde's rules (see [`Optional`]).
pub(super) fn read_struct(value: Value, name: &str, fields: &'static [&'static str], optional: Optional, field: &mut dyn FnMut(usize, Value) -> Result<()>) -> Result<()> {
    let bit = |i: usize| 1u32 << i;
    match value {
        Value::Object(map) => {
            let mut seen = 0u32;
            for (key, v) in map {
                let Some(i) = fields.iter().position(|f| *f == key) else {
                    return Err(Error::unknown_field(&key, fields));
                };
                seen |= bit(i);
                field(i, v)?;
            }
            match (0..fields.len()).find(|&i| (seen | optional.defaults | optional.options) & bit(i) == 0) {
                Some(i) => Err(Error::missing_field(fields[i])),
                None => Ok(()),
            }
        }
        Value::Array(items) => {
            let len = items.len();
            let mut items = items.into_iter();
            for i in 0..fields.len() {
                match items.next() {
                    Some(v) => field(i, v)?,
                    None if optional.defaults & bit(i) != 0 => {}
                    None => {
                        let n = fields.len();
                        let expected = format!("{name} with {n} element{}", if n == 1 { "" } else { "s" });
                        return Err(Error::invalid_length(i, &expected.as_str()));
                    }
                }
            }
            if items.len() > 0 {
                return Err(Error::invalid_length(len, &"fewer elements in array"));
            }
            Ok(())
        }
        other => Err(invalid_type(&other, name)),
    }
}

/// An unsigned integer no larger than `max`, serde's `name` (`"u32"`, `"usize"`...).
fn unsigned(value: Value, max: u64, name: &str) -> Result<u64> {
    if let Value::Number(n) = &value {
        if let Some(u) = n.as_u64() {
            return if u <= max { Ok(u) } else { Err(Error::invalid_value(Unexpected::Unsigned(u), &name)) };
        }
        if let Some(i) = n.as_i64() {
            return Err(Error::invalid_value(Unexpected::Signed(i), &name));
        }
    }
    Err(invalid_type(&value, name))
}

pub(super) fn u8_of(value: Value) -> Result<u8> {
    unsigned(value, u8::MAX.into(), "u8").map(|u| u as u8)
}

pub(super) fn u32_of(value: Value) -> Result<u32> {
    unsigned(value, u32::MAX.into(), "u32").map(|u| u as u32)
}

pub(super) fn u64_of(value: Value) -> Result<u64> {
    unsigned(value, u64::MAX, "u64")
}

pub(super) fn usize_of(value: Value) -> Result<usize> {
    unsigned(value, usize::MAX as u64, "usize").map(|u| u as usize)
}

/// A number as serde converts it to `f64` and to `f32` (each straight from the integer or double
/// JSON holds: `u64 as f32` can round differently from `u64 as f64 as f32`).
fn float(value: Value, name: &str) -> Result<(f64, f32)> {
    if let Value::Number(n) = &value {
        return Ok(match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => (u as f64, u as f32),
            (None, Some(i), _) => (i as f64, i as f32),
            (None, None, f) => {
                let f = f.unwrap_or_default();
                (f, f as f32)
            }
        });
    }
    Err(invalid_type(&value, name))
}

pub(super) fn f32_of(value: Value) -> Result<f32> {
    float(value, "f32").map(|(_, f)| f)
}

pub(super) fn f64_of(value: Value) -> Result<f64> {
    float(value, "f64").map(|(f, _)| f)
}

pub(super) fn bool_of(value: Value) -> Result<bool> {
    match value {
        Value::Bool(b) => Ok(b),
        other => Err(invalid_type(&other, "a boolean")),
    }
}

pub(super) fn string_of(value: Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(invalid_type(&other, "a string")),
    }
}

/// `null` as `None`, anything else read by `read` (serde's `Option<T>`).
pub(super) fn option<T>(value: Value, read: fn(Value) -> Result<T>) -> Result<Option<T>> {
    match value {
        Value::Null => Ok(None),
        v => read(v).map(Some),
    }
}

/// A list, each item read by `read` (serde's `Vec<T>`).
pub(super) fn vec_of<T>(value: Value, read: fn(Value) -> Result<T>) -> Result<Vec<T>> {
    match value {
        Value::Array(items) => items.into_iter().map(read).collect(),
        other => Err(invalid_type(&other, "a sequence")),
    }
}

/// A list of exactly `N` items (serde's `[T; N]`).
pub(super) fn array_of<T: Default, const N: usize>(value: Value, read: fn(Value) -> Result<T>) -> Result<[T; N]> {
    let expected = || format!("an array of length {N}");
    let Value::Array(items) = value else { return Err(invalid_type(&value, &expected())) };
    let len = items.len();
    let mut out: [T; N] = std::array::from_fn(|_| T::default());
    let mut items = items.into_iter();
    for (i, slot) in out.iter_mut().enumerate() {
        match items.next() {
            Some(v) => *slot = read(v)?,
            None => return Err(Error::invalid_length(i, &expected().as_str())),
        }
    }
    if items.len() > 0 {
        return Err(Error::invalid_length(len, &"fewer elements in array"));
    }
    Ok(out)
}

/// One of `variants` by name, as serde reads a unit-only enum: a string, or an object holding one
/// key (the name) whose value is `null`. Returns the variant's index.
pub(super) fn variant_of(value: Value, variants: &'static [&'static str]) -> Result<usize> {
    let (name, unit) = match value {
        Value::String(s) => (s, None),
        Value::Object(map) => {
            let mut entries = map.into_iter();
            match (entries.next(), entries.next()) {
                (Some((name, unit)), None) => (name, Some(unit)),
                _ => return Err(Error::invalid_value(Unexpected::Map, &"map with a single key")),
            }
        }
        other => return Err(invalid_type(&other, "string or map")),
    };
    let Some(i) = variants.iter().position(|v| *v == name) else {
        return Err(Error::unknown_variant(&name, variants));
    };
    match unit {
        Some(v) if !v.is_null() => Err(invalid_type(&v, "unit")),
        _ => Ok(i),
    }
}
