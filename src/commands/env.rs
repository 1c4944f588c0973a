//! `env list`: the environment variables difyctl reads, and their values.

use serde::Serialize;

use crate::cli::Format;
use crate::cli::topics::environment::VARIABLES;
use crate::commands::data;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::output::{Output, table};

#[derive(Serialize)]
struct Row {
    name: &'static str,
    description: &'static str,
    sensitive: bool,
    value: Option<String>,
}

/// `env list [-o json|yaml|name] [--json]`: the variables of difyctl's own
/// (the official registry's first), each with what it does.
pub fn list(ctx: &Ctx, format: Format) -> Result<Output> {
    let rows: Vec<Row> = VARIABLES
        .iter()
        .filter_map(|v| {
            let description = v.listed?;
            let name = v.names[0];
            let value = ctx.env.os(name).map(|value| {
                if v.sensitive {
                    "<set>".to_string()
                } else {
                    value.to_string_lossy().into_owned()
                }
            });
            Some(Row {
                name,
                description,
                sensitive: v.sensitive,
                value,
            })
        })
        .collect();
    Ok(match format {
        Format::Json | Format::Yaml => data::output(&rows, format, true),
        Format::Name => Output::Text(rows.iter().map(|r| format!("{}\n", r.name)).collect()),
        Format::Text => {
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
            Output::Text(table::render(&cells, true))
        }
    })
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
        let Output::Json { value, .. } = list(&ctx, Format::Json).unwrap() else {
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
