//! The snapshot store: deduplication, integrity checks, corruption detection.

use mongodb::bson::doc;

use crate::harness::{stored_chunks, Backend, Project, StoredChunk};

fn five_collections(p: &Project) {
    let m = p.mongo();
    for c in ["a", "b", "c", "d", "e"] {
        let docs = (0..3000).map(|i| doc! { "_id": i, "c": c, "body": format!("{c}-{i}-{}", "lorem ipsum ".repeat(10)) }).collect();
        m.insert("app", c, docs);
    }
}

#[test]
fn unchanged_data_is_not_stored_twice() {
    let p = Project::new("dedup", Backend::File);
    let store = p.dir.parent().unwrap().join("store");
    p.ok(&["checkout", "-b", "main"]);
    five_collections(&p);
    p.ok(&["commit", "-m", "full"]);
    let first = stored_chunks(&store);
    assert!(first.len() > 10, "several chunks: {}", first.len());

    // One document of one collection of five changes (same size, in place).
    p.mongo().command("app", doc! { "update": "c", "updates": [ { "q": { "_id": 1500 }, "u": { "$set": { "c": "X" } } } ] });
    p.ok(&["commit", "-m", "one document"]);
    let second = stored_chunks(&store);
    let new = second.len() - first.len();
    assert!(
        (1..=2).contains(&new),
        "only the chunk(s) around the change are new: {new}"
    );

    // A branch of the same data shares every chunk.
    p.ok(&["checkout", "-b", "copy"]);
    assert_eq!(
        stored_chunks(&store).len(),
        second.len(),
        "a new branch of unchanged data writes no chunk"
    );
}

