//! argon-seed: load a folder of extended-JSON fixtures into HEAD.
//!
//!     argon seed [--drop] DIR
//!
//! DIR holds one folder per database and one file per collection:
//! `DIR/<db>/<collection>.json` (a JSON array of documents) or `.jsonl` (one
//! document per line), in MongoDB extended JSON (relaxed or canonical), the
//! format `mongoexport` writes. `--drop` empties each collection first.
//!
//! A plugin: it uses only argon's public contract, the ARGON_MONGODB_URI
//! environment variable that `argon seed` sets.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mongodb::bson::{Bson, Document};

const USAGE: &str =
    "usage: argon seed [--drop] DIR   (DIR/<db>/<collection>.json|.jsonl, extended JSON)";

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(1)
}

fn documents(path: &Path) -> Result<Vec<Document>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let values: Vec<serde_json::Value> = if path.extension().is_some_and(|e| e == "jsonl") {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))
            })
            .collect::<Result<_, _>>()?
    } else {
        match serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))? {
            serde_json::Value::Array(items) => items,
            one @ serde_json::Value::Object(_) => vec![one],
            _ => {
                return Err(format!(
                    "{}: expected a JSON array of documents",
                    path.display()
                ))
            }
        }
    };
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| match Bson::try_from(v) {
            Ok(Bson::Document(d)) => Ok(d),
            _ => Err(format!(
                "{}: item {} is not a document",
                path.display(),
                i + 1
            )),
        })
        .collect()
}

/// (database, collection, file) for every fixture under `dir`, sorted.
fn fixtures(dir: &Path) -> Result<Vec<(String, String, PathBuf)>, String> {
    let mut out = Vec::new();
    let read =
        |d: &Path| std::fs::read_dir(d).map_err(|e| format!("cannot read {}: {e}", d.display()));
    for db in read(dir)? {
        let db = db.map_err(|e| e.to_string())?.path();
        if !db.is_dir() {
            continue;
        }
        for file in read(&db)? {
            let file = file.map_err(|e| e.to_string())?.path();
            let ext = file
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default();
            if ext == "json" || ext == "jsonl" {
                let coll = file
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                out.push((
                    db.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    coll,
                    file,
                ));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let drop = args.iter().any(|a| a == "--drop");
    let dirs: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [dir] = dirs.as_slice() else {
        return fail(USAGE);
    };
    let Ok(uri) = std::env::var("ARGON_MONGODB_URI") else {
        return fail(
            "ARGON_MONGODB_URI is not set: run this as 'argon seed' inside an argon project",
        );
    };
    let fixtures = match fixtures(Path::new(dir)) {
        Ok(f) if f.is_empty() => {
            return fail(format!("no DB/COLLECTION.json or .jsonl files under {dir}"))
        }
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let client = match mongodb::Client::with_uri_str(&uri).await {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot connect to {uri}: {e}")),
    };
    let mut total = 0;
    for (db, coll, file) in fixtures {
        let docs = match documents(&file) {
            Ok(d) => d,
            Err(e) => return fail(e),
        };
        let collection = client.database(&db).collection::<Document>(&coll);
        if drop {
            if let Err(e) = collection.delete_many(Document::new()).await {
                return fail(format!("cannot empty {db}.{coll}: {e}"));
            }
        }
        let n = docs.len();
        if n > 0 {
            if let Err(e) = collection.insert_many(docs).await {
                return fail(format!("inserting into {db}.{coll}: {e}"));
            }
        }
        println!("{db}.{coll}: {n} documents");
        total += n;
    }
    println!(
        "seeded {total} documents into {}",
        std::env::var("ARGON_BRANCH").unwrap_or_else(|_| "HEAD".into())
    );
    ExitCode::SUCCESS
}
