//! Configuration from real files: an RSA PKI made with the `openssl` CLI the way Redis's
//! `utils/gen-test-certs.sh` makes one (served to `redis-cli --tls`), `tls-ca-cert-dir`, encrypted keys with
//! `tls-key-file-pass` / `tls-client-key-file-pass`, and every refusal naming its directive and file: missing
//! and malformed files, wrong or missing passphrases, legacy-encrypted keys, a key that does not match its
//! certificate, no CA where one is needed, protocols and ciphers rustls lacks.

mod common;

use common::pki::Pki;
use common::resp_server::RespServer;
use common::WAIT;
use std::path::Path;
use std::process::Command;
use zedis_testkit::run_with_input as run;
use zedis_testkit::TempDir;
use zedis_tls::{StreamLimits, TlsError, TlsSettings};

fn openssl(dir: &Path, args: &[&str]) {
    let out = run(
        Command::new("openssl").current_dir(dir).args(args),
        b"",
        WAIT,
    );
    assert!(out.success, "openssl {args:?}: {}", out.stderr);
}

/// CA, server and client certificates as Redis's test script makes them (RSA 2048 / 4096 CA, PEM).
fn openssl_pki(dir: &TempDir) {
    let d = &dir.0;
    openssl(d, &["genrsa", "-out", "ca.key", "4096"]);
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-new",
            "-nodes",
            "-sha256",
            "-key",
            "ca.key",
            "-days",
            "3650",
            "-subj",
            "/O=Zedis Test/CN=CA",
            "-out",
            "ca.crt",
        ],
    );
    std::fs::write(
        d.join("openssl.cnf"),
        "[ server_cert ]\nkeyUsage = digitalSignature, keyEncipherment\nnsCertType = server\n\
         subjectAltName = DNS:localhost, IP:127.0.0.1\n\
         [ client_cert ]\nkeyUsage = digitalSignature, keyEncipherment\nnsCertType = client\n",
    )
    .unwrap();
    for (name, ext) in [("server", "server_cert"), ("client", "client_cert")] {
        openssl(d, &["genrsa", "-out", &format!("{name}.key"), "2048"]);
        openssl(
            d,
            &[
                "req",
                "-new",
                "-sha256",
                "-subj",
                &format!("/O=Zedis Test/CN={name}"),
                "-key",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-sha256",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "365",
                "-extfile",
                "openssl.cnf",
                "-extensions",
                ext,
                "-in",
                &format!("{name}.csr"),
                "-out",
                &format!("{name}.crt"),
            ],
        );
    }
}

fn settings(pairs: &[(&str, &Path)]) -> TlsSettings {
    let mut s = TlsSettings::default();
    for (name, path) in pairs {
        s.set(name, path.to_str().unwrap()).unwrap();
    }
    s
}

#[test]
fn openssl_made_rsa_pki_serves_redis_cli_and_ca_dir_works() {
    let dir = TempDir::new("rsa");
    openssl_pki(&dir);
    let ca_dir = dir.join("cadir");
    std::fs::create_dir(&ca_dir).unwrap();
    std::fs::copy(dir.join("ca.crt"), ca_dir.join("ca.pem")).unwrap();
    // OpenSSL's hashed names (`openssl rehash`) and unrelated files sit there too.
    openssl(&dir.0, &["rehash", ca_dir.to_str().unwrap()]);
    std::fs::write(ca_dir.join("README"), "not a certificate").unwrap();
    let mut s = settings(&[
        ("tls-cert-file", &dir.join("server.crt")),
        ("tls-key-file", &dir.join("server.key")),
        ("tls-ca-cert-dir", &ca_dir),
    ]);
    s.set(
        "tls-ciphers",
        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
    )
    .unwrap();
    let server = RespServer::start(s.build().unwrap().server, StreamLimits::default());
    let ping = |extra: &[&str]| {
        run(
            Command::new("redis-cli")
                .args(["--tls", "--cacert", dir.join("ca.crt").to_str().unwrap()])
                .args(["-h", "127.0.0.1", "-p", &server.port.to_string()])
                .args(extra)
                .arg("PING"),
            b"",
            WAIT,
        )
        .stdout
    };
    let cert = dir.join("client.crt");
    let key = dir.join("client.key");
    assert_eq!(
        ping(&[
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap()
        ])
        .trim(),
        "PONG"
    );
    // tls-auth-clients yes (the default): no certificate, no PONG.
    assert_ne!(ping(&[]).trim(), "PONG");
    // TLSv1.2 with the RSA suites named in tls-ciphers.
    let out = run(
        Command::new("openssl").args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{}", server.port),
            "-tls1_2",
            "-cert",
            cert.to_str().unwrap(),
            "-key",
            key.to_str().unwrap(),
            "-CAfile",
            dir.join("ca.crt").to_str().unwrap(),
        ]),
        b"",
        WAIT,
    );
    assert!(
        out.stdout.contains("Cipher is ECDHE-RSA-AES256-GCM-SHA384"),
        "{}",
        out.stdout
    );
}

