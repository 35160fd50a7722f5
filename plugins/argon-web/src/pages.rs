//! The routes: the branch view with the history picture, a version's page,
//! a collection's documents, the state the page polls, and the actions.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;

use argon::core::{BranchInfo, Error as CoreError, GcOptions, Project, TagInfo, DEFAULT_GRACE};
use argon::diff::{Change, CollectionChange, DocumentChange};
use argon::progress::Silent;
use axum::extract::{Form, Path as UrlPath, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use mongodb::bson::{Bson, Document, RawDocumentBuf};

use crate::html::{error_box, esc, human_bytes, page, seg};
use crate::{auth, graph, App};

/// Documents on one page of the browser.
const PAGE_DOCUMENTS: usize = 20;
/// Changes shown on a version's page before "and N more".
const SHOWN_CHANGES: usize = 200;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(branches))
        .route("/state", get(state))
        .route("/disk", get(disk_sizes))
        .route("/events", get(events))
        .route("/version/{rev}", get(version))
        .route("/version/{rev}/ns/{ns}", get(documents))
        .route("/gc", get(gc))
        .route("/action/{op}", post(action))
        .route("/assets/app.css", get(css))
        .route("/assets/app.js", get(js))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            auth::require_token,
        ))
        .with_state(app)
}

/// Runs `work` to completion on a thread of its own. argon's `Project`
/// holds a SQLite connection, which is not `Sync`, so its operations'
/// futures are not `Send` and cannot run on the server's worker threads.
async fn on_thread<F, Fut, T>(work: F) -> Result<T, PageError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, PageError>>,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(move || tokio::runtime::Handle::current().block_on(work()))
        .await
        .map_err(|e| PageError::new(format!("the request stopped: {e}"), None))?
}

/// Opens the project without its lock (reads), as the CLI's read commands do.
pub async fn open(dir: &Path) -> Result<Project, PageError> {
    Ok(Project::open(dir, false, Arc::new(Silent)).await?)
}

/// An error shown as the CLI prints it, in the page.
pub struct PageError {
    message: String,
    hint: Option<String>,
}

impl From<CoreError> for PageError {
    fn from(e: CoreError) -> Self {
        PageError {
            message: e.to_string(),
            hint: e.hint(),
        }
    }
}

impl PageError {
    fn new(message: impl Into<String>, hint: Option<&str>) -> Self {
        PageError {
            message: message.into(),
            hint: hint.map(str::to_string),
        }
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\nhint: {h}")?;
        }
        Ok(())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let body = format!(
            "{}<p><a href=\"/\">back to the branches</a></p>",
            error_box(&self.message, self.hint.as_deref())
        );
        (
            StatusCode::BAD_REQUEST,
            Html(page("", "error", None, &body)),
        )
            .into_response()
    }
}

/// The branch sizes on disk, as the page shows them: `{"measured": false}`
/// until the first measurement lands, then `{"measured": true, "sizes":
/// {"main": "2.3 MiB"}}`. The branch view fills in its "…" cells from
/// here, without a reload that would lose what is being typed.
async fn disk_sizes(State(app): State<Arc<App>>) -> impl IntoResponse {
    let known = app.disk.known();
    let sizes: std::collections::BTreeMap<String, String> = known
        .iter()
        .flatten()
        .map(|(branch, bytes)| (branch.clone(), human_bytes(*bytes)))
        .collect();
    let body = serde_json::json!({ "measured": known.is_some(), "sizes": sizes });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
}

async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css")],
        include_str!("assets/app.css"),
    )
}

async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript")],
        include_str!("assets/app.js"),
    )
}

/// A fingerprint of what the branch view shows: HEAD, every branch's state
/// and latest version, every tag. The page reloads when it changes.
fn fingerprint(head: Option<&str>, branches: &[BranchInfo], tags: &[TagInfo]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    head.hash(&mut h);
    for b in branches {
        (&b.name, b.state.as_str(), b.versions, &b.latest, b.saving).hash(&mut h);
    }
    for t in tags {
        (&t.name, &t.version).hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

async fn state(State(app): State<Arc<App>>) -> Result<String, PageError> {
    on_thread(move || state_of(app)).await
}

async fn state_of(app: Arc<App>) -> Result<String, PageError> {
    let mut project = open(&app.project).await?;
    let branches = project.branches().await?;
    let tags = project.tags()?;
    Ok(fingerprint(project.head(), &branches, &tags))
}

fn csrf_field(app: &App) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&app.csrf)
    )
}

