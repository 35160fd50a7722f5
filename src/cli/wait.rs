//! `argon wait`, and `argon __background-save` which does the waiting's work.

use crate::core::Result;

use super::Ctx;

/// `argon wait`: returns once the versions that `checkout` and `stash` left
/// to a background save are recorded.
pub async fn run(ctx: &Ctx) -> Result<()> {
    let mut project = ctx.open(false).await?;
    let finished = project.wait_for_saves().await?;
    ctx.out.emit(&finished, || {
        if finished.is_empty() {
            return "No save pending".to_string();
        }
        finished
            .iter()
            .map(|f| match &f.version {
                Some(v) => format!("Saved {} as {}", f.branch, v.short_id),
                None => format!("Saved {} (unchanged)", f.branch),
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

/// `argon __background-save` (started by `checkout` and `stash`): waits for
/// the project's lock, which finishes every pending save, and exits; or
/// stops early when a switch asks it to make way (the switch starts it again).
pub async fn background_save(ctx: &Ctx) -> Result<()> {
    // The new HEAD's first clients come first: the save starts once the
    // project has been left alone a moment (see `wait_for_saves`: a switch
    // back meanwhile finds nothing to stop) and runs at a lower CPU
    // priority, its engines too (see `EngineSpec::background`).
    let _ = rustix::process::nice(10);
    let mut project = ctx.open(false).await?;
    project.make_way_for_switches();
    let waited = project.wait_for_saves().await;
    // A capture engine killed to make way is removed only once the lock is
    // let go: the switch it made way for does not wait for that.
    project.unlock();
    project.remove_killed_engines().await;
    waited.map(drop)
}
