//! Running difyctl on a pseudo-terminal (util-linux `script`), for prompts
//! and pickers: stdin, stdout and stderr are all the terminal.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::runner::{BIN, Test, assert_no_crash};
use super::tools;

/// Marks the end of the terminal's output in the screen buffer.
const END: char = '\u{0}';

pub struct Pty {
    child: Child,
    screen: Arc<(Mutex<String>, Condvar)>,
}

/// `'…'` for sh.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `exec difyctl ARGS…` as a shell line.
pub fn command_line(args: &[&str]) -> String {
    let words: Vec<String> = std::iter::once(BIN)
        .chain(args.iter().copied())
        .map(quote)
        .collect();
    format!("exec {}", words.join(" "))
}

impl Pty {
    /// difyctl with `args` on a terminal. `None` (a skip) when `script` is
    /// missing, except under DIFYCTL_TEST_REQUIRE_TOOLS.
    pub fn start(t: &Test, args: &[&str]) -> Option<Pty> {
        Pty::shell(t, &command_line(args))
    }

    /// Any sh line on a terminal, in the test's environment and directory.
    pub fn shell(t: &Test, line: &str) -> Option<Pty> {
        Pty::shell_env(t, line, &[])
    }

    /// [`Pty::shell`] with extra environment variables.
    pub fn shell_env(t: &Test, line: &str, extra: &[(&str, &str)]) -> Option<Pty> {
        if !tools::available("script") {
            return None;
        }
        let envs: Vec<(OsString, OsString)> = t
            .command()
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
            .collect();
        let mut child = Command::new("script")
            .env_clear()
            .envs(envs)
            .envs(extra.iter().copied())
            .env("SHELL", "/bin/sh")
            .args(["-qec", line, "/dev/null"])
            .current_dir(t.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn script");
        let screen = Arc::new((Mutex::new(String::new()), Condvar::new()));
        let sink = Arc::clone(&screen);
        let mut out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // A character split between two reads waits for its end here.
            let mut pending: Vec<u8> = Vec::new();
            loop {
                let n = out.read(&mut buf).unwrap_or(0);
                let (text, cv) = &*sink;
                let mut text = text.lock().unwrap();
                if n == 0 {
                    text.push_str(&String::from_utf8_lossy(&pending));
                    text.push(END);
                    cv.notify_all();
                    return;
                }
                pending.extend_from_slice(&buf[..n]);
                let whole = match std::str::from_utf8(&pending) {
                    Ok(_) => pending.len(),
                    Err(e) if e.error_len().is_none() => e.valid_up_to(),
                    Err(_) => pending.len(),
                };
                text.push_str(&String::from_utf8_lossy(&pending[..whole]));
                pending.drain(..whole);
                cv.notify_all();
            }
        });
        Some(Pty { child, screen })
    }

    /// Blocks until the screen shows `needle` `n` times (panics after 30 s:
    /// a hang is a failure, and so is the program ending first).
    pub fn wait_for_nth(&self, needle: &str, n: usize) {
        let (text, cv) = &*self.screen;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut guard = text.lock().unwrap();
        while guard.matches(needle).count() < n {
            let now = Instant::now();
            assert!(
                now < deadline && !guard.ends_with(END),
                "the terminal never showed {needle:?} {n} time(s):\n{guard}"
            );
            guard = cv.wait_timeout(guard, deadline - now).unwrap().0;
        }
    }

    pub fn wait_for(&self, needle: &str) {
        self.wait_for_nth(needle, 1);
    }

    /// Waits until the screen shows `prefix`, then `end`, and returns what
    /// is between them (a pid a shell printed, say).
    pub fn wait_for_value(&self, prefix: &str, end: &str) -> String {
        let (text, cv) = &*self.screen;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut guard = text.lock().unwrap();
        loop {
            if let Some(value) = guard
                .split_once(prefix)
                .and_then(|(_, rest)| rest.split_once(end))
                .map(|(value, _)| value.to_string())
            {
                return value;
            }
            let now = Instant::now();
            assert!(
                now < deadline && !guard.ends_with(END),
                "the terminal never showed {prefix:?}…{end:?}:\n{guard}"
            );
            guard = cv.wait_timeout(guard, deadline - now).unwrap().0;
        }
    }

    pub fn type_in(&mut self, text: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for the end: the exit code and the whole screen as the terminal
    /// showed it (`\r\n` line ends).
    /// A program still running after 30 s is killed, and that is a failure.
    pub fn finish_raw(mut self) -> (Option<i32>, String) {
        let screen = {
            let (text, cv) = &*self.screen;
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut guard = text.lock().unwrap();
            while !guard.ends_with(END) {
                let now = Instant::now();
                if now >= deadline {
                    let _ = self.child.kill();
                    panic!("the program never ended:\n{guard}");
                }
                guard = cv.wait_timeout(guard, deadline - now).unwrap().0;
            }
            guard.trim_end_matches(END).to_string()
        };
        let status = self.child.wait().unwrap();
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(err, "", "script's own stderr");
        // `script -e` passes the exit status on: 101 is a panic there too.
        assert_no_crash(status, &screen);
        (status.code(), screen)
    }

    /// [`Pty::finish_raw`] with `\n` line ends and -1 for a signal death.
    pub fn finish(self) -> (i32, String) {
        let (code, screen) = self.finish_raw();
        (code.unwrap_or(-1), screen.replace("\r\n", "\n"))
    }
}

/// A test that failed half-way leaves no program waiting for keys.
impl Drop for Pty {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// difyctl with `args` on a colourless terminal, `input` typed at once.
/// `None` when `script` is missing (a skip, except under
/// DIFYCTL_TEST_REQUIRE_TOOLS).
pub fn on_a_terminal(t: &Test, args: &[&str], input: &str) -> Option<(i32, String)> {
    let mut pty = Pty::shell_env(t, &command_line(args), &[("NO_COLOR", "1")])?;
    pty.type_in(input);
    Some(pty.finish())
}

/// `stty -a` output on `screen` says echo is on (a hidden prompt, however it
/// ended, gave the terminal back as it found it).
#[track_caller]
pub fn assert_echo_on(screen: &str) {
    let flags: Vec<&str> = screen
        .split(|c: char| c.is_whitespace() || c == ';')
        .collect();
    assert!(
        flags.contains(&"echo") && !flags.contains(&"-echo"),
        "echo is off after the prompt:\n{screen}"
    );
}
