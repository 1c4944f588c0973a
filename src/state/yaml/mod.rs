//! YAML text in and out, compatible with the official tool's files.
//!
//! Output ([`emit`], [`style`]): a port of the parts of js-yaml 4
//! `dump(data, {lineWidth: -1, noRefs: true})` that our data can reach (block
//! style, 2-space indent, `{}`/`[]` for empty collections, its quoting rules),
//! so a file we write is byte-identical to the one the official `difyctl`
//! writes for the same data.
//!
//! Input: serde_norway, guarded by [`depth`], with the official error message
//! for broken syntax ([`error`]).

mod depth;
mod emit;
mod error;
mod style;

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_yaml::Value;

pub use emit::dump;
pub(crate) use emit::key_string;
pub(crate) use error::invalid;
use error::{Problem, serde_problem};

use crate::error::Result;

/// Parses `text` into `T`. Broken YAML gets the official message; YAML that
/// parses but does not fit `T` gets a schema message naming the file. Lines shown
/// from a `secret` file are masked.
pub(crate) fn parse<T: DeserializeOwned>(text: &str, path: &Path, secret: bool) -> Result<T> {
    if let Some(at) = depth::too_deep(text) {
        let reason = format_args!(
            "flow collections nested more than {} deep",
            depth::MAX_FLOW_DEPTH
        );
        return Err(error::problem(
            Problem::Syntax,
            path,
            text,
            reason,
            Some(at),
            secret,
        ));
    }
    match serde_yaml::from_str::<T>(text) {
        Ok(v) => Ok(v),
        // Syntax (and duplicate keys) are found by a plain parse; whatever that
        // accepts was a schema problem.
        Err(typed) => match serde_yaml::from_str::<Value>(text) {
            Err(syntax) => Err(serde_problem(Problem::Syntax, path, text, &syntax, secret)),
            Ok(_) => Err(serde_problem(Problem::Content, path, text, &typed, secret)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

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
