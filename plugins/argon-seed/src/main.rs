//! argon-seed: load fixtures or a dump into HEAD.
//!
//!     argon seed [--drop] SOURCE
//!
//! SOURCE is a folder with one folder per database and one file per
//! collection: `<db>/<collection>.json` (a JSON array of documents) or
//! `.jsonl` (one document per line) in MongoDB extended JSON (relaxed or
//! canonical, as `mongoexport` writes it), or mongodump's `.bson`/`.bson.gz`
//! with `.metadata.json`; or a mongodump archive file (gzip or not). Where a
//! dump says so, collections are created with their options and indexes.
//! `--drop` empties each collection first.
//!
//! A plugin: it uses only argon's public contract, the ARGON_MONGODB_URI
//! environment variable that `argon seed` sets. It reads files through
//! `argon-dump`, the same loader `argon import` uses, so a folder or an
//! archive means the same to both.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use argon_dump::{archive, Metadata};
use mongodb::bson::{doc, Bson, Document, RawDocumentBuf};

const USAGE: &str = "usage: argon seed [--drop] SOURCE   (a folder of <db>/<collection>.json|.jsonl|.bson[.gz] files, or a mongodump archive)";

/// Bytes of documents inserted at a time.
const BATCH_BYTES: usize = 4 << 20;

/// What the reading thread hands the loader.
enum Part {
    /// A collection and what its dump says of it (before its documents).
    Collection {
        db: String,
        name: String,
        meta: Metadata,
    },
    /// Whole documents of `db.name`, raw BSON back to back.
    Documents {
        db: String,
        name: String,
        bytes: Vec<u8>,
    },
    /// Reading failed; nothing after this.
    Failed(String),
}

