//! Talking to a Dify server: the HTTP client (retries, proxies, TLS roots,
//! error mapping) and the device-flow and account endpoints.

pub mod net;
pub mod retry;
pub mod secret;

pub use net::NetEnv;
pub use secret::Secret;
