//! A minimal ISO-BMFF box reader and writer: only what the merge needs, on in-memory tables.
//! Sample data is never read through here; it is copied file to file by `copy.rs`.

pub mod read;
pub mod write;
