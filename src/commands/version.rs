//! `version [-o text|json|yaml] [--client] [--short] [--check-compat]`: this
//! build, the version of the active context's server, and whether this build
//! supports it (see [`compat`]).
//!
//! The server is asked with `GET /openapi/v1/_version`: no token, one attempt,
//! at most two seconds ([`server::PROBE_TIMEOUT`]). The verdict never fails the command, except with
//! `--check-compat`, which exits 64 unless the server is compatible (the report
//! still on standard output, the one-line reason on standard error).

use serde::Serialize;

use crate::build_facts::{BUILD_DATE, COMMIT, VERSION};
use crate::cli::{Format, Selection, VersionArgs};
use crate::commands::context::{self, ContextEnv};
use crate::compat::{self, Status, Verdict};
use crate::ctx::Ctx;
use crate::dify::{Client, ClientOptions, server};
use crate::error::{CliError, ErrorCode, Result};
use crate::output::term::{Style, sanitize, sanitize_line};
use crate::output::{Output, json_text};
use crate::state;

/// The release channel of this build: no pre-release warning.
const CHANNEL: &str = "stable";

/// The Server block when there is nothing to ask.
const SKIPPED: &str = "(skipped — no host configured or --client passed)";

#[derive(Debug, Serialize)]
struct Report {
    client: ClientBlock,
    server: ServerBlock,
    compat: CompatBlock,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientBlock {
    version: &'static str,
    commit: &'static str,
    build_date: &'static str,
    channel: &'static str,
    platform: &'static str,
    arch: &'static str,
}

#[derive(Debug, Default, Serialize)]
struct ServerBlock {
    /// `<scheme>://<host>`; empty when no server was asked.
    endpoint: String,
    reachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    edition: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CompatBlock {
    min_dify: &'static str,
    max_dify: &'static str,
    status: Status,
    detail: String,
}

pub fn run(ctx: &Ctx, args: &VersionArgs) -> Result<Output> {
    if args.short {
        return Ok(Output::Text(format!("{VERSION}\n")));
    }
    let (server, verdict) = if args.client {
        (
            ServerBlock::default(),
            Verdict::unknown("server probe skipped"),
        )
    } else {
        ask_server(ctx)
    };
    let report = Report {
        client: client_block(),
        server,
        compat: CompatBlock {
            min_dify: compat::MIN_DIFY,
            max_dify: compat::MAX_DIFY,
            status: verdict.status,
            detail: verdict.detail,
        },
    };
    let text = match args.format {
        Format::Text | Format::Name => render_text(&report, ctx.ui.stdout_style()),
        Format::Json => json_text(&to_value(&report), true)
            .map_err(|e| CliError::client(format!("cannot write JSON: {e}")))?,
        Format::Yaml => {
            let value = serde_yaml::to_value(&report).unwrap_or_default();
            sanitize(&state::dump_yaml(&value)).into_owned()
        }
    };
    if args.check_compat && report.compat.status != Status::Compatible {
        // Like the official tool: the report as usual, the reason as one bare line.
        let reason = CliError::new(ErrorCode::CompatCheckFailed, report.compat.detail).plain();
        return Ok(Output::Raw(text.into_bytes()).then_error(reason));
    }
    Ok(Output::Raw(text.into_bytes()))
}

fn to_value(report: &Report) -> serde_json::Value {
    serde_json::to_value(report).unwrap_or_default()
}

fn client_block() -> ClientBlock {
    ClientBlock {
        version: VERSION,
        commit: COMMIT,
        build_date: BUILD_DATE,
        channel: CHANNEL,
        platform: platform(),
        arch: arch(),
    }
}

/// The operating system as Node.js names it, as the official tool reports it.
fn platform() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        "windows" => "win32",
        other => other,
    }
}

/// The processor as Node.js names it.
fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x64",
        "x86" => "ia32",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// The active context's server (the one `DIFY_TOKEN`/`DIFY_HOST` or the
