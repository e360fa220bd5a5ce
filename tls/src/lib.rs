//! TLS for Zedis: the transport half of Redis's TLS support, on rustls with the ring provider.
//!
//! Goals: Redis 7.0's `tls-*` directives turned into rustls configurations ([`TlsSettings::build`]), with
//! errors that name the directive and file; a non-blocking stream ([`TlsStream`]) whose plaintext reads and
//! writes behave like a non-blocking socket's, so the mio event loop treats TLS and TCP clients alike through
//! [`Transport`]; bounded memory per connection (rustls's bounded buffers, a handshake deadline) reported as a
//! byte count for the server's budget.
//!
//! Encrypted private keys are read when PKCS#8-encrypted (PBES2, as `openssl pkey -aes256` writes them) with
//! `tls-key-file-pass` / `tls-client-key-file-pass`.
//!
//! Non-goals: TLSv1/TLSv1.1 and ciphers rustls lacks (refused by name), keys under OpenSSL's legacy PEM
//! encryption (refused, with the command that converts them),
//! finite-field DHE (`tls-dh-params-file` is kept but unused), the listener and `CONFIG SET` plumbing (the
//! server's).
//!
//! Layout: `settings` (directive values, set/get), `config` (rustls configs from them), `suites` (protocol
//! and cipher names), `files` (PEM certs, keys, CA file/dir), `session_cache` (bounded expiring session
//! store), `verify` (chain-only server verification for outgoing links), `stream` (the non-blocking
//! connection), `transport` (plain-or-TLS enum the server holds), `error`.
#![deny(missing_docs)]

mod config;
mod error;
mod files;
mod session_cache;
mod settings;
mod stream;
mod suites;
mod transport;
pub mod verify;

pub use config::TlsConfigs;
pub use error::TlsError;
pub use files::{CA_DIR_FILES_MAX, PEM_FILE_BYTES_MAX};
pub use rustls;
pub use session_cache::{SessionCache, SESSION_CACHE_ENTRIES_MAX};
pub use settings::{
    is_directive, AuthClients, TlsSettings, DIRECTIVES, SESSION_CACHE_SIZE_DEFAULT,
    SESSION_CACHE_TIMEOUT_S_DEFAULT,
};
pub use stream::{
    StreamLimits, TlsStream, CONNECTION_BYTES_BASE, HANDSHAKE_BYTES_EXTRA,
    HANDSHAKE_TIMEOUT_DEFAULT, SEND_BUFFER_BYTES_MAX_DEFAULT,
};
pub use transport::Transport;
