//! Property tests over everything argon reads from outside: manifests and
//! chunks from a (possibly shared, possibly hostile) store, revisions, names,
//! sizes and durations typed by users. Whatever the input: an error or a
//! value, never a panic, and no allocation beyond the documented bounds.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;

use crate::core::revision;
use crate::names::BranchName;
use crate::snapshot::{decode_chunk, ChunkRef, Manifest};
use crate::store::{escape_name, unescape_name, ChunkId, Hash};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn manifests_from_any_bytes_parse_or_fail(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Manifest::from_bytes(&bytes);
    }

    #[test]
    fn manifests_with_any_numbers_parse_or_fail(len in any::<u64>(), docs in any::<i64>(), format in any::<u64>()) {
        let json = format!(
            r#"{{"format":{format},"project":"p","branch":"b","parent":null,"created_at":"2026-11-27T10:00:00Z","message":"m","capture":"offline","engine_version":null,"databases":[{{"name":"d","collections":[{{"name":"c","type":"collection","options":{{}},"indexes":[],"documents":{docs},"bytes":{len},"chunks":[["{}",{len}]]}}]}}],"written_bytes":{len}}}"#,
            "ab".repeat(32)
        );
        let _ = Manifest::from_bytes(json.as_bytes());
    }

    #[test]
    fn chunks_from_any_bytes_decode_or_fail(compressed in proptest::collection::vec(any::<u8>(), 0..4096), len in any::<u32>()) {
        let id = ChunkId(Hash::of(&compressed));
        // A length from a hostile manifest must not make argon allocate it.
        if let Ok(raw) = decode_chunk(&compressed, ChunkRef(id, len)) {
            prop_assert_eq!(Hash::of(&raw), id.0);
        }
    }

    #[test]
    fn revisions_parse_or_fail(text in ".{0,64}") {
        let _ = revision::parse(&text, now());
    }

    #[test]
    fn relative_times_of_any_size_parse_or_fail(n in any::<i64>(), unit in prop::sample::select(vec!["seconds", "minutes", "hours", "days", "weeks", "months", "years"])) {
        let _ = revision::parse(&format!("main@{{{n} {unit} ago}}"), now());
        let _ = revision::parse(&format!("main~{n}"), now());
    }

    #[test]
    fn names_validate_or_fail_and_escape_to_one_component(name in ".{0,40}") {
        if let Ok(b) = BranchName::parse(&name) {
            let escaped = escape_name(b.as_str());
            prop_assert!(!escaped.contains('/'));
            prop_assert_eq!(unescape_name(&escaped), b.as_str());
        }
    }

    #[test]
    fn escaping_round_trips_any_text(text in any::<String>()) {
        let escaped = escape_name(&text);
        prop_assert!(!escaped.contains('/') && !escaped.contains('\0'));
        prop_assert_eq!(unescape_name(&escaped), text);
    }

    #[test]
    fn sizes_and_durations_parse_or_fail(text in ".{0,24}") {
        let _ = crate::cli::parse_size(&text);
        let _ = crate::cli::parse_duration(&text);
    }
}
