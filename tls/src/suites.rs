//! `tls-protocols`, `tls-ciphers` and `tls-ciphersuites` mapped onto what rustls (ring provider) implements.
//! OpenSSL and IANA names are both accepted; a name rustls lacks is refused by name rather than ignored, so a
//! configuration never silently means less than it says. OpenSSL's exclusions of classes rustls never offers
//! (`!aNULL`, `!MEDIUM`, `!RC4`, ...) are accepted: they exclude nothing here.

use crate::TlsError;
use rustls::crypto::ring::cipher_suite as cs;
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};

/// TLSv1.3 suites: OpenSSL's name (which is the IANA name) and the suite, in rustls's preference order.
const TLS13: &[(&str, SupportedCipherSuite)] = &[
    ("TLS_AES_256_GCM_SHA384", cs::TLS13_AES_256_GCM_SHA384),
    ("TLS_AES_128_GCM_SHA256", cs::TLS13_AES_128_GCM_SHA256),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        cs::TLS13_CHACHA20_POLY1305_SHA256,
    ),
];

/// TLSv1.2 suites: OpenSSL's name, the IANA name and the suite, in rustls's preference order.
const TLS12: &[(&str, &str, SupportedCipherSuite)] = &[
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// OpenSSL keywords that select every suite (rustls has only strong ones).
const SELECT_ALL: &[&str] = &[
    "DEFAULT", "ALL", "HIGH", "SECURE", "ECDHE", "EECDH", "kECDHE", "AESGCM",
];

/// OpenSSL classes rustls never offers: excluding them (`!X` or `-X`) is a no-op, and `@STRENGTH`-style
/// ordering commands change nothing rustls would pick.
const NEVER_OFFERED: &[&str] = &[
    "aNULL", "eNULL", "NULL", "EXPORT", "EXP", "LOW", "MEDIUM", "RC4", "DES", "3DES", "MD5", "PSK",
    "SRP", "DSS", "aDSS", "CAMELLIA", "SEED", "IDEA", "ARIA", "kRSA", "RSA", "SHA1", "SHA", "DH",
    "DHE", "EDH", "kDHE", "ADH", "AECDH", "aECDH", "kECDH", "CBC", "SSLv3", "CCM", "CCM8", "aGOST",
    "kGOST",
];

/// Protocol versions from `tls-protocols` (`None`: TLSv1.2 and TLSv1.3, Redis's default).
pub fn protocols(value: Option<&str>) -> Result<Vec<&'static SupportedProtocolVersion>, TlsError> {
    let Some(value) = value else {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    };
    let (mut v12, mut v13) = (false, false);
    for token in value.split(' ').filter(|t| !t.is_empty()) {
        match token.to_ascii_lowercase().as_str() {
            "tlsv1" | "tlsv1.1" => {}
            "tlsv1.2" => v12 = true,
            "tlsv1.3" => v13 = true,
            _ => return Err(TlsError::InvalidProtocols),
        }
    }
    let mut versions = Vec::new();
    if v13 {
        versions.push(&rustls::version::TLS13);
    }
    if v12 {
        versions.push(&rustls::version::TLS12);
    }
    if versions.is_empty() {
        return Err(TlsError::UnsupportedProtocols(value.to_owned()));
    }
    Ok(versions)
}

fn split(list: &str) -> impl Iterator<Item = &str> {
    list.split([':', ',', ' ']).filter(|t| !t.is_empty())
}

fn unknown(directive: &'static str, names: Vec<&str>, supported: Vec<&str>) -> TlsError {
    TlsError::UnknownCiphers {
        directive,
        names: names.join(":"),
        supported: supported.join(":"),
    }
}

/// TLSv1.3 suites from `tls-ciphersuites` (`None`: all of them).
pub fn tls13_suites(value: Option<&str>) -> Result<Vec<SupportedCipherSuite>, TlsError> {
    let Some(value) = value else {
        return Ok(TLS13.iter().map(|&(_, s)| s).collect());
    };
    let mut suites = Vec::new();
    let mut refused = Vec::new();
    for name in split(value) {
        match TLS13.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(&(_, suite)) if !suites.contains(&suite) => suites.push(suite),
            Some(_) => {}
            None => refused.push(name),
        }
    }
    if !refused.is_empty() {
        let supported = TLS13.iter().map(|&(n, _)| n).collect();
        return Err(unknown("tls-ciphersuites", refused, supported));
    }
    Ok(suites)
}

