//! `use workspace`: it switches on the server and records it, on the active or
//! a selected context; its errors change nothing; the picker on a terminal.

use crate::common::{NOT_LOGGED_IN, Two, run, two_hosts};
use crate::support::fixtures::signed_in;
use crate::support::mock::{DEFAULT_WORKSPACE_ID, MockDify, Workspace};
use crate::support::pty::on_a_terminal;
use crate::support::runner::Test;

const BETA_ID: &str = "0c5e7a1d-3b2f-4e6a-9d8c-7b6a5f4e3d2c";

fn with_beta(mock: &MockDify) {
    mock.configure(|c| {
        c.workspaces.push(Workspace {
            id: BETA_ID.into(),
            name: "Beta".into(),
            role: "normal".into(),
        })
    });
}

/// The fixture's hosts.yml with Acme Team replaced by Beta.
fn switched_to_beta(hosts: &str) -> String {
    hosts.replace(
        &format!("id: {DEFAULT_WORKSPACE_ID}\n          name: Acme Team\n          role: owner\n"),
        &format!("id: {BETA_ID}\n          name: Beta\n          role: normal\n"),
    )
}

#[test]
fn use_workspace_switches_on_the_server_and_records_it() {
    let mock = MockDify::start();
    with_beta(&mock);
    let (t, _) = signed_in(&mock);
    let hosts = t.read("hosts.yml").unwrap();
    run(&t, &[], &["use", "workspace", BETA_ID], b"")
        .code(0)
        .stdout(&format!("✓ Switched to Beta ({BETA_ID})\n"))
        .stderr("")
        .file("hosts.yml", &switched_to_beta(&hosts));
    let req = &mock.command_requests()[0];
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", &*format!("/openapi/v1/workspaces/{BETA_ID}/switch"))
    );
    assert_eq!(mock.config().default_workspace_id.as_deref(), Some(BETA_ID));
}

#[test]
fn use_workspace_errors_change_nothing() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let before = t.snapshot();
    for blank in [&["use", "workspace"][..], &["use", "workspace", "  "]] {
        run(&t, &[], blank, b"").code(2).stdout("").stderr(
            "usage_missing_arg: a workspace id is required (no TTY)\n\
             hint: pass the id: 'difyctl use workspace <id>'\n",
        );
    }
    assert!(mock.requests().is_empty());
    // Any id goes to the server, as one path segment, and its answer is
    // reported (as the official tool does); so is a workspace the account is
    // not in.
    for (id, sent) in [
        ("not-a-uuid", "not-a-uuid"),
        ("../../console", "..%2F..%2Fconsole"),
        (BETA_ID, BETA_ID),
    ] {
        run(&t, &[], &["use", "workspace", id], b"")
            .code(1)
            .stdout("")
            .stderr(&format!(
                "not_found: workspace not found\nrequest: POST {}/openapi/v1/workspaces/{sent}/\
                 switch\nhttp_status: 404\n",
                mock.url()
            ));
    }
    assert_eq!(t.snapshot(), before);
    run(&Test::new(), &[], &["use", "workspace", BETA_ID], b"")
        .code(4)
        .stderr(NOT_LOGGED_IN);
}

#[test]
fn use_workspace_on_a_selected_context_records_it_there() {
    let Two { a, b, t, .. } = two_hosts();
    with_beta(&b);
    let before = t.read("hosts.yml").unwrap();
    run(
        &t,
        &[],
        &["use", "workspace", BETA_ID, "--host", &b.host()],
        b"",
    )
    .code(0)
    .stdout(&format!("✓ Switched to Beta ({BETA_ID})\n"));
    let after = t.read("hosts.yml").unwrap();
    let b_context = format!(
        "  {}:\n    scheme: http\n    current_account: tester@dify.ai\n",
        b.host()
    );
    let (a_part, b_part) = after.split_at(after.find(&b_context).unwrap());
    assert_eq!(a_part, &before[..before.find(&b_context).unwrap()]);
    assert!(
        b_part.contains(&format!(
            "        workspace:\n          id: {BETA_ID}\n          name: Beta\n          role: \
             normal\n"
        )),
        "{after}"
    );
    assert!(a.requests().is_empty());
}

// ---------------------------------------------------------------------------
// The workspace picker, on a pseudo-terminal
// ---------------------------------------------------------------------------

#[test]
fn use_workspace_picker_on_a_terminal() {
    let mock = MockDify::start();
    with_beta(&mock);
    let (t, _) = signed_in(&mock);
    let hosts = t.read("hosts.yml").unwrap();
    let Some((code, shown)) = on_a_terminal(&t, &["use", "workspace"], "2\n") else {
        return;
    };
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains(
            "? Select a workspace\n  1) * Acme Team  (owner)\n  2)   Beta       (normal)\nEnter a \
             number [1-2, Enter keeps 1]: "
        ),
        "{shown}"
    );
    assert!(
        shown.ends_with(&format!("✓ Switched to Beta ({BETA_ID})\n")),
        "{shown}"
    );
    assert_eq!(t.read("hosts.yml").unwrap(), switched_to_beta(&hosts));
    let methods: Vec<(String, String)> = mock
        .command_requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(
        methods,
        [
            (
                "GET".to_string(),
                "/openapi/v1/workspaces?page=1&limit=100".to_string()
            ),
            (
                "POST".to_string(),
                format!("/openapi/v1/workspaces/{BETA_ID}/switch")
            )
        ]
    );
}

#[test]
fn use_workspace_picker_with_no_workspaces() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    mock.configure(|c| c.workspaces.clear());
    let before = t.snapshot();
    let Some((code, shown)) = on_a_terminal(&t, &["use", "workspace"], "") else {
        return;
    };
    assert_eq!(
        (code, shown.as_str()),
        (4, "access_denied: no workspaces available to switch to\n")
    );
    assert_eq!(t.snapshot(), before);
}
