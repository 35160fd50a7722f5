//! `argon allow` / `argon deny`: whether the git hooks may act in this project
//! (direnv's model; see `core::trust`).

use crate::core::trust::{self, Trust, TrustReport};
use crate::core::Result;

use super::Ctx;

pub fn allow(ctx: &Ctx) -> Result<()> {
    let root = trust::project_root(&ctx.dir)?;
    let report = trust::allow(&root)?;
    ctx.out.emit(&report, || {
        format!(
            "Allowed {}: the git hooks switch its database",
            report.root.display()
        )
    });
    Ok(())
}

pub fn deny(ctx: &Ctx) -> Result<()> {
    let root = trust::project_root(&ctx.dir)?;
    let report = trust::deny(&root)?;
    ctx.out.emit(&report, || {
        format!(
            "Denied {}: the git hooks leave its database alone until 'argon allow'",
            report.root.display()
        )
    });
    Ok(())
}

/// Why the hooks do nothing here, or None when they may act.
pub fn refusal(report: &TrustReport) -> Option<String> {
    let why = match report.trust {
        Trust::Allowed => return None,
        Trust::New => "this project's argon.toml was never allowed here",
        Trust::Changed => "argon.toml changed since it was allowed",
    };
    Some(format!(
        "argon: not switching the database ({why}); if you trust {}, run 'argon allow' there",
        report.root.join("argon.toml").display()
    ))
}
