//! LOLWUT's random art byte for byte: redis-server is started with a small `LD_PRELOAD` library that makes
//! its `srand`/`srandom` (called once at start, from the clock, pid and µs) use a seed this test chooses;
//! an idle, empty server draws no other random number, so each LOLWUT it renders is exactly the one
//! [`CRand::new(seed)`] renders, call after call. Skipped when `cc` or `redis-server` is missing.
//!
//! This test is alone in its binary: it sets `LD_PRELOAD` in its own environment for the start of the
//! server (children inherit it), which no other test of this binary may see.

mod common;

use std::process::Command;

use common::RedisProcess;
use zedis_observe::lolwut::{self, CRand};
use zedis_resp::Protocol;
use zedis_testkit::{have, TempDir};

const SHIM: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
static void seed_fixed(void) {
    void (*real)(unsigned int) = (void (*)(unsigned int))dlsym(RTLD_NEXT, "srandom");
    const char *s = getenv("ZEDIS_TEST_RAND_SEED");
    real(s ? (unsigned int)strtoul(s, NULL, 10) : 1u);
}
void srand(unsigned int seed) { (void)seed; seed_fixed(); }
void srandom(unsigned int seed) { (void)seed; seed_fixed(); }
"#;

const SEED: u32 = 20_231_204;

/// Builds the shim; `None` (the test skips) when it cannot.
fn build_shim(dir: &TempDir) -> Option<String> {
    let source = dir.join("seed_shim.c");
    let library = dir.join("seed_shim.so");
    std::fs::write(&source, SHIM).ok()?;
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&library)
        .arg(&source)
        .arg("-ldl")
        .status()
        .ok()?;
    status
        .success()
        .then(|| library.to_string_lossy().into_owned())
}

#[test]
fn seeded_art_matches_redis_byte_for_byte() {
    if !have("cc") {
        return;
    }
    let dir = TempDir::new("lolwut-shim");
    let Some(shim) = build_shim(&dir) else {
        eprintln!("could not build the srand shim: skipped");
        return;
    };
    std::env::set_var("LD_PRELOAD", &shim);
    std::env::set_var("ZEDIS_TEST_RAND_SEED", SEED.to_string());
    let redis = RedisProcess::start(&[]);
    std::env::remove_var("LD_PRELOAD");
    std::env::remove_var("ZEDIS_TEST_RAND_SEED");
    let Some(redis) = redis else {
        eprintln!("redis-server not available: skipped");
        return;
    };
    let mut client = redis.client();
    let mut rand = CRand::new(SEED);
    let calls: [&[&str]; 6] = [
        &["LOLWUT", "VERSION", "6"],
        &["LOLWUT", "VERSION", "5"],
        &["LOLWUT", "VERSION", "6", "57", "31"],
        &["LOLWUT", "VERSION", "5", "25", "3", "9"],
        &["LOLWUT", "VERSION", "5", "80", "17", "60"],
        &["LOLWUT", "VERSION", "6", "3", "2"],
    ];
    for argv in calls {
        let theirs = client.raw(argv);
        let bytes: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        let mut ours = Vec::new();
        lolwut::reply_lolwut(&mut ours, Protocol::Resp2, &bytes, "7.0.15", &mut rand).unwrap();
        assert!(
            ours == theirs,
            "{argv:?}:\nours:\n{}\ntheirs:\n{}",
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }
}
