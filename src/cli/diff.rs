//! `argon diff [REV [REV]] [-- NS...]` and the rendering of changes, which
//! `argon show` shares: a unified diff of relaxed extended JSON per
//! document, `--stat`, `--name-only`, `--name-status`, or JSON lines.

use std::collections::BTreeMap;

use mongodb::bson::{Bson, Document, RawDocumentBuf};
use serde_json::{json, Value};

use crate::core::Result;
use crate::diff::{
    field_changes, Change, CollectionChange, DiffError, DocumentChange, FieldChange,
};

use super::pager::{ColorWhen, Output, Paint};
use super::{human_bytes, Ctx, Format};

#[derive(clap::Args)]
pub struct Args {
    /// Nothing: HEAD's uncommitted changes; REV: REV against HEAD's live
    /// data; REV1 REV2 or REV1..REV2: two versions
    #[arg(value_name = "REV")]
    revs: Vec<String>,
    /// Only these namespaces (DB or DB.COLLECTION), after --
    #[arg(last = true, value_name = "NS")]
    namespaces: Vec<String>,
    #[command(flatten)]
    view: View,
    /// Exit with 1 when there are differences, 0 when there are none
    #[arg(long)]
    exit_code: bool,
}

/// How changes are shown (shared with `argon show`).
#[derive(clap::Args, Clone)]
pub struct View {
    /// Per namespace: documents inserted, updated and deleted, and bytes
    #[arg(long, conflicts_with_all = ["name_only", "name_status"])]
    pub stat: bool,
    /// Only the names of changed namespaces
    #[arg(long, conflicts_with = "name_status")]
    pub name_only: bool,
    /// Changed namespaces with A (created), D (dropped), R (renamed) or M (modified)
    #[arg(long)]
    pub name_status: bool,
    /// Colour the output
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    pub color: ColorWhen,
    /// Write to stdout even on a terminal
    #[arg(long)]
    pub no_pager: bool,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<i32> {
    let mut project = ctx.open(false).await?;
    let (old, new) = project.diff_ends(&args.revs)?;
    let mut out = Output::start(!args.view.no_pager && ctx.out.format == Format::Human);
    let mut view = Renderer::new(&args.view, ctx.out.format);
    let diffed = project
        .diff(&old, &new, &args.namespaces, &mut |change| {
            view.take(change, &mut out).map_err(|_| DiffError::Closed)
        })
        .await;
    let changed = view.changed;
    let _ = view.finish(&mut out);
    out.finish();
    unless_closed(diffed)?;
    Ok(i32::from(args.exit_code && changed))
}

/// A reader that stopped reading (the pager quit) ends the output; that is
/// not a failure.
pub fn unless_closed(shown: Result<()>) -> Result<()> {
    match shown {
        Err(crate::core::Error::Diff(DiffError::Closed)) => Ok(()),
        other => other,
    }
}

/// What one namespace's changes add up to.
#[derive(Default)]
struct NsStat {
    status: Option<char>,
    renamed_from: Option<String>,
    collection_changes: u64,
    inserted: u64,
    updated: u64,
    deleted: u64,
    added_bytes: u64,
    removed_bytes: u64,
}

/// Turns changes into output lines as they arrive.
pub struct Renderer {
    view: View,
    json: bool,
    paint: Paint,
    stats: BTreeMap<String, NsStat>,
    current: Option<String>,
    pub changed: bool,
}

impl Renderer {
    pub fn new(view: &View, format: Format) -> Renderer {
        let json = format == Format::Json;
        Renderer {
            view: view.clone(),
            json,
            paint: Paint(!json && view.color.enabled()),
            stats: BTreeMap::new(),
            current: None,
            changed: false,
        }
    }

    fn summary_only(&self) -> bool {
        self.view.stat || self.view.name_only || self.view.name_status
    }

    pub fn take(&mut self, change: Change, out: &mut Output) -> std::io::Result<()> {
        self.changed = true;
        self.count(&change);
        if self.summary_only() {
            return Ok(());
        }
        if self.json {
            return out.line(&json_line(&change).to_string());
        }
        let ns = match &change {
            Change::Collection { ns, .. } | Change::Document { ns, .. } => ns.clone(),
        };
        if self.current.as_deref() != Some(ns.as_str()) {
            out.line(&self.paint.bold(&format!("diff {ns}")))?;
            self.current = Some(ns);
        }
        for line in text_lines(&change, self.paint) {
            out.line(&line)?;
        }
        Ok(())
    }

