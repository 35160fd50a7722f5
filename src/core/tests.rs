//! Unit tests of core operations on the in-memory store: no Docker, no S3,
//! no engine. (The integration tests run the same operations against the real
//! ones; these pin the decisions: what gc keeps, what revisions name.)

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};

use super::{GcOptions, Project};
use crate::config::{Config, FileConfig};
use crate::meta::BranchRow;
use crate::progress::Silent;
use crate::snapshot::{
    CaptureMethod, ChunkRef, CollectionEntry, DatabaseEntry, Manifest, MANIFEST_FORMAT,
};
use crate::store::{ChunkId, Hash, MemoryBackend, ObjectKey, Store, VersionId};

struct Fixture {
    _dir: tempfile::TempDir,
    project: Project,
    store: Arc<Store>,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("shop");
    std::fs::create_dir_all(&root).unwrap();
    let config = Config::resolve(&root, FileConfig::default()).unwrap();
    let mut project = Project::open_at(config, dir.path().join("state"), Arc::new(Silent)).unwrap();
    let store = Arc::new(Store::new(Arc::new(MemoryBackend::new())));
    project.store = Some(store.clone());
    project.lock().await.unwrap();
    Fixture {
        _dir: dir,
        project,
        store,
    }
}

fn chunk(name: &str) -> ChunkId {
    ChunkId(Hash::of(name.as_bytes()))
}

impl Fixture {
    /// Saves a version of `branch` whose one collection is made of `chunks`
    /// (written to the store), as a save would: store first, then metadata.
    async fn save(
        &mut self,
        branch: &str,
        parent: Option<VersionId>,
        chunks: &[&str],
        minute: u32,
    ) -> VersionId {
        for c in chunks {
            self.store
                .put_bytes(ObjectKey::Chunk(chunk(c)), c.as_bytes().to_vec())
                .await
                .unwrap();
        }
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            project: "shop".into(),
            branch: branch.into(),
            parent,
            created_at: Utc.with_ymd_and_hms(2026, 11, 1, 12, minute, 0).unwrap(),
            message: format!("{branch} at {minute}"),
            capture: CaptureMethod::Offline,
            engine_version: None,
            databases: vec![DatabaseEntry {
                name: "app".into(),
                collections: vec![CollectionEntry {
                    name: "docs".into(),
                    kind: "collection".into(),
                    options: serde_json::json!({}),
                    indexes: Vec::new(),
                    documents: chunks.len() as u64,
                    bytes: 10,
                    chunks: chunks.iter().map(|c| ChunkRef(chunk(c), 1)).collect(),
                    doc_starts: Vec::new(),
                }],
            }],
            written_bytes: 10,
        };
        let bytes = manifest.to_bytes();
        let id = VersionId(Hash::of(&bytes));
        self.store
            .put_bytes(ObjectKey::Version(id), bytes)
            .await
            .unwrap();
        let meta = &mut self.project.meta;
        if meta.branch(branch).unwrap().is_none() {
            meta.insert_branch(&BranchRow {
                name: branch.into(),
                uid: format!("uid-{branch}"),
                head_version: None,
                volume: None,
                created_at: Utc::now(),
                clean: None,
            })
            .unwrap();
        }
        meta.record_version(&super::version_row_of(id, &manifest), branch)
            .unwrap();
        id
    }

    async fn chunk_exists(&self, name: &str) -> bool {
        self.store
            .exists(ObjectKey::Chunk(chunk(name)))
            .await
            .unwrap()
    }
}

fn collect_all() -> GcOptions {
    GcOptions {
        dry_run: false,
        keep_last: Some(0),
        keep_within: None,
        grace: Duration::ZERO,
    }
}

/// gc keeps what any branch or tag reaches, plans before it acts (the dry
/// run changes nothing), and deletes a deleted branch's versions and the
/// chunks only they used.
#[tokio::test]
async fn gc_keeps_what_branches_and_tags_reach_and_collects_the_rest() {
    let mut f = fixture().await;
    let m1 = f.save("main", None, &["base", "a"], 1).await;
    let m2 = f.save("main", Some(m1), &["base", "b"], 2).await;
    let t1 = f.save("tmp", Some(m1), &["base", "t1"], 3).await;
    let t2 = f.save("tmp", Some(t1), &["base", "t2"], 4).await;
    let old = f.save("old", None, &["tagged"], 5).await;
    f.project
        .tag("release", Some(&old.to_string()))
        .await
        .unwrap();
    f.project.meta.delete_branch("tmp").unwrap();
    f.project.meta.delete_branch("old").unwrap();

    let plan = f
        .project
        .gc_plan(&GcOptions {
            dry_run: true,
            ..collect_all()
        })
        .await
        .unwrap();
    let planned: Vec<String> = plan
        .report
        .deleted_versions
        .iter()
        .map(|v| v.id.clone())
        .collect();
    assert_eq!(
        planned,
        vec![t2.to_string(), t1.to_string()],
        "newest first"
    );
    assert_eq!(plan.report.deleted_chunks, 2, "t1 and t2's own chunks");
    assert!(f.chunk_exists("t1").await, "a plan changes nothing");

    let done = f.project.gc(&collect_all()).await.unwrap();
    assert_eq!(done.deleted_versions.len(), 2);
    assert_eq!(done.deleted_chunks, 2);
    let left = f.store.list_versions().await.unwrap();
    for kept in [m1, m2, old] {
        assert!(left.contains(&kept), "{kept} is reached by main or the tag");
    }
    assert!(!f.chunk_exists("t1").await && !f.chunk_exists("t2").await);
    for shared in ["base", "a", "b", "tagged"] {
        assert!(f.chunk_exists(shared).await, "{shared} is still used");
    }
}

/// Another machine's branch head, published as a ref in the shared store,
/// protects that head and its ancestors from this machine's gc.
#[tokio::test]
async fn gc_keeps_other_machines_heads() {
    let mut f = fixture().await;
    let t1 = f.save("tmp", None, &["t1"], 1).await;
    let t2 = f.save("tmp", Some(t1), &["t2"], 2).await;
    f.project.meta.delete_branch("tmp").unwrap();
    f.store
        .publish_ref("laptop-of-a-teammate", "tmp", t2)
        .await
        .unwrap();

    let done = f.project.gc(&collect_all()).await.unwrap();
    assert!(
        done.deleted_versions.is_empty(),
        "{:?}",
        done.deleted_versions
    );
    assert!(f.chunk_exists("t1").await && f.chunk_exists("t2").await);
}
