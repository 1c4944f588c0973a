//! The roots of trust for TLS, in the order a user expects: the PEM file of
//! `SSL_CERT_FILE`, the PEM files in the directories of `SSL_CERT_DIR`, then
//! the system's CA bundle where the distribution keeps it, and Mozilla's
//! roots built into difyctl when the machine has no bundle (an empty
//! container). The variables add to the system's roots, as they always added
//! to difyctl's. Verification is never turned off.
//!
//! ureq parses the certificates into trust anchors once per client, on its
//! first TLS connection.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use super::net::NetEnv;
use crate::error::{CliError, Result};

/// The CA bundles of the distributions, relative to the system root, in the
/// order they are tried: Debian, Ubuntu, Arch and Gentoo; Fedora and RHEL;
/// RHEL 7+ (the extracted trust store); openSUSE; Alpine and the BSDs;
/// FreeBSD's ports.
pub const SYSTEM_BUNDLES: &[&str] = &[
    "etc/ssl/certs/ca-certificates.crt",
    "etc/pki/tls/certs/ca-bundle.crt",
    "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "etc/ssl/ca-bundle.pem",
    "etc/ssl/cert.pem",
    "usr/local/share/certs/ca-root-nss.crt",
];

/// The TLS settings, and the roots consulted in words (for the error about
/// an untrusted certificate).
pub fn tls_config(env: &NetEnv) -> Result<(TlsConfig, String)> {
    let mut roots: Vec<Certificate<'static>> = Vec::new();
    let mut consulted: Vec<String> = Vec::new();
    if let Some(path) = env.ssl_cert_file() {
        roots.extend(read_file(path, "SSL_CERT_FILE")?);
        consulted.push(format!("SSL_CERT_FILE {}", path.display()));
    }
    for dir in env.ssl_cert_dirs() {
        roots.extend(read_dir(dir)?);
        consulted.push(format!("SSL_CERT_DIR {}", dir.display()));
    }
    match system_bundle(&env.system_root) {
        Some((path, certs)) => {
            roots.extend(certs);
            consulted.push(path.display().to_string());
        }
        None => {
            roots.extend(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS
                    .iter()
                    .map(|c| Certificate::from_der(c.as_ref())),
            );
            consulted.push("difyctl's built-in Mozilla roots (no system CA bundle found)".into());
        }
    }
    let config = TlsConfig::builder()
        .root_certs(RootCerts::Specific(Arc::new(roots)))
        .build();
    Ok((config, consulted.join(", ")))
}

/// The first distribution bundle under `root` that holds certificates.
fn system_bundle(root: &Path) -> Option<(PathBuf, Vec<Certificate<'static>>)> {
    SYSTEM_BUNDLES.iter().find_map(|rel| {
        let path = root.join(rel);
        let certs = pem_certs(&std::fs::read(&path).ok()?).ok()?;
        (!certs.is_empty()).then_some((path, certs))
    })
}

/// Every certificate of a PEM bundle; an error for the first bad block.
fn pem_certs(bytes: &[u8]) -> std::result::Result<Vec<Certificate<'static>>, String> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(bytes) {
        match item {
            Ok(PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(certs)
}

/// `SSL_CERT_FILE`: readable, valid PEM, at least one certificate, or an
/// error (exit 1) naming it.
fn read_file(path: &Path, var: &str) -> Result<Vec<Certificate<'static>>> {
    let shown = path.display();
    let hint = format!("point {var} at a readable PEM file of CA certificates, or unset it");
    let bytes = std::fs::read(path).map_err(|e| {
        CliError::client(format!("cannot read {var} {shown}: {e}")).with_hint(hint.clone())
    })?;
    let certs = pem_certs(&bytes).map_err(|e| {
        CliError::client(format!("invalid PEM in {var} {shown}: {e}")).with_hint(hint.clone())
    })?;
    if certs.is_empty() {
        return Err(
            CliError::client(format!("no certificates found in {var} {shown}")).with_hint(hint),
        );
    }
    Ok(certs)
}

