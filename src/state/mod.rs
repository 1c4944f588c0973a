//! Local state: the config directory, `hosts.yml` (contexts) and `tokens.yml`
//! (file-mode credentials), read and written under the official `.lock` protocol
//! with atomic replaces (PROTOCOL.md §2).

mod de;
mod dir;
mod hosts;
mod lock;
mod omap;
mod store;
mod yaml;

#[cfg(test)]
mod testutil;

pub use de::Extra;
pub use dir::{Os, config_dir, config_dir_with};
pub use hosts::{
    Account, Context, ExternalSubject, HOSTS_FILE, HostEntry, Registry, TokenStorage, Workspace,
};
pub use lock::{LockOptions, lock_path};
pub use omap::OrderedMap;
pub use store::{Document, Store};
