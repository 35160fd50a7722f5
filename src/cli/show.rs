//! `argon show [REV] [-- NS...]`: one version as `git show` prints a commit:
//! what it is, what it holds, then what it changed against its parent.

use crate::core::{Result, ShowReport};
use crate::diff::DiffError;

use super::diff::{unless_closed, Renderer, View};
use super::pager::Output;
use super::{human_bytes, Ctx, Format};

#[derive(clap::Args)]
pub struct Args {
    /// The version (default: HEAD's latest); any revision argon takes
    rev: Option<String>,
    /// Only these namespaces (DB or DB.COLLECTION) in the diff, after --
    #[arg(last = true, value_name = "NS")]
    namespaces: Vec<String>,
    #[command(flatten)]
    view: View,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut project = ctx.open(false).await?;
    let (report, id) = project.show(args.rev.as_deref()).await?;
    let mut out = Output::start(!args.view.no_pager && ctx.out.format == Format::Human);
    let mut view = Renderer::new(&args.view, ctx.out.format);
    let header = match ctx.out.format {
        Format::Json => serde_json::to_string(&report).unwrap_or_default(),
        Format::Human => header(&report),
    };
    let shown = match out.line(&header) {
        Ok(()) => {
            project
                .diff_with_parent(id, &args.namespaces, &mut |change| {
                    view.take(change, &mut out).map_err(|_| DiffError::Closed)
                })
                .await
        }
        Err(_) => Err(DiffError::Closed.into()),
    };
    let _ = view.finish(&mut out);
    out.finish();
    unless_closed(shown)
}

fn header(r: &ShowReport) -> String {
    let v = &r.version;
    let mut t = format!(
        "version {}\nBranch:  {}\nParent:  {}\nDate:    {}\nCapture: {}{}\n\n    {}\n\nNamespaces:\n",
        v.id,
        v.branch,
        v.parent.as_deref().unwrap_or("(none: the branch's first version)"),
        v.created_at
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M:%S %z"),
        v.capture,
        r.engine_version
            .as_deref()
            .map(|e| format!(" (engine {e})"))
            .unwrap_or_default(),
        v.message,
    );
    if r.namespaces.is_empty() {
        t.push_str("    (none)\n");
    }
    for ns in &r.namespaces {
        t.push_str(&format!(
            "    {:<32} {:<10} {:>10} documents {:>10} {:>3} indexes\n",
            ns.ns,
            ns.kind,
            ns.documents,
            human_bytes(ns.bytes),
            ns.indexes
        ));
    }
    t
}
