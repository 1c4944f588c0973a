//! The fuzz targets' properties on stable Rust: every input the fuzzers once
//! crashed on (tests/fixtures/fuzz/<target>/) and every seed
//! (fuzz/seeds/<target>/) goes through the very checks the targets run
//! (fuzz/src/lib.rs, included below), so CI covers them without nightly.

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod checks;

use std::fs;
use std::path::Path;

type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 6] = [
    ("hosts_yml", checks::hosts_yml),
    ("tokens_yml", checks::tokens_yml),
    ("server_responses", checks::server_responses),
    ("cli_args", checks::cli_args),
    ("sanitize", checks::sanitize),
    ("locks", checks::locks),
];

/// Runs every file under `dir/<target>/` through that target's checks;
/// returns how many there were.
fn replay(dir: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut count = 0;
    for (target, check) in TARGETS {
        let Ok(entries) = fs::read_dir(root.join(target)) else {
            continue;
        };
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for file in files {
            let data = fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{target}: {} fails", file.display());
            count += 1;
        }
    }
    count
}

#[test]
fn crash_inputs_stay_fixed() {
    assert!(replay("tests/fixtures/fuzz") > 0);
}

#[test]
fn seeds_pass() {
    assert!(replay("fuzz/seeds") >= TARGETS.len());
}

// The crashes, spelled out (each also has its file above).

/// tokens.yml with a mapping as a key inside an unknown key: it was written as
/// the string `'dfhp: null'` and read back as a string, so the first save
/// changed the value. Keys of preserved values are now strings on load, as in
/// js-yaml.
#[test]
fn complex_key_in_preserved_value() {
    checks::tokens_yml(b"tokels:\n ? dfhp:\n ");
    checks::hosts_yml(b"x:\n ? a: 1\n : 2\n 1: one\n");
}

/// An error body whose `code` holds `Bearer <word>`: server text reached the
/// terminal unredacted (only the raw body was redacted). Errors are now
/// redacted as a whole when rendered.
#[test]
fn bearer_value_in_a_server_error_code() {
    checks::server_responses(
        b"\x07\x01\x91{\"code\":\"emaiBearer l_or_password_mismatch\",\"message\":\"wrong\"}",
    );
}

/// hosts.yml with an unknown root key `... true > > V  V ee`: written plain at
/// the start of a line, where `... ` ends the YAML document, so the file we
/// wrote could not be read back. Such root keys are now quoted.
#[test]
fn root_key_that_looks_like_a_document_end() {
    checks::hosts_yml(b"?\n >\n ... true >\n >\n V \n V ee");
    checks::hosts_yml(b"'...': 1\n");
}

/// hosts.yml with an unknown key whose value is the float 5.56e37: it was
/// written as 38 digits, which reads back as an integer too large for any YAML
/// value, so the file we wrote could not be loaded. Integral floats beyond
/// i64/u64 are now written with an exponent, as JS writes them.
#[test]
fn float_too_large_for_an_integer() {
    checks::hosts_yml(b"55555555555555555555555null51111111111111110: 55555555555555555555554e15");
    checks::hosts_yml(b"a: 1e20\nb: -1e19\nc: 1e-7\n");
}

/// A preserved string `+.5`: js-yaml writes it plain and reads it back as a
/// string, but a YAML 1.2 reader (serde_norway, ours) reads `+.5` as 0.5, so
/// the value changed type on the next load. Found while checking number-like
/// strings against the hosts_yml properties; such text is now quoted.
#[test]
fn number_like_string_stays_a_string() {
    checks::hosts_yml(b"x: '+.5'\n'+1.5e3': y\n");
}

/// A 401 whose body holds the request's own bearer split by BEL characters:
/// the exact-bearer redaction looked at the raw text, and sanitising for the
/// terminal then removed the BELs and joined the bearer back together in
/// `raw_response`. Server text is now sanitised before it is redacted.
#[test]
fn bearer_split_by_control_characters() {
    checks::server_responses(b"\x07\x01\x91opaque-fuzz\x07\x07\x07-bearer mismatch\"}");
}

/// A workspace-switch answer that is a JSON string holding the request's own
/// bearer: serde's decode error quoted it, and the message only had the
/// pattern redaction, which does not know a non-`dfoa_` bearer. Decode
/// messages are now redacted like the server's own text.
#[test]
fn bearer_quoted_by_a_decode_error() {
    checks::server_responses(b"\x05\x00\xc8\"x opaque-fuzz-bearer y\"");
}
