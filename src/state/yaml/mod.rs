//! YAML text in and out, compatible with the official tool's files.
//!
//! Output ([`emit`], [`style`]): a port of the parts of js-yaml 4
//! `dump(data, {lineWidth: -1, noRefs: true})` that our data can reach (block
//! style, 2-space indent, `{}`/`[]` for empty collections, its quoting rules),
//! so a file we write is byte-identical to the one the official `difyctl`
//! writes for the same data.
//!
//! Input: the block style those files are written in is read by [`fast`];
//! anything else by serde_norway, guarded by [`survey`], with the official
//! error message for broken syntax ([`error`]). Both hand the same values to
//! the same `Deserialize` code.

mod emit;
mod error;
mod fast;
mod style;
mod survey;

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_yaml::Value;

pub use emit::dump;
pub(crate) use emit::{BIG_INTEGER, Emitter, Node, key_string};
pub(crate) use error::invalid;
use error::{Problem, serde_problem};

use super::model::{Budget, OVER_BUDGET, Raw};
use super::salvage::{self, Check, Place};
use crate::error::{CliError, Result};

/// Parses `text` into `T`. Broken YAML gets the official message; YAML that
/// parses but does not fit `T` gets a schema message naming the file. Lines shown
/// from a `secret` file are masked. A leading byte order mark is skipped.
pub(crate) fn parse<T: DeserializeOwned>(text: &str, path: &Path, secret: bool) -> Result<T> {
    read(text, path, secret).map_err(|failed| failed.0)
}

/// [`parse`] for a document of map entries that may be damaged one by one
/// (see [`salvage`]): when the YAML is sound but does not fit
/// `T`, the entries that do not fit are found, and the text is read again
/// with them kept aside (each with its own error naming it, and `hint`).
/// When none is found, or the whole document does not fit, the error is as
/// [`parse`] gives it.
pub(crate) fn parse_salvaging<T: DeserializeOwned + Check>(
    text: &str,
    path: &Path,
    hint: &str,
) -> Result<Option<T>> {
    let (error, plain) = match read::<Option<T>>(text, path, false).map_err(|failed| *failed) {
        Ok(value) => return Ok(value),
        Err((error, Some(plain))) => (error, plain),
        Err((error, None)) => return Err(error),
    };
    let mut at = Place::default();
    if T::check(&plain, &mut at).is_err() || at.found.is_empty() {
        return Err(error);
    }
    let damaged = at
        .found
        .into_iter()
        .map(|found| {
            let message = invalid(path, &found.what).message;
            (found.keys, message, hint.to_owned())
        })
        .collect();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let _budget = Budget::set(2 * text.len() + 4096);
    let _salvage = salvage::Setting::new(damaged);
    serde_yaml::from_str::<Option<T>>(text).map_err(|_| error)
}

/// [`parse`], and when the YAML is sound but does not fit `T`, its plain
/// values too.
fn read<T: DeserializeOwned>(
    text: &str,
    path: &Path,
    secret: bool,
) -> std::result::Result<T, Box<(CliError, Option<Value>)>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // What the values read may take: about the text's own size, unless YAML
    // aliases repeat parts of it.
    let budget = || Budget::set(2 * text.len() + 4096);
    {
        let _budget = budget();
        if let Some(value) = fast::from_str(text) {
            return Ok(value);
        }
    }
    if let Some(at) = survey::too_deep(text) {
        let reason = format_args!(
            "flow collections nested more than {} deep",
            survey::MAX_FLOW_DEPTH
        );
        let error = error::problem(Problem::Syntax, path, text, reason, Some(at), secret);
        return Err(Box::new((error, None)));
    }
    let typed = {
        let _budget = budget();
        serde_yaml::from_str::<T>(text)
    };
    let Err(typed) = typed else {
        return typed.map_err(|_| unreachable!());
    };
    // Syntax (and duplicate keys) are found by a plain parse; whatever that
    // accepts was a schema problem.
    let plain = {
        let _budget = budget();
        serde_yaml::from_str::<Raw>(text)
    };
    let over_budget = |e: &serde_yaml::Error| e.to_string().contains(OVER_BUDGET);
    Err(Box::new(match plain {
        Err(e) if over_budget(&e) || over_budget(&typed) => {
            let error = error::problem(Problem::Content, path, text, OVER_BUDGET, None, secret);
            (error, None)
        }
        Err(syntax) => (
            serde_problem(Problem::Syntax, path, text, &syntax, secret),
            None,
        ),
        Ok(Raw(plain)) => (
            serde_problem(Problem::Content, path, text, &typed, secret),
            Some(plain),
        ),
    }))
}

/// Why the values read from `text` cannot be written back as they are, if
/// they cannot: a tag (`!!binary`) that the values do not keep.
pub(crate) fn unwritable(text: &str, path: &Path) -> Option<CliError> {
    let (tag, line, column) = survey::lost_tag(text.strip_prefix('\u{feff}').unwrap_or(text))?;
    let path = path.display();
    Some(
        CliError::client(format!(
            "Refusing to rewrite {path}: it uses the YAML tag {tag} (line {line}, column {column}), \
             which difyctl would not write back."
        ))
        .with_hint(format!(
            "Remove the tag (or its value) from {path} by hand, then try again."
        )),
    )
}

/// Both readers on `text` (for tests and fuzzing): `Ok(true)` when the fast
/// one read it and serde_norway read the same value, `Ok(false)` when the
/// fast one left it to serde_norway, `Err` saying how they differ.
pub(crate) fn compare_readers<T>(text: &str) -> std::result::Result<bool, String>
where
    T: DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let budget = || Budget::set(2 * text.len() + 4096);
    let fast = {
        let _budget = budget();
        fast::from_str::<T>(text)
    };
    let Some(fast) = fast else {
        return Ok(false);
    };
    let general = {
        let _budget = budget();
        serde_yaml::from_str::<T>(text)
    };
    match general {
        Ok(general) if general == fast => Ok(true),
        Ok(general) => Err(format!(
            "the readers differ\n--- fast ---\n{fast:?}\n--- serde_norway ---\n{general:?}"
        )),
        Err(e) => Err(format!(
            "the fast reader read what serde_norway refuses ({e})\n--- fast ---\n{fast:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_yaml::Value;

    #[test]
    fn syntax_errors_carry_line_column_and_excerpt() {
        let text = "token_storage: file\nhosts:\n  a:\n    b: c\n   d: e\nx: 1\ny: 2\nz: 3\n";
        let err = parse::<Value>(text, Path::new("/cfg/hosts.yml"), false).unwrap_err();
        assert_eq!(err.code, ErrorCode::ClientError);
        assert_eq!(
            err.message,
            "Failed to parse YAML file /cfg/hosts.yml: did not find expected key (while parsing a \
             block mapping at line 3 column 3) at line 5, column 4.\n\n\
             \x20 3 |   a:\n\
             \x20 4 |     b: c\n\
             > 5 |    d: e\n\
             \x20        ^\n\
             \x20 6 | x: 1\n\
             \x20 7 | y: 2"
        );
        assert_eq!(
            err.hint.as_deref(),
            Some("Fix the YAML syntax in /cfg/hosts.yml or remove the file to reset it.")
        );
    }

    #[test]
    fn excerpt_masks_secret_values() {
        let text = "version: 1\ntokens:\n  h:\n    a@b: dfoa_secret\n    c@d: 'dfoa_x\n";
        let err = parse::<Value>(text, Path::new("tokens.yml"), true).unwrap_err();
        assert!(!err.message.contains("dfoa_"), "{}", err.message);
        assert!(err.message.contains("a@b: ***********"), "{}", err.message);
    }
}
