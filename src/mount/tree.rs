//! The mount's directory tree as values: every path is a `Node`, and what a
//! node contains is computed from the catalog. No FUSE here, so the layout is
//! tested directly.
//!
//! ```text
//! branches/<branch>/<time>/      a version, named by time; `latest` -> newest
//! versions/<id>/                 every version
//! tags/<tag>/                    tagged versions
//!   VERSION.json
//!   <db>/<collection>.bson           the mongodump stream
//!   <db>/<collection>.metadata.json  mongodump's options and indexes
//!   <db>/<collection>.jsonl          one document per line, relaxed extended JSON
//! ```

use crate::snapshot::{CollectionEntry, Manifest};
use crate::store::{escape_name, VersionId};

use super::catalog::Catalog;

/// Where a version's folder sits; folders in different places are different
/// directories (distinct inodes), the files inside them are shared.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Place {
    Branch(String),
    Versions,
    Tag(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    Bson,
    Metadata,
    Jsonl,
}

impl FileKind {
    const ALL: [FileKind; 3] = [FileKind::Bson, FileKind::Metadata, FileKind::Jsonl];
    fn suffix(self) -> &'static str {
        match self {
            FileKind::Bson => ".bson",
            FileKind::Metadata => ".metadata.json",
            FileKind::Jsonl => ".jsonl",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    Root,
    Branches,
    /// `branches/<prefix>/`: a branch (its versions) and/or a folder of branches.
    BranchDir(String),
    /// `branches/<branch>/latest`, a symlink to the newest version's folder.
    Latest(String),
    Versions,
    Tags,
    Version(Place, VersionId),
    Database(Place, VersionId, String),
    VersionJson(VersionId),
    File {
        id: VersionId,
        db: String,
        coll: String,
        kind: FileKind,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
}

impl Node {
    pub fn kind(&self) -> Kind {
        match self {
            Node::Latest(_) => Kind::Symlink,
            Node::VersionJson(_) | Node::File { .. } => Kind::File,
            _ => Kind::Dir,
        }
    }

    /// Listings that change as versions are saved (everything else is immutable).
    pub fn is_live(&self) -> bool {
        matches!(
            self,
            Node::Root
                | Node::Branches
                | Node::BranchDir(_)
                | Node::Latest(_)
                | Node::Versions
                | Node::Tags
        )
    }

    /// The version this node belongs to, if any.
    pub fn version(&self) -> Option<VersionId> {
        match self {
            Node::Version(_, id) | Node::Database(_, id, _) | Node::VersionJson(id) => Some(*id),
            Node::File { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// The child called `name`, if it exists in `catalog`.
    pub fn child(&self, catalog: &Catalog, name: &str) -> Option<Node> {
        self.children(catalog)
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, node)| node)
    }

    /// Every child with its name, in listing order.
    pub fn children(&self, catalog: &Catalog) -> Vec<(String, Node)> {
        match self {
            Node::Root => vec![
                ("branches".into(), Node::Branches),
                ("tags".into(), Node::Tags),
                ("versions".into(), Node::Versions),
            ],
            Node::Branches => branch_dir_children(catalog, ""),
            Node::BranchDir(prefix) => branch_dir_children(catalog, prefix),
            Node::Versions => {
                let mut ids: Vec<_> = catalog.versions.keys().copied().collect();
                ids.sort();
                ids.into_iter()
                    .map(|id| (id.to_string(), Node::Version(Place::Versions, id)))
                    .collect()
            }
            Node::Tags => catalog
                .tags
                .iter()
                .map(|(tag, id)| {
                    (
                        escape_name(tag),
                        Node::Version(Place::Tag(tag.clone()), *id),
                    )
                })
                .collect(),
            Node::Version(place, id) => {
                let Some(m) = catalog.versions.get(id) else {
                    return Vec::new();
                };
                let mut out = vec![("VERSION.json".to_string(), Node::VersionJson(*id))];
                out.extend(m.databases.iter().map(|d| {
                    (
                        escape_name(&d.name),
                        Node::Database(place.clone(), *id, d.name.clone()),
                    )
                }));
                out
            }
            Node::Database(_, id, db) => {
                let Some(m) = catalog.versions.get(id) else {
                    return Vec::new();
                };
                let Some(d) = m.databases.iter().find(|d| &d.name == db) else {
                    return Vec::new();
                };
                let mut out = Vec::new();
                for c in &d.collections {
                    for kind in FileKind::ALL {
                        // mongodump writes only the metadata of a view.
                        if c.kind == "view" && kind != FileKind::Metadata {
                            continue;
                        }
                        out.push((
                            // A collection may be called `a/b`: one file, never a folder.
                            format!("{}{}", escape_name(&c.name), kind.suffix()),
                            Node::File {
                                id: *id,
                                db: db.clone(),
                                coll: c.name.clone(),
                                kind,
                            },
                        ));
                    }
                }
                out
            }
            Node::Latest(_) | Node::VersionJson(_) | Node::File { .. } => Vec::new(),
        }
    }
}

fn branch_dir_children(catalog: &Catalog, prefix: &str) -> Vec<(String, Node)> {
    let mut out = Vec::new();
    let join = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        }
    };
    if let Some(versions) = catalog.branches.get(prefix) {
        out.extend(versions.iter().map(|(name, id)| {
            (
                name.clone(),
                Node::Version(Place::Branch(prefix.to_string()), *id),
            )
        }));
        out.push(("latest".into(), Node::Latest(prefix.to_string())));
    }
    for name in catalog.branch_children(prefix) {
        // A version folder of the branch itself wins over a same-named sub-branch.
        if out.iter().any(|(n, _)| *n == name) {
            continue;
        }
        out.push((name.clone(), Node::BranchDir(join(&name))));
    }
    out
}

/// A collection of a version, by the indexes a reader uses.
pub fn collection<'m>(
    m: &'m Manifest,
    db: &str,
    coll: &str,
) -> Option<(usize, usize, &'m CollectionEntry)> {
    let (di, d) = m.databases.iter().enumerate().find(|(_, d)| d.name == db)?;
    let (ci, c) = d
        .collections
        .iter()
        .enumerate()
        .find(|(_, c)| c.name == coll)?;
    Some((di, ci, c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{CaptureMethod, DatabaseEntry, MANIFEST_FORMAT};
    use crate::store::Hash;
    use std::sync::Arc;

    fn coll(name: &str, kind: &str) -> CollectionEntry {
        CollectionEntry {
            name: name.into(),
            kind: kind.into(),
            options: serde_json::json!({}),
            indexes: vec![],
            documents: 0,
            bytes: 0,
            chunks: vec![],
            doc_starts: vec![],
        }
    }

    fn catalog() -> (Catalog, VersionId) {
        let m = Manifest {
            format: MANIFEST_FORMAT,
            project: "p".into(),
            branch: "feature/login".into(),
            parent: None,
            created_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            message: String::new(),
            capture: CaptureMethod::SnapshotRead,
            engine_version: None,
            databases: vec![DatabaseEntry {
                name: "app".into(),
                collections: vec![coll("users", "collection"), coll("active", "view")],
            }],
            written_bytes: 0,
        };
        let id = VersionId(Hash::of(b"v"));
        (
            Catalog::build(
                [(id, Arc::new(m))].into_iter().collect(),
                [("t".into(), id), ("rel/v1".into(), id)],
            ),
            id,
        )
    }

    fn names(node: &Node, c: &Catalog) -> Vec<String> {
        node.children(c).into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn names_with_slashes_are_one_entry_each() {
        let (mut c, id) = catalog();
        let mut m = (*c.versions[&id]).clone();
        m.databases[0].collections.push(coll("a/b", "collection"));
        c.versions.insert(id, Arc::new(m));
        let tags = names(&Node::Tags, &c);
        assert!(tags.contains(&"rel%2Fv1".to_string()), "{tags:?}");
        let tag = Node::Tags.child(&c, "rel%2Fv1").expect("tag reachable");
        let db = tag.child(&c, "app").unwrap();
        let file = db
            .child(&c, "a%2Fb.bson")
            .expect("collection a/b is one file");
        assert!(matches!(file, Node::File { ref coll, .. } if coll == "a/b"));
    }

    #[test]
    fn every_level_of_the_layout() {
        let (c, id) = catalog();
        assert_eq!(names(&Node::Root, &c), ["branches", "tags", "versions"]);
        assert_eq!(names(&Node::Branches, &c), ["feature"]);
        let feature = Node::Branches.child(&c, "feature").unwrap();
        assert_eq!(names(&feature, &c), ["login"]);
        let login = feature.child(&c, "login").unwrap();
        assert_eq!(names(&login, &c), ["2027-01-15T08-00-00Z", "latest"]);
        assert_eq!(login.child(&c, "latest").unwrap().kind(), Kind::Symlink);
        let v = login.child(&c, "2027-01-15T08-00-00Z").unwrap();
        assert_eq!(names(&v, &c), ["VERSION.json", "app"]);
        let db = v.child(&c, "app").unwrap();
        assert_eq!(
            names(&db, &c),
            [
                "users.bson",
                "users.metadata.json",
                "users.jsonl",
                "active.metadata.json"
            ]
        );
        assert_eq!(names(&Node::Versions, &c), [id.to_string()]);
        assert_eq!(names(&Node::Tags, &c), ["rel%2Fv1", "t"]);
        let via_tag = Node::Tags.child(&c, "t").unwrap();
        assert_ne!(
            via_tag, v,
            "a version folder in two places is two directories"
        );
        assert_eq!(
            via_tag.child(&c, "app").unwrap().child(&c, "users.bson"),
            db.child(&c, "users.bson"),
            "the files inside are the same"
        );
        assert!(Node::Versions.child(&c, "nope").is_none());
    }
}