#[test]
fn encrypted_keys_decrypt_with_the_passphrase_directives() {
    let pki = Pki::new("enc");
    let dir = &pki.dir.0;
    // PKCS#8 with PBES2 (openssl's default), and OpenSSL's legacy PEM encryption.
    openssl(
        dir,
        &[
            "pkey",
            "-in",
            "server.key",
            "-aes256",
            "-passout",
            "pass:secret",
            "-out",
            "enc8.key",
        ],
    );
    openssl(
        dir,
        &[
            "pkey",
            "-in",
            "client.key",
            "-aes128",
            "-passout",
            "pass:other",
            "-out",
            "client8.key",
        ],
    );
    openssl(
        dir,
        &[
            "genrsa",
            "-aes128",
            "-passout",
            "pass:secret",
            "-traditional",
            "-out",
            "legacy.key",
            "2048",
        ],
    );
    let enc8 = dir.join("enc8.key");
    let with_key = |file: &Path, pass: &str| {
        let mut s = pki.settings("optional");
        s.set("tls-key-file", file.to_str().unwrap()).unwrap();
        s.set("tls-key-file-pass", pass).unwrap();
        s
    };
    // The right passphrase: the server serves redis-cli.
    let server = RespServer::start(
        with_key(&enc8, "secret").build().unwrap().server,
        StreamLimits::default(),
    );
    let out = run(
        Command::new("redis-cli")
            .args([
                "--tls",
                "--cacert",
                pki.ca.to_str().unwrap(),
                "-h",
                "127.0.0.1",
            ])
            .args(["-p", &server.port.to_string(), "PING"]),
        b"",
        WAIT,
    );
    assert_eq!(out.stdout.trim(), "PONG", "{}", out.stderr);
    let prefix = format!("tls-key-file: {}: ", enc8.display());
    let text = with_key(&enc8, "wrong").build().unwrap_err().to_string();
    assert!(
        text.starts_with(&format!(
            "{prefix}cannot decrypt the private key with tls-key-file-pass"
        )),
        "{text}"
    );
    let text = with_key(&enc8, "").build().unwrap_err().to_string();
    assert_eq!(
        text,
        format!("{prefix}the private key is encrypted and tls-key-file-pass is not set")
    );
    let legacy = dir.join("legacy.key");
    let e = with_key(&legacy, "secret").build().unwrap_err();
    assert!(
        matches!(
            e,
            TlsError::EncryptedKey {
                directive: "tls-key-file",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("legacy PEM encryption"), "{e}");
    assert!(e.to_string().contains("openssl pkcs8 -topk8"), "{e}");

    // Outgoing links: tls-client-key-file with tls-client-key-file-pass.
    let mut s = pki.settings("optional");
    s.set("tls-client-cert-file", pki.client_cert.to_str().unwrap())
        .unwrap();
    s.set(
        "tls-client-key-file",
        dir.join("client8.key").to_str().unwrap(),
    )
    .unwrap();
    let text = s.build().unwrap_err().to_string();
    assert!(
        text.starts_with("tls-client-key-file: ")
            && text.ends_with("tls-client-key-file-pass is not set"),
        "{text}"
    );
    s.set("tls-client-key-file-pass", "other").unwrap();
    let client = s.build().unwrap().client.unwrap();
    let mut link = common::tls_client(server.port, client, "localhost");
    assert_eq!(
        common::roundtrip(&mut link, b"PEERCERTS\r\n", 4).unwrap(),
        b":1\r\n"
    );
}

#[test]
fn refusals_name_the_directive_and_file() {
    let pki = Pki::new("errors");
    let missing = pki.dir.join("missing.pem");
    let check = |s: &TlsSettings, prefix: &str| {
        let text = s.build().map(|_| ()).unwrap_err().to_string();
        assert!(
            text.starts_with(prefix),
            "{text:?} should start with {prefix:?}"
        );
        text
    };
    let mut s = pki.settings("no");
    s.set("tls-cert-file", missing.to_str().unwrap()).unwrap();
    check(
        &s,
        &format!("tls-cert-file: cannot read {}", missing.display()),
    );

    // A key where the certificate should be, a certificate where the key should be.
    let mut s = pki.settings("no");
    s.set("tls-cert-file", pki.server_key.to_str().unwrap())
        .unwrap();
    let text = check(&s, "tls-cert-file: ");
    assert!(text.ends_with("no certificate found"), "{text}");
    let mut s = pki.settings("no");
    s.set("tls-key-file", pki.server_cert.to_str().unwrap())
        .unwrap();
    let text = check(&s, "tls-key-file: ");
    assert!(text.ends_with("no private key found"), "{text}");

    // A key that belongs to another certificate.
    let mut s = pki.settings("no");
    s.set("tls-key-file", pki.client_key.to_str().unwrap())
        .unwrap();
    check(&s, "tls-cert-file ");

    let mut s = pki.settings("no");
    s.set("tls-ca-cert-file", missing.to_str().unwrap())
        .unwrap();
    check(&s, "tls-ca-cert-file: cannot read");
    let empty = TempDir::new("empty-ca");
    let mut s = pki.settings("no");
    s.set("tls-ca-cert-file", "").unwrap();
    s.set("tls-ca-cert-dir", empty.0.to_str().unwrap()).unwrap();
    check(
        &s,
        &format!(
            "tls-ca-cert-dir: {}: no CA certificate found",
            empty.0.display()
        ),
    );

    // Redis's own words where Redis has them.
    let mut s = pki.settings("yes");
    s.set("tls-ca-cert-file", "").unwrap();
    check(
        &s,
        "Either tls-ca-cert-file or tls-ca-cert-dir must be specified",
    );
    let mut s = pki.settings("no");
    s.set("tls-ca-cert-file", "").unwrap();
    s.build()
        .expect("no CA needed without client auth, replication or cluster");
    s.set("tls-replication", "yes").unwrap();
    check(
        &s,
        "Either tls-ca-cert-file or tls-ca-cert-dir must be specified",
    );
    let mut s = pki.settings("no");
    s.set("tls-cert-file", "").unwrap();
    check(&s, "No tls-cert-file configured!");
    let mut s = pki.settings("no");
    s.set("tls-protocols", "TLSv1.5").unwrap();
    check(&s, "Invalid tls-protocols specified.");
    s.set("tls-protocols", "TLSv1 TLSv1.1").unwrap();
    check(&s, "tls-protocols: ");
    let mut s = pki.settings("no");
    s.set("tls-ciphersuites", "TLS_AES_128_CCM_8_SHA256")
        .unwrap();
    check(
        &s,
        "tls-ciphersuites: unknown or unsupported cipher(s): TLS_AES_128_CCM_8_SHA256;",
    );
    let mut s = pki.settings("no");
    s.set("tls-ciphers", "DHE-RSA-AES256-SHA").unwrap();
    check(
        &s,
        "tls-ciphers: unknown or unsupported cipher(s): DHE-RSA-AES256-SHA;",
    );
    // Excluding every TLSv1.2 suite while TLSv1.2 is on.
    let mut s = pki.settings("no");
    s.set("tls-ciphers", "DEFAULT:!ALL").unwrap();
    check(&s, "tls-ciphers: no cipher suite left for TLSv1.2");
    s.set("tls-protocols", "TLSv1.3").unwrap();
    s.build()
        .expect("TLSv1.2 suites do not matter with TLSv1.3 only");
}
