//! `env list`: the environment variables difyctl reads, and their values.

use serde::Serialize;

use crate::ctx::Ctx;
use crate::error::Result;

use crate::output::{Output, table};

/// Name, description, sensitive. The official tool's registry first,
/// then ours.
pub const VARIABLES: &[(&str, &str, bool)] = &[
    (
        "DIFY_CONFIG_DIR",
        "Override the config-dir resolution (precedes XDG_CONFIG_HOME on Linux).",
        false,
    ),
    (
        "DIFY_FORMAT",
        "Default output format for list commands (table | json | yaml | wide | name).",
        false,
    ),
    (
        "DIFY_HOST",
        "Default Dify host (overridden by --host).",
        false,
    ),
    (
        "DIFY_LIMIT",
        "Default page size for list commands (1..200).",
        false,
    ),
    (
        "DIFY_NO_PROGRESS",
        "Suppress progress spinners. Truthy values: 1, true, yes.",
        false,
    ),
    (
        "DIFY_PLAIN",
        "Disable ANSI colors and decorative output. Truthy values: 1, true, yes.",
        false,
    ),
    ("DIFY_TOKEN", "Bearer token for non-interactive auth.", true),
    (
        "DIFY_WORKSPACE_ID",
        "Workspace ID used when no --workspace flag is set.",
        false,
    ),
    (
        "DIFYCTL_HTTP_RETRY",
        "Retries for GET/PUT/DELETE on transient errors (default 3; 0 disables; the --http-retry flag wins).",
        false,
    ),
    (
        "DIFY_ACCOUNT",
        "Account email of the stored context to use (overridden by --account).",
        false,
    ),
    (
        "DIFY_TOKEN_STORAGE",
        "Where login keeps the token: keychain or file (overridden by --token-storage).",
        false,
    ),
    (
        "BROWSER",
        "Browser for the device flow's URL, before the platform's opener (commands separated by ':', %s for the URL).",
        false,
    ),
    (
        "DIFY_DEVICE_LABEL",
        "Device label of auth login/refresh sign-ins (default: difyctl on <node name>; overridden by --label).",
        false,
    ),
    (
        "DIFY_INSECURE",
        "Let DIFY_TOKEN go to an http:// host (clear text). Truthy values: 1, true, yes.",
        false,
    ),
    (
        "DIFYCTL_LOCK_TIMEOUT",
        "Seconds a write waits for another process's lock on a file (default 10; 0: fail at once).",
        false,
    ),
    (
        "DIFY_CACHE_DIR",
        "Override the cache-dir resolution (precedes XDG_CACHE_HOME on Linux).",
        false,
    ),
];

#[derive(Serialize)]
struct Row {
    name: &'static str,
    description: &'static str,
    sensitive: bool,
    value: Option<String>,
}

pub fn list(ctx: &Ctx, json: bool) -> Result<Output> {
    let rows: Vec<Row> = VARIABLES
        .iter()
        .map(|&(name, description, sensitive)| {
            let value = ctx.env.os(name).map(|v| {
                if sensitive {
                    "<set>".to_string()
                } else {
                    v.to_string_lossy().into_owned()
                }
            });
            Row {
                name,
                description,
                sensitive,
                value,
            }
        })
        .collect();
    if json {
        return Ok(Output::json(&rows, true));
    }
    let mut cells = vec![vec![
        "NAME".to_string(),
        "VALUE".to_string(),
        "DESCRIPTION".to_string(),
    ]];
    cells.extend(rows.iter().map(|r| {
        vec![
            r.name.to_string(),
            r.value.clone().unwrap_or_else(|| "<unset>".to_string()),
            r.description.to_string(),
        ]
    }));
    Ok(Output::Text(table::render(&cells, true)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testutil::TempDir;

    /// The values are the context's snapshot of the environment; a token
    /// only says it is set.
    #[test]
    fn values_come_from_the_snapshot() {
        let tmp = TempDir::new();
        let vars = [("DIFY_HOST", "h.test"), ("DIFY_TOKEN", "dfoa_secret")];
        let ctx = Ctx::for_tests(tmp.path(), &vars, 0);
        let Output::Json { value, .. } = list(&ctx, true).unwrap() else {
            panic!("not JSON");
        };
        let value_of = |name: &str| {
            value
                .as_array()
                .unwrap()
                .iter()
                .find(|row| row["name"] == name)
                .unwrap()["value"]
                .clone()
        };
        assert_eq!(value_of("DIFY_HOST"), "h.test");
        assert_eq!(value_of("DIFY_TOKEN"), "<set>");
        assert_eq!(value_of("DIFY_ACCOUNT"), serde_json::Value::Null);
        assert!(!format!("{value}").contains("dfoa_secret"));
    }
}
