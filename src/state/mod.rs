//! Local state: the config directory, `hosts.yml` (contexts) and `tokens.yml`
//! (file-mode credentials), read and written under the official `.lock` protocol
//! with atomic replaces (PROTOCOL.md §2).

mod dir;
mod omap;
mod yaml;

pub use dir::{Os, config_dir, config_dir_with};
pub use omap::OrderedMap;
