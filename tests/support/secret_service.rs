//! A private Secret Service for tests: a `dbus-daemon` of our own on a socket in
//! a temp dir and, when asked, `gnome-keyring-daemon` serving
//! `org.freedesktop.secrets` on it, with its keyrings under the same temp dir.
//!
//! The bus has no service activation (its own config file, no `<servicedir>`),
//! so nothing starts behind a test's back: a bus without gnome-keyring really
//! has no Secret Service, and an unlock prompt fails at once for want of a
//! prompter instead of starting one. Nothing here touches the test process's
//! environment: [`SecretBus::command`] sets `DBUS_SESSION_BUS_ADDRESS` on the
//! child it builds.
//!
//! ```ignore
//! let Some(bus) = SecretBus::start(Kind::Unlocked) else { return };  // printed why
//! bus.secret_tool(&["lookup", "service", "difyctl", "username", "tokens.h.e"], None);
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::runner::TempDir;
use super::tools;

/// The password of the test's `login` keyring.
pub const PASSWORD: &str = "test-keyring-password";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// gnome-keyring with an unlocked `login` collection (the default one).
    Unlocked,
    /// A session bus where nobody owns `org.freedesktop.secrets`.
    BusOnly,
}

pub struct SecretBus {
    dir: TempDir,
    pub address: String,
    dbus: Child,
    keyring: Option<Child>,
}

impl SecretBus {
    /// Starts the bus (and gnome-keyring for [`Kind::Unlocked`]), waiting until
    /// the Secret Service owns its name. `None`, after saying why on stderr,
    /// when a program it needs is not installed.
    pub fn start(kind: Kind) -> Option<SecretBus> {
        let mut needed = vec!["dbus-daemon", "dbus-send"];
        if kind == Kind::Unlocked {
            needed.extend(["gnome-keyring-daemon", "secret-tool"]);
        }
        if let Some(program) = needed.iter().find(|p| !tools::on_path(p)) {
            tools::missing(program, " (see the README's test tools)");
            return None;
        }
        let dir = TempDir::new();
        let config = dir.path().join("bus.conf");
        std::fs::write(&config, bus_config(&dir.path().join("bus"))).expect("write bus.conf");
        let mut dbus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        // The daemon prints its address once it listens.
        let mut address = String::new();
        BufReader::new(dbus.stdout.take().unwrap())
            .read_line(&mut address)
            .expect("read the bus address");
        let address = address.trim().to_string();
        assert!(
            address.starts_with("unix:"),
            "dbus-daemon printed no address: {address:?}"
        );
        let mut bus = SecretBus {
            dir,
            address,
            dbus,
            keyring: None,
        };
        if kind == Kind::Unlocked {
            bus.start_keyring();
        }
        Some(bus)
    }

    fn start_keyring(&mut self) {
        let home = self.dir.path().join("home");
        let runtime = self.dir.path().join("run");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&runtime).unwrap();
        // `--unlock` reads the login password from stdin (to EOF) and creates
        // the `login` collection with it, unlocked: the default collection.
        let mut child = self
            .command("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(PASSWORD.as_bytes()).unwrap();
        drop(stdin);
        self.keyring = Some(child);
        // Wait (bounded) for its name: a call before would find no service.
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.name_has_owner("org.freedesktop.secrets") {
            if let Some(status) = self.keyring.as_mut().unwrap().try_wait().unwrap() {
                panic!("gnome-keyring-daemon exited early: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "gnome-keyring-daemon did not take org.freedesktop.secrets within 15 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A command whose child talks to this bus (and only the child).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &self.address);
        cmd
    }

    /// The environment a child needs to use this bus, e.g. for `Test::env`.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![("DBUS_SESSION_BUS_ADDRESS", self.address.clone())]
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn name_has_owner(&self, name: &str) -> bool {
        let out = self
            .dbus_send(&[
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                &format!("string:{name}"),
            ])
            .stdout;
        String::from_utf8_lossy(&out).contains("boolean true")
    }

    /// `dbus-send --print-reply ARGS` on this bus.
    pub fn dbus_send(&self, args: &[&str]) -> Output {
        self.command("dbus-send")
            .arg("--print-reply")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run dbus-send")
    }

    /// `secret-tool ARGS` on this bus, with `stdin` as its input.
    pub fn secret_tool(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = self
            .command("secret-tool")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run secret-tool");
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// Plants an item the way the official difyctl writes it: exactly the
    /// attributes `service` and `username`, label `keyring:<user>@<service>`.
    pub fn plant(&self, service: &str, user: &str, secret: &str) {
        let label = format!("--label=keyring:{user}@{service}");
        let out = self.secret_tool(
            &["store", &label, "service", service, "username", user],
            Some(secret),
        );
        assert!(out.status.success(), "secret-tool store: {out:?}");
    }

    /// The secret of the item with these two attributes, as `secret-tool lookup`
    /// finds it; `None` when there is none.
    pub fn lookup(&self, service: &str, user: &str) -> Option<String> {
        let out = self.secret_tool(&["lookup", "service", service, "username", user], None);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The items whose `service` and `username` are these (any others too),
    /// read over D-Bus as they are stored: their paths, labels and attributes.
    pub fn items(&self, service: &str, user: &str) -> Vec<Item> {
        let out = self.dbus_send(&[
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.SearchItems",
            &format!("dict:string:string:service,{service},username,{user}"),
        ]);
        assert!(out.status.success(), "SearchItems: {out:?}");
        let paths = quoted(&String::from_utf8_lossy(&out.stdout), "object path \"");
        paths
            .into_iter()
            .map(|path| {
                let get = |property: &str| {
                    let out = self.dbus_send(&[
                        "--dest=org.freedesktop.secrets",
                        &path,
                        "org.freedesktop.DBus.Properties.Get",
                        "string:org.freedesktop.Secret.Item",
                        &format!("string:{property}"),
                    ]);
                    assert!(out.status.success(), "Get {property}: {out:?}");
                    quoted(&String::from_utf8_lossy(&out.stdout), "string \"")
                };
                let strings = get("Attributes");
                let attributes = strings
                    .chunks(2)
                    .map(|kv| (kv[0].clone(), kv.get(1).cloned().unwrap_or_default()))
                    .collect();
                let label = get("Label").into_iter().next().unwrap_or_default();
                Item {
                    path,
                    label,
                    attributes,
                }
            })
            .collect()
    }

    /// Locks the `login` collection (gnome-keyring does it without a prompt).
    pub fn lock(&self) {
        let out = self.dbus_send(&[
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ]);
        let reply = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && reply.contains("/org/freedesktop/secrets/collection/login"),
            "lock failed: {out:?}"
        );
    }
}

impl Drop for SecretBus {
    fn drop(&mut self) {
        for child in self.keyring.iter_mut().chain([&mut self.dbus]) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One Secret Service item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub path: String,
    pub label: String,
    pub attributes: BTreeMap<String, String>,
}

/// The values of the `<prefix>value"` lines of `dbus-send --print-reply` output
/// (dbus-send prints strings unescaped between the quotes).
fn quoted(reply: &str, prefix: &str) -> Vec<String> {
    reply
        .lines()
        .filter_map(|line| {
            let rest = &line[line.find(prefix)? + prefix.len()..];
            Some(rest.strip_suffix('"').unwrap_or(rest).to_string())
        })
        .collect()
}

/// A session bus listening on `socket`, with no service activation.
fn bus_config(socket: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        socket.display()
    )
}

/// A path under `dir` where no bus listens.
pub fn no_bus_address(dir: &Path) -> String {
    format!("unix:path={}", dir.join("no-bus-here").display())
}
