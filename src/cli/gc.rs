//! `argon gc`: store retention; `argon gc --local`: evict local volumes.

use std::time::Duration;

use crate::core::{GcOptions, Result, DEFAULT_GRACE};

use super::{human_bytes, short, Ctx};

#[derive(clap::Args)]
pub struct Args {
    /// Show what would be deleted, delete nothing
    #[arg(long, short = 'n')]
    dry_run: bool,
    /// Keep the newest N versions of each branch that no branch or tag reaches
    #[arg(long, value_name = "N")]
    keep_last: Option<usize>,
    /// Keep versions no branch or tag reaches if younger than this (e.g. 30d, 12h, 2w)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    keep_within: Option<Duration>,
    /// Never delete a chunk younger than this (a save may be about to use it)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    grace: Option<Duration>,
    /// Instead: remove local volumes of stopped branches (their data is in the store)
    #[arg(long, conflicts_with_all = ["keep_last", "keep_within", "grace"])]
    local: bool,
}

/// `90s`, `15m`, `12h`, `30d`, `2w`.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let (n, unit) = super::number_and_unit(text)
        .ok_or_else(|| format!("'{text}' is not a duration like 30d, 12h, 15m"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("'{text}': use a unit s, m, h, d or w (e.g. 30d)")),
    };
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("'{text}' is too long"))
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut project = ctx.open(true).await?;
    if args.local {
        let r = project.gc_local(args.dry_run).await?;
        ctx.out.emit(&r, || {
            let verb = if r.dry_run { "would remove" } else { "removed" };
            match r.evicted.as_slice() {
                [] => "no local volume to remove".to_string(),
                names => format!("{verb} the local volumes of: {}", names.join(", ")),
            }
        });
        return Ok(());
    }
    if !args.dry_run && (args.keep_last.is_some() || args.keep_within.is_some()) {
        ctx.confirm("Delete versions that no branch or tag reaches, beyond the policy given?")?;
    }
    let opts = GcOptions {
        dry_run: args.dry_run,
        keep_last: args.keep_last,
        keep_within: args.keep_within,
        grace: args.grace.unwrap_or(DEFAULT_GRACE),
    };
    let r = project.gc(&opts).await?;
    ctx.out.emit(&r, || {
        let verb = if r.dry_run { "would delete" } else { "deleted" };
        let mut t = String::new();
        for v in &r.deleted_versions {
            t.push_str(&format!(
                "{verb} version {} ({}) {}\n",
                short(&v.id),
                v.branch,
                v.message
            ));
        }
        t.push_str(&format!(
            "{verb} {} version(s) and {} chunk(s), {} freed; kept {} version(s)",
            r.deleted_versions.len(),
            r.deleted_chunks,
            human_bytes(r.freed_bytes),
            r.kept_versions
        ));
        // With no grace period, marked chunks are swept in the same run.
        if r.marked_chunks > 0 && !opts.grace.is_zero() {
            t.push_str(&format!(
                "\n{} {} unreferenced chunk(s); a gc at least {} from now deletes them unless a version uses them again",
                if r.dry_run { "would mark" } else { "marked" },
                r.marked_chunks,
                human_duration(opts.grace)
            ));
        }
        if let Some(holders) = &r.sweep_deferred {
            t.push_str(&format!(
                "\nmarked chunks were not deleted: the store is in use ({holders}); run gc again later"
            ));
        }
        if r.young_chunks > 0 {
            t.push_str(&format!(
                "\n{} unreferenced chunk(s) younger than the grace period kept",
                r.young_chunks
            ));
        }
        t
    });
    Ok(())
}

/// "1h", "30m", "45s": the grace period as the user typed it.
fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("30d").unwrap(),
            Duration::from_secs(30 * 86_400)
        );
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        assert_eq!(
            parse_duration("2w").unwrap(),
            Duration::from_secs(14 * 86_400)
        );
        for bad in ["", "d", "5", "5y", "-1d", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
