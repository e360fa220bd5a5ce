//! A rough measurement of [`Acl::check`]'s cost (not a benchmark; run it with `--release`):
//! `cargo run --release -p zedis-acl --example check_cost`.
//!
//! It times a GET-like request with one key for a `~* &* +@all` user (the fast path: one flag test),
//! a user with key patterns, and a user with selectors that must all be tried.

use std::hint::black_box;
use std::time::Instant;

use zedis_acl::{parse_categories, Acl, CommandCatalog, KeyRef, Request, UserId};

const ITERATIONS: u32 = 5_000_000;

fn catalog() -> CommandCatalog {
    let mut catalog = CommandCatalog::new();
    catalog
        .add_command("get", parse_categories("@read @string @fast"), false)
        .ok();
    catalog
        .add_command("set", parse_categories("@write @string @slow"), false)
        .ok();
    for idx in 0..240 {
        catalog
            .add_command(&format!("cmd{idx}"), parse_categories("@read @fast"), false)
            .ok();
    }
    catalog
}

fn time(acl: &Acl, user: UserId, label: &str) {
    let get = acl.catalog().get("get").unwrap_or_else(|| unreachable!());
    let keys = [KeyRef {
        pos: 1,
        name: b"app:user:1000",
        read: true,
        write: false,
    }];
    let request = Request {
        command: get,
        first_arg: Some(b"app:user:1000"),
        keys: &keys,
        channels: &[],
    };
    let start = Instant::now();
    let mut allowed = 0u32;
    for _ in 0..ITERATIONS {
        allowed += u32::from(
            black_box(acl)
                .check(black_box(user), black_box(&request))
                .is_ok(),
        );
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(ITERATIONS);
    println!("{label:<40} {ns:>8.2} ns/check ({allowed} allowed)");
}

fn main() {
    let mut acl = Acl::new(catalog(), false);
    acl.set_user(
        b"patterns",
        &[b"on", b"~session:*", b"~cache:*", b"%R~app:*", b"+@all"],
    )
    .ok();
    acl.set_user(
        b"selectors",
        &[b"on", b"~x", b"+set", b"(~y +get)", b"(~app:* +get)"],
    )
    .ok();
    time(&acl, acl.default_user(), "default (~* &* +@all, fast path)");
    if let Some(id) = acl.user_id(b"patterns") {
        time(&acl, id, "3 key patterns, +@all");
    }
    if let Some(id) = acl.user_id(b"selectors") {
        time(&acl, id, "root + 2 selectors");
    }
}
