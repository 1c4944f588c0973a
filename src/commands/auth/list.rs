//! `auth list [-o json|yaml|name] [--json]`: every stored context, local only
//! (difyctl-auth(1)).

use serde::Serialize;

use crate::cli::Format;
use crate::commands::{context, data};
use crate::ctx::Ctx;
use crate::error::Result;
use crate::output::{Output, table};
use crate::state;

#[derive(Serialize)]
struct Row<'a> {
    host: &'a str,
    account: &'a str,
    name: &'a str,
    active: bool,
}

#[derive(Serialize)]
struct Contexts<'a> {
    contexts: Vec<Row<'a>>,
}

pub fn run(ctx: &Ctx, format: Format) -> Result<Output> {
    let registry = context::registry(ctx)?;
    // A damaged entry costs only its own contexts: they are left out, said so.
    for damage in registry.damaged() {
        ctx.ui.warn(&format!("Left out: {}", damage.message()));
    }
    let output = render(&registry, format);
    // Not freed piece by piece: the process ends once the output is written,
    // and freeing 100,000 contexts one by one costs more than printing them.
    std::mem::forget(registry);
    Ok(output)
}

fn render(registry: &state::Registry, format: Format) -> Output {
    let active = registry.active().map(|(h, e, _)| (h, e));
    let rows: Vec<Row> = registry
        .contexts()
        .map(|(host, email, entry)| Row {
            host,
            account: email,
            name: &entry.account.name,
            active: active == Some((host, email)),
        })
        .collect();

    match format {
        Format::Json | Format::Yaml => data::output(&Contexts { contexts: rows }, format, true),
        Format::Name => {
            let mut text: String = rows.iter().map(|r| format!("{}\n", r.account)).collect();
            if text.is_empty() {
                text.push('\n');
            }
            Output::Text(text)
        }
        Format::Text => {
            // The ACCOUNT cells in one buffer, not one allocation each.
            let mut accounts = String::new();
            let ends: Vec<usize> = rows
                .iter()
                .map(|r| {
                    context::describe_into(&mut accounts, r.account, r.name);
                    accounts.len()
                })
                .collect();
            let mut cells = Vec::with_capacity(rows.len() + 1);
            cells.push(["HOST", "ACCOUNT", "ACTIVE"]);
            let mut start = 0;
            for (r, end) in rows.iter().zip(ends) {
                let active = if r.active { "*" } else { "" };
                cells.push([r.host, &accounts[start..end], active]);
                start = end;
            }
            Output::Text(table::render(&cells, false))
        }
    }
}
