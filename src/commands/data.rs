//! Data a command prints as JSON or YAML (`-o json`, `-o yaml`, `--json`,
//! `DIFY_FORMAT`): one rendering for every command.

use crate::cli::Format;
use crate::output::Output;

/// `value` as JSON (pretty or one line) or YAML; `format` is one of those.
pub fn output(value: &impl serde::Serialize, format: Format, pretty: bool) -> Output {
    // The YAML is made from the JSON value (keys in the same order), so each
    // type of data is serialised one way only: a smaller binary.
    let value = serde_json::to_value(value).unwrap_or_default();
    match format {
        Format::Yaml => {
            let value = serde_yaml::to_value(&value).unwrap_or_default();
            Output::Text(crate::state::dump_yaml(&value))
        }
        _ => Output::Json { value, pretty },
    }
}
