//! External commands: `argon foo ARGS` runs `argon-foo` from PATH, as git does.

use std::ffi::OsString;
use std::path::PathBuf;

use super::Ctx;

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Runs the plugin and returns its exit code.
pub async fn run(ctx: &Ctx, args: Vec<OsString>) -> i32 {
    let Some((name, rest)) = args.split_first() else {
        return 2;
    };
    let name = name.to_string_lossy().into_owned();
    let program = format!("argon-{name}");
    let Some(path) = find_on_path(&program) else {
        eprintln!("error: '{name}' is not an argon command and no '{program}' was found on PATH");
        eprintln!("hint: see 'argon --help'");
        return 2;
    };
    let mut cmd = std::process::Command::new(&path);
    cmd.args(rest);
    if let Ok(exe) = std::env::current_exe() {
        cmd.env("ARGON_BIN", exe);
    }
    // Project context, when the plugin runs inside a project.
    if let Ok(project) = ctx.open(false).await {
        cmd.env("ARGON_PROJECT", project.config.name.as_str());
        cmd.env("ARGON_PROJECT_ROOT", &project.config.root);
        cmd.env("ARGON_MONGODB_URI", project.uri());
        cmd.env("ARGON_STORE", project.config.store.url.to_string());
        if let Some(head) = project.head() {
            cmd.env("ARGON_BRANCH", head);
        }
    }
    match cmd.status() {
        Ok(status) => status.code().unwrap_or(1),
        Err(e) => {
            eprintln!("error: cannot run {}: {e}", path.display());
            1
        }
    }
}
