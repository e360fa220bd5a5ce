//! Redis's `tls-*` directives as plain values: parsed from a config file line or `CONFIG SET`, printed back for
//! `CONFIG GET`, and turned into rustls configurations by [`crate::config`]. Keeping them as data lets the
//! server rebuild the configuration on every change (new connections use the new one, open ones keep theirs).

use crate::TlsError;
use std::path::PathBuf;

/// Redis's default `tls-session-cache-size` (entries).
pub const SESSION_CACHE_SIZE_DEFAULT: u32 = 20 * 1024;
/// Redis's default `tls-session-cache-timeout` (seconds).
pub const SESSION_CACHE_TIMEOUT_S_DEFAULT: u32 = 300;

/// The directives this crate reads, in Redis's spelling (`tls-port` is the server's listener, not ours).
pub const DIRECTIVES: &[&str] = &[
    "tls-cert-file",
    "tls-key-file",
    "tls-key-file-pass",
    "tls-client-cert-file",
    "tls-client-key-file",
    "tls-client-key-file-pass",
    "tls-dh-params-file",
    "tls-ca-cert-file",
    "tls-ca-cert-dir",
    "tls-auth-clients",
    "tls-protocols",
    "tls-ciphers",
    "tls-ciphersuites",
    "tls-prefer-server-ciphers",
    "tls-session-caching",
    "tls-session-cache-size",
    "tls-session-cache-timeout",
    "tls-replication",
    "tls-cluster",
];

/// `tls-auth-clients`: whether clients must present a certificate signed by the configured CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthClients {
    /// A verified client certificate is required (Redis's default).
    #[default]
    Yes,
    /// No client certificate is asked for.
    No,
    /// A client certificate is verified if presented, but not required.
    Optional,
}

impl AuthClients {
    /// The directive's value as Redis prints it.
    pub fn name(self) -> &'static str {
        match self {
            AuthClients::Yes => "yes",
            AuthClients::No => "no",
            AuthClients::Optional => "optional",
        }
    }
}

/// The values of every `tls-*` directive. `Default` is Redis 7.0's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// `tls-cert-file`: the server's certificate chain (PEM), leaf first.
    pub cert_file: Option<PathBuf>,
    /// `tls-key-file`: the server's private key (PEM).
    pub key_file: Option<PathBuf>,
    /// `tls-key-file-pass`: the passphrase of a PKCS#8-encrypted `tls-key-file`.
    pub key_file_pass: Option<String>,
    /// `tls-client-cert-file`: the certificate for outgoing links (falls back to `tls-cert-file`).
    pub client_cert_file: Option<PathBuf>,
    /// `tls-client-key-file`: the key for outgoing links (falls back to `tls-key-file`).
    pub client_key_file: Option<PathBuf>,
    /// `tls-client-key-file-pass`: the passphrase of a PKCS#8-encrypted `tls-client-key-file`.
    pub client_key_file_pass: Option<String>,
    /// `tls-dh-params-file`: kept for `CONFIG GET`; rustls has no finite-field DHE suites, so it is unused.
    pub dh_params_file: Option<PathBuf>,
    /// `tls-ca-cert-file`: trusted roots (PEM, any number of certificates).
    pub ca_cert_file: Option<PathBuf>,
    /// `tls-ca-cert-dir`: a directory whose files hold trusted roots (PEM).
    pub ca_cert_dir: Option<PathBuf>,
    /// `tls-auth-clients`.
    pub auth_clients: AuthClients,
    /// `tls-protocols`: space-separated versions; `None` is TLSv1.2 and TLSv1.3.
    pub protocols: Option<String>,
    /// `tls-ciphers`: TLSv1.2 cipher list in OpenSSL syntax; `None` is every suite rustls has.
    pub ciphers: Option<String>,
    /// `tls-ciphersuites`: TLSv1.3 suites, colon-separated; `None` is every suite rustls has.
    pub ciphersuites: Option<String>,
    /// `tls-prefer-server-ciphers`: choose by the server's order rather than the client's.
    pub prefer_server_ciphers: bool,
    /// `tls-session-caching`: resume sessions from a server-side cache.
    pub session_caching: bool,
    /// `tls-session-cache-size`: entries in that cache (0 is "no limit" in Redis; here the cache's hard cap).
    pub session_cache_size: u32,
    /// `tls-session-cache-timeout`: seconds a cached session stays resumable.
    pub session_cache_timeout_s: u32,
    /// `tls-replication`: links to a primary use TLS.
    pub replication: bool,
    /// `tls-cluster`: the cluster bus uses TLS.
    pub cluster: bool,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            cert_file: None,
            key_file: None,
            key_file_pass: None,
            client_cert_file: None,
            client_key_file: None,
            client_key_file_pass: None,
            dh_params_file: None,
            ca_cert_file: None,
            ca_cert_dir: None,
            auth_clients: AuthClients::Yes,
            protocols: None,
            ciphers: None,
            ciphersuites: None,
            prefer_server_ciphers: false,
            session_caching: true,
            session_cache_size: SESSION_CACHE_SIZE_DEFAULT,
            session_cache_timeout_s: SESSION_CACHE_TIMEOUT_S_DEFAULT,
            replication: false,
            cluster: false,
        }
    }
}