/// A one-button form posting `op` with `fields`.
fn button(app: &App, op: &str, label: &str, fields: &[(&str, &str)], id: &str) -> String {
    let hidden: String = fields
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v)))
        .collect();
    format!(
        "<form method=\"post\" action=\"/action/{op}\" class=\"inline\">{}{hidden}<button id=\"{id}\">{label}</button></form>",
        csrf_field(app)
    )
}

async fn branches(State(app): State<Arc<App>>) -> Result<Html<String>, PageError> {
    on_thread(move || branches_page(app)).await
}

async fn branches_page(app: Arc<App>) -> Result<Html<String>, PageError> {
    let mut project = open(&app.project).await?;
    let status = project.status().await?;
    let list = project.branches().await?;
    let versions = project.log_all()?;
    let tags = project.tags()?;
    let disk = app.disk.get();
    let fp = fingerprint(project.head(), &list, &tags);
    let by_id: HashMap<&str, &argon::core::VersionInfo> =
        versions.iter().map(|v| (v.id.as_str(), v)).collect();

    let mut body = String::new();
    let head = status.head.clone().unwrap_or_default();
    body.push_str(&format!(
        "<p id=\"head\">HEAD: <strong id=\"head-branch\">{}</strong> {} · <code id=\"uri\">{}</code> <button data-copy=\"{}\">copy</button></p>",
        esc(if head.is_empty() { "(none)" } else { &head }),
        match status.changed {
            Some(true) => "<span class=\"muted\">(changed since its latest version)</span>",
            Some(false) => "<span class=\"muted\">(as its latest version)</span>",
            None => "",
        },
        esc(&status.uri),
        esc(&status.uri),
    ));
    body.push_str("<h2>Branches</h2><table id=\"branches\"><tr><th>branch</th><th>state</th><th>versions</th><th>on the store</th><th>on disk</th><th>latest version</th><th></th></tr>");
    for b in &list {
        let latest = b
            .latest
            .as_deref()
            .and_then(|id| by_id.get(id))
            .map(|v| {
                format!(
                    "<a href=\"/version/{}\"><code>{}</code></a> {} <span class=\"muted\">{}</span>",
                    seg(&v.id),
                    esc(&v.short_id),
                    esc(&v.message),
                    v.created_at.format("%Y-%m-%d %H:%M")
                )
            })
            .unwrap_or_else(|| "<span class=\"muted\">none yet</span>".into());
        let name = esc(&b.name);
        let actions = match b.head {
            true => String::new(),
            false => format!(
                "{} <form method=\"post\" action=\"/action/delete\" class=\"inline delete\">{}<input type=\"hidden\" name=\"branch\" value=\"{name}\"><input name=\"confirm\" placeholder=\"type {name} to delete\" size=\"14\" id=\"confirm-{name}\"><button id=\"delete-{name}\">delete</button></form>",
                button(&app, "checkout", "checkout", &[("branch", &b.name)], &format!("checkout-{name}")),
                csrf_field(&app)
            ),
        };
        body.push_str(&format!(
            "<tr class=\"{}\" data-branch=\"{name}\"><td>{name}</td><td class=\"state-{state}\">{state}{saving}</td><td>{}</td><td>{}</td><td class=\"disk\">{on_disk}</td><td>{latest}</td><td>{actions}</td></tr>",
            if b.head { "head" } else { "" },
            b.versions,
            human_bytes(b.bytes),
            on_disk = match disk.as_ref().map(|d| d.get(&b.name)) {
                Some(Some(n)) => human_bytes(*n),
                None => "<span class=\"muted measuring\" title=\"measuring\">…</span>".into(),
                Some(None) => "<span class=\"muted\">-</span>".into(),
            },
            state = b.state.as_str(),
            saving = if b.saving { ", saving in the background" } else { "" },
        ));
    }
    body.push_str("</table>");

    // HEAD's actions, and a new branch from any revision or point in time.
    body.push_str(&format!(
        "<h2>Actions</h2><p>\
<form method=\"post\" action=\"/action/commit\" class=\"inline\">{c}<input name=\"message\" placeholder=\"message\" id=\"commit-message\"><button id=\"commit\">commit</button></form> \
{stash} {pop}</p>\
<form method=\"post\" action=\"/action/branch\" id=\"new-branch\">{c}New branch <input name=\"name\" placeholder=\"name\" id=\"new-name\" required> \
from <input name=\"rev\" placeholder=\"HEAD, main~2, a version id\" id=\"new-rev\"> \
or as of <input type=\"datetime-local\" name=\"at\" id=\"new-at\"> <button id=\"create\">create and check out</button></form>",
        c = csrf_field(&app),
        stash = button(&app, "stash", "stash HEAD", &[], "stash"),
        pop = button(&app, "stash-pop", "stash pop", &[], "stash-pop"),
    ));
    if !tags.is_empty() {
        body.push_str("<h2>Tags</h2><table id=\"tags\">");
        for t in &tags {
            body.push_str(&format!(
                "<tr><td>{}</td><td><a href=\"/version/{}\"><code>{}</code></a></td><td>{}</td></tr>",
                esc(&t.name),
                seg(&t.version),
                esc(&t.version[..12.min(t.version.len())]),
                button(&app, "untag", "untag", &[("name", &t.name)], &format!("untag-{}", esc(&t.name)))
            ));
        }
        body.push_str("</table>");
    }
    body.push_str(
        "<p><a href=\"/gc\" id=\"gc-link\">Garbage collection: see what it would delete</a></p>",
    );
    let names: Vec<String> = list.iter().map(|b| b.name.clone()).collect();
    body.push_str("<h2 id=\"history\">History</h2>");
    body.push_str(&graph::history_svg(&names, &versions, &tags));
    Ok(Html(page(
        status.project.as_str(),
        "branches",
        Some(&fp),
        &body,
    )))
}

