//! Where bearer tokens are kept (PROTOCOL.md §2.4): the OS keychain, or the
//! protected `tokens.yml` file when there is no usable keychain.

pub mod keychain;

pub use keychain::Keychain;
