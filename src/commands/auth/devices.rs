//! `auth devices list` and `auth devices revoke`: the server-side sessions of
//! the active account (`GET account/sessions`, `DELETE account/sessions/<id>`).

use crate::cli::{Format, MAX_PAGE_SIZE, Selection, page_size};
use crate::commands::context::{Forgot, SignedIn};
use crate::commands::data;
use crate::commands::use_::marked;
use crate::ctx::Ctx;
use crate::dify::Client;
use crate::dify::account::{self, Session as Device};
use crate::error::{CliError, ErrorCode, Result};
use crate::output::term::sanitize_line;
use crate::output::{Output, table};
use crate::secret::Secret;

/// Page size when neither `--limit` nor `DIFY_LIMIT` says.
const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = MAX_PAGE_SIZE;
/// `revoke` reads at most this many pages of [`MAX_LIMIT`] sessions.
const MAX_PAGES: u32 = 100;
/// Sessions named one by one in a prompt or a failure report; the rest are counted.
const SHOW_AT_MOST: usize = 10;

/// `auth devices list [-o json|yaml|name] [--json] [--page N] [--limit N]`.
pub fn list(
    ctx: &Ctx,
    format: Format,
    page: Option<i64>,
    limit: Option<Result<u32>>,
    http_retry: Option<u32>,
    selection: &Selection,
) -> Result<Output> {
    let signed = SignedIn::resolve(ctx, selection)?;
    let limit = match limit {
        Some(checked) => checked?,
        None => env_limit(ctx.env.text("DIFY_LIMIT")?)?,
    };
    let page = page.unwrap_or(1).clamp(1, i64::from(u32::MAX)) as u32;
    let client = signed.talking_client(ctx, http_retry, format != Format::Text)?;
    let result = account::list_sessions(&client, &signed.token, page, limit)
        .map_err(|e| signed.explain(e))?;
    let label = |d: &Device| {
        if d.device_label.is_empty() {
            d.id.clone()
        } else {
            d.device_label.clone()
        }
    };
    match format {
        // The server's envelope as it came, as the official tool prints it.
        Format::Json | Format::Yaml => return Ok(data::output(&result.raw, format, false)),
        Format::Name => {
            let names: String = result.data.iter().map(|d| label(d) + "\n").collect();
            return Ok(Output::Text(names));
        }
        Format::Text => {}
    }
    let current = signed.context.token_id();
    let mut rows = vec![vec![
        "DEVICE".to_string(),
        "CREATED".to_string(),
        "LAST USED".to_string(),
        "CURRENT".to_string(),
    ]];
    rows.extend(result.data.iter().map(|d| {
        vec![
            label(d),
            d.created_at.clone(),
            d.last_used_at.clone().unwrap_or_default(),
            if current == Some(d.id.as_str()) {
                "*".to_string()
            } else {
                String::new()
            },
        ]
    }));
    Ok(Output::Text(table::render(&rows, true)))
}

/// The page size without `--limit`: `DIFY_LIMIT` (empty counts as unset),
/// else 20, checked as the flag is.
pub fn env_limit(env: Option<&str>) -> Result<u32> {
    match env {
        Some(v) if !v.is_empty() => page_size("DIFY_LIMIT", v),
        _ => Ok(DEFAULT_LIMIT),
    }
}