#[derive(serde::Deserialize)]
struct VersionQuery {
    against: Option<String>,
}

fn pretty(doc: &RawDocumentBuf) -> String {
    match Document::try_from(doc.as_ref()) {
        Ok(d) => serde_json::to_string_pretty(&Bson::Document(d).into_relaxed_extjson())
            .unwrap_or_default(),
        Err(e) => format!("(unreadable document: {e})"),
    }
}

fn render_change(change: &Change) -> String {
    match change {
        Change::Collection { ns, change } => {
            let what = match change {
                CollectionChange::Created { kind } => {
                    format!("<span class=\"ins\">+ {kind} created</span>")
                }
                CollectionChange::Dropped { kind } => {
                    format!("<span class=\"del\">- {kind} dropped</span>")
                }
                CollectionChange::Renamed { from } => format!("renamed from {}", esc(from)),
                CollectionChange::Options { old, new } => format!(
                    "options {} → {}",
                    esc(&old.to_string()),
                    esc(&new.to_string())
                ),
                CollectionChange::IndexAdded(ix) => format!(
                    "<span class=\"ins\">+ index {}</span>",
                    esc(&ix.to_string())
                ),
                CollectionChange::IndexDropped(ix) => format!(
                    "<span class=\"del\">- index {}</span>",
                    esc(&ix.to_string())
                ),
                CollectionChange::IndexChanged { old, new } => format!(
                    "index {} → {}",
                    esc(&old.to_string()),
                    esc(&new.to_string())
                ),
            };
            format!("<div><code>{}</code>: {what}</div>", esc(ns))
        }
        Change::Document { ns, change } => {
            let (mark, class, doc) = match change {
                DocumentChange::Inserted(d) => ("+ inserted", "ins", pretty(d)),
                DocumentChange::Deleted(d) => ("- deleted", "del", pretty(d)),
                DocumentChange::Updated { old, new } => {
                    let (Ok(o), Ok(n)) = (
                        Document::try_from(old.as_ref()),
                        Document::try_from(new.as_ref()),
                    ) else {
                        return String::new();
                    };
                    let fields: Vec<String> = argon::diff::field_changes(&o, &n)
                        .into_iter()
                        .map(|c| match c {
                            argon::diff::FieldChange::Set { path, value } => format!(
                                "<span class=\"ins\">set {}: {}</span>",
                                esc(&path),
                                esc(&value.into_relaxed_extjson().to_string())
                            ),
                            argon::diff::FieldChange::Unset { path } => {
                                format!("<span class=\"del\">unset {}</span>", esc(&path))
                            }
                        })
                        .collect();
                    let id = n
                        .get("_id")
                        .map(|i| i.clone().into_relaxed_extjson().to_string())
                        .unwrap_or_default();
                    return format!(
                        "<div><code>{}</code> _id {}: updated<pre>{}</pre></div>",
                        esc(ns),
                        esc(&id),
                        fields.join("\n")
                    );
                }
            };
            format!(
                "<div><code>{}</code>: <span class=\"{class}\">{mark}</span><pre>{}</pre></div>",
                esc(ns),
                esc(&doc)
            )
        }
    }
}

