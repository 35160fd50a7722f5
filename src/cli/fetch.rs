//! `argon fetch`: bring in what other machines saved to the same store.

use crate::core::Result;

use super::Ctx;

pub async fn run(ctx: &Ctx) -> Result<()> {
    let mut project = ctx.open(true).await?;
    let r = project.fetch().await?;
    ctx.out.emit(&r, || {
        let mut t = format!("{} new version(s) from {}", r.new_versions, r.store);
        for b in &r.new_branches {
            t.push_str(&format!("\n * [new branch] {b}"));
        }
        for b in &r.updated_branches {
            t.push_str(&format!("\n   [updated]    {b}"));
        }
        for tag in &r.new_tags {
            t.push_str(&format!("\n * [new tag]    {tag}"));
        }
        for b in &r.diverged_branches {
            t.push_str(&format!(
                "\n ! [diverged]   {b} (the store has newer versions; yours are kept; 'argon log --all' shows both)"
            ));
        }
        t
    });
    Ok(())
}
