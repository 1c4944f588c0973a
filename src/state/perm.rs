//! Who may change the configuration directory and its stores. Whoever can
//! rewrite `hosts.yml` decides where tokens are sent (a `scheme: http` is
//! enough to collect a bearer in clear text), so, as ssh does with its
//! files, a directory or store owned by another user, or writable by group
//! or others, is refused. Read-only is fine: a read-only copy of a
//! configuration directory is a documented way to hand an agent a session.
//! Root's own files are accepted too (root can change anything anyway).

use std::path::Path;

use crate::error::{CliError, Result};

/// Refuses `store` (when it exists) or its directory when another user owns
/// it or group or others may write it.
pub fn check_store(store: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        if let Some(dir) = store.parent().filter(|d| !d.as_os_str().is_empty()) {
            check(dir, "700")?;
        }
        // Not a regular file (a device, a FIFO): the read refuses it anyway.
        if std::fs::metadata(store).is_ok_and(|m| m.is_file()) {
            check(store, "600")?;
        }
    }
    #[cfg(not(unix))]
    let _ = store;
    Ok(())
}

#[cfg(unix)]
fn check(path: &Path, private: &str) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    // The file or directory a symlink leads to is the one that counts.
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(()); // missing: nothing to trust yet; errors come later
    };
    let me = effective_uid();
    verdict(path, meta.uid(), meta.mode(), me, private)
}

/// The rule, apart from the file system: `owner` and `mode` of `path` for a
/// process running as `me`. Pure, so it can be tested and fuzzed.
pub fn verdict(path: &Path, owner: u32, mode: u32, me: u32, private: &str) -> Result<()> {
    let shown = path.display();
    if owner != me && owner != 0 {
        return Err(CliError::client(format!(
            "{shown} is owned by another user (uid {owner}, not {me}); refusing to use it"
        ))
        .with_hint(format!(
            "use a configuration directory of your own (DIFY_CONFIG_DIR), or 'chown {me} {shown}'"
        )));
    }
    if mode & 0o022 != 0 {
        return Err(CliError::client(format!(
            "{shown} is writable by other users (mode {:04o}); refusing to use it",
            mode & 0o7777
        ))
        .with_hint(format!("run 'chmod {private} {shown}'")));
    }
    Ok(())
}

#[cfg(unix)]
fn effective_uid() -> u32 {
    unsafe extern "C" {
        fn geteuid() -> u32;
    }
    // SAFETY: geteuid takes nothing and cannot fail.
    unsafe { geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn others_files_and_group_or_world_writable_ones_are_refused() {
        let p = Path::new("/c/hosts.yml");
        assert!(verdict(p, 1000, 0o100600, 1000, "600").is_ok());
        // Readable by others is a matter for warnings, not refusal.
        assert!(verdict(p, 1000, 0o100644, 1000, "600").is_ok());
        assert!(verdict(p, 0, 0o100644, 1000, "600").is_ok(), "root's own");
        assert!(verdict(p, 0, 0o040500, 0, "700").is_ok());
        let e = verdict(p, 1001, 0o100600, 1000, "600").unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str(), e.hint.as_deref()),
            (
                ErrorCode::ClientError,
                "/c/hosts.yml is owned by another user (uid 1001, not 1000); refusing to use it",
                Some(
                    "use a configuration directory of your own (DIFY_CONFIG_DIR), or \
                     'chown 1000 /c/hosts.yml'"
                )
            )
        );
        for mode in [0o100620, 0o100602, 0o040777, 0o041777] {
            let e = verdict(Path::new("/c"), 1000, mode, 1000, "700").unwrap_err();
            assert_eq!(
                (e.message, e.hint),
                (
                    format!(
                        "/c is writable by other users (mode {:04o}); refusing to use it",
                        mode & 0o7777
                    ),
                    Some("run 'chmod 700 /c'".to_string())
                )
            );
        }
    }
}
