//! Which Dify servers this build supports, and the verdict on one.
//!
//! The range is one pair of constants, inclusive at both ends. The official
//! documentation ships this generation of the CLI with Dify 1.15.0 to 1.17.x;
//! the range is widened to cover every server difyctl is verified against: its
//! floor is the official tool's own (1.14.0; Dify 1.14.2 is the oldest server
//! run), its top the catalog generation the mock server emulates (1.18.0).
//! The README says which servers were run, and how.
//!
//! Versions are compared as Semantic Versioning 2.0 orders them (a
//! pre-release sorts before its release, build metadata is ignored): `1.16.0-rc.1`
//! is inside `[1.14.0, 1.18.0]`, `1.18.1` is not.

use std::cmp::Ordering;

use serde::Serialize;

/// The oldest Dify this build supports.
pub const MIN_DIFY: &str = "1.14.0";
/// The newest Dify this build supports.
pub const MAX_DIFY: &str = "1.18.0";

/// A server version quoted in a verdict is cut to this many characters.
const QUOTED_MAX: usize = 80;

/// `dify >=<min>, <=<max>`, as `version` shows the range.
pub fn range_text() -> String {
    format!("dify >={MIN_DIFY}, <={MAX_DIFY}")
}

/// What the verdict says, in the words of `version -o json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Compatible,
    Unsupported,
    Unknown,
}

impl Status {
    /// The word `version` prints after `Compatibility:`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Compatible => "ok",
            Status::Unsupported => "incompatible",
            Status::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    /// One line: `server 1.16.1 in [1.14.0, 1.18.0]`, `server version unknown`, …
    pub detail: String,
}

impl Verdict {
    pub fn unknown(detail: impl Into<String>) -> Verdict {
        Verdict {
            status: Status::Unknown,
            detail: detail.into(),
        }
    }
}

/// The verdict on a server that reports `version`.
pub fn evaluate(version: &str) -> Verdict {
    evaluate_in(version, MIN_DIFY, MAX_DIFY)
}

fn evaluate_in(version: &str, min: &str, max: &str) -> Verdict {
    if version.is_empty() {
        return Verdict::unknown("server version unknown");
    }
    let Some(server) = Semver::parse(version) else {
        let quoted = serde_json::to_string(&cut(version)).unwrap_or_default();
        return Verdict::unknown(format!("server version {quoted} is not valid semver"));
    };
    let (Some(low), Some(high)) = (Semver::parse(min), Semver::parse(max)) else {
        return Verdict::unknown(format!(
            "compat range \">={min} <={max}\" is not valid semver"
        ));
    };
    if low <= server && server <= high {
        Verdict {
            status: Status::Compatible,
            detail: format!("server {version} in [{min}, {max}]"),
        }
    } else {
        Verdict {
            status: Status::Unsupported,
            detail: format!("server {version} outside [{min}, {max}]"),
        }
    }
}

/// At most [`QUOTED_MAX`] characters, `…` marking a cut.
fn cut(s: &str) -> String {
    match s.char_indices().nth(QUOTED_MAX) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

/// A Semantic Versioning 2.0 version (`v` prefix allowed), without its build
/// metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Semver {
    core: [u64; 3],
    pre: Vec<Ident>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ident {
    Number(u64),
    Text(String),
}

/// Longer is not a version (the same limit as common semver libraries).
const MAX_LENGTH: usize = 256;
/// Numbers above this are not versions (JavaScript's largest safe integer,
/// as the official tool's parser has it).
const MAX_NUMBER: u64 = (1 << 53) - 1;

impl Semver {
    fn parse(s: &str) -> Option<Semver> {
        if s.len() > MAX_LENGTH {
            return None;
        }
        let s = s.strip_prefix('v').unwrap_or(s);
        let (s, build) = match s.split_once('+') {
            Some((v, b)) => (v, Some(b)),
            None => (s, None),
        };
        if build.is_some_and(|b| !b.split('.').all(is_ident)) {
            return None;
        }
        let (core, pre) = match s.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (s, None),
        };
        let mut numbers = core.split('.').map(number);
        let core = [numbers.next()??, numbers.next()??, numbers.next()??];
        if numbers.next().is_some() {
            return None;
        }
        let pre = match pre {
            None => Vec::new(),
            Some(p) => p
                .split('.')
                .map(|id| {
                    if !is_ident(id) {
                        None
                    } else if id.bytes().all(|b| b.is_ascii_digit()) {
                        number(id).map(Ident::Number)
                    } else {
                        Some(Ident::Text(id.to_owned()))
                    }
                })
                .collect::<Option<Vec<_>>>()?,
        };
        Some(Semver { core, pre })
    }
}