#[test]
fn fsck_finds_missing_and_corrupt_chunks() {
    let p = Project::new("fsck", Backend::File);
    let store = p.dir.parent().unwrap().join("store");
    p.ok(&["checkout", "-b", "main"]);
    five_collections(&p);
    p.ok(&["commit", "-m", "v1"]);
    let v1 = p.version_of("main");
    let clean = p.json(&["fsck", "--read-data"]);
    assert!(clean["damaged"].as_array().unwrap().is_empty(), "{clean}");
    assert_eq!(clean["versions"], 1);

    // Flip one byte in a stored chunk: presence checks pass, reading fails loudly.
    let chunks = stored_chunks(&store);
    let victim = &chunks[chunks.len() / 2];
    victim.damage();
    let chunk_name = victim.id.clone();

    assert_eq!(p.run(&["fsck"]).code, 0, "presence only");
    let r = p.run(&["fsck", "--read-data"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains(&v1[..12]) && r.stdout.contains(&chunk_name),
        "names the version and chunk: {}",
        r.stdout
    );
    assert!(
        r.stderr
            .starts_with("error: 1 version(s) in the store are damaged"),
        "{}",
        r.stderr
    );

    // Restoring that version fails, naming the chunk, and leaves HEAD as it was.
    let r = p.run(&["checkout", "-b", "broken", &v1]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(&chunk_name) && r.stderr.contains("corrupt"),
        "{}",
        r.stderr
    );
    assert_eq!(p.json(&["status"])["head"], "main");
    assert_eq!(p.json(&["status"])["state"], "running");

    // A missing chunk is found without reading data (its pack gone, and
    // with it the chunks beside it).
    std::fs::remove_file(&victim.file).unwrap();
    let r = p.run(&["fsck", "--format", "json"]);
    assert_eq!(r.code, 1);
    let report = r.json();
    assert_eq!(report["damaged"][0]["id"], v1.as_str());
    assert!(report["damaged"][0]["problems"][0]
        .as_str()
        .unwrap()
        .contains("missing"));
}

#[test]
fn fsck_over_s3() {
    let p = Project::new("fscks3", Backend::S3);
    p.ok(&["checkout", "-b", "main"]);
    five_collections(&p);
    p.ok(&["commit", "-m", "v1"]);
    let r = p.json(&["fsck", "--read-data"]);
    assert!(r["damaged"].as_array().unwrap().is_empty(), "{r}");
    assert!(r["chunks"].as_u64().unwrap() > 5);
}

#[test]
fn a_second_machine_sees_and_checks_out_what_the_first_saved() {
    let a = Project::new("shared", Backend::S3);
    a.ok(&["checkout", "-b", "main"]);
    crate::harness::seed(&a.mongo(), "shared");
    let state = crate::harness::snapshot(&a.mongo());
    a.ok(&["commit", "-m", "from a"]);
    a.ok(&["checkout", "-b", "feature"]);
    a.mongo().insert("app", "f", vec![doc! { "x": 1 }]);
    a.ok(&["commit", "-m", "feature work"]);

    let b = a.another_machine();
    assert!(b.json(&["branch"]).as_array().unwrap().is_empty());
    let f = b.json(&["fetch"]);
    assert_eq!(f["new_versions"], 2, "{f}");
    assert_eq!(f["new_branches"], serde_json::json!(["feature", "main"]));
    let log = b.json(&["log", "feature"]);
    let messages: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["feature work", "from a"]);
    b.ok(&["checkout", "main"]);
    assert_eq!(crate::harness::snapshot(&b.mongo()), state);
    // Fetching again finds nothing new.
    assert_eq!(b.json(&["fetch"])["new_versions"], 0);

    // Lost metadata is rebuilt from the store.
    std::fs::remove_dir_all(b.home.join("argon")).unwrap();
    let r = b.run(&["fsck", "--rebuild-index", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let names: Vec<String> = b
        .json(&["branch"])
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["feature", "main"]);
}

#[test]
fn gc_keeps_what_branches_and_tags_reach_and_frees_the_rest() {
    let p = Project::new("gc", Backend::File);
    let store = p.dir.parent().unwrap().join("store");
    p.ok(&["checkout", "-b", "main"]);
    five_collections(&p);
    p.ok(&["commit", "-m", "v1"]);

    // A branch with data of its own: one version tagged, a later one not.
    p.ok(&["checkout", "-b", "gone"]);
    let m = p.mongo();
    let docs = (0..2000)
        .map(|i| doc! { "g": i, "pad": format!("gone-{i}-{}", "z".repeat(300)) })
        .collect();
    m.insert("app", "gone1", docs);
    p.ok(&["commit", "-m", "g1"]);
    let g1_state = crate::harness::snapshot(&m);
    p.ok(&["tag", "release"]);
    let docs = (0..2000)
        .map(|i| doc! { "h": i, "pad": format!("later-{i}-{}", "y".repeat(300)) })
        .collect();
    m.insert("app", "gone2", docs);
    p.ok(&["commit", "-m", "g2"]);
    let g2 = p.version_of("gone");
    p.ok(&["checkout", "main"]);
    p.ok(&["branch", "-D", "gone"]);
    let before = stored_chunks(&store).len();

    // Without a policy nothing expires, and young chunks are never touched.
    let dry = p.json(&["gc", "--dry-run"]);
    assert_eq!(
        dry["deleted_versions"].as_array().unwrap().len(),
        0,
        "{dry}"
    );
    assert_eq!(dry["deleted_chunks"], 0);

    let r = p.json(&["gc", "--keep-last", "0", "--grace", "0s", "--yes"]);
    let deleted = crate::harness::deleted_version_ids(&r);
    let deleted: Vec<&str> = deleted.iter().map(String::as_str).collect();
    assert_eq!(
        deleted,
        [g2.as_str()],
        "only the untagged version of the deleted branch: {r}"
    );
    assert!(
        r["deleted_chunks"].as_u64().unwrap() > 0 && r["freed_bytes"].as_u64().unwrap() > 0,
        "{r}"
    );
    // Packs rewritten without the deleted chunks keep every other one.
    assert_eq!(
        stored_chunks(&store).len() as u64,
        before as u64 - r["deleted_chunks"].as_u64().unwrap(),
        "exactly the deleted chunks are gone"
    );

    // Everything kept is whole, the tag still restores, the log lost only g2.
    let f = p.json(&["fsck", "--read-data"]);
    assert!(f["damaged"].as_array().unwrap().is_empty(), "{f}");
    p.ok(&["checkout", "-b", "back", "release"]);
    assert_eq!(crate::harness::snapshot(&p.mongo()), g1_state);
    let all = p.json(&["log", "--all"]);
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["id"] != g2.as_str()));
    assert_eq!(p.run(&["tag", "release"]).code, 2, "tags are unique");
    p.ok(&["tag", "-d", "release"]);
    assert_eq!(p.json(&["tag"]).as_array().unwrap().len(), 0);
}

/// `argon branch --disk`: each branch's volume measured, running or
/// stashed; more data takes more room.
#[test]
fn branch_sizes_on_disk_follow_their_data() {
    let p = Project::new("disk", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert("app", "a", vec![doc! { "_id": 1 }]);
    p.ok(&["checkout", "-b", "small"]);
    p.ok(&["checkout", "main"]);
    // About 16 MB that compresses poorly: hex of a running hash.
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
    let docs = (0..8_000)
        .map(|i| {
            let body: String = (0..64)
                .map(|_| {
                    h ^= h << 13;
                    h ^= h >> 7;
                    h ^= h << 17;
                    format!("{h:016x}")
                })
                .collect();
            doc! { "_id": i, "body": body }
        })
        .collect();
    p.mongo().insert("app", "big", docs);
    p.ok(&["stash"]);
    p.ok(&["wait"]);
    let list = p.json(&["branch", "--disk"]);
    let size = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == name)
            .and_then(|b| b["disk_bytes"].as_u64())
            .unwrap_or_else(|| panic!("no size on disk for {name}: {list}"))
    };
    let (main, small) = (size("main"), size("small"));
    assert!(small > 0, "{list}");
    assert!(
        main > small + 4_000_000,
        "main holds about 16 MB more than small: {main} vs {small}"
    );
    // Without --disk, no measurement; the text form has the column.
    assert!(p.json(&["branch"])[0].get("disk_bytes").is_none());
    let text = p.ok(&["branch", "--disk"]);
    assert!(text.contains("on disk"), "{text}");
    assert_ne!(p.run(&["branch", "--disk", "x"]).code, 0);
}