async fn version(
    State(app): State<Arc<App>>,
    UrlPath(rev): UrlPath<String>,
    Query(q): Query<VersionQuery>,
) -> Result<Html<String>, PageError> {
    on_thread(move || version_page(app, rev, q)).await
}

async fn version_page(
    app: Arc<App>,
    rev: String,
    q: VersionQuery,
) -> Result<Html<String>, PageError> {
    let mut project = open(&app.project).await?;
    let (show, id) = project.show(Some(&rev)).await?;
    let collections = project.collections(&id.to_string()).await?;
    let v = &show.version;
    let mut body = format!(
        "<h2>Version <code id=\"version-id\">{}</code></h2><p>{} · branch <strong>{}</strong> · {} · capture {}{}</p>",
        esc(&v.short_id),
        esc(&v.message),
        esc(&v.branch),
        v.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        esc(&v.capture),
        v.parent
            .as_deref()
            .map(|p| format!(" · parent <a href=\"/version/{}\"><code>{}</code></a>", seg(p), esc(&p[..12.min(p.len())])))
            .unwrap_or_default(),
    );
    body.push_str(&format!(
        "<form method=\"post\" action=\"/action/branch\">{}<input type=\"hidden\" name=\"rev\" value=\"{}\">New branch <input name=\"name\" id=\"from-version-name\" required> <button id=\"from-version\">create from {} and check out</button></form>",
        csrf_field(&app),
        esc(&v.id),
        esc(&v.short_id)
    ));
    body.push_str(&format!(
        "<form method=\"post\" action=\"/action/tag\">{c}<input type=\"hidden\" name=\"rev\" value=\"{id}\">Tag <input name=\"name\" id=\"tag-name\" required> <button id=\"tag\">tag {short}</button></form>\
<form method=\"post\" action=\"/action/reset\">{c}<input type=\"hidden\" name=\"rev\" value=\"{id}\">Reset HEAD to {short}: its data and pointer go back here; the state it leaves is saved first. \
<label><input type=\"checkbox\" name=\"confirm\" value=\"reset\" id=\"reset-confirm\"> I mean it</label> <button id=\"reset\">reset --hard</button></form>",
        c = csrf_field(&app),
        id = esc(&v.id),
        short = esc(&v.short_id)
    ));
    body.push_str("<h2>Collections</h2><table id=\"collections\"><tr><th>namespace</th><th>type</th><th>documents</th><th>size</th><th>indexes</th></tr>");
    for c in &collections {
        let indexes: Vec<String> = c
            .indexes
            .iter()
            .filter_map(|ix| ix.get("name").and_then(|n| n.as_str()).map(esc))
            .collect();
        let name = match c.kind.as_str() {
            "view" => esc(&c.ns),
            _ => format!(
                "<a href=\"/version/{}/ns/{}\">{}</a>",
                seg(&v.id),
                seg(&c.ns),
                esc(&c.ns)
            ),
        };
        body.push_str(&format!(
            "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.kind),
            c.documents,
            human_bytes(c.bytes),
            indexes.join(", ")
        ));
    }
    body.push_str("</table>");

    // The diff: against the parent, or any revision the form names.
    let against = q.against.filter(|a| !a.trim().is_empty());
    body.push_str(&format!(
        "<h2>Changes {}</h2><form method=\"get\">against <input name=\"against\" value=\"{}\" placeholder=\"its parent; or main~2, a tag, an id\" id=\"against\"> <button id=\"compare\">compare</button></form>",
        match &against {
            Some(a) => format!("from {}", esc(a)),
            None => "from its parent".into(),
        },
        esc(against.as_deref().unwrap_or(""))
    ));
    let mut changes: Vec<Change> = Vec::new();
    let mut more = 0usize;
    let mut sink = |c: Change| -> argon::diff::Result<()> {
        match changes.len() < SHOWN_CHANGES {
            true => changes.push(c),
            false => more += 1,
        }
        Ok(())
    };
    match &against {
        None => project.diff_with_parent(id, &[], &mut sink).await?,
        Some(a) => {
            let (old, new) = project.diff_ends(&[a.clone(), id.to_string()])?;
            project.diff(&old, &new, &[], &mut sink).await?
        }
    }
    body.push_str("<div id=\"changes\">");
    if changes.is_empty() {
        body.push_str("<p class=\"muted\">no changes</p>");
    }
    for c in &changes {
        body.push_str(&render_change(c));
    }
    if more > 0 {
        body.push_str(&format!(
            "<p class=\"muted\">and {more} more (argon diff shows them all)</p>"
        ));
    }
    body.push_str("</div>");
    Ok(Html(page(&app.project_name(), &v.short_id, None, &body)))
}