/// `auth devices revoke [TARGET] [--all] [-y/--yes]`.
pub fn revoke(
    ctx: &Ctx,
    target: Option<String>,
    all: bool,
    yes: bool,
    http_retry: Option<u32>,
    selection: &Selection,
) -> Result<Output> {
    let signed = SignedIn::resolve(ctx, selection)?;
    // An empty target would match every label as a substring: treat it as none.
    let target = target.filter(|t| !t.is_empty());
    let current = signed.context.token_id();
    match (&target, all) {
        // On a terminal the session is chosen from the list.
        (None, false) if !ctx.ui.interactive() => {
            return Err(
                CliError::usage_missing("specify a device label / id, or pass --all")
                    .with_hint("see 'difyctl auth devices list'"),
            );
        }
        (Some(_), true) => {
            return Err(CliError::usage_invalid(
                "pass either a device label / id or --all, not both",
            )
            .with_hint("see 'difyctl auth devices list'"));
        }
        // Without the id of this context's session, --all cannot keep it.
        (None, true) if current.is_none() => {
            return Err(unknown_current(if signed.context.is_env() {
                "the session of the token in DIFY_TOKEN is not known"
            } else {
                "this context does not record which session it is"
            }));
        }
        _ => {}
    }

    let client = signed.talking_client(ctx, http_retry, false)?;
    let sessions = fetch_all(ctx, &client, &signed.token).map_err(|e| signed.explain(e))?;
    let mut chosen: Vec<&Device> = match &target {
        Some(t) => match candidates(&sessions, t)? {
            several if several.len() > 1 && ctx.ui.interactive() => {
                let title = format!(
                    "\"{}\" matches several sessions: revoke which?",
                    sanitize_line(t)
                );
                vec![pick(ctx, &title, &several, current)?]
            }
            several => vec![single(several, t)?],
        },
        None if !all => {
            let listed: Vec<&Device> = sessions.iter().collect();
            if listed.is_empty() {
                return Ok(Output::Text("no sessions to revoke\n".to_string()));
            }
            vec![pick(ctx, "Select a session to revoke", &listed, current)?]
        }
        // Every listed session but this context's own. When its own is not
        // listed (an external-SSO session among an account's), nothing listed
        // is the current one, and every listed session goes.
        None => sessions
            .iter()
            .filter(|d| Some(d.id.as_str()) != current)
            .collect(),
    };
    if chosen.is_empty() {
        return Ok(Output::Text("no sessions to revoke\n".to_string()));
    }
    let n = chosen.len();

    if !yes && ctx.ui.interactive() {
        for line in named(&chosen) {
            ctx.ui.say(&format!("  {line}"));
        }
        let answer = ctx.ui.ask(&format!("Revoke {n} session(s)? [y/N] "))?;
        if answer.is_none() {
            // Input closed: end the prompt line before the error.
            ctx.ui.say("");
        }
        let accepted = answer
            .as_deref()
            .map(str::to_ascii_lowercase)
            .is_some_and(|a| a == "y" || a == "yes");
        if !accepted {
            return Err(CliError::usage_missing("aborted by user")
                .with_hint("pass --yes to skip confirmation"));
        }
    }

    // This context's own session goes last, so the bearer stays valid for the others.
    chosen.sort_by_key(|d| Some(d.id.as_str()) == current);
    for (i, device) in chosen.iter().enumerate() {
        let own = Some(device.id.as_str()) == current;
        match account::revoke_session(&client, &signed.token, &device.id) {
            Ok(()) => {}
            Err(e) if already_gone(&e, own) => {}
            Err(mut e) => {
                // The listing just worked with this bearer: a 500 here is not the
                // stale-session answer of older servers that the hint describes.
                if e.hint.as_deref() == Some(account::STALE_SESSION_HINT) {
                    e.hint = None;
                }
                let rest = named(&chosen[i..]).join(", ");
                ctx.ui.warn(&format!(
                    "revoked {i} of {n} session(s) before the failure; not revoked: {rest}"
                ));
                return Err(e);
            }
        }
    }
    if chosen.iter().any(|d| Some(d.id.as_str()) == current) {
        let forgot = {
            let _critical = crate::output::interrupt::Critical::enter();
            signed.context.forget(Some(&signed.token))?
        };
        let who = format!(
            "{} on {}",
            sanitize_line(signed.context.email()),
            signed.context.host
        );
        match forgot {
            Forgot::SignedInAgain => ctx.ui.warn(&format!(
                "this context's own session was revoked; {who} was signed in again meanwhile, \
                 and that new sign-in is kept"
            )),
            _ => ctx.ui.warn(&format!(
                "this context's own session was revoked: signed out of {who}"
            )),
        }
    }
    Ok(Output::success(format!("Revoked {n} session(s)")))
}

/// `--all` cannot tell which session to keep.
fn unknown_current(why: &str) -> CliError {
    CliError::usage_invalid(format!(
        "--all keeps the current session, but {why}"
    ))
    .with_hint(
        "revoke sessions by id (see 'difyctl auth devices list'), or sign in again with 'difyctl auth login'",
    )
}