/// A numeric identifier: digits without a leading zero.
fn number(s: &str) -> Option<u64> {
    let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok().filter(|n| *n <= MAX_NUMBER)
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl Ord for Ident {
    fn cmp(&self, other: &Ident) -> Ordering {
        match (self, other) {
            (Ident::Number(a), Ident::Number(b)) => a.cmp(b),
            (Ident::Number(_), Ident::Text(_)) => Ordering::Less,
            (Ident::Text(_), Ident::Number(_)) => Ordering::Greater,
            (Ident::Text(a), Ident::Text(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Ident {
    fn partial_cmp(&self, other: &Ident) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Semver {
    fn cmp(&self, other: &Semver) -> Ordering {
        self.core.cmp(&other.core).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                // A pre-release comes before its release.
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            }
        })
    }
}

impl PartialOrd for Semver {
    fn partial_cmp(&self, other: &Semver) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(v: &str) -> Status {
        evaluate_in(v, "1.14.0", "1.18.0").status
    }

    #[test]
    fn the_range_is_inclusive_and_ordered_as_semver() {
        for inside in [
            "1.14.0",
            "1.14.2",
            "1.16.1",
            "v1.16.1",
            "1.16.0-rc.1",
            "1.18.0",
            "1.18.0+build.7",
        ] {
            assert_eq!(status(inside), Status::Compatible, "{inside}");
        }
        for outside in [
            "1.6.4",
            "1.13.9",
            "1.14.0-rc.1",
            "1.18.1",
            "2.0.0",
            "1.18.1-rc.1",
        ] {
            assert_eq!(status(outside), Status::Unsupported, "{outside}");
        }
        assert_eq!(
            evaluate_in("1.16.1", "1.14.0", "1.18.0").detail,
            "server 1.16.1 in [1.14.0, 1.18.0]"
        );
        assert_eq!(
            evaluate_in("1.6.4", "1.14.0", "1.15.0").detail,
            "server 1.6.4 outside [1.14.0, 1.15.0]"
        );
        assert_eq!(evaluate(MIN_DIFY).status, Status::Compatible);
        assert_eq!(evaluate(MAX_DIFY).status, Status::Compatible);
        assert_eq!(range_text(), format!("dify >={MIN_DIFY}, <={MAX_DIFY}"));
    }

    #[test]
    fn what_is_not_a_version_is_unknown() {
        assert_eq!(evaluate(""), Verdict::unknown("server version unknown"));
        for bad in [
            "1.16",
            "1.16.1.2",
            "01.16.1",
            "1.16.1-",
            "1.16.1-rc..1",
            "1.16.1-01",
            "1.16.1+",
            " 1.16.1",
            "1.16.1 ",
            "nightly",
            "1.16.x",
            "9007199254740992.0.0",
        ] {
            let v = evaluate(bad);
            assert_eq!(v.status, Status::Unknown, "{bad}");
            assert!(v.detail.ends_with("is not valid semver"), "{}", v.detail);
        }
        assert_eq!(
            evaluate("main\"-\u{1b}[2J").detail,
            "server version \"main\\\"-\\u001b[2J\" is not valid semver"
        );
        let long = evaluate(&"x".repeat(10_000)).detail;
        assert_eq!(
            long,
            format!("server version \"{}…\" is not valid semver", "x".repeat(80))
        );
        assert_eq!(
            evaluate_in("1.16.1", "foo", "bar"),
            Verdict::unknown("compat range \">=foo <=bar\" is not valid semver")
        );
    }

    #[test]
    fn pre_releases_order_by_their_identifiers() {
        let v = |s: &str| Semver::parse(s).unwrap();
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.10.0",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("1.0.0+a").cmp(&v("1.0.0+b")), Ordering::Equal);
    }
}