/// Whether `name` is one of [`DIRECTIVES`] (case-insensitive, as Redis matches config names).
pub fn is_directive(name: &str) -> bool {
    canonical(name).is_some()
}

fn canonical(name: &str) -> Option<&'static str> {
    DIRECTIVES
        .iter()
        .copied()
        .find(|d| d.eq_ignore_ascii_case(name))
}

impl TlsSettings {
    /// Sets one directive from its text value (a config file line or `CONFIG SET`). An empty string clears a
    /// string directive, as in Redis. Only the value's syntax is checked here: files and cipher names are
    /// checked by [`TlsSettings::build`], which the caller runs before committing a change.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), TlsError> {
        let Some(directive) = canonical(name) else {
            return Err(TlsError::UnknownDirective(name.to_owned()));
        };
        let path = || (!value.is_empty()).then(|| PathBuf::from(value));
        let text = || (!value.is_empty()).then(|| value.to_owned());
        match directive {
            "tls-cert-file" => self.cert_file = path(),
            "tls-key-file" => self.key_file = path(),
            "tls-key-file-pass" => self.key_file_pass = text(),
            "tls-client-cert-file" => self.client_cert_file = path(),
            "tls-client-key-file" => self.client_key_file = path(),
            "tls-client-key-file-pass" => self.client_key_file_pass = text(),
            "tls-dh-params-file" => self.dh_params_file = path(),
            "tls-ca-cert-file" => self.ca_cert_file = path(),
            "tls-ca-cert-dir" => self.ca_cert_dir = path(),
            "tls-auth-clients" => self.auth_clients = parse_auth_clients(value)?,
            "tls-protocols" => self.protocols = text(),
            "tls-ciphers" => self.ciphers = text(),
            "tls-ciphersuites" => self.ciphersuites = text(),
            "tls-prefer-server-ciphers" => {
                self.prefer_server_ciphers = parse_bool(directive, value)?
            }
            "tls-session-caching" => self.session_caching = parse_bool(directive, value)?,
            "tls-session-cache-size" => self.session_cache_size = parse_u32(directive, value)?,
            "tls-session-cache-timeout" => {
                self.session_cache_timeout_s = parse_u32(directive, value)?
            }
            "tls-replication" => self.replication = parse_bool(directive, value)?,
            "tls-cluster" => self.cluster = parse_bool(directive, value)?,
            _ => return Err(TlsError::UnknownDirective(name.to_owned())),
        }
        Ok(())
    }

    /// A directive's value as `CONFIG GET` prints it (`None` if `name` is not a TLS directive). Passphrases
    /// print as Redis prints them: the text itself.
    pub fn get(&self, name: &str) -> Option<String> {
        let path = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or(String::new(), |p| p.display().to_string())
        };
        let text = |t: &Option<String>| t.clone().unwrap_or_default();
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
        Some(match canonical(name)? {
            "tls-cert-file" => path(&self.cert_file),
            "tls-key-file" => path(&self.key_file),
            "tls-key-file-pass" => text(&self.key_file_pass),
            "tls-client-cert-file" => path(&self.client_cert_file),
            "tls-client-key-file" => path(&self.client_key_file),
            "tls-client-key-file-pass" => text(&self.client_key_file_pass),
            "tls-dh-params-file" => path(&self.dh_params_file),
            "tls-ca-cert-file" => path(&self.ca_cert_file),
            "tls-ca-cert-dir" => path(&self.ca_cert_dir),
            "tls-auth-clients" => self.auth_clients.name().to_owned(),
            "tls-protocols" => text(&self.protocols),
            "tls-ciphers" => text(&self.ciphers),
            "tls-ciphersuites" => text(&self.ciphersuites),
            "tls-prefer-server-ciphers" => yes_no(self.prefer_server_ciphers),
            "tls-session-caching" => yes_no(self.session_caching),
            "tls-session-cache-size" => self.session_cache_size.to_string(),
            "tls-session-cache-timeout" => self.session_cache_timeout_s.to_string(),
            "tls-replication" => yes_no(self.replication),
            "tls-cluster" => yes_no(self.cluster),
            _ => return None,
        })
    }
}