/// stored state selects, as for every command), its answer and the verdict.
fn ask_server(ctx: &Ctx) -> (ServerBlock, Verdict) {
    let selected = ContextEnv::from_env(&ctx.env).and_then(|mut env| {
        // The probe sends no token, so an http:// DIFY_HOST needs no opt-in.
        env.insecure = true;
        context::choose_with(&Selection::default(), &env, || context::stored(ctx))
    });
    let url = match selected {
        Ok(selected) => selected.url,
        Err(e) => {
            let detail = match e.code {
                ErrorCode::NotLoggedIn | ErrorCode::UsageMissingArg => {
                    "no host configured".to_owned()
                }
                ErrorCode::ClientError => "hosts file unreadable".to_owned(),
                // DIFY_HOST naming no stored host, and the like: say which.
                _ => sanitize_line(&e.message),
            };
            return (ServerBlock::default(), Verdict::unknown(detail));
        }
    };
    let opts = ClientOptions::from_env(&ctx.env).map(|opts| ClientOptions {
        verbose: ctx.verbose,
        ..opts
    });
    // A stored host that is not one (a hand-edited file) says so.
    let client = match opts.and_then(|opts| Client::new(&url, opts)) {
        Ok(client) => client,
        Err(e) => {
            return (
                ServerBlock::default(),
                Verdict::unknown(sanitize_line(&e.message)),
            );
        }
    };
    let endpoint = client.origin().to_owned();
    match server::probe_version(&client) {
        Ok(answer) => {
            let verdict = compat::evaluate(&answer.version);
            let server = ServerBlock {
                endpoint,
                reachable: true,
                version: Some(answer.version),
                edition: Some(answer.edition).filter(|e| !e.is_empty()),
            };
            (server, verdict)
        }
        // No answer, an error status, a body that is not the version: one
        // attempt, and unreachable whatever it was.
        Err(_) => (
            ServerBlock {
                endpoint,
                reachable: false,
                ..ServerBlock::default()
            },
            Verdict::unknown("server unreachable"),
        ),
    }
}

fn render_text(report: &Report, style: Style) -> String {
    let (client, server, compat) = (&report.client, &report.server, &report.compat);
    let mut out = format!(
        "Client:\n  Version:   {} (channel: {})\n  Commit:    {} (built {})\n  \
         Platform:  {}/{}\n  Compat:    {}\n\nServer:\n",
        client.version,
        client.channel,
        short_commit(client.commit),
        client.build_date,
        client.platform,
        client.arch,
        compat::range_text(),
    );
    if server.endpoint.is_empty() {
        out.push_str(&format!("  {}\n", style.dim(SKIPPED)));
    } else {
        out.push_str(&format!(
            "  Endpoint:  {}\n",
            sanitize_line(&server.endpoint)
        ));
        let version = match (&server.version, &server.edition) {
            _ if !server.reachable => style.dim("(unreachable)"),
            (version, Some(edition)) => format!(
                "{} ({})",
                sanitize_line(version.as_deref().unwrap_or_default()),
                sanitize_line(&edition.to_lowercase())
            ),
            (version, None) => sanitize_line(version.as_deref().unwrap_or_default()),
        };
        out.push_str(&format!("  Version:   {version}\n"));
    }
    let verdict = format!(
        "Compatibility: {} — {}",
        compat.status.label(),
        sanitize_line(&compat.detail)
    );
    let verdict = match compat.status {
        Status::Unsupported => style.yellow(&verdict),
        _ => verdict,
    };
    out.push_str(&format!("\n{verdict}\n"));
    out
}

/// The commit as the text report shows it: at most 7 hex digits, keeping a
/// `-dirty` mark.
fn short_commit(commit: &str) -> String {
    let (id, mark) = commit.split_at(commit.find('-').unwrap_or(commit.len()));
    let id: String = id.chars().take(7).collect();
    format!("{id}{mark}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_are_shortened_but_keep_their_mark() {
        assert_eq!(short_commit("ad96501e2f"), "ad96501");
        assert_eq!(short_commit("ad96501-dirty"), "ad96501-dirty");
        assert_eq!(short_commit("unknown"), "unknown");
    }
}
