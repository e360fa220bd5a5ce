//! The side-by-side compatibility runner behind `tests/compat.rs`: connections that read one raw reply frame
//! at a time ([`conn`]), the script language ([`script`]), the comparison modes ([`compare`]) and running a
//! script against both servers ([`run`]).

pub mod compare;
pub mod conn;
pub mod run;
pub mod script;