fn tls12_named(name: &str) -> Option<SupportedCipherSuite> {
    TLS12
        .iter()
        .find(|(openssl, iana, _)| {
            openssl.eq_ignore_ascii_case(name) || iana.eq_ignore_ascii_case(name)
        })
        .map(|&(_, _, suite)| suite)
}

/// TLSv1.2 suites from `tls-ciphers` in OpenSSL's list syntax (`None`: all of them). Names add a suite,
/// `!NAME`/`-NAME` remove it, keywords such as `DEFAULT` or `HIGH` add every suite, `+NAME` and `@...`
/// (ordering commands) are accepted and change nothing.
pub fn tls12_suites(value: Option<&str>) -> Result<Vec<SupportedCipherSuite>, TlsError> {
    let all = || TLS12.iter().map(|&(_, _, s)| s);
    let Some(value) = value else {
        return Ok(all().collect());
    };
    let mut suites: Vec<SupportedCipherSuite> = Vec::new();
    let mut refused = Vec::new();
    for token in split(value) {
        let (remove, name) = match token.as_bytes()[0] {
            b'!' | b'-' => (true, &token[1..]),
            b'+' | b'@' => continue,
            _ => (false, token),
        };
        let is = |list: &[&str]| list.iter().any(|k| k.eq_ignore_ascii_case(name));
        if let Some(suite) = tls12_named(name) {
            if remove {
                suites.retain(|&s| s != suite);
            } else if !suites.contains(&suite) {
                suites.push(suite);
            }
        } else if is(SELECT_ALL) {
            if remove {
                suites.clear();
            } else {
                suites.extend(all().filter(|s| !suites.contains(s)).collect::<Vec<_>>());
            }
        } else if !(remove && is(NEVER_OFFERED)) {
            refused.push(token);
        }
    }
    if !refused.is_empty() {
        let supported = TLS12
            .iter()
            .map(|&(n, _, _)| n)
            .chain(SELECT_ALL.iter().copied())
            .collect();
        return Err(unknown("tls-ciphers", refused, supported));
    }
    Ok(suites)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_parse_as_redis_does() {
        assert_eq!(protocols(None).unwrap().len(), 2);
        let v = protocols(Some("TLSv1.2")).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].version, rustls::ProtocolVersion::TLSv1_2);
        assert_eq!(protocols(Some("tlsv1.3  TLSv1.2")).unwrap().len(), 2);
        assert!(matches!(
            protocols(Some("TLSv1.4")),
            Err(TlsError::InvalidProtocols)
        ));
        assert!(matches!(
            protocols(Some("TLSv1 TLSv1.1")),
            Err(TlsError::UnsupportedProtocols(_))
        ));
        // Old versions next to a supported one are dropped, as an OpenSSL without them would.
        assert_eq!(protocols(Some("TLSv1.1 TLSv1.3")).unwrap().len(), 1);
    }

    #[test]
    fn ciphersuites_map_names_and_refuse_unknown_ones() {
        let s = tls13_suites(Some("TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256")).unwrap();
        assert_eq!(
            s,
            vec![
                cs::TLS13_CHACHA20_POLY1305_SHA256,
                cs::TLS13_AES_128_GCM_SHA256
            ]
        );
        let e =
            tls13_suites(Some("TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:BOGUS")).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with(
                "tls-ciphersuites: unknown or unsupported cipher(s): TLS_AES_128_CCM_SHA256:BOGUS;"
            ),
            "{text}"
        );
    }

    #[test]
    fn ciphers_accept_openssl_lists() {
        let s = tls12_suites(Some("ECDHE-RSA-AES256-GCM-SHA384")).unwrap();
        assert_eq!(s, vec![cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]);
        assert_eq!(
            tls12_suites(Some("DEFAULT:!MEDIUM:!aNULL")).unwrap().len(),
            TLS12.len()
        );
        let s = tls12_suites(Some("HIGH:!ECDHE-RSA-CHACHA20-POLY1305:@STRENGTH")).unwrap();
        assert_eq!(s.len(), TLS12.len() - 1);
        let s = tls12_suites(Some("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")).unwrap();
        assert_eq!(s, vec![cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]);
        let text = tls12_suites(Some("AES128-SHA:DEFAULT"))
            .unwrap_err()
            .to_string();
        assert!(
            text.starts_with("tls-ciphers: unknown or unsupported cipher(s): AES128-SHA;"),
            "{text}"
        );
    }
}
