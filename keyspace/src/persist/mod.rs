//! Persistence formats shared with redis-server: keyspace entries to and from the RDB value model.

pub mod rdb;
pub mod rdb_file;

#[cfg(test)]
mod rdb_file_tests;
#[cfg(test)]
mod rdb_merge_tests;
#[cfg(test)]
mod rdb_settings_tests;
#[cfg(test)]
mod rdb_tests;
