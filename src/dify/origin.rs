//! Where a client talks to.

/// Where a client talks to: scheme, bare host (`host[:port]`) and an optional
/// path prefix typed in `--host`, used only for this session's requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostUrl {
    pub scheme: String,
    pub host: String,
    pub path_prefix: String,
}

impl HostUrl {
    pub fn new(scheme: &str, host: &str) -> Self {
        HostUrl {
            scheme: scheme.to_owned(),
            host: host.to_owned(),
            path_prefix: String::new(),
        }
    }

    pub fn with_path_prefix(mut self, prefix: &str) -> Self {
        self.path_prefix = prefix.to_owned();
        self
    }
}