    fn count(&mut self, change: &Change) {
        match change {
            Change::Collection { ns, change } => {
                let s = self.stats.entry(ns.clone()).or_default();
                s.collection_changes += 1;
                match change {
                    CollectionChange::Created { .. } => s.status = Some('A'),
                    CollectionChange::Dropped { .. } => s.status = Some('D'),
                    CollectionChange::Renamed { from } => {
                        s.status = Some('R');
                        s.renamed_from = Some(from.clone());
                    }
                    _ => {}
                }
            }
            Change::Document { ns, change } => {
                let s = self.stats.entry(ns.clone()).or_default();
                match change {
                    DocumentChange::Inserted(d) => {
                        s.inserted += 1;
                        s.added_bytes += d.as_bytes().len() as u64;
                    }
                    DocumentChange::Deleted(d) => {
                        s.deleted += 1;
                        s.removed_bytes += d.as_bytes().len() as u64;
                    }
                    DocumentChange::Updated { old, new } => {
                        s.updated += 1;
                        s.removed_bytes += old.as_bytes().len() as u64;
                        s.added_bytes += new.as_bytes().len() as u64;
                    }
                }
            }
        }
    }

    /// Prints the summaries (`--stat`, `--name-only`, `--name-status`).
    pub fn finish(self, out: &mut Output) -> std::io::Result<()> {
        if !self.summary_only() {
            return Ok(());
        }
        let status = |s: &NsStat| s.status.unwrap_or('M');
        for (ns, s) in &self.stats {
            if self.json {
                let mut v = json!({
                    "ns": ns,
                    "status": status(s).to_string(),
                    "inserted": s.inserted,
                    "updated": s.updated,
                    "deleted": s.deleted,
                    "added_bytes": s.added_bytes,
                    "removed_bytes": s.removed_bytes,
                });
                if let Some(from) = &s.renamed_from {
                    v["from"] = json!(from);
                }
                out.line(&v.to_string())?;
            } else if self.view.name_only {
                out.line(ns)?;
            } else if self.view.name_status {
                match &s.renamed_from {
                    Some(from) => out.line(&format!("R\t{from}\t{ns}"))?,
                    None => out.line(&format!("{}\t{ns}", status(s)))?,
                }
            } else {
                let what = match status(s) {
                    'A' => "created, ",
                    'D' => "dropped, ",
                    'R' => "renamed, ",
                    _ => "",
                };
                out.line(&format!(
                    " {ns} | {what}{} inserted, {} updated, {} deleted ({}, {})",
                    s.inserted,
                    s.updated,
                    s.deleted,
                    self.paint
                        .green(&format!("+{}", human_bytes(s.added_bytes))),
                    self.paint
                        .red(&format!("-{}", human_bytes(s.removed_bytes))),
                ))?;
            }
        }
        if self.view.stat && !self.json {
            let sum = |f: fn(&NsStat) -> u64| self.stats.values().map(f).sum::<u64>();
            out.line(&format!(
                " {} namespace(s) changed: {} inserted, {} updated, {} deleted",
                self.stats.len(),
                sum(|s| s.inserted),
                sum(|s| s.updated),
                sum(|s| s.deleted)
            ))?;
        }
        Ok(())
    }
}

fn relaxed(value: &Bson) -> String {
    value.clone().into_relaxed_extjson().to_string()
}

fn to_document(raw: &RawDocumentBuf) -> Document {
    raw.to_document().unwrap_or_default()
}

fn id_text(doc: &Document) -> String {
    doc.get("_id")
        .map(relaxed)
        .unwrap_or_else(|| "(none)".into())
}

fn type_name(value: &Bson) -> String {
    format!("{:?}", value.element_type()).to_lowercase()
}

/// A document's fields as lines, each led by `mark`.
fn document_lines(doc: &Document, mark: &str, paint: impl Fn(&str) -> String) -> Vec<String> {
    let mut lines = vec![paint(&format!("{mark}{{"))];
    for (k, v) in doc {
        lines.push(paint(&format!(
            "{mark}  {}: {},",
            Value::from(k.as_str()),
            relaxed(v)
        )));
    }
    lines.push(paint(&format!("{mark}}}")));
    lines
}

/// The unified-diff lines of one change.
fn text_lines(change: &Change, paint: Paint) -> Vec<String> {
    let (red, green) = (|t: &str| paint.red(t), |t: &str| paint.green(t));
    let mut lines = Vec::new();
    match change {
        Change::Collection { change, .. } => match change {
            CollectionChange::Created { kind } => {
                lines.push(green(&format!("+++ created ({kind})")))
            }
            CollectionChange::Dropped { kind } => lines.push(red(&format!("--- dropped ({kind})"))),
            CollectionChange::Renamed { from } => {
                lines.push(paint.cyan(&format!("renamed from {from}")))
            }
            CollectionChange::Options { old, new } => {
                lines.push(red(&format!("-options: {old}")));
                lines.push(green(&format!("+options: {new}")));
            }
            CollectionChange::IndexAdded(ix) => lines.push(green(&format!("+index: {ix}"))),
            CollectionChange::IndexDropped(ix) => lines.push(red(&format!("-index: {ix}"))),
            CollectionChange::IndexChanged { old, new } => {
                lines.push(red(&format!("-index: {old}")));
                lines.push(green(&format!("+index: {new}")));
            }
        },
        Change::Document { change, .. } => match change {
            DocumentChange::Inserted(d) => {
                let d = to_document(d);
                lines.push(paint.cyan(&format!("@@ inserted _id: {} @@", id_text(&d))));
                lines.extend(document_lines(&d, "+", green));
            }
            DocumentChange::Deleted(d) => {
                let d = to_document(d);
                lines.push(paint.cyan(&format!("@@ deleted _id: {} @@", id_text(&d))));
                lines.extend(document_lines(&d, "-", red));
            }
            DocumentChange::Updated { old, new } => {
                let (old, new) = (to_document(old), to_document(new));
                lines.push(paint.cyan(&format!("@@ updated _id: {} @@", id_text(&new))));
                lines.push(" {".into());
                let field = |k: &str, v: &Bson| format!("  {}: {}", Value::from(k), relaxed(v));
                for (k, v) in &new {
                    match old.get(k) {
                        Some(was) if was == v => lines.push(format!(" {},", field(k, v))),
                        Some(was) => {
                            lines.push(red(&format!("-{},", field(k, was))));
                            let mut now = format!("+{},", field(k, v));
                            // Equal-looking values of another type are a change: say which.
                            if relaxed(was) == relaxed(v) {
                                now.push_str(&format!(
                                    "  ({} -> {})",
                                    type_name(was),
                                    type_name(v)
                                ));
                            }
                            lines.push(green(&now));
                        }
                        None => lines.push(green(&format!("+{},", field(k, v)))),
                    }
                }
                for (k, was) in &old {
                    if !new.contains_key(k) {
                        lines.push(red(&format!("-{},", field(k, was))));
                    }
                }
                if field_changes(&old, &new).is_empty() {
                    lines.push(paint.cyan("  (the same fields, in another order)"));
                }
                lines.push(" }".into());
            }
        },
    }
    lines
}

fn canonical(value: &Bson) -> Value {
    value.clone().into_canonical_extjson()
}

/// One change as a JSON object (docs/json.md): canonical extended JSON,
/// so types survive; updates as `$set`/`$unset` field paths.
pub fn json_line(change: &Change) -> Value {
    match change {
        Change::Collection { ns, change } => match change {
            CollectionChange::Created { kind } => json!({"op": "create", "ns": ns, "type": kind}),
            CollectionChange::Dropped { kind } => json!({"op": "drop", "ns": ns, "type": kind}),
            CollectionChange::Renamed { from } => json!({"op": "rename", "ns": ns, "from": from}),
            CollectionChange::Options { old, new } => {
                json!({"op": "options", "ns": ns, "old": old, "new": new})
            }
            CollectionChange::IndexAdded(ix) => {
                json!({"op": "create_index", "ns": ns, "index": ix})
            }
            CollectionChange::IndexDropped(ix) => {
                json!({"op": "drop_index", "ns": ns, "index": ix})
            }
            CollectionChange::IndexChanged { old, new } => {
                json!({"op": "change_index", "ns": ns, "old": old, "new": new})
            }
        },
        Change::Document { ns, change } => {
            let doc_json = |d: &RawDocumentBuf| canonical(&Bson::Document(to_document(d)));
            let id = |d: &Document| d.get("_id").map(canonical).unwrap_or(Value::Null);
            match change {
                DocumentChange::Inserted(d) => {
                    json!({"op": "insert", "ns": ns, "_id": id(&to_document(d)), "doc": doc_json(d)})
                }
                DocumentChange::Deleted(d) => {
                    json!({"op": "delete", "ns": ns, "_id": id(&to_document(d)), "doc": doc_json(d)})
                }
                DocumentChange::Updated { old, new } => {
                    let (o, n) = (to_document(old), to_document(new));
                    let changes = field_changes(&o, &n);
                    if changes.is_empty() {
                        return json!({"op": "update", "ns": ns, "_id": id(&n), "replace": doc_json(new)});
                    }
                    let mut set = serde_json::Map::new();
                    let mut unset = Vec::new();
                    for c in changes {
                        match c {
                            FieldChange::Set { path, value } => {
                                set.insert(path, canonical(&value));
                            }
                            FieldChange::Unset { path } => unset.push(Value::from(path)),
                        }
                    }
                    json!({"op": "update", "ns": ns, "_id": id(&n), "set": set, "unset": unset})
                }
            }
        }
    }
}