/// Reads `source` on its own thread, sending what it finds in order.
fn read(source: PathBuf, parts: tokio::sync::mpsc::Sender<Part>) {
    let send = |p: Part| parts.blocking_send(p).is_ok();
    let result = (|| -> argon_dump::Result<()> {
        if source.is_file() {
            let (mut reader, prelude) = archive::open(&source, BATCH_BYTES)?;
            for c in &prelude.collections {
                let meta = prelude.metadata_of(&c.db, &c.collection, &source)?;
                if !c.collection.starts_with("system.") && !c.db.is_empty() {
                    send(Part::Collection {
                        db: c.db.clone(),
                        name: c.collection.clone(),
                        meta,
                    });
                }
            }
            while let Some(event) = reader.next_event()? {
                if let archive::Event::Documents {
                    db,
                    collection,
                    bytes,
                    ..
                } = event
                {
                    if !collection.starts_with("system.") && !db.is_empty() {
                        send(Part::Documents {
                            db,
                            name: collection,
                            bytes,
                        });
                    }
                }
            }
            return Ok(());
        }
        for d in argon_dump::scan(&source)? {
            send(Part::Collection {
                db: d.db.clone(),
                name: d.name.clone(),
                meta: d.read_metadata()?,
            });
            d.read_documents(
                BATCH_BYTES,
                |_| {},
                |bytes| {
                    send(Part::Documents {
                        db: d.db.clone(),
                        name: d.name.clone(),
                        bytes,
                    })
                },
            )?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        send(Part::Failed(e.to_string()));
    }
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(1)
}

/// Splits raw BSON back to back into documents.
fn split(bytes: Vec<u8>) -> Vec<RawDocumentBuf> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= bytes.len() {
        let len = i32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let end = at + len as usize;
        if let Ok(d) = RawDocumentBuf::from_bytes(bytes[at..end].to_vec()) {
            out.push(d);
        }
        at = end;
    }
    out
}

fn to_document(v: &serde_json::Value) -> Option<Document> {
    match Bson::try_from(v.clone()) {
        Ok(Bson::Document(d)) => Some(d),
        _ => None,
    }
}

/// Creates `db.name` with its dump's options (a view, a capped collection)
/// when it does not exist yet.
async fn create(
    client: &mongodb::Client,
    db: &str,
    name: &str,
    meta: &Metadata,
) -> Result<(), String> {
    let options = to_document(&meta.options).unwrap_or_default();
    if options.is_empty() && meta.kind != "view" {
        return Ok(());
    }
    let database = client.database(db);
    let exists = database
        .list_collection_names()
        .await
        .map_err(|e| format!("listing collections of {db}: {e}"))?
        .iter()
        .any(|n| n == name);
    if exists {
        return Ok(());
    }
    let mut command = doc! { "create": name };
    command.extend(options);
    database
        .run_command(command)
        .await
        .map_err(|e| format!("creating {db}.{name}: {e}"))?;
    Ok(())
}

/// Builds the dump's indexes of `db.name` (all but `_id`'s).
async fn index(
    client: &mongodb::Client,
    db: &str,
    name: &str,
    meta: &Metadata,
) -> Result<(), String> {
    let specs: Vec<Document> = meta
        .indexes
        .iter()
        .filter_map(to_document)
        .filter(|ix| ix.get_str("name") != Ok("_id_"))
        .map(|mut ix| {
            ix.remove("ns");
            ix
        })
        .collect();
    if specs.is_empty() || meta.kind == "view" {
        return Ok(());
    }
    client
        .database(db)
        .run_command(doc! { "createIndexes": name, "indexes": specs })
        .await
        .map_err(|e| format!("creating the indexes of {db}.{name}: {e}"))?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let drop = args.iter().any(|a| a == "--drop");
    let sources: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [source] = sources.as_slice() else {
        return fail(USAGE);
    };
    let source = Path::new(source).to_path_buf();
    if !source.exists() {
        return fail(format!("{} does not exist", source.display()));
    }
    let Ok(uri) = std::env::var("ARGON_MONGODB_URI") else {
        return fail(
            "ARGON_MONGODB_URI is not set: run this as 'argon seed' inside an argon project",
        );
    };
    let client = match mongodb::Client::with_uri_str(&uri).await {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot connect to {uri}: {e}")),
    };
    let (tx, mut parts) = tokio::sync::mpsc::channel(4);
    let reader = std::thread::spawn(move || read(source, tx));
    // Per collection, in the order they came: its metadata and count.
    let mut seen: Vec<(String, String, Metadata, usize)> = Vec::new();
    while let Some(part) = parts.recv().await {
        match part {
            Part::Failed(e) => return fail(e),
            Part::Collection { db, name, meta } => {
                if let Err(e) = create(&client, &db, &name, &meta).await {
                    return fail(e);
                }
                if drop && meta.kind != "view" {
                    let coll = client.database(&db).collection::<Document>(&name);
                    if let Err(e) = coll.delete_many(Document::new()).await {
                        return fail(format!("cannot empty {db}.{name}: {e}"));
                    }
                }
                seen.push((db, name, meta, 0));
            }
            Part::Documents { db, name, bytes } => {
                let docs = split(bytes);
                let n = docs.len();
                let coll = client.database(&db).collection::<RawDocumentBuf>(&name);
                if let Err(e) = coll.insert_many(docs).await {
                    return fail(format!("inserting into {db}.{name}: {e}"));
                }
                match seen.iter_mut().find(|s| s.0 == db && s.1 == name) {
                    Some(s) => s.3 += n,
                    None => seen.push((db, name, Metadata::default(), n)),
                }
            }
        }
    }
    let _ = reader.join();
    let mut total = 0;
    for (db, name, meta, n) in &seen {
        if let Err(e) = index(&client, db, name, meta).await {
            return fail(e);
        }
        match meta.kind.as_str() {
            "view" => println!("{db}.{name}: view"),
            _ => println!("{db}.{name}: {n} documents"),
        }
        total += n;
    }
    println!(
        "seeded {total} documents into {}",
        std::env::var("ARGON_BRANCH").unwrap_or_else(|_| "HEAD".into())
    );
    ExitCode::SUCCESS
}