#[derive(serde::Deserialize)]
struct PageQuery {
    page: Option<u64>,
}

async fn documents(
    State(app): State<Arc<App>>,
    UrlPath((rev, ns)): UrlPath<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<Html<String>, PageError> {
    on_thread(move || documents_page(app, rev, ns, q)).await
}

async fn documents_page(
    app: Arc<App>,
    rev: String,
    ns: String,
    q: PageQuery,
) -> Result<Html<String>, PageError> {
    let mut project = open(&app.project).await?;
    let page_no = q.page.unwrap_or(0);
    let docs = project
        .documents(&rev, &ns, page_no * PAGE_DOCUMENTS as u64, PAGE_DOCUMENTS)
        .await?;
    let last = docs.total.saturating_sub(1) / PAGE_DOCUMENTS as u64;
    let mut body = format!(
        "<h2><a href=\"/version/{}\">{}</a> · {}</h2><p class=\"pager\">documents {}–{} of {} ",
        seg(&rev),
        esc(&rev[..12.min(rev.len())]),
        esc(&ns),
        docs.skip + (!docs.documents.is_empty()) as u64,
        docs.skip + docs.documents.len() as u64,
        docs.total
    );
    let link = |p: u64, label: &str, id: &str| {
        format!(
            "<a href=\"/version/{}/ns/{}?page={p}\" id=\"{id}\">{label}</a>",
            seg(&rev),
            seg(&ns)
        )
    };
    if page_no > 0 {
        body.push_str(&link(page_no - 1, "← previous", "previous"));
    }
    if page_no < last {
        body.push_str(&link(page_no + 1, "next →", "next"));
    }
    body.push_str("</p><div id=\"documents\">");
    for d in &docs.documents {
        body.push_str(&format!(
            "<pre class=\"document\">{}</pre>",
            esc(&pretty(d))
        ));
    }
    body.push_str("</div>");
    Ok(Html(page(&app.project_name(), &ns, None, &body)))
}

#[derive(serde::Deserialize)]
struct ActionForm {
    csrf: String,
    branch: Option<String>,
    name: Option<String>,
    rev: Option<String>,
    at: Option<String>,
    message: Option<String>,
    confirm: Option<String>,
}

/// The plan `gc --dry-run` shows, before the button that runs it.
async fn gc(State(app): State<Arc<App>>) -> Result<Html<String>, PageError> {
    on_thread(move || gc_page(app)).await
}

async fn gc_page(app: Arc<App>) -> Result<Html<String>, PageError> {
    let mut project = open(&app.project).await?;
    let opts = GcOptions {
        dry_run: true,
        keep_last: None,
        keep_within: None,
        grace: DEFAULT_GRACE,
    };
    let plan = project.gc_plan(&opts).await?;
    let r = &plan.report;
    let mut body = format!(
        "<h2>Garbage collection</h2><p id=\"gc-plan\">A run now would delete {} version{} no branch or tag reaches (keeping {}), sweep {} chunk{} marked earlier ({} freed), and mark {} more for a later run ({} too young to mark).</p>",
        r.deleted_versions.len(),
        if r.deleted_versions.len() == 1 { "" } else { "s" },
        r.kept_versions,
        r.deleted_chunks,
        if r.deleted_chunks == 1 { "" } else { "s" },
        human_bytes(r.freed_bytes),
        r.marked_chunks,
        r.young_chunks,
    );
    if !r.deleted_versions.is_empty() {
        body.push_str("<table id=\"gc-versions\"><tr><th>version</th><th>branch</th><th>message</th><th>saved</th></tr>");
        for v in &r.deleted_versions {
            body.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&v.short_id),
                esc(&v.branch),
                esc(&v.message),
                v.created_at.format("%Y-%m-%d %H:%M")
            ));
        }
        body.push_str("</table>");
    }
    if let Some(why) = &r.sweep_deferred {
        body.push_str(&format!(
            "<p class=\"muted\">Sweep deferred: {}</p>",
            esc(why)
        ));
    }
    body.push_str(&button(&app, "gc", "collect garbage now", &[], "gc-run"));
    Ok(Html(page(
        &app.project_name(),
        "garbage collection",
        None,
        &body,
    )))
}

