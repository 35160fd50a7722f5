//! Integration tests: the real `argon` binary against a real Docker engine, a
//! real MongoDB-protocol server image and both store backends (a local folder
//! and a real S3-compatible server). `scripts/test-services.sh` sets these up;
//! the README's test command runs it first.

mod harness;

mod changes;
mod diff;
mod docs;
mod errors;
mod export;
mod faults;
mod git;
mod library;
mod lifecycle;
mod mount;
mod plugins;
mod prompts;
mod remote;
mod safety;
mod store;
mod switching;
mod web;
