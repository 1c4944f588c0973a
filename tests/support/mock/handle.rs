//! [`MockDify`]: the running server a test starts, drives and inspects.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::config::MockConfig;
use super::http::accept_loop;
use super::state::{CodeStatus, FailRule, Owner, Session, Shared, State};
use super::util::now_unix;
use super::views::{ConsoleSessionInfo, Poll, Recorded, SessionInfo};
use super::{ACCOUNT_ISSUER, CLIENT_ID, WAIT_TIMEOUT};

/// A running mock server; stops when dropped.
pub struct MockDify {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl MockDify {
    /// Start with [`MockConfig::default`].
    pub fn start() -> MockDify {
        MockDify::with(MockConfig::default())
    }

    /// Start with `config` on `127.0.0.1:0`.
    pub fn with(config: MockConfig) -> MockDify {
        MockDify::bind(config, 0).expect("mock: cannot bind 127.0.0.1")
    }

    /// Start with `config` on `127.0.0.1:port` (0 = any free port).
    pub fn bind(config: MockConfig, port: u16) -> io::Result<MockDify> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let seed = {
            let mut h = RandomState::new().build_hasher();
            h.write_u16(addr.port());
            h.finish()
        };
        let state = State {
            cfg: config,
            base_url: format!("http://{addr}"),
            rng: seed,
            codes: Vec::new(),
            sessions: Vec::new(),
            by_token: HashMap::new(),
            by_id: HashMap::new(),
            last_created: 0,
            revoked: Vec::new(),
            requests: Vec::new(),
            polls: Vec::new(),
            fail_rules: Vec::new(),
            holds: Vec::new(),
            revoke_deletes: 0,
            rate: HashMap::new(),
            approve_attempts: 0,
            console: Vec::new(),
            email_code_tokens: HashMap::new(),
            shutdown: false,
            conns: HashMap::new(),
            next_conn: 0,
            guard_passes: 0,
            catalog_bump_after_answer: false,
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            cv: Condvar::new(),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("dify-mock-accept".into())
                .spawn(move || accept_loop(shared, listener))?
        };
        Ok(MockDify {
            shared,
            addr,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:PORT` (the bare host).
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Change the configuration (any switch) while running.
    pub fn configure(&self, f: impl FnOnce(&mut MockConfig)) {
        let mut st = self.shared.lock();
        f(&mut st.cfg);
        if st.cfg.fail_revoke_after.is_none() {
            st.revoke_deletes = 0;
        }
        drop(st);
        self.shared.cv.notify_all();
    }

    /// A copy of the current configuration.
    pub fn config(&self) -> MockConfig {
        self.shared.lock().cfg.clone()
    }

    // --- device flow -----------------------------------------------------------------

    /// Approve a pending code as the configured account (or SSO subject); returns the
    /// minted session. Panics when the code is unknown, expired or already resolved.
    pub fn approve(&self, user_code: &str) -> SessionInfo {
        self.try_approve(user_code)
            .unwrap_or_else(|e| panic!("mock: cannot approve {user_code:?}: {e}"))
    }

    /// [`MockDify::approve`] without the panic.
    pub fn try_approve(&self, user_code: &str) -> Result<SessionInfo, String> {
        let mut st = self.shared.lock();
        let idx = st.pending_code(user_code)?;
        let sid = st.approve_code(idx)?;
        let info = st.sessions[sid].info();
        drop(st);
        self.shared.cv.notify_all();
        Ok(info)
    }

    /// Deny a pending code. Panics when the code is unknown, expired or resolved.
    pub fn deny(&self, user_code: &str) {
        let mut st = self.shared.lock();
        let idx = st
            .pending_code(user_code)
            .unwrap_or_else(|e| panic!("mock: cannot deny {user_code:?}: {e}"));
        st.codes[idx].status = CodeStatus::Denied;
        drop(st);
        self.shared.cv.notify_all();
    }

    /// Block until a device code has been issued; returns the newest user code. For a
    /// second sign-in in the same test use [`MockDify::wait_for_codes`]`(2)`.
    pub fn wait_for_code(&self) -> String {
        self.wait_for_codes(1).pop().expect("one code")
    }

    /// Block until `n` device codes have been issued; returns all user codes in order.
    pub fn wait_for_codes(&self, n: usize) -> Vec<String> {
        self.wait_until(&format!("{n} device code(s)"), |st| {
            (st.codes.len() >= n).then(|| st.codes.iter().map(|c| c.user_code.clone()).collect())
        })
    }

    /// Block until the token endpoint has been polled `n` times in total.
    pub fn wait_for_polls(&self, n: usize) {
        self.wait_until(&format!("{n} token poll(s)"), |st| {
            (st.polls.len() >= n).then_some(())
        })
    }

    /// Every token poll so far, in order.
    pub fn polls(&self) -> Vec<Poll> {
        self.shared.lock().polls.clone()
    }

    /// `device_label` of every issued device code, in order.
    pub fn device_labels(&self) -> Vec<String> {
        let st = self.shared.lock();
        st.codes.iter().map(|c| c.device_label.clone()).collect()
    }

    /// Device codes issued so far: `(device_code, user_code)`.
    pub fn codes(&self) -> Vec<(String, String)> {
        let st = self.shared.lock();
        st.codes
            .iter()
            .map(|c| (c.device_code.clone(), c.user_code.clone()))
            .collect()
    }

    // --- sessions --------------------------------------------------------------------

    /// Seed a live session for the configured account (client `difyctl`). A session with
    /// the same label is *not* rotated out (colliding labels are allowed).
    pub fn add_session(&self, label: &str) -> SessionInfo {
        let mut st = self.shared.lock();
        let owner = st.account_owner();
        let idx = st.mint(owner, CLIENT_ID, label, false);
        st.sessions[idx].info()
    }

    /// Seed a live session that belongs to another account (`other@dify.ai`): the caller
    /// cannot see or revoke it.
    pub fn add_foreign_session(&self, label: &str) -> SessionInfo {
        let mut st = self.shared.lock();
        let owner = Owner {
            sso: false,
            email: "other@dify.ai".into(),
            issuer: ACCOUNT_ISSUER.into(),
        };
        let idx = st.mint(owner, CLIENT_ID, label, false);
        st.sessions[idx].info()
    }

    /// Live sessions (not revoked, not expired), oldest first.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let st = self.shared.lock();
        let now = now_unix();
        st.sessions
            .iter()
            .filter(|s| s.live(now))
            .map(Session::info)
            .collect()
    }

    /// The session of a token, live or not.
    pub fn session_for_token(&self, token: &str) -> Option<SessionInfo> {
        let st = self.shared.lock();
        st.by_token.get(token).map(|&i| st.sessions[i].info())
    }

    /// Ids of revoked sessions in revocation order (API revokes, label rotation and
    /// [`MockDify::revoke_session`]).
    pub fn revoked_ids(&self) -> Vec<String> {
        self.shared.lock().revoked.clone()
    }

    /// Revoke a session server-side (as if from another device).
    pub fn revoke_session(&self, id: &str) {
        let mut st = self.shared.lock();
        let idx = *st.by_id.get(id).expect("mock: unknown session id");
        st.revoke(idx);
    }

    /// Make a session expired (its `expires_at` moves into the past).
    pub fn expire_session(&self, id: &str) {
        let mut st = self.shared.lock();
        let idx = *st.by_id.get(id).expect("mock: unknown session id");
        st.sessions[idx].expires_at = now_unix() - 1;
    }

    /// Block until at least `n` sessions have been revoked.
    pub fn wait_for_revoked(&self, n: usize) -> Vec<String> {
        self.wait_until(&format!("{n} revoked session(s)"), |st| {
            (st.revoked.len() >= n).then(|| st.revoked.clone())
        })
    }

    // --- console ---------------------------------------------------------------------

    /// Console sessions created by the console sign-in endpoints.
    pub fn console_sessions(&self) -> Vec<ConsoleSessionInfo> {
        let st = self.shared.lock();
        st.console
            .iter()
            .map(|c| ConsoleSessionInfo {
                email: c.email.clone(),
                access_token: c.access.clone(),
                csrf_token: c.csrf.clone(),
                logged_out: c.logged_out,
            })
            .collect()
    }

    // --- failures --------------------------------------------------------------------

    /// The next `n` requests whose path (with `/openapi/v1`, without query) starts with
    /// `path_prefix` answer `status` (an ErrorBody) before anything else happens.
    pub fn fail_next(&self, path_prefix: &str, n: usize, status: u16) {
        let mut st = self.shared.lock();
        st.fail_rules.push(FailRule {
            prefix: path_prefix.into(),
            remaining: n,
            status,
            retry_after: None,
        });
    }

    /// The next `n` requests to `path_prefix` answer 429 `too_many_requests`,
    /// with `Retry-After: <secs>` when given (the per-token limit's answer).
    pub fn rate_limit_next(&self, path_prefix: &str, n: usize, retry_after: Option<u64>) {
        let mut st = self.shared.lock();
        st.fail_rules.push(FailRule {
            prefix: path_prefix.into(),
            remaining: n,
            status: 429,
            retry_after,
        });
    }

    /// Requests to `path_prefix` are recorded but not answered until
    /// [`MockDify::release`]: a slow server, for tests of what happens meanwhile.
    pub fn hold(&self, path_prefix: &str) {
        self.shared.lock().holds.push(path_prefix.into());
    }

    /// Answers the requests [`MockDify::hold`] kept waiting, and the next ones.
    pub fn release(&self, path_prefix: &str) {
        self.shared.lock().holds.retain(|p| p != path_prefix);
        self.shared.cv.notify_all();
    }

    /// From now on, `DELETE /account/sessions/<id>` succeeds `n` times and then answers
    /// 500 every time (a revoke that fails half way).
    pub fn fail_revoke_after(&self, n: usize) {
        let mut st = self.shared.lock();
        st.cfg.fail_revoke_after = Some(n);
        st.revoke_deletes = 0;
    }

    // --- requests --------------------------------------------------------------------

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// Every request but the catalog handshake's `GET /openapi/v1/_catalog`: what
    /// commands sent for their own purpose (tests of the handshake look at
    /// [`MockDify::requests`]).
    pub fn command_requests(&self) -> Vec<Recorded> {
        let st = self.shared.lock();
        st.requests
            .iter()
            .filter(|r| !(r.method == "GET" && r.path_only() == "/openapi/v1/_catalog"))
            .cloned()
            .collect()
    }

    /// How many requests arrived so far.
    pub fn request_count(&self) -> usize {
        self.shared.lock().requests.len()
    }

    /// Every request received since the last call (or the start), and forget them:
    /// for counting what one command sent.
    pub fn take_requests(&self) -> Vec<Recorded> {
        std::mem::take(&mut self.shared.lock().requests)
    }

    // --- catalog ---------------------------------------------------------------------

    /// Change the catalog now (a deploy): its fingerprint changes, so a client that
    /// sends the old one meets a 412.
    pub fn change_catalog(&self) {
        self.shared.lock().cfg.catalog_revision += 1;
    }

    /// The catalog changes by itself after `n` more requests pass its guard; see
    /// [`CatalogChange`](super::config::CatalogChange) for `announced`.
    pub fn change_catalog_after(&self, n: usize, announced: bool) {
        let mut st = self.shared.lock();
        let after = st.guard_passes + n;
        st.cfg.catalog_change = Some(super::config::CatalogChange { after, announced });
    }

    /// The current catalog fingerprint (what a catalog server requires).
    pub fn catalog_fingerprint(&self) -> String {
        self.shared.lock().catalog_fingerprint()
    }

    /// Requests whose path (without query) equals `path`, e.g. `/openapi/v1/account`.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        let st = self.shared.lock();
        st.requests
            .iter()
            .filter(|r| r.path_only() == path)
            .cloned()
            .collect()
    }

    /// Block until `n` requests have arrived.
    pub fn wait_for_requests(&self, n: usize) -> Vec<Recorded> {
        self.wait_until(&format!("{n} request(s)"), |st| {
            (st.requests.len() >= n).then(|| st.requests.clone())
        })
    }

    /// Block until a request with this method and a path starting with `path_prefix`
    /// has arrived; returns the first such request.
    pub fn wait_for_request(&self, method: &str, path_prefix: &str) -> Recorded {
        self.wait_until(&format!("{method} {path_prefix}"), |st| {
            st.requests
                .iter()
                .find(|r| r.method == method && r.path.starts_with(path_prefix))
                .cloned()
        })
    }

    fn wait_until<T>(&self, what: &str, mut f: impl FnMut(&State) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        let mut st = self.shared.lock();
        loop {
            if let Some(v) = f(&st) {
                return v;
            }
            let now = Instant::now();
            if now >= deadline {
                drop(st);
                panic!("mock: timed out after 30 s waiting for {what}");
            }
            st = self
                .shared
                .cv
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Drop for MockDify {
    fn drop(&mut self) {
        {
            let mut st = self.shared.lock();
            st.shutdown = true;
            for (_, c) in st.conns.drain() {
                let _ = c.shutdown(Shutdown::Both);
            }
        }
        self.shared.cv.notify_all();
        // Unblock accept() with a connection of our own.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)).is_ok();
        if let Some(handle) = self.accept.take()
            && woke
        {
            let _ = handle.join();
        }
    }
}
