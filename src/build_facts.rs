//! Facts about this build, fixed at compile time: the version from
//! Cargo.toml, the commit and the build date from `src/build.rs` (which says
//! where they come from when there is no git checkout).

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// 7 hex digits (`-dirty` when built from changed sources), the packager's
/// `DIFYCTL_COMMIT`, or `unknown`.
pub const COMMIT: &str = env!("DIFYCTL_COMMIT");
/// ISO-8601 UTC (`SOURCE_DATE_EPOCH`, else the commit's date), or `unknown`.
pub const BUILD_DATE: &str = env!("DIFYCTL_BUILD_DATE");

/// What `difyctl --version` prints.
pub fn version_line() -> String {
    format!("difyctl {VERSION} ({COMMIT})\n")
}
