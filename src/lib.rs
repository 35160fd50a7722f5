//! argon: git for MongoDB databases. Each branch is a MongoDB in its own Docker
//! container; every saved version lives in a content-addressed snapshot store.

pub mod cli;
pub mod config;
pub mod core;
pub mod credentials;
pub mod endpoint;
pub mod fault;
pub mod git;
pub mod meta;
pub mod mount;
pub mod names;
pub mod private;
pub mod progress;
#[cfg(test)]
mod proptests;
pub mod runtime;
pub mod snapshot;
pub mod store;
