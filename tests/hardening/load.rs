//! Concurrency: twenty sign-ins to twenty hosts at once, with switches and
//! reads running all the while, lose nothing.

use std::collections::BTreeSet;
use std::fs;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::support::fixtures::{login_args, mock_code_lines, with_other_context};
use crate::support::mock::{MockConfig, MockDify};
use crate::support::runner::Test;

#[test]
fn twenty_parallel_sign_ins_with_switches_and_reads_lose_nothing() {
    let mocks: Vec<MockDify> = (0..20)
        .map(|i| {
            MockDify::with(
                MockConfig::default()
                    .auto_approve()
                    .email(&format!("u{i}@x.io")),
            )
        })
        .collect();
    let t = with_other_context(Test::new());
    let hosts_file = t.config_dir().join("hosts.yml");
    let done = AtomicBool::new(false);
    let reads = AtomicUsize::new(0);

    std::thread::scope(|s| {
        // While the sign-ins run: list, whoami and switch in a loop, and read
        // hosts.yml directly (no lock), which must parse every time.
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                let list = t.run_args(["auth", "list", "-o", "json"]).code(0).json();
                assert!(!list["contexts"].as_array().unwrap().is_empty());
                t.run_args(["auth", "whoami"]).code(0);
                reads.fetch_add(1, Ordering::SeqCst);
            }
        });
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                t.run_args(["use", "host", "--domain", "cloud.dify.ai"])
                    .code(0)
                    .stdout("✓ Active host is now cloud.dify.ai\n");
                reads.fetch_add(1, Ordering::SeqCst);
            }
        });
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                let text = fs::read_to_string(&hosts_file).unwrap();
                let doc: serde_yaml::Value = serde_yaml::from_str(&text)
                    .unwrap_or_else(|e| panic!("hosts.yml read mid-write: {e}\n{text}"));
                assert!(doc["hosts"]["cloud.dify.ai"].is_mapping(), "{text}");
                reads.fetch_add(1, Ordering::SeqCst);
            }
        });

        let children: Vec<_> = mocks
            .iter()
            .map(|m| {
                let mut cmd = t.command();
                cmd.args(login_args(m))
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                cmd.spawn().unwrap()
            })
            .collect();
        for (i, (child, mock)) in children.into_iter().zip(&mocks).enumerate() {
            t.outcome(child.wait_with_output().unwrap())
                .code(0)
                .stdout(&format!(
                    "✓ Logged in to {} as u{i}@x.io (Tester)\n  Workspace: Acme Team\n",
                    mock.host()
                ))
                .stderr(&mock_code_lines(mock));
        }
        done.store(true, Ordering::SeqCst);
    });
    assert!(reads.load(Ordering::SeqCst) >= 3);

    // Every context is there, with the token its server handed out.
    let got: BTreeSet<(String, String)> = t.contexts().into_iter().collect();
    let mut want: BTreeSet<(String, String)> = mocks
        .iter()
        .enumerate()
        .map(|(i, m)| (m.host(), format!("u{i}@x.io")))
        .collect();
    want.insert(("cloud.dify.ai".into(), "alice@example.com".into()));
    assert_eq!(got, want);
    let tokens: serde_yaml::Value = serde_yaml::from_str(&t.read("tokens.yml").unwrap()).unwrap();
    assert_eq!(
        tokens["tokens"]["cloud.dify.ai"]["alice@example.com"],
        "dfoa_alice"
    );
    for (i, m) in mocks.iter().enumerate() {
        let sessions = m.sessions();
        assert_eq!(sessions.len(), 1);
        assert_eq!(
            tokens["tokens"][m.host().as_str()][format!("u{i}@x.io").as_str()],
            sessions[0].token.as_str()
        );
        t.run_args(["auth", "token", "--host", &m.host()])
            .code(0)
            .stdout(&format!("{}\n", sessions[0].token));
    }
    assert_eq!(
        t.leftovers(),
        Vec::<String>::new(),
        "no lock or temp file left"
    );
}