fn some(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The running action's progress, as server-sent events (see `live`).
async fn events(State(app): State<Arc<App>>) -> Response {
    app.live.follow().into_response()
}

/// Runs one of the CLI's operations, under the project's lock as the CLI
/// takes it; an error is the CLI's message, with its hint.
async fn action(
    State(app): State<Arc<App>>,
    UrlPath(op): UrlPath<String>,
    Form(f): Form<ActionForm>,
) -> Result<Response, PageError> {
    on_thread(move || run_action(app, op, f)).await
}

async fn run_action(app: Arc<App>, op: String, f: ActionForm) -> Result<Response, PageError> {
    if !auth::csrf_ok(&app, &f.csrf) {
        return Err(PageError::new(
            "the form is out of date (its CSRF token is not this server's)",
            Some("reload the page and try again"),
        ));
    }
    // What another argon that finds the project busy is told.
    let target = [&f.branch, &f.name, &f.rev]
        .into_iter()
        .find_map(some)
        .unwrap_or_default();
    argon::core::describe_holder(format!("argon web: {op} {target}").trim());
    let progress = app.live.begin();
    let mut project = Project::open(&app.project, false, progress).await?;
    match op.as_str() {
        // As from the CLI: a switch does not wait for a background save.
        "checkout" | "branch" | "stash" => project.lock_for_switch().await?,
        _ => project.lock().await?,
    }
    match op.as_str() {
        "checkout" => {
            let branch = some(&f.branch).ok_or_else(|| PageError::new("no branch given", None))?;
            project.checkout(branch).await?;
        }
        "branch" => {
            let name = some(&f.name).ok_or_else(|| {
                PageError::new(
                    "the new branch needs a name",
                    Some("type a name beside 'New branch'"),
                )
            })?;
            let rev = match (some(&f.rev), some(&f.at)) {
                (Some(_), Some(_)) => {
                    return Err(PageError::new(
                        "give a revision or a time, not both",
                        Some("clear one of the two fields"),
                    ))
                }
                (Some(rev), None) => Some(rev.to_string()),
                // The same revision syntax as the CLI: HEAD@{time}.
                (None, Some(at)) => Some(format!("HEAD@{{{at}}}")),
                (None, None) => None,
            };
            project.checkout_new(name, rev.as_deref()).await?;
        }
        "commit" => {
            let message = some(&f.message).unwrap_or("saved from argon web");
            project.commit(message).await?;
        }
        "stash" => {
            project.stash_push(None).await?;
        }
        "stash-pop" => {
            project.stash_pop().await?;
        }
        "tag" => {
            let name = some(&f.name).ok_or_else(|| {
                PageError::new("the tag needs a name", Some("type a name beside 'Tag'"))
            })?;
            project.tag(name, some(&f.rev)).await?;
        }
        "untag" => {
            let name = some(&f.name).ok_or_else(|| PageError::new("no tag given", None))?;
            project.delete_tag(name).await?;
        }
        "reset" => {
            let rev = some(&f.rev).ok_or_else(|| PageError::new("no version given", None))?;
            if some(&f.confirm) != Some("reset") {
                return Err(PageError::new(
                    format!("HEAD was not reset to {rev}: the box was not ticked"),
                    Some("tick 'I mean it' beside the reset button"),
                ));
            }
            project.reset_hard(rev).await?;
        }
        "gc" => {
            let opts = GcOptions {
                dry_run: false,
                keep_last: None,
                keep_within: None,
                grace: DEFAULT_GRACE,
            };
            project.gc(&opts).await?;
        }
        "delete" => {
            let branch = some(&f.branch).ok_or_else(|| PageError::new("no branch given", None))?;
            if some(&f.confirm) != Some(branch) {
                return Err(PageError::new(
                    format!("branch '{branch}' was not deleted: the confirmation does not match"),
                    Some("type the branch's name in the box beside its delete button"),
                ));
            }
            project.delete_branch(branch).await?;
        }
        other => {
            return Err(PageError::new(
                format!("'{other}' is not an action argon web knows"),
                None,
            ))
        }
    }
    Ok(Redirect::to("/").into_response())
}

impl App {
    /// The project's name, for page titles (the folder's when unreadable).
    fn project_name(&self) -> String {
        self.project
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "argon".into())
    }
}