fn parse_auth_clients(value: &str) -> Result<AuthClients, TlsError> {
    match value.to_ascii_lowercase().as_str() {
        "yes" => Ok(AuthClients::Yes),
        "no" => Ok(AuthClients::No),
        "optional" => Ok(AuthClients::Optional),
        _ => Err(TlsError::InvalidValue {
            directive: "tls-auth-clients",
            value: value.to_owned(),
            reason: "argument(s) must be one of the following: yes, no, optional",
        }),
    }
}

fn parse_bool(directive: &'static str, value: &str) -> Result<bool, TlsError> {
    match value.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(TlsError::InvalidValue {
            directive,
            value: value.to_owned(),
            reason: "argument must be 'yes' or 'no'",
        }),
    }
}

fn parse_u32(directive: &'static str, value: &str) -> Result<u32, TlsError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|&n| n <= i32::MAX as u32)
        .ok_or_else(|| TlsError::InvalidValue {
            directive,
            value: value.to_owned(),
            reason: "argument must be between 0 and 2147483647 inclusive",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_then_get_round_trips_every_directive() {
        let mut s = TlsSettings::default();
        let values = [
            ("tls-cert-file", "/a/cert.pem"),
            ("TLS-KEY-FILE", "/a/key.pem"),
            ("tls-key-file-pass", "secret"),
            ("tls-auth-clients", "optional"),
            ("tls-protocols", "TLSv1.3"),
            ("tls-ciphers", "ECDHE-RSA-AES128-GCM-SHA256"),
            ("tls-ciphersuites", "TLS_AES_128_GCM_SHA256"),
            ("tls-prefer-server-ciphers", "yes"),
            ("tls-session-caching", "no"),
            ("tls-session-cache-size", "7"),
            ("tls-session-cache-timeout", "9"),
            ("tls-replication", "yes"),
            ("tls-cluster", "yes"),
        ];
        for (name, value) in values {
            s.set(name, value).unwrap();
            assert_eq!(s.get(name).as_deref(), Some(value), "{name}");
        }
        s.set("tls-cert-file", "").unwrap();
        assert_eq!(s.cert_file, None);
        assert_eq!(s.get("tls-cert-file").as_deref(), Some(""));
    }

    #[test]
    fn bad_values_name_the_directive() {
        let mut s = TlsSettings::default();
        let e = s.set("tls-auth-clients", "maybe").unwrap_err().to_string();
        assert!(e.starts_with("tls-auth-clients:"), "{e}");
        let e = s
            .set("tls-session-cache-size", "-1")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("tls-session-cache-size:"), "{e}");
        let e = s.set("tls-cluster", "1").unwrap_err().to_string();
        assert!(e.starts_with("tls-cluster:"), "{e}");
        assert!(matches!(
            s.set("tls-port", "1"),
            Err(TlsError::UnknownDirective(_))
        ));
        assert_eq!(s, TlsSettings::default());
    }
}
