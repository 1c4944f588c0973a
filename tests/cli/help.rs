//! Help: no arguments, `-h`/`--help` anywhere, `difyctl help TOPIC`.

use crate::support::runner::Test;

#[test]
fn no_arguments_prints_help() {
    Test::new()
        .run()
        .code(0)
        .stderr("")
        .stdout_has("COMMANDS\n  auth ");
}

#[test]
fn help_flag_anywhere_and_help_command() {
    let t = Test::new();
    let a = t.run_args(["auth", "login", "--help"]).code(0).stderr("");
    let b = t.run_args(["help", "auth", "login"]).code(0);
    assert_eq!(a.stdout, b.stdout);
    assert!(
        a.stdout
            .starts_with("Sign in to Dify via OAuth device flow\n")
    );
    t.run_args(["auth", "devices"])
        .code(0)
        .stdout_has("  revoke  Revoke one or all session devices\n");
}

#[test]
fn unknown_help_topic_exits_1() {
    Test::new()
        .args(["help", "auth", "lgin"])
        .run()
        .code(1)
        .stdout("")
        .stderr("unknown help topic: auth lgin\n\nDid you mean:\n  auth login\n");
}

/// Every help text of the table (commands, groups, the top level, the
/// guides), at COLUMNS=80.
fn every_help(t: &Test) -> Vec<(String, String)> {
    let mut paths: Vec<Vec<&str>> = difyctl::cli::spec::walk()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let topics: Vec<&str> = difyctl::cli::topics::TOPICS
        .iter()
        .map(|t| t.name)
        .collect();
    paths.extend(topics.iter().map(|name| vec![*name]));
    paths
        .into_iter()
        .map(|path| {
            let mut args = vec!["help"];
            args.extend(&path);
            let out = t.run_args(&args).stderr("").into_stdout();
            (path.join(" "), out)
        })
        .collect()
}

#[test]
fn help_fits_80_columns_without_splitting_words() {
    let t = Test::new().env("COLUMNS", "80");
    for (path, help) in every_help(&t) {
        for line in help.lines() {
            assert!(
                line.chars().count() <= 80,
                "'help {path}': {} columns: {line}",
                line.chars().count()
            );
        }
        // Every word of the table's texts is whole in the help: a word
        // broken across lines would be missing.
        let words: std::collections::BTreeSet<&str> = help.split_whitespace().collect();
        let node = difyctl::cli::spec::find(&path.split(' ').collect::<Vec<_>>());
        let texts = node.into_iter().flat_map(|n| {
            std::iter::once(n.summary)
                .chain(std::iter::once(n.about))
                .chain(n.accepted_flags().map(|f| f.help))
        });
        for text in texts {
            for word in text.split_whitespace() {
                assert!(
                    words.contains(word),
                    "'help {path}' splits {word:?}:\n{help}"
                );
            }
        }
        let man = if path.is_empty() || !path.contains(' ') && node.is_none() {
            "difyctl".to_string()
        } else {
            difyctl::cli::spec::man_page(&path.split(' ').collect::<Vec<_>>()).to_string()
        };
        let last = help.lines().last().unwrap_or_default();
        assert!(
            last.starts_with(&format!("See 'man {man}'")),
            "'help {path}' ends with {last:?}"
        );
    }
    // A narrow terminal narrows it too; 40 columns at the least.
    let narrow = Test::new().env("COLUMNS", "50");
    let help = narrow.run_args(["auth", "login", "--help"]).into_stdout();
    assert!(help.lines().all(|l| l.chars().count() <= 50), "{help}");
}

