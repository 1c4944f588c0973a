//! Talking to a Dify server: the HTTP client (retries, proxies, TLS roots,
//! error mapping), the device-flow and account endpoints, and the console
//! sign-in that approves a device code without a browser.

pub mod account;
pub mod catalog;
pub mod client;
pub mod console;
pub mod device;
pub mod errors;
pub mod net;
pub mod options;
pub mod origin;
pub mod request;
pub mod response;
pub mod retry;
pub mod secret;
pub mod server;

#[cfg(test)]
mod stub;

pub use client::Client;
pub use net::NetEnv;
pub use options::ClientOptions;
pub use origin::HostUrl;
pub use request::{Method, Request};
pub use response::Response;
pub use secret::Secret;
