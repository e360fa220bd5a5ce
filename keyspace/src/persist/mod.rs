//! Persistence formats shared with redis-server: keyspace entries to and from the RDB value model.

pub mod rdb;

#[cfg(test)]
mod rdb_tests;
