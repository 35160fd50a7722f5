//! The metadata schema, as numbered migrations.

/// Migrations, applied in order; `user_version` records how many have run.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    root TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    head TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE branches (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    uid TEXT NOT NULL,
    head_version TEXT,
    volume TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (project_id, name)
);
CREATE TABLE versions (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    branch TEXT NOT NULL,
    parent TEXT,
    created_at TEXT NOT NULL,
    message TEXT NOT NULL,
    capture TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    collections INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
);
CREATE TABLE journal (
    project_id INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    branch TEXT NOT NULL,
    started_at TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE tags (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (project_id, name)
);
"#,
    // What the branch's data was when last found unchanged: JSON written and
    // read by core (version, catalog digest, the engine's write counters).
    r#"
ALTER TABLE branches ADD COLUMN clean TEXT;
"#,
    // When a branch was last left warm (its engine paused, not stopped): the
    // most recently left stay warm, the others are stopped.
    r#"
ALTER TABLE branches ADD COLUMN left_warm_at TEXT;
"#,
    // A branch left by a switch whose version is still to be recorded from
    // its volume (a background save); `forks`: branches copied from that
    // volume meanwhile, whose parent is the version to come.
    r#"
CREATE TABLE pending_saves (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    branch TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at TEXT NOT NULL,
    forks TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (project_id, branch)
);
"#,
    // A branch that took over the running engine of the branch it was made
    // from (`checkout -b` from HEAD): that engine's change token at the
    // moment, JSON written and read by core, kept until the pending save of
    // the branch left records the version the fork began at.
    r#"
ALTER TABLE branches ADD COLUMN fork_base TEXT;
"#,
];
