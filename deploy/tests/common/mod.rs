//! The helpers the integration tests share live in `zedis-testkit`.
#![allow(unused_imports)]

pub use zedis_testkit::*;