#[test]
fn the_top_level_lists_every_command_with_global_flags_and_guides() {
    let help = Test::new()
        .env("COLUMNS", "80")
        .run_args(["--help"])
        .into_stdout();
    for (path, node) in difyctl::cli::spec::leaves() {
        let line = format!("\n  {} ", path.join(" "));
        assert!(help.contains(&line), "{line:?} missing:\n{help}");
        assert!(help.contains(node.summary.split(' ').next().unwrap()));
    }
    for section in [
        "USAGE\n",
        "COMMANDS\n",
        "EXAMPLES\n  $ difyctl ",
        "GLOBAL FLAGS\n",
        "GUIDES\n",
    ] {
        assert!(help.contains(section), "{section:?} missing:\n{help}");
    }
    for guide in ["agent", "environment", "exit-codes"] {
        assert!(help.contains(&format!("\n  {guide} ")), "{guide}:\n{help}");
    }
    assert!(
        help.ends_with("See 'man difyctl' for the details.\n"),
        "{help}"
    );
}

#[test]
fn guides_say_what_the_manual_says() {
    let t = Test::new().env("COLUMNS", "80");
    let env = t.run_args(["help", "environment"]).into_stdout();
    let listed = t.run_args(["env", "list", "-o", "name"]).into_stdout();
    for name in listed
        .lines()
        .chain(["NO_COLOR", "SSL_CERT_FILE", "HTTPS_PROXY"])
    {
        assert!(
            env.contains(&format!("\n  {name}")),
            "{name} missing:\n{env}"
        );
    }
    let codes = t.run_args(["help", "exit-codes"]).into_stdout();
    for line in [
        "\n  2    A usage error",
        "\n  4    Sign in again",
        "\n  130  Interrupted",
    ] {
        assert!(codes.contains(line), "{line:?}:\n{codes}");
    }
    assert!(codes.contains("not_logged_in") && codes.contains("rate_limited"));
    let agent = t.run_args(["help", "agent"]).into_stdout();
    for needle in [
        "DIFY_TOKEN",
        "--with-token",
        "-o json",
        "--json",
        "exit-codes",
        "auth status",
    ] {
        assert!(agent.contains(needle), "{needle} missing:\n{agent}");
    }
    // A guide is a help topic: `--help` and suggestions know them.
    assert_eq!(t.run_args(["--help", "agent"]).into_stdout(), agent);
    t.run_args(["help", "exit-code"])
        .code(1)
        .stdout("")
        .stderr("unknown help topic: exit-code\n\nDid you mean:\n  exit-codes\n");
}

#[test]
fn help_as_json_is_the_command_table() {
    let t = Test::new();
    let out = t.run_args(["--help", "-o", "json"]);
    let json = out.json();
    assert_eq!(json["bin"], "difyctl");
    let commands = json["commands"].as_array().unwrap();
    assert_eq!(commands.len(), difyctl::cli::spec::leaves().len());
    let revoke = commands
        .iter()
        .find(|c| c["command"] == "auth devices revoke")
        .unwrap();
    assert_eq!(revoke["effect"], "destructive");
    assert_eq!(revoke["args"][0]["name"], "target");
    let yes = revoke["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "yes")
        .unwrap();
    assert_eq!(
        yes,
        &serde_json::json!({
            "name": "yes", "char": "y", "type": "boolean", "default": null,
            "multiple": false, "options": null, "description": "skip the confirmation prompt",
        })
    );
    let list = commands
        .iter()
        .find(|c| c["command"] == "auth list")
        .unwrap();
    assert_eq!(
        list["flags"][0]["options"],
        serde_json::json!(["json", "yaml", "name"])
    );
    assert_eq!(json["topics"][0]["name"], "agent");
    assert_eq!(
        json["contract"]["exitCodes"]["4"]
            .as_str()
            .map(|s| s.contains("not_logged_in")),
        Some(true)
    );
    // One command, a group, YAML, and the help command: the same table.
    let login = t.run_args(["auth", "login", "--help", "--json"]).json();
    assert_eq!(login["command"], "auth login");
    assert_eq!(
        t.run_args(["help", "auth", "login", "-o", "json"]).json(),
        login
    );
    let group = t.run_args(["auth", "devices", "-h", "-o", "json"]).json();
    assert_eq!(group["commands"].as_array().unwrap().len(), 2);
    let yaml = t.run_args(["--help", "-o", "yaml"]).into_stdout();
    let from_yaml: serde_json::Value = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!(from_yaml, json);
}
