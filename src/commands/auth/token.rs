//! `auth token`: the bearer and a newline on stdout, for scripts
//! (`curl -H "Authorization: Bearer $(difyctl auth token)"`). The only
//! command that ever prints a token.

use crate::cli::Selection;
use crate::commands::context::SignedIn;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::output::Output;

pub fn run(ctx: &Ctx, select: &Selection) -> Result<Output> {
    let signed = SignedIn::resolve(ctx, select)?;
    let mut out = signed.token.expose().as_bytes().to_vec();
    out.push(b'\n');
    Ok(Output::Raw(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::state::testutil::TempDir;

    /// `DIFY_TOKEN` from the context's environment, not the process's: no
    /// stored state is read or written.
    #[test]
    fn the_token_of_dify_token() {
        let tmp = TempDir::new();
        let vars = [("DIFY_TOKEN", " dfoa_t \n"), ("DIFY_HOST", "h.test")];
        let ctx = Ctx::for_tests(tmp.path(), &vars, 0);
        let out = run(&ctx, &Selection::default()).unwrap();
        assert_eq!(out, Output::Raw(b"dfoa_t\n".to_vec()));
        assert!(!tmp.path().join("config").exists());

        let ctx = Ctx::for_tests(tmp.path(), &[], 0);
        let e = run(&ctx, &Selection::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::NotLoggedIn);
    }
}
