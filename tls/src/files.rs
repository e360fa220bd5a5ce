//! Reading certificates, keys and CA roots from the files the directives name. Every error carries the
//! directive and the path. Files are read whole, so each is capped at [`PEM_FILE_BYTES_MAX`].

use crate::TlsError;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::{Path, PathBuf};

/// Largest certificate, key or CA file read (a CA bundle such as Debian's is about 200 KiB).
pub const PEM_FILE_BYTES_MAX: u64 = 16 * 1024 * 1024;
/// Most files read from `tls-ca-cert-dir`.
pub const CA_DIR_FILES_MAX: usize = 100_000;

fn read(directive: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    let err = |source| TlsError::Read {
        directive,
        path: path.to_owned(),
        source,
    };
    let len = std::fs::metadata(path).map_err(err)?.len();
    if len > PEM_FILE_BYTES_MAX {
        return Err(file_error(
            directive,
            path,
            format!("larger than {PEM_FILE_BYTES_MAX} bytes"),
        ));
    }
    std::fs::read(path).map_err(err)
}

fn file_error(directive: &'static str, path: &Path, reason: String) -> TlsError {
    TlsError::File {
        directive,
        path: path.to_owned(),
        reason,
    }
}

/// Every certificate in a PEM file, in file order.
fn certs_in(
    directive: &'static str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(directive, path, format!("bad PEM: {e}")))
}

/// A certificate chain (leaf first), as `tls-cert-file` / `tls-client-cert-file` hold it.
pub fn load_chain(
    directive: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(directive, path)?;
    let chain = certs_in(directive, path, &pem)?;
    if chain.is_empty() {
        return Err(file_error(
            directive,
            path,
            "no certificate found".to_owned(),
        ));
    }
    Ok(chain)
}

/// A private key (PKCS#8, PKCS#1 or SEC1 PEM). A PKCS#8 key encrypted with PBES2 (what `openssl pkey
/// -aes256` writes) is decrypted with `pass`, the value of `pass_directive`; OpenSSL's legacy PEM encryption
/// (`Proc-Type: 4,ENCRYPTED`) is refused with the command that converts it.
pub fn load_key(
    directive: &'static str,
    path: &Path,
    pass_directive: &'static str,
    pass: Option<&str>,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(directive, path)?;
    let refuse = |reason: String| TlsError::EncryptedKey {
        directive,
        path: path.to_owned(),
        reason,
    };
    if contains(&pem, b"Proc-Type: 4,ENCRYPTED") {
        return Err(refuse(format!(
            "the private key uses OpenSSL's legacy PEM encryption, which is not supported; convert it to \
             encrypted PKCS#8 (openssl pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out NEW_KEY) for {pass_directive}"
        )));
    }
    if let Some(section) = pem_section(&pem, "ENCRYPTED PRIVATE KEY") {
        let Some(pass) = pass else {
            return Err(refuse(format!(
                "the private key is encrypted and {pass_directive} is not set"
            )));
        };
        return decrypt_pkcs8(section, pass).map_err(|why| {
            refuse(format!(
                "cannot decrypt the private key with {pass_directive}: {why}"
            ))
        });
    }
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => {
            file_error(directive, path, "no private key found".to_owned())
        }
        e => file_error(directive, path, format!("bad PEM: {e}")),
    })
}

/// The first PEM block labelled `label`, BEGIN and END lines included.
fn pem_section<'a>(pem: &'a [u8], label: &str) -> Option<&'a [u8]> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem
        .windows(begin.len())
        .position(|w| w == begin.as_bytes())?;
    let stop = start
        + pem[start..]
            .windows(end.len())
            .position(|w| w == end.as_bytes())?
        + end.len();
    Some(&pem[start..stop])
}

fn decrypt_pkcs8(section: &[u8], pass: &str) -> Result<PrivateKeyDer<'static>, String> {
    use pkcs8::der::Decode;
    let text = std::str::from_utf8(section).map_err(|_| "the PEM block is not text".to_owned())?;
    let (_, document) = pkcs8::Document::from_pem(text).map_err(|e| format!("bad PEM: {e}"))?;
    let info = pkcs8::EncryptedPrivateKeyInfo::from_der(document.as_bytes())
        .map_err(|e| format!("bad encrypted key: {e}"))?;
    let secret = info
        .decrypt(pass)
        .map_err(|e| format!("{e} (wrong passphrase?)"))?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        secret.as_bytes().to_vec(),
    )))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Trusted roots from `tls-ca-cert-file` and/or every file of `tls-ca-cert-dir` (files without a certificate,
/// such as CRLs, are skipped; a directory with no certificate at all is an error).
pub fn load_roots(
    ca_file: Option<&Path>,
    ca_dir: Option<&Path>,
) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    if let Some(path) = ca_file {
        let certs = load_chain("tls-ca-cert-file", path)?;
        add_roots(&mut roots, "tls-ca-cert-file", path, certs)?;
    }
    if let Some(dir) = ca_dir {
        let before = roots.len();
        for path in dir_files(dir)? {
            let Ok(pem) = read("tls-ca-cert-dir", &path) else {
                continue;
            };
            // A file that is not PEM certificates is not a CA file (OpenSSL skips it too).
            let Ok(certs) = certs_in("tls-ca-cert-dir", &path, &pem) else {
                continue;
            };
            add_roots(&mut roots, "tls-ca-cert-dir", &path, certs)?;
        }
        if roots.len() == before {
            return Err(file_error(
                "tls-ca-cert-dir",
                dir,
                "no CA certificate found".to_owned(),
            ));
        }
    }
    Ok(roots)
}

fn dir_files(dir: &Path) -> Result<Vec<PathBuf>, TlsError> {
    let err = |source| TlsError::Read {
        directive: "tls-ca-cert-dir",
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let path = entry.map_err(err)?.path();
        if path.is_file() {
            files.push(path);
        }
        if files.len() > CA_DIR_FILES_MAX {
            return Err(file_error(
                "tls-ca-cert-dir",
                dir,
                format!("more than {CA_DIR_FILES_MAX} files"),
            ));
        }
    }
    files.sort();
    Ok(files)
}

fn add_roots(
    roots: &mut RootCertStore,
    directive: &'static str,
    path: &Path,
    certs: Vec<CertificateDer<'static>>,
) -> Result<(), TlsError> {
    for cert in certs {
        roots.add(cert).map_err(|e| {
            file_error(directive, path, format!("not a usable CA certificate: {e}"))
        })?;
    }
    Ok(())
}