/// `SSL_CERT_DIR`: the certificates of every PEM file in the directory
/// (OpenSSL's hashed links included); other files are skipped. A directory
/// that cannot be read, or holds no certificate, is an error naming it.
fn read_dir(dir: &Path) -> Result<Vec<Certificate<'static>>> {
    let shown = dir.display();
    let hint = "point SSL_CERT_DIR at a directory of PEM CA certificates, or unset it";
    let entries = std::fs::read_dir(dir).map_err(|e| {
        CliError::client(format!("cannot read SSL_CERT_DIR {shown}: {e}")).with_hint(hint)
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    let certs: Vec<Certificate<'static>> = paths
        .iter()
        .filter_map(|p| pem_certs(&std::fs::read(p).ok()?).ok())
        .flatten()
        .collect();
    if certs.is_empty() {
        return Err(
            CliError::client(format!("no certificates found in SSL_CERT_DIR {shown}"))
                .with_hint(hint),
        );
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::state::testutil::TempDir;

    const TEST_CA_PEM: &str = include_str!("testdata/test-ca.pem");

    fn count(config: &TlsConfig) -> usize {
        match config.root_certs() {
            RootCerts::Specific(certs) => certs.len(),
            other => panic!("expected specific roots, got {other:?}"),
        }
    }

    fn empty_root() -> (TempDir, NetEnv) {
        let tmp = TempDir::new();
        let env = NetEnv::default().with_system_root(tmp.path());
        (tmp, env)
    }

    #[test]
    fn without_a_system_bundle_the_built_in_roots() {
        let (_tmp, env) = empty_root();
        let (config, consulted) = tls_config(&env).unwrap();
        assert_eq!(
            count(&config),
            webpki_root_certs::TLS_SERVER_ROOT_CERTS.len()
        );
        assert_eq!(
            consulted,
            "difyctl's built-in Mozilla roots (no system CA bundle found)"
        );
        assert!(!config.disable_verification());
    }

    #[test]
    fn the_first_distribution_bundle_with_certificates() {
        let (tmp, env) = empty_root();
        // Debian's path is empty, RHEL 7's holds the CA: that one is used.
        let debian = tmp.path().join(SYSTEM_BUNDLES[0]);
        std::fs::create_dir_all(debian.parent().unwrap()).unwrap();
        std::fs::write(&debian, "").unwrap();
        let rhel = tmp.path().join(SYSTEM_BUNDLES[2]);
        std::fs::create_dir_all(rhel.parent().unwrap()).unwrap();
        std::fs::write(&rhel, TEST_CA_PEM).unwrap();
        let (config, consulted) = tls_config(&env).unwrap();
        assert_eq!(count(&config), 1);
        assert_eq!(consulted, rhel.display().to_string());
    }

    #[test]
    fn the_variables_add_to_the_system_roots() {
        let (tmp, mut env) = empty_root();
        let file = tmp.path().join("ca.pem");
        std::fs::write(&file, TEST_CA_PEM).unwrap();
        let dir = tmp.path().join("certs");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a1b2c3d4.0"), TEST_CA_PEM).unwrap();
        std::fs::write(dir.join("README"), "not a certificate\n").unwrap();
        let pairs = [
            ("SSL_CERT_FILE", file.to_str().unwrap()),
            ("SSL_CERT_DIR", dir.to_str().unwrap()),
        ];
        env = NetEnv::from_pairs(pairs).with_system_root(&env.system_root);
        let (config, consulted) = tls_config(&env).unwrap();
        assert_eq!(
            count(&config),
            2 + webpki_root_certs::TLS_SERVER_ROOT_CERTS.len()
        );
        assert_eq!(
            consulted,
            format!(
                "SSL_CERT_FILE {}, SSL_CERT_DIR {}, difyctl's built-in Mozilla roots (no system \
                 CA bundle found)",
                file.display(),
                dir.display()
            )
        );
    }

    #[test]
    fn bad_variables_are_client_errors_naming_them() {
        let (tmp, base) = empty_root();
        let with = |k: &str, v: &Path| {
            NetEnv::from_pairs([(k, v.to_str().unwrap())]).with_system_root(&base.system_root)
        };
        let missing = tmp.path().join("missing.pem");
        let e = tls_config(&with("SSL_CERT_FILE", &missing)).unwrap_err();
        assert_eq!(e.code, ErrorCode::ClientError);
        assert!(
            e.message.starts_with("cannot read SSL_CERT_FILE"),
            "{}",
            e.message
        );
        let junk = tmp.path().join("junk.pem");
        std::fs::write(&junk, "no pem here\n").unwrap();
        let e = tls_config(&with("SSL_CERT_FILE", &junk)).unwrap_err();
        assert!(
            e.message.starts_with("no certificates found"),
            "{}",
            e.message
        );
        let e = tls_config(&with("SSL_CERT_DIR", &missing)).unwrap_err();
        assert!(
            e.message.starts_with("cannot read SSL_CERT_DIR"),
            "{}",
            e.message
        );
        let empty = tmp.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let e = tls_config(&with("SSL_CERT_DIR", &empty)).unwrap_err();
        assert_eq!(
            e.message,
            format!("no certificates found in SSL_CERT_DIR {}", empty.display())
        );
    }
}
