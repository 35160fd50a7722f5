//! argon: git for MongoDB databases. Each branch is a MongoDB in its own Docker
//! container; every saved version lives in a content-addressed snapshot store.
//!
//! The library a front end builds on (the CLI is one; a dashboard or an
//! editor plugin another): `core::Project` opens a project and runs its
//! operations, each returning a report; `progress` is how a front end sees
//! them run; `config` and `names` are the settings and the names they take;
//! `store` and `snapshot` read saved versions without an engine; `endpoint`
//! is where a branch answers. The rest (Docker, SQLite, git, FUSE details)
//! is argon's own and may change without notice.

pub mod cli;
pub mod config;
pub mod core;
pub(crate) mod credentials;
pub mod diff;
pub mod endpoint;
pub(crate) mod fault;
pub(crate) mod git;
pub(crate) mod meta;
pub mod mount;
pub mod names;
pub(crate) mod private;
pub mod progress;
#[cfg(test)]
mod proptests;
pub mod proxy;
pub mod runtime;
pub mod snapshot;
pub mod store;
pub(crate) mod sync;

/// argon's own program, for the hidden commands it runs in the background
/// (`__proxy`, `__wake`, `__background-save`): `ARGON_BIN` (set for
/// plugins, whose own program is not argon), else this program when it is
/// argon, else `argon` beside it or on PATH.
pub(crate) fn argon_program() -> std::io::Result<std::path::PathBuf> {
    if let Some(bin) = std::env::var_os("ARGON_BIN") {
        return Ok(bin.into());
    }
    let exe = std::env::current_exe()?;
    if exe.file_name().is_some_and(|n| n == "argon") {
        return Ok(exe);
    }
    let beside = exe.with_file_name("argon");
    Ok(match beside.is_file() {
        true => beside,
        false => "argon".into(),
    })
}

/// [`argon_program`] as a file, for what needs the binary itself (a helper
/// container mounts it): a bare `argon` is looked up on PATH.
pub(crate) fn argon_binary() -> std::io::Result<std::path::PathBuf> {
    let program = argon_program()?;
    if program.components().count() > 1 {
        return Ok(program);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(&program))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "argon is not on PATH"))
}
