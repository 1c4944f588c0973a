//! The hidden `__complete` entry point of the completion scripts: the
//! candidates for the word being typed, from the command table and, for
//! hosts and accounts, from `hosts.yml` alone (no network, no keychain, no
//! lock, nothing written). Whatever goes wrong, the answer is just shorter.

use crate::cli::complete::{Request, Want, answer, request};
use crate::commands::context::{self, describe};
use crate::ctx::Ctx;
use crate::output::Output;
use crate::state::Registry;

pub fn run(ctx: &Ctx, words: &[String]) -> Output {
    let req = request(words);
    let candidates = candidates(&req, || context::registry(ctx).ok());
    Output::Raw(answer(&req, &candidates).into_bytes())
}

fn candidates(req: &Request, registry: impl FnOnce() -> Option<Registry>) -> Vec<(String, String)> {
    let registry = match &req.want {
        Want::Words(words) => {
            return words
                .iter()
                .map(|(w, d)| (w.clone(), d.to_string()))
                .collect();
        }
        Want::Files | Want::Nothing => return Vec::new(),
        Want::Hosts { .. } | Want::Accounts { .. } => match registry() {
            Some(r) => r,
            None => return Vec::new(),
        },
    };
    match &req.want {
        Want::Hosts { url } => registry
            .hosts
            .iter()
            .map(|(host, entry)| {
                let n = entry.accounts.len();
                let about = format!("{n} account{}", if n == 1 { "" } else { "s" });
                match (&entry.scheme, url) {
                    (Some(scheme), true) => (format!("{scheme}://{host}"), about),
                    _ => (host.to_string(), about),
                }
            })
            .collect(),
        Want::Accounts { host } => {
            let host = match host {
                Some(h) => crate::host::parse(h).ok().map(|t| t.bare),
                None => registry.current_host.clone(),
            };
            let Some(entry) = host.as_deref().and_then(|h| registry.hosts.get(h)) else {
                return Vec::new();
            };
            entry
                .accounts
                .iter()
                .map(|(email, c)| {
                    let about = describe("", &c.account.name);
                    (email.to_string(), about.trim().to_string())
                })
                .collect()
        }
        _ => Vec::new(),
    }
}
