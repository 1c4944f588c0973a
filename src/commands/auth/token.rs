//! `auth token`: the bearer and a newline on stdout, for scripts
//! (`curl -H "Authorization: Bearer $(difyctl auth token)"`). The only
//! command that ever prints a token.

use crate::cli::Selection;
use crate::commands::context::SignedIn;
use crate::error::Result;
use crate::output::Output;

pub fn run(select: &Selection) -> Result<Output> {
    let signed = SignedIn::resolve(select)?;
    let mut out = signed.token.expose().as_bytes().to_vec();
    out.push(b'\n');
    Ok(Output::Raw(out))
}
