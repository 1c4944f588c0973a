//! `dify-mock`: the tests' mock Dify server as a standalone program, for demos and for
//! trying the CLI by hand.
//!
//! ```text
//! cargo run --features mock-server --bin dify-mock -- --auto-approve
//! ```
//!
//! Prints exactly one line, `http://127.0.0.1:PORT`, on stdout and serves until killed
//! (or until stdin reaches EOF with `--exit-on-stdin-eof`).

#[allow(dead_code)] // the binary uses only part of the tests' API
#[path = "mock/mod.rs"]
mod mock;

use std::io::{Read, Write};
use std::process::ExitCode;

use mock::{DeviceFlow, MockConfig, MockDify};

const USAGE: &str = "\
usage: dify-mock [options]

Serves a mock Dify /openapi/v1 on 127.0.0.1 and prints its URL on stdout.

options:
  --port N                 port to bind (default: any free port)
  --auto-approve           approve every device code at issue
  --interval SECS          poll interval and slow_down threshold (default 1)
  --expires-in SECS        device code lifetime (default 900)
  --token-ttl SECS         token lifetime (default 14 days)
  --email E                account email (default tester@dify.ai)
  --name N                 account name (default Tester)
  --no-email               the account has no email
  --workspace NAME         name of the default workspace (default Acme Team)
  --sso EMAIL ISSUER       mint external-SSO dfoe_ tokens for this subject
  --password P             console password (default Passw0rd!)
  --email-code C           console email code (default 123456)
  --host-cookie-prefix     console cookies named __Host-*
  --generation G           behave as Dify 1.14 (default), 1.16 (the :switch route,
                           edition COMMUNITY, the client gate) or catalog (a newer
                           server: the catalog handshake, paged workspaces too)
  --server-version V       GET /_version version (default 1.14.2)
  --workspaces N           N more workspaces besides the default one
  --sessions N             seed N extra sessions labelled 'seeded device K'
  --deny                   deny every code after its first pending poll
  --expire                 every poll answers expired_token
  --slow-down-once         answer slow_down on each code's second poll
  --no-timing-slow-down    never answer slow_down for polling too fast
  --rate-limit N           per-token limit of bearer requests per minute
  --device-rate-limited    POST /oauth/device/code answers 429
  --no-device-flow[=html|json]  device endpoints answer 404 (HTML by default)
  --openapi-disabled       every /openapi/v1 path answers an HTML 404
  --baseline               invalid bearers answer 500 (Dify 1.14 behaviour)
  --upgrade-required       every API path answers 426
  --log                    print one line per request on stderr
  --exit-on-stdin-eof      stop when stdin reaches EOF
  -h, --help               this text
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("dify-mock: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut cfg = MockConfig::default();
    let mut port = 0u16;
    let mut seed_sessions = 0usize;
    let mut exit_on_eof = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args.next().ok_or_else(|| format!("{name} expects a value")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "--port" => port = number(&flag, &value(&flag)?)?,
            "--auto-approve" => cfg.auto_approve = true,
            "--interval" => cfg.interval = number(&flag, &value(&flag)?)?,
            "--expires-in" => cfg.expires_in = number(&flag, &value(&flag)?)?,
            "--token-ttl" => cfg.token_ttl_secs = number(&flag, &value(&flag)?)?,
            "--email" => cfg.account.email = value(&flag)?,
            "--name" => cfg.account.name = value(&flag)?,
            "--no-email" => cfg.account.email.clear(),
            "--workspace" => {
                let name = value(&flag)?;
                if let Some(w) = cfg.workspaces.first_mut() {
                    w.name = name;
                }
            }
            "--sso" => {
                let email = value(&flag)?;
                let issuer = args.next().ok_or("--sso expects EMAIL ISSUER")?;
                cfg = cfg.sso(&email, &issuer);
            }
            "--password" => cfg.console_password = value(&flag)?,
            "--email-code" => cfg.console_email_code = value(&flag)?,
            "--host-cookie-prefix" => cfg.host_cookie_prefix = true,
            "--generation" => {
                let preset = match value(&flag)?.as_str() {
                    "1.14" => MockConfig::dify_1_14(),
                    "1.16" => MockConfig::dify_1_16(),
                    "catalog" => MockConfig::catalog_era(),
                    other => return Err(format!("--generation: unknown generation {other:?}")),
                };
                cfg.version = preset.version;
                cfg.edition = preset.edition;
                cfg.switch_route = preset.switch_route;
                cfg.min_difyctl_version = preset.min_difyctl_version;
                cfg.baseline_invalid_bearer_500 = preset.baseline_invalid_bearer_500;
                cfg.catalog = preset.catalog;
                cfg.paged_workspaces = preset.paged_workspaces;
            }
            "--server-version" => cfg.version = value(&flag)?,
            "--workspaces" => cfg = cfg.more_workspaces(number(&flag, &value(&flag)?)?),
            "--sessions" => seed_sessions = number(&flag, &value(&flag)?)?,
            "--deny" => cfg.deny = true,
            "--expire" => cfg.expire_codes = true,
            "--slow-down-once" => cfg.slow_down_once = true,
            "--no-timing-slow-down" => cfg.timing_slow_down = false,
            "--rate-limit" => cfg.rate_limit_per_min = Some(number(&flag, &value(&flag)?)?),
            "--device-rate-limited" => cfg.device_code_rate_limited = true,
            "--no-device-flow" => {
                cfg.device_flow = match inline.as_deref() {
                    None | Some("html") => DeviceFlow::HtmlNotFound,
                    Some("json") => DeviceFlow::JsonNotFound,
                    Some(other) => return Err(format!("--no-device-flow: unknown kind {other:?}")),
                }
            }
            "--openapi-disabled" => cfg.openapi_disabled = true,
            "--baseline" => cfg.baseline_invalid_bearer_500 = true,
            "--upgrade-required" => cfg.upgrade_required = true,
            "--log" => cfg.log_requests = true,
            "--exit-on-stdin-eof" => exit_on_eof = true,
            _ => return Err(format!("unknown argument {arg:?} (see --help)")),
        }
    }

    let mock =
        MockDify::bind(cfg, port).map_err(|e| format!("cannot bind 127.0.0.1:{port}: {e}"))?;
    for k in 1..=seed_sessions {
        mock.add_session(&format!("seeded device {k}"));
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", mock.url()).map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
    }
    if exit_on_eof {
        let mut sink = [0u8; 4096];
        let mut stdin = std::io::stdin().lock();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        drop(mock);
        Ok(())
    } else {
        loop {
            std::thread::park();
        }
    }
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: expected a number, got {value:?}"))
}
