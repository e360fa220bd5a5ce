//! Test certificates made with rcgen: a CA, a server certificate (localhost, 127.0.0.1) and a client
//! certificate signed by it, and a second, unrelated CA with its own client, written as PEM files into a
//! temporary directory removed on drop.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use zedis_testkit::TempDir;

/// A CA with the files of what it signed.
pub struct Pki {
    /// Holds the files.
    pub dir: TempDir,
    /// The CA certificate.
    pub ca: PathBuf,
    /// Server certificate (CN localhost; SAN localhost, 127.0.0.1; server and client auth) and key.
    pub server_cert: PathBuf,
    /// Its key.
    pub server_key: PathBuf,
    /// Client certificate (CN zedis-client; client auth) and key.
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
}

struct Ca {
    params: CertificateParams,
    key: KeyPair,
}

fn make_ca(name: &str) -> (Ca, String) {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.clone().self_signed(&key).expect("CA cert");
    (Ca { params, key }, cert.pem())
}

fn leaf(
    ca: &Ca,
    cn: &str,
    sans: &[&str],
    usages: Vec<ExtendedKeyUsagePurpose>,
) -> (String, String) {
    let key = KeyPair::generate().expect("leaf key");
    let mut params = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .expect("leaf params");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = usages;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if !sans.is_empty() {
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    }
    let issuer = ca.params.clone().self_signed(&ca.key).expect("issuer");
    let cert = params.signed_by(&key, &issuer, &ca.key).expect("leaf cert");
    (cert.pem(), key.serialize_pem())
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write PEM");
}

impl Pki {
    /// Generates everything under a fresh temp dir; `name` tells CAs apart in errors.
    pub fn new(name: &str) -> Pki {
        let dir = TempDir::new(name);
        let (ca, ca_pem) = make_ca(&format!("Zedis Test CA {name}"));
        let (server_pem, server_key) = leaf(
            &ca,
            "localhost",
            &["localhost"],
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        );
        let (client_pem, client_key) = leaf(
            &ca,
            "zedis-client",
            &[],
            vec![ExtendedKeyUsagePurpose::ClientAuth],
        );
        let pki = Pki {
            ca: dir.join("ca.crt"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.crt"),
            client_key: dir.join("client.key"),
            dir,
        };
        write(&pki.ca, &ca_pem);
        write(&pki.server_cert, &server_pem);
        write(&pki.server_key, &server_key);
        write(&pki.client_cert, &client_pem);
        write(&pki.client_key, &client_key);
        pki
    }

    /// Settings for a server with this PKI (`tls-auth-clients` as given).
    pub fn settings(&self, auth_clients: &str) -> zedis_tls::TlsSettings {
        let mut s = zedis_tls::TlsSettings::default();
        for (name, value) in [
            ("tls-cert-file", self.server_cert.as_path()),
            ("tls-key-file", self.server_key.as_path()),
            ("tls-ca-cert-file", self.ca.as_path()),
        ] {
            s.set(name, &value.to_string_lossy()).expect("set");
        }
        s.set("tls-auth-clients", auth_clients).expect("set");
        s
    }
}