/// A revoke that failed because the session no longer exists has done its
/// job: a 404 `not_found` (revoked or expired meanwhile), or a 401 when
/// revoking this context's own session (e.g. a retry after the revoke landed).
fn already_gone(e: &CliError, own: bool) -> bool {
    let http = e.http.as_deref();
    let status = http.and_then(|h| h.status);
    let server_code = http
        .and_then(|h| h.server.as_ref())
        .map(|s| s.code.as_str());
    (status == Some(404) && server_code == Some("not_found"))
        || (own && e.code == ErrorCode::AuthExpired)
}

/// Every session of the account: pages of 200 until `has_more` is false, at
/// most 100 pages. A session seen twice (the list moved while paging) counts once.
fn fetch_all(ctx: &Ctx, client: &Client, token: &Secret) -> Result<Vec<Device>> {
    let mut all: Vec<Device> = Vec::new();
    for page in 1..=MAX_PAGES {
        let result = account::list_sessions(client, token, page, MAX_LIMIT)?;
        let more = result.has_more && !result.data.is_empty();
        for d in result.data {
            if !all.iter().any(|seen| seen.id == d.id) {
                all.push(d);
            }
        }
        if !more {
            return Ok(all);
        }
    }
    ctx.ui.warn(&format!(
        "more than {} sessions; only the first {} were considered",
        MAX_PAGES * MAX_LIMIT,
        all.len()
    ));
    Ok(all)
}

/// The session a target names: exact label, then exact id, then a
/// case-insensitive label substring. Several matches are an error.
#[cfg(test)]
fn select<'a>(sessions: &'a [Device], target: &str) -> Result<&'a Device> {
    single(candidates(sessions, target)?, target)
}

/// The sessions a target may name: those with that exact label, else the
/// one with that id, else those whose label holds it (any case); none is an
/// error.
fn candidates<'a>(sessions: &'a [Device], target: &str) -> Result<Vec<&'a Device>> {
    let exact: Vec<&Device> = sessions
        .iter()
        .filter(|d| d.device_label == target)
        .collect();
    if !exact.is_empty() {
        return Ok(exact);
    }
    if let Some(d) = sessions.iter().find(|d| d.id == target) {
        return Ok(vec![d]);
    }
    let needle = target.to_lowercase();
    let partial: Vec<&Device> = sessions
        .iter()
        .filter(|d| d.device_label.to_lowercase().contains(&needle))
        .collect();
    if partial.is_empty() {
        return Err(CliError::usage_missing(format!(
            "no session matches \"{}\"",
            sanitize_line(target)
        )));
    }
    Ok(partial)
}

/// One of `devices`, chosen on the terminal (this context's own marked `*`).
fn pick<'a>(
    ctx: &Ctx,
    title: &str,
    devices: &[&'a Device],
    current: Option<&str>,
) -> Result<&'a Device> {
    let rows: Vec<Vec<String>> = devices
        .iter()
        .map(|d| {
            let label = if d.device_label.is_empty() {
                &d.id
            } else {
                &d.device_label
            };
            vec![
                marked(current == Some(d.id.as_str()), label),
                d.id.clone(),
                d.last_used_at.clone().unwrap_or_default(),
            ]
        })
        .collect();
    // Nothing pre-selected: revoking is not a choice to make by default.
    Ok(devices[ctx.ui.choose(title, &rows, None)?])
}

fn single<'a>(matches: Vec<&'a Device>, target: &str) -> Result<&'a Device> {
    if let [one] = matches.as_slice() {
        return Ok(one);
    }
    Err(CliError::usage_invalid(format!(
        "\"{}\" matches multiple sessions: {}; pass an exact id to disambiguate",
        sanitize_line(target),
        named(&matches).join(", ")
    )))
}