#[test]
fn gc_local_evicts_volumes_that_the_store_holds() {
    let p = Project::new("gclocal", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    five_collections(&p);
    let state = crate::harness::snapshot(&p.mongo());
    p.ok(&["checkout", "-b", "other"]);
    let r = p.json(&["gc", "--local"]);
    assert_eq!(r["evicted"], serde_json::json!(["main"]), "not HEAD: {r}");
    let main = p.branch_info("main");
    assert_eq!(main["state"], "archived");
    let c = p.json(&["checkout", "main"]);
    assert!(c["restored"].is_string(), "restored from the store: {c}");
    assert_eq!(crate::harness::snapshot(&p.mongo()), state);
}

#[test]
fn an_interrupted_save_is_resumed_without_sending_stored_chunks_again() {
    let p = Project::new("resume", Backend::File);
    let store = p.dir.parent().unwrap().join("store");
    p.ok(&["checkout", "-b", "main"]);
    let m = p.mongo();
    // About 24 MiB: more than one batch of chunks the local store places
    // together (src/store/local.rs), so a save killed after the first batch
    // has stored part of its chunks.
    for c in ["a", "b", "c", "d"] {
        let docs = (0..40_000)
            .map(|i| doc! { "_id": i, "body": format!("{c}{i}-{}", "resume ".repeat(20)) })
            .collect();
        m.insert("app", c, docs);
    }
    let size = |chunks: &[StoredChunk]| chunks.iter().map(|c| c.len).sum::<u64>();
    let killed = p.run_with(
        &["commit", "-m", "interrupted"],
        &[("ARGON_FAULT_POINT", "store:chunks-placed")],
    );
    assert_ne!(killed.code, 0, "the save was killed part way");
    let before = stored_chunks(&store);
    assert!(!before.is_empty(), "chunks stored before the kill");
    assert!(
        p.json(&["log"]).as_array().unwrap().is_empty(),
        "no half version"
    );

    p.ok(&["commit", "-m", "resumed"]);
    let after = stored_chunks(&store);
    let project_dir = std::fs::read_dir(&store)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let manifest_path = std::fs::read_dir(project_dir.join("versions"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(manifest_path).unwrap()).unwrap();
    assert_eq!(
        manifest["written_bytes"].as_u64().unwrap(),
        size(&after) - size(&before),
        "the rerun wrote exactly the chunks the interrupted save had not ({} were already stored)",
        before.len()
    );
    let f = p.json(&["fsck", "--read-data"]);
    assert!(f["damaged"].as_array().unwrap().is_empty(), "{f}");
}

#[test]
fn tags_are_shared_through_the_store_and_protect_versions_from_any_gc() {
    let a = Project::new("shared-tags", Backend::S3);
    a.ok(&["checkout", "-b", "main"]);
    a.mongo().insert("app", "m", vec![doc! { "x": 1 }]);
    a.ok(&["commit", "-m", "main work"]);
    a.ok(&["checkout", "-b", "old"]);
    a.mongo().insert("app", "o", vec![doc! { "y": 2 }]);
    a.ok(&["commit", "-m", "old work"]);
    let old = a.version_of("old");
    a.ok(&["checkout", "main"]);

    // Machine B knows the version but, once its branch is gone there, nothing
    // of its own keeps it.
    let b = a.another_machine();
    b.ok(&["fetch"]);
    b.ok(&["branch", "-D", "old"]);

    // A tags it afterwards: B's gc still sees the tag, in the store.
    a.ok(&["tag", "keep", &old]);
    let taken = b.run(&["tag", "keep", "main"]);
    assert_eq!(
        taken.code, 2,
        "the name is taken in the store: {}",
        taken.stderr
    );
    let r = b.json(&["gc", "--keep-last", "0", "--grace", "0s", "--yes"]);
    let deleted = crate::harness::deleted_version_ids(&r);
    let deleted: Vec<&str> = deleted.iter().map(String::as_str).collect();
    assert!(
        !deleted.contains(&old.as_str()),
        "a tag from A protects it: {r}"
    );

    // fetch brings the tag into B's index; B can use it by name.
    let f = b.json(&["fetch"]);
    assert_eq!(f["new_tags"], serde_json::json!(["keep"]), "{f}");
    let tags = b.json(&["tag"]);
    assert_eq!(tags[0]["name"], "keep");
    assert_eq!(tags[0]["version"], old.as_str());
    b.ok(&["checkout", "-b", "back", "keep"]);
    assert_eq!(b.mongo().count("app", "o"), 1);

    // Deleting on one machine removes it from the store for everyone.
    a.ok(&["tag", "-d", "keep"]);
    let again = b.run(&["tag", "keep2", &old]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(a.run(&["tag", "-d", "keep"]).code, 2, "already gone");
}
