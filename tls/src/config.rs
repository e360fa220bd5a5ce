//! Building rustls configurations from [`TlsSettings`]: a `ServerConfig` for accepted connections and a
//! `ClientConfig` for outgoing links (replication, cluster bus). Each build reads the files again and makes
//! fresh objects, so `CONFIG SET tls-*` is "build, and on success swap the `Arc`s": connections already open
//! keep the configuration they started with, new ones get the new one, as with Redis's SSL_CTX swap.

use crate::files::{load_chain, load_key, load_roots};
use crate::session_cache::SessionCache;
use crate::settings::{AuthClients, TlsSettings};
use crate::suites;
use crate::verify::ChainOnlyVerifier;
use crate::TlsError;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};
use std::path::Path;
use std::sync::Arc;

/// Everything a build produces: the configurations to hand to new connections and the session cache whose
/// memory the server charges to its budget.
#[derive(Debug, Clone)]
pub struct TlsConfigs {
    /// For accepted connections ([`crate::TlsStream::accept`]).
    pub server: Arc<ServerConfig>,
    /// For outgoing links ([`crate::TlsStream::connect`]); `None` when no CA is configured (Redis needs one
    /// for `tls-replication`/`tls-cluster`, and without roots no peer could be verified).
    pub client: Option<Arc<ClientConfig>>,
    /// The server-side session cache (`None` with `tls-session-caching no`).
    pub session_cache: Option<Arc<SessionCache>>,
}

impl TlsConfigs {
    /// Heap bytes held by the session cache (the configurations themselves are a few KiB, fixed).
    pub fn bytes(&self) -> usize {
        self.session_cache.as_ref().map_or(0, |c| c.bytes())
    }
}

/// The versions and the crypto provider (ring, with the suites the cipher directives leave).
struct Crypto {
    versions: Vec<&'static SupportedProtocolVersion>,
    provider: Arc<CryptoProvider>,
}

fn crypto(settings: &TlsSettings) -> Result<Crypto, TlsError> {
    let versions = suites::protocols(settings.protocols.as_deref())?;
    // Both lists are checked whatever the versions, so a typo never waits for a protocol change to surface.
    let tls13 = suites::tls13_suites(settings.ciphersuites.as_deref())?;
    let tls12 = suites::tls12_suites(settings.ciphers.as_deref())?;
    let has = |v: &SupportedProtocolVersion| versions.iter().any(|x| x.version == v.version);
    let mut cipher_suites = Vec::new();
    if has(&rustls::version::TLS13) {
        if tls13.is_empty() {
            return Err(TlsError::NoCiphers {
                directive: "tls-ciphersuites",
                protocol: "TLSv1.3",
            });
        }
        cipher_suites.extend(tls13);
    }
    if has(&rustls::version::TLS12) {
        if tls12.is_empty() {
            return Err(TlsError::NoCiphers {
                directive: "tls-ciphers",
                protocol: "TLSv1.2",
            });
        }
        cipher_suites.extend(tls12);
    }
    let provider = Arc::new(CryptoProvider {
        cipher_suites,
        ..rustls::crypto::ring::default_provider()
    });
    Ok(Crypto { versions, provider })
}

fn rustls_error(context: String) -> impl FnOnce(rustls::Error) -> TlsError {
    move |source| TlsError::Rustls { context, source }
}

fn needs_ca(settings: &TlsSettings) -> bool {
    settings.auth_clients != AuthClients::No || settings.replication || settings.cluster
}

fn roots(settings: &TlsSettings) -> Result<Option<Arc<RootCertStore>>, TlsError> {
    let (file, dir) = (
        settings.ca_cert_file.as_deref(),
        settings.ca_cert_dir.as_deref(),
    );
    if file.is_none() && dir.is_none() {
        return Ok(None);
    }
    Ok(Some(Arc::new(load_roots(file, dir)?)))
}

impl TlsSettings {
    /// Builds the server and client configurations, reading every file the directives name. Fails, naming the
    /// directive and file, on anything Redis would refuse and on what rustls cannot do (TLSv1/1.1 only,
    /// unknown ciphers, encrypted keys).
    pub fn build(&self) -> Result<TlsConfigs, TlsError> {
        let cert_file = self.cert_file.as_deref().ok_or(TlsError::NoCertFile)?;
        let key_file = self.key_file.as_deref().ok_or(TlsError::NoKeyFile)?;
        let roots = roots(self)?;
        if needs_ca(self) && roots.is_none() {
            return Err(TlsError::NoCaCert);
        }
        let crypto = crypto(self)?;
        let session_cache = self.session_caching.then(|| {
            Arc::new(SessionCache::new(
                self.session_cache_size,
                self.session_cache_timeout_s,
            ))
        });
        let server = self.server_config(
            &crypto,
            cert_file,
            key_file,
            roots.clone(),
            session_cache.clone(),
        )?;
        let client = match roots {
            Some(roots) => Some(self.client_config_with(&crypto, roots)?),
            None => None,
        };
        Ok(TlsConfigs {
            server: Arc::new(server),
            client,
            session_cache,
        })
    }