/// `label (id)` (the id alone for an unlabelled session), at most
/// [`SHOW_AT_MOST`] of them and then `… and N more`.
fn named(devices: &[&Device]) -> Vec<String> {
    let mut out: Vec<String> = devices
        .iter()
        .take(SHOW_AT_MOST)
        .map(|d| {
            let id = sanitize_line(&d.id);
            if d.device_label.is_empty() {
                id
            } else {
                format!("{} ({id})", sanitize_line(&d.device_label))
            }
        })
        .collect();
    if devices.len() > SHOW_AT_MOST {
        out.push(format!("… and {} more", devices.len() - SHOW_AT_MOST));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str, label: &str) -> Device {
        Device {
            id: id.into(),
            device_label: label.into(),
            ..Device::default()
        }
    }

    /// `--limit`, else `DIFY_LIMIT`, as `list` resolves them.
    fn resolve_limit(flag: Option<&str>, env: Option<&str>) -> Result<u32> {
        match flag {
            Some(raw) => page_size("--limit", raw),
            None => env_limit(env),
        }
    }

    #[test]
    fn limit_sources_and_messages() {
        assert_eq!(resolve_limit(None, None).unwrap(), 20);
        assert_eq!(resolve_limit(None, Some("")).unwrap(), 20);
        assert_eq!(resolve_limit(None, Some("200")).unwrap(), 200);
        assert_eq!(resolve_limit(Some("1"), Some("abc")).unwrap(), 1);
        assert_eq!(resolve_limit(Some("007"), None).unwrap(), 7);
        let msg = |f: Option<&str>, e: Option<&str>| {
            let err = resolve_limit(f, e).unwrap_err();
            assert_eq!(
                (err.code, err.exit_code()),
                (ErrorCode::UsageInvalidFlag, 2)
            );
            err.message
        };
        assert_eq!(msg(Some("abc"), None), "--limit: \"abc\" is not a number");
        assert_eq!(msg(Some(""), None), "--limit: \"\" is not a number");
        assert_eq!(msg(Some(" 5"), None), "--limit: \" 5\" is not a number");
        assert_eq!(msg(Some("-"), None), "--limit: \"-\" is not a number");
        assert_eq!(msg(Some("1.5"), None), "--limit: \"1.5\" is not a number");
        assert_eq!(msg(Some("٣"), None), "--limit: \"٣\" is not a number");
        assert_eq!(msg(Some("0"), None), "--limit: 0 out of range [1..200]");
        assert_eq!(msg(Some("-3"), None), "--limit: -3 out of range [1..200]");
        assert_eq!(msg(Some("201"), None), "--limit: 201 out of range [1..200]");
        assert_eq!(
            msg(Some("99999999999999999999"), None),
            "--limit: 99999999999999999999 out of range [1..200]"
        );
        assert_eq!(
            msg(None, Some("abc")),
            "DIFY_LIMIT: \"abc\" is not a number"
        );
        assert_eq!(msg(None, Some("0")), "DIFY_LIMIT: 0 out of range [1..200]");
    }

    #[test]
    fn matching_order() {
        let s = vec![
            device("id-1", "difyctl on laptop"),
            device("id-2", "difyctl on Build-1"),
            device("id-3", "difyctl on build-2"),
            device("id-4", "id-1"),
            device("id-5", "twin"),
            device("id-6", "twin"),
        ];
        // Exact label wins over an exact id.
        assert_eq!(select(&s, "id-1").unwrap().id, "id-4");
        assert_eq!(select(&s, "id-2").unwrap().id, "id-2");
        assert_eq!(select(&s, "LAPTOP").unwrap().id, "id-1");
        let e = select(&s, "BUILD").unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                ErrorCode::UsageInvalidFlag,
                "\"BUILD\" matches multiple sessions: difyctl on Build-1 (id-2), difyctl on build-2 (id-3); pass an exact id to disambiguate"
            )
        );
        let e = select(&s, "twin").unwrap_err();
        assert!(
            e.message.contains("twin (id-5), twin (id-6)"),
            "{}",
            e.message
        );
        let e = select(&s, "nope").unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::UsageMissingArg, "no session matches \"nope\"")
        );
    }

    #[test]
    fn names_are_clean_and_capped() {
        let many: Vec<Device> = (0..12)
            .map(|i| {
                device(
                    &format!("id-{i}"),
                    if i == 0 { "" } else { "a\u{1b}[31mb\nc" },
                )
            })
            .collect();
        let refs: Vec<&Device> = many.iter().collect();
        let names = named(&refs);
        assert_eq!(names.len(), 11);
        assert_eq!(names[0], "id-0");
        assert_eq!(names[1], "ab c (id-1)");
        assert_eq!(names[10], "… and 2 more");
    }
}
