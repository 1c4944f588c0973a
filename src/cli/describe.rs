//! `--help -o json`: the command table as data, for agents, in the shape
//! the official tool gives it (`command`, `description`, `effect`, `args`,
//! `flags`, `examples`, `agentGuide`).

use serde_json::{Value, json};

use super::HelpRequest;
use super::flags::{Flag, HELP, Kind, VERBOSE, VERSION};
use super::spec::{self, Node};
use super::topics::{self, Block, Topic};
use crate::error::ErrorCode;

/// The help asked for, as data.
pub fn describe(req: &HelpRequest) -> Value {
    if let Some(topic) = req.topic.and_then(topics::find) {
        return json!({
            "name": topic.name,
            "summary": topic.summary,
            "body": super::help::render_topic(topic, 80),
        });
    }
    let node = spec::find(&req.path).unwrap_or(&spec::ROOT);
    if !node.is_group() {
        return command(&req.path, node);
    }
    let commands: Vec<Value> = spec::leaves()
        .into_iter()
        .filter(|(p, _)| p.starts_with(&req.path))
        .map(|(p, n)| command(&p, n))
        .collect();
    if !req.path.is_empty() {
        return json!({ "commands": commands });
    }
    json!({
        "bin": "difyctl",
        "contract": contract(),
        "globalFlags": [flag(&VERBOSE), flag(&HELP), flag(&VERSION)],
        "commands": commands,
        "topics": topics::TOPICS.iter().map(topic_line).collect::<Vec<_>>(),
    })
}

fn command(path: &[&str], node: &Node) -> Value {
    let flags: Vec<Value> = node
        .accepted_flags()
        .filter(|f| !std::ptr::eq(*f, &HELP))
        .map(flag)
        .collect();
    let args: Vec<Value> = node
        .args
        .iter()
        .map(|a| {
            json!({
                "name": a.name,
                "required": a.required,
                "description": a.help,
            })
        })
        .collect();
    json!({
        "command": path.join(" "),
        "description": node.summary,
        "effect": node.effect.as_str(),
        "args": args,
        "flags": flags,
        "examples": node.examples,
        "agentGuide": null,
    })
}

fn flag(f: &Flag) -> Value {
    let kind = match f.kind {
        Kind::Switch => "boolean",
        Kind::Integer | Kind::Retries | Kind::PageSize => "integer",
        _ => "string",
    };
    let options = match f.choices() {
        [] => Value::Null,
        c => json!(c),
    };
    json!({
        "name": f.long,
        "char": f.short.map(String::from),
        "type": kind,
        "default": null,
        "multiple": f.repeatable,
        "options": options,
        "description": f.help,
    })
}

fn topic_line(t: &Topic) -> Value {
    json!({ "name": t.name, "summary": t.summary })
}

/// What holds across commands: exit statuses and their codes, the output
/// formats and the error envelope.
fn contract() -> Value {
    let mut exit_codes = serde_json::Map::new();
    if let Some(t) = topics::find("exit-codes") {
        for block in (t.body)() {
            if let Block::Item(status, text) = block {
                exit_codes.insert(status, Value::String(topics::plain(&text)));
            }
        }
    }
    let codes: Vec<Value> = ErrorCode::ALL
        .iter()
        .map(|c| json!({ "code": c.as_str(), "exit": c.exit_status() }))
        .collect();
    json!({
        "exitCodes": exit_codes,
        "errorCodes": codes,
        "outputFormats": ["json", "yaml", "name"],
        "errorEnvelope": {
            "description": "With JSON output (-o json, --json, DIFY_FORMAT=json) a failure \
                            writes one line of JSON to stderr; otherwise '<code>: <message>'.",
            "shape": "{ \"error\": { \"code\": string, \"message\": string, \"hint\"?: string, \
                      \"http_status\"?: number, \"method\"?: string, \"url\"?: string } }",
        },
    })
}
