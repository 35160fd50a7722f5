//! What the mount shows: every version in the store, grouped by branch and
//! named by time, plus tags. Pure data built from manifests, so the naming rules
//! are tested without a mount.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::snapshot::Manifest;
use crate::store::VersionId;

/// One immutable view of the store's versions and tags.
#[derive(Default)]
pub struct Catalog {
    pub versions: HashMap<VersionId, Arc<Manifest>>,
    /// Branch name -> its versions as (directory name, id), oldest first.
    pub branches: BTreeMap<String, Vec<(String, VersionId)>>,
    pub tags: BTreeMap<String, VersionId>,
}

impl Catalog {
    pub fn build(
        versions: HashMap<VersionId, Arc<Manifest>>,
        tags: impl IntoIterator<Item = (String, VersionId)>,
    ) -> Catalog {
        let mut by_branch: BTreeMap<String, Vec<(&Manifest, VersionId)>> = BTreeMap::new();
        for (id, m) in &versions {
            by_branch
                .entry(m.branch.clone())
                .or_default()
                .push((m, *id));
        }
        let branches = by_branch
            .into_iter()
            .map(|(branch, mut list)| {
                list.sort_by_key(|(m, id)| (m.created_at, *id));
                (branch, version_dir_names(&list))
            })
            .collect();
        let tags = tags
            .into_iter()
            .filter(|(_, id)| versions.contains_key(id))
            .collect();
        Catalog {
            versions,
            branches,
            tags,
        }
    }

    /// The directory names directly under `branches/<prefix>/`: branch names
    /// may hold `/`, shown as nested folders the way git shows refs.
    pub fn branch_children(&self, prefix: &str) -> Vec<String> {
        let lead = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        // A set: `a`, `a-b`, `a/c` sort with `a-b` between the two `a`s.
        let names: BTreeSet<&str> = self
            .branches
            .keys()
            .filter_map(|name| name.strip_prefix(&lead))
            .filter_map(|rest| rest.split('/').next())
            .filter(|first| !first.is_empty())
            .collect();
        names.into_iter().map(str::to_string).collect()
    }

    /// Is `prefix` a branch or a folder of branches?
    pub fn is_branch_dir(&self, prefix: &str) -> bool {
        self.branches.contains_key(prefix) || !self.branch_children(prefix).is_empty()
    }

    /// The directory name of a branch's newest version (`latest` points there).
    pub fn latest(&self, branch: &str) -> Option<&str> {
        self.branches
            .get(branch)?
            .last()
            .map(|(name, _)| name.as_str())
    }
}

/// Names versions by their UTC time to the second (sortable, no `:` so every
/// tool and file system takes them); versions saved within one second get
/// `-2`, `-3`, ... in save order.
fn version_dir_names(sorted: &[(&Manifest, VersionId)]) -> Vec<(String, VersionId)> {
    let mut out: Vec<(String, VersionId)> = Vec::with_capacity(sorted.len());
    let mut last_base = String::new();
    let mut repeat = 1;
    for (m, id) in sorted {
        let base = m.created_at.format("%Y-%m-%dT%H-%M-%SZ").to_string();
        if base == last_base {
            repeat += 1;
            out.push((format!("{base}-{repeat}"), *id));
        } else {
            repeat = 1;
            out.push((base.clone(), *id));
            last_base = base;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{CaptureMethod, MANIFEST_FORMAT};
    use crate::store::Hash;
    use chrono::{TimeZone, Utc};

    fn manifest(branch: &str, secs: i64, millis: u32) -> (VersionId, Arc<Manifest>) {
        let m = Manifest {
            format: MANIFEST_FORMAT,
            project: "p".into(),
            branch: branch.into(),
            parent: None,
            created_at: Utc
                .timestamp_opt(1_800_000_000 + secs, millis * 1_000_000)
                .unwrap(),
            message: String::new(),
            capture: CaptureMethod::SnapshotRead,
            engine_version: None,
            databases: vec![],
            written_bytes: 0,
        };
        let id = VersionId(Hash::of(format!("{branch}{secs}{millis}").as_bytes()));
        (id, Arc::new(m))
    }

    #[test]
    fn versions_are_named_by_time_in_order_with_same_second_suffixes() {
        let list = [
            manifest("main", 5, 900),
            manifest("main", 0, 0),
            manifest("main", 5, 100),
            manifest("feature/login", 1, 0),
        ];
        let ids: Vec<_> = list.iter().map(|(id, _)| *id).collect();
        let c = Catalog::build(list.into_iter().collect(), [("v1".to_string(), ids[1])]);
        let main: Vec<_> = c.branches["main"].iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            main,
            [
                "2027-01-15T08-00-00Z",
                "2027-01-15T08-00-05Z",
                "2027-01-15T08-00-05Z-2"
            ]
        );
        assert_eq!(c.branches["main"][2].1, ids[0], "later in the second, -2");
        assert_eq!(c.latest("main"), Some("2027-01-15T08-00-05Z-2"));
        assert_eq!(c.branch_children(""), ["feature", "main"]);
        assert_eq!(c.branch_children("feature"), ["login"]);
        assert!(c.is_branch_dir("feature") && c.is_branch_dir("feature/login"));
        assert!(!c.is_branch_dir("feat"));
        assert_eq!(
            c.branches["main"][0],
            ("2027-01-15T08-00-00Z".into(), ids[1])
        );
        assert_eq!(c.tags.get("v1"), Some(&ids[1]));
    }

    #[test]
    fn a_branch_and_a_folder_of_the_same_name_are_listed_once() {
        let list = [
            manifest("a", 0, 0),
            manifest("a-b", 0, 0),
            manifest("a/c", 0, 0),
        ];
        let c = Catalog::build(list.into_iter().collect(), []);
        assert_eq!(c.branch_children(""), ["a", "a-b"]);
        assert_eq!(c.branch_children("a"), ["c"]);
    }

    #[test]
    fn tags_of_versions_gone_from_the_store_are_hidden() {
        let (id, m) = manifest("main", 0, 0);
        let gone = VersionId(Hash::of(b"gone"));
        let c = Catalog::build(
            [(id, m)].into_iter().collect(),
            [("old".to_string(), gone), ("new".to_string(), id)],
        );
        assert_eq!(c.tags.keys().collect::<Vec<_>>(), ["new"]);
    }
}