    /// Only the configuration for outgoing links (needs `tls-ca-cert-file` or `-dir`; the client certificate
    /// is `tls-client-cert-file`/`-key-file`, else `tls-cert-file`/`-key-file`, else none).
    pub fn build_client(&self) -> Result<Arc<ClientConfig>, TlsError> {
        let roots = roots(self)?.ok_or(TlsError::NoCaCert)?;
        self.client_config_with(&crypto(self)?, roots)
    }

    fn server_config(
        &self,
        crypto: &Crypto,
        cert_file: &Path,
        key_file: &Path,
        roots: Option<Arc<RootCertStore>>,
        session_cache: Option<Arc<SessionCache>>,
    ) -> Result<ServerConfig, TlsError> {
        let chain = load_chain("tls-cert-file", cert_file)?;
        let key = load_key(
            "tls-key-file",
            key_file,
            "tls-key-file-pass",
            self.key_file_pass.as_deref(),
        )?;
        let verifier = match (self.auth_clients, roots) {
            (AuthClients::No, _) | (_, None) => WebPkiClientVerifier::no_client_auth(),
            (AuthClients::Yes, Some(roots)) => {
                WebPkiClientVerifier::builder_with_provider(roots, crypto.provider.clone())
                    .build()?
            }
            (AuthClients::Optional, Some(roots)) => {
                WebPkiClientVerifier::builder_with_provider(roots, crypto.provider.clone())
                    .allow_unauthenticated()
                    .build()?
            }
        };
        let mut config = ServerConfig::builder_with_provider(crypto.provider.clone())
            .with_protocol_versions(&crypto.versions)
            .map_err(rustls_error(
                "tls-protocols/tls-ciphers/tls-ciphersuites".to_owned(),
            ))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(rustls_error(format!(
                "tls-cert-file {} / tls-key-file {}",
                cert_file.display(),
                key_file.display()
            )))?;
        config.ignore_client_order = self.prefer_server_ciphers;
        match session_cache {
            Some(cache) => config.session_storage = cache,
            None => {
                config.session_storage = Arc::new(NoServerSessionStorage {});
                config.send_tls13_tickets = 0;
            }
        }
        Ok(config)
    }

    fn client_config_with(
        &self,
        crypto: &Crypto,
        roots: Arc<RootCertStore>,
    ) -> Result<Arc<ClientConfig>, TlsError> {
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, crypto.provider.clone())
            .build()
            .map_err(|e| TlsError::File {
                directive: "tls-ca-cert-file",
                path: self
                    .ca_cert_file
                    .clone()
                    .or_else(|| self.ca_cert_dir.clone())
                    .unwrap_or_default(),
                reason: format!("cannot verify servers with it: {e}"),
            })?;
        let builder = ClientConfig::builder_with_provider(crypto.provider.clone())
            .with_protocol_versions(&crypto.versions)
            .map_err(rustls_error(
                "tls-protocols/tls-ciphers/tls-ciphersuites".to_owned(),
            ))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnlyVerifier::new(webpki)));
        let Some(id) = self.client_identity() else {
            return Ok(Arc::new(builder.with_no_client_auth()));
        };
        let (cert_directive, cert, key_directive, key) =
            (id.cert_directive, id.cert, id.key_directive, id.key);
        let chain = load_chain(cert_directive, cert)?;
        let key_der = load_key(key_directive, key, id.pass_directive, id.pass)?;
        let config = builder
            .with_client_auth_cert(chain, key_der)
            .map_err(rustls_error(format!(
                "{cert_directive} {} / {key_directive} {}",
                cert.display(),
                key.display()
            )))?;
        Ok(Arc::new(config))
    }

    /// As Redis: the client pair if both are set, else the server's own pair, with their passphrases.
    fn client_identity(&self) -> Option<Identity<'_>> {
        if let (Some(cert), Some(key)) = (&self.client_cert_file, &self.client_key_file) {
            return Some(Identity {
                cert_directive: "tls-client-cert-file",
                cert,
                key_directive: "tls-client-key-file",
                key,
                pass_directive: "tls-client-key-file-pass",
                pass: self.client_key_file_pass.as_deref(),
            });
        }
        let (Some(cert), Some(key)) = (&self.cert_file, &self.key_file) else {
            return None;
        };
        Some(Identity {
            cert_directive: "tls-cert-file",
            cert,
            key_directive: "tls-key-file",
            key,
            pass_directive: "tls-key-file-pass",
            pass: self.key_file_pass.as_deref(),
        })
    }
}

/// The certificate, key and passphrase an outgoing link presents, with the directives they came from.
struct Identity<'a> {
    cert_directive: &'static str,
    cert: &'a Path,
    key_directive: &'static str,
    key: &'a Path,
    pass_directive: &'static str,
    pass: Option<&'a str>,
}
