//! Ready-made states for tests of commands that need a signed-in context,
//! without running `auth login`.

use super::mock::{MockConfig, MockDify, SessionInfo};
use super::runner::Test;

/// The `hosts.yml` of one file-mode context on the mock's host for its
/// account, its `token_id` being `token_id` (omitted when `None`).
pub fn hosts_yml(mock: &MockDify, token_id: Option<&str>) -> String {
    let cfg = mock.config();
    let a = &cfg.account;
    let mut yaml = format!(
        "token_storage: file\ncurrent_host: {host}\nhosts:\n  {host}:\n    scheme: http\n    \
         current_account: {email}\n    accounts:\n      {email}:\n        account:\n          \
         id: {id}\n          email: {email}\n          name: {name}\n",
        host = mock.host(),
        email = a.email,
        id = a.id,
        name = a.name,
    );
    if let Some(w) = cfg.workspaces.first() {
        yaml.push_str(&format!(
            "        workspace:\n          id: {}\n          name: {}\n          role: {}\n",
            w.id, w.name, w.role
        ));
    }
    if let Some(id) = token_id {
        yaml.push_str(&format!("        token_id: {id}\n"));
    }
    yaml
}

/// The `tokens.yml` holding `token` for the mock's host and account.
pub fn tokens_yml(mock: &MockDify, token: &str) -> String {
    format!(
        "version: 1\ntokens:\n  {}:\n    {}: {token}\n",
        mock.host(),
        mock.config().account.email
    )
}

/// A config dir signed in to the mock as its account (file token store), with
/// a fresh server session labelled `label` as the context's session.
pub fn signed_in_as(mock: &MockDify, label: &str) -> (Test, SessionInfo) {
    let s = mock.add_session(label);
    let t = Test::new()
        .hosts(&hosts_yml(mock, Some(&s.id)))
        .tokens(&tokens_yml(mock, &s.token));
    (t, s)
}

/// [`signed_in_as`] with the label a login from this machine would use.
pub fn signed_in(mock: &MockDify) -> (Test, SessionInfo) {
    signed_in_as(mock, "difyctl on me")
}

/// A context on another (https) host, already signed in: what a test starts
/// from so that "nothing written" or "added next to it" means more than
/// "still empty".
pub const OTHER_HOSTS: &str = "token_storage: file
current_host: cloud.dify.ai
hosts:
  cloud.dify.ai:
    current_account: alice@example.com
    accounts:
      alice@example.com:
        account:
          id: acc-1
          email: alice@example.com
          name: Alice
        token_id: tok-1
";

/// The `tokens.yml` of [`OTHER_HOSTS`].
pub const OTHER_TOKENS: &str =
    "version: 1\ntokens:\n  cloud.dify.ai:\n    alice@example.com: dfoa_alice\n";

/// `t` with the context of [`OTHER_HOSTS`] in its config dir.
pub fn with_other_context(t: Test) -> Test {
    t.hosts(OTHER_HOSTS).tokens(OTHER_TOKENS)
}

/// [`OTHER_HOSTS`] with a second host (`two.example`, bob@x.io) to switch
/// to, `active` being the current host.
pub fn two_hosts(active: &str) -> String {
    format!(
        "{OTHER_HOSTS}  two.example:\n    current_account: bob@x.io\n    accounts:\n      bob@x.io:\n        \
         account:\n          id: b\n          email: bob@x.io\n          name: Bob\n"
    )
    .replace("current_host: cloud.dify.ai", &format!("current_host: {active}"))
}

/// `auth login --with-token` for `mock` (the token comes on stdin).
pub fn with_token_args(mock: &MockDify) -> Vec<String> {
    [
        "auth",
        "login",
        "--with-token",
        "--host",
        &mock.url(),
        "--insecure",
    ]
    .map(String::from)
    .to_vec()
}

/// `auth login` (device flow) for `mock`, no browser.
pub fn login_args(mock: &MockDify) -> Vec<String> {
    [
        "auth",
        "login",
        "--host",
        &mock.url(),
        "--insecure",
        "--no-browser",
    ]
    .map(String::from)
    .to_vec()
}

/// What a device-flow sign-in with `--no-browser` prints on stderr before
/// it waits, for `user_code` at `uri`.
pub fn code_lines(user_code: &str, uri: &str) -> String {
    format!("! Copy this one-time code: {user_code}\n  Open: {uri}\n{NO_BROWSER}")
}

/// The last line of [`code_lines`].
pub const NO_BROWSER: &str = "! --no-browser requested — open the URL above manually\n";

/// [`code_lines`] for the mock's newest code and its default verification URI.
pub fn mock_code_lines(mock: &MockDify) -> String {
    let (_, user_code) = mock.codes().pop().expect("a device code was issued");
    code_lines(&user_code, &format!("{}/device", mock.url()))
}

/// A mock that mints external-SSO (`dfoe_`) sessions for `sso@corp.test`
/// (issuer `https://idp.corp.test`), and a config dir signed in to it by the
/// device flow.
pub fn signed_in_sso() -> (MockDify, Test) {
    let mock = MockDify::with(
        MockConfig::default()
            .auto_approve()
            .sso("sso@corp.test", "https://idp.corp.test"),
    );
    let t = Test::new();
    t.run_args(login_args(&mock))
        .stderr(&mock_code_lines(&mock))
        .stdout_has("✓ Logged in to ");
    (mock, t)
}
