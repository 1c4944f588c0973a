//! Device labels: the name a sign-in's session has on the server.
//!
//! The server keeps one live token per account, client and label: approving
//! a code with a label revokes the older token of that label. A label is
//! therefore what makes a sign-in replace another one. The default,
//! `difyctl on <node name>`, is the same for every config dir on a machine
//! and for every spelling of one server (`127.0.0.1`, `localhost`), so such
//! sign-ins revoke each other's tokens unless they are given different labels
//! (`--label`, `DIFY_DEVICE_LABEL`).

use crate::env::Env;
use crate::error::{CliError, Result};

/// The server's approve step fails (500) with a longer label.
pub const MAX_LABEL_CHARS: usize = 255;

/// The environment variable that names the label when `--label` does not.
pub const LABEL_ENV: &str = "DIFY_DEVICE_LABEL";

const PREFIX: &str = "difyctl on ";

/// `difyctl on <node name>`, at most [`MAX_LABEL_CHARS`] characters;
/// `unknown-host` only when nothing knows the machine's name.
pub fn default_label(node_name: &str) -> String {
    let name = node_name.trim();
    let name = if name.is_empty() {
        "unknown-host"
    } else {
        name
    };
    let room = MAX_LABEL_CHARS - PREFIX.len();
    let mut label = String::from(PREFIX);
    label.extend(name.chars().take(room));
    label
}

/// A label the user chose, as `source` (`--label`, `DIFY_DEVICE_LABEL`, a
/// stored context) gave it: trimmed, not empty, one line without control
/// characters, at most [`MAX_LABEL_CHARS`] characters. A bad one is a usage
/// error (exit 2) rather than a sign-in the server fails after the approval.
pub fn check(text: &str, source: &str) -> Result<String> {
    let label = text.trim();
    let refuse = |why: &str| {
        CliError::usage_invalid(format!("{source}: {why}"))
            .with_hint("a device label is one line of at most 255 characters, e.g. 'ci on build-3'")
    };
    if label.is_empty() {
        return Err(refuse("the device label is empty"));
    }
    if label.chars().any(char::is_control) {
        return Err(refuse("the device label contains control characters"));
    }
    let n = label.chars().count();
    if n > MAX_LABEL_CHARS {
        return Err(refuse(&format!(
            "the device label is {n} characters long, more than {MAX_LABEL_CHARS}"
        )));
    }
    Ok(label.to_string())
}

/// The machine's node name, or "" when nothing knows it: the kernel's
/// (`uname(2)`, which needs no file, so an empty chroot has it too), then
/// `HOSTNAME` and `COMPUTERNAME` of `env`.
pub fn node_name(env: &Env) -> Result<String> {
    if let Some(name) = kernel_node_name() {
        return Ok(name);
    }
    for var in ["HOSTNAME", "COMPUTERNAME"] {
        if let Some(name) = env.text(var)?.map(str::trim).filter(|h| !h.is_empty()) {
            return Ok(name.to_string());
        }
    }
    Ok(String::new())
}

#[cfg(unix)]
fn kernel_node_name() -> Option<String> {
    // SAFETY: uname only writes into the struct it is given; a zeroed
    // utsname is a valid value of it.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    let bytes: Vec<u8> = uts
        .nodename
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    let name = String::from_utf8_lossy(&bytes).trim().to_string();
    // Linux's name for "never set".
    (!name.is_empty() && name != "(none)").then_some(name)
}

#[cfg(not(unix))]
fn kernel_node_name() -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_labels() {
        assert_eq!(default_label("build-7"), "difyctl on build-7");
        assert_eq!(default_label("  "), "difyctl on unknown-host");
        let label = default_label(&"é".repeat(400));
        assert_eq!(label.chars().count(), MAX_LABEL_CHARS);
        assert!(label.starts_with("difyctl on éé"));
        assert_eq!(default_label(&"h".repeat(244)).chars().count(), 255);
        assert_eq!(default_label(&"h".repeat(243)).chars().count(), 254);
    }

    #[test]
    fn chosen_labels_are_checked() {
        assert_eq!(
            check("  ci on build-3 ", "--label").unwrap(),
            "ci on build-3"
        );
        assert_eq!(
            check(&"é".repeat(255), "--label").unwrap().chars().count(),
            255
        );
        let message = |text: &str| check(text, "DIFY_DEVICE_LABEL").unwrap_err().message;
        assert_eq!(message(" "), "DIFY_DEVICE_LABEL: the device label is empty");
        assert_eq!(
            message("a\nb"),
            "DIFY_DEVICE_LABEL: the device label contains control characters"
        );
        assert_eq!(
            message(&"x".repeat(256)),
            "DIFY_DEVICE_LABEL: the device label is 256 characters long, more than 255"
        );
    }

    /// The kernel's name is the one /proc shows (Linux), never "unknown-host".
    #[cfg(target_os = "linux")]
    #[test]
    fn node_name_is_the_kernels() {
        let proc = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        let env = Env::from_pairs([("HOSTNAME", "from-env")]);
        assert_eq!(node_name(&env).unwrap(), proc.trim());
    }
}
