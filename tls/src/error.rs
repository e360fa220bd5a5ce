//! The crate's error type: every configuration error names the directive (and the file) it comes from, in the
//! words Redis logs where Redis has words for it.

use std::path::PathBuf;

/// What can go wrong building a TLS configuration or setting up a connection.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// `tls-cert-file` is required to serve TLS.
    #[error("No tls-cert-file configured!")]
    NoCertFile,
    /// `tls-key-file` is required to serve TLS.
    #[error("No tls-key-file configured!")]
    NoKeyFile,
    /// Client authentication, replication or cluster links over TLS need trusted roots.
    #[error(
        "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or \
         tls-auth-clients are enabled!"
    )]
    NoCaCert,
    /// A file could not be read.
    #[error("{directive}: cannot read {path}: {source}")]
    Read {
        /// The directive that named the file.
        directive: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file's content is not what the directive needs (bad PEM, no certificate, no key, too large, ...).
    #[error("{directive}: {path}: {reason}")]
    File {
        /// The directive that named the file.
        directive: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The private key file is encrypted and cannot be decrypted: no passphrase, a wrong one, or OpenSSL's
    /// legacy PEM encryption (only PKCS#8 encryption is supported).
    #[error("{directive}: {path}: {reason}")]
    EncryptedKey {
        /// `tls-key-file` or `tls-client-key-file`.
        directive: &'static str,
        /// The file.
        path: PathBuf,
        /// What is missing or wrong, naming the passphrase directive.
        reason: String,
    },
    /// `tls-protocols` names something that is not a TLS version.
    #[error(
        "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'."
    )]
    InvalidProtocols,
    /// `tls-protocols` enables nothing rustls speaks.
    #[error("tls-protocols: {0:?} enables no protocol supported here (TLSv1 and TLSv1.1 are not; use TLSv1.2 and/or TLSv1.3)")]
    UnsupportedProtocols(String),
    /// Cipher names that are unknown or that rustls does not implement.
    #[error("{directive}: unknown or unsupported cipher(s): {names}; supported: {supported}")]
    UnknownCiphers {
        /// `tls-ciphers` or `tls-ciphersuites`.
        directive: &'static str,
        /// The refused names, colon-separated.
        names: String,
        /// What this build accepts, colon-separated.
        supported: String,
    },
    /// The cipher lists leave an enabled protocol with no cipher suite.
    #[error("{directive}: no cipher suite left for {protocol}")]
    NoCiphers {
        /// `tls-ciphers` or `tls-ciphersuites`.
        directive: &'static str,
        /// The protocol left without suites.
        protocol: &'static str,
    },
    /// A directive's value does not parse.
    #[error("{directive}: invalid value {value:?}: {reason}")]
    InvalidValue {
        /// The directive.
        directive: &'static str,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Not a TLS directive this crate knows.
    #[error("unknown TLS directive {0:?}")]
    UnknownDirective(String),
    /// rustls refused a configuration step.
    #[error("{context}: {source}")]
    Rustls {
        /// The step and the directive(s) behind it.
        context: String,
        /// rustls's error.
        source: rustls::Error,
    },
    /// The client certificate verifier could not be built from the CA roots.
    #[error("tls-auth-clients: cannot verify clients with the configured CA: {0}")]
    ClientVerifier(#[from] rustls::server::VerifierBuilderError),
}
