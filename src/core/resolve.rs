//! Resolving a parsed revision against the metadata: branch heads, parent
//! steps, times and version-id prefixes.

use chrono::{DateTime, Utc};

use super::error::{Error, Result};
use super::revision::{self, Base};
use crate::meta::{Meta, VersionRow};
use crate::store::VersionId;

/// Shortest version-id prefix accepted as a revision (as git).
const MIN_ID_PREFIX: usize = 4;

pub fn version_row(meta: &Meta, id: VersionId) -> Result<VersionRow> {
    meta.version(id)?
        .ok_or_else(|| Error::UnknownRevision(id.short()))
}

/// Resolves `text` to a version id; `head` is the checked-out branch.
pub fn resolve(
    meta: &Meta,
    head: Option<&str>,
    text: &str,
    now: DateTime<Utc>,
) -> Result<VersionId> {
    let rev = revision::parse(text, now).map_err(Error::BadRevision)?;
    let branch_head = |name: &str| -> Result<Option<(VersionId, String)>> {
        Ok(match meta.branch(name)? {
            Some(b) => Some((
                b.head_version
                    .ok_or_else(|| Error::NoVersions(b.name.clone()))?,
                b.name,
            )),
            None => None,
        })
    };
    let (start, label) = match &rev.base {
        Base::Head => branch_head(head.ok_or(Error::NoHead)?)?.ok_or(Error::NoHead)?,
        Base::Name(name) => match branch_head(name)? {
            Some(found) => found,
            None => match meta.tags()?.into_iter().find(|(t, _)| t == name) {
                Some((_, v)) => (v, name.clone()),
                None => (resolve_prefix(meta, name, text)?, name.clone()),
            },
        },
    };
    let mut id = start;
    if let Some(at) = rev.at {
        id = loop {
            let v = version_row(meta, id)?;
            if v.created_at <= at {
                break id;
            }
            id = v.parent.ok_or_else(|| Error::NoVersionAtTime {
                rev: text.to_string(),
                branch: label.clone(),
                time: at.to_rfc3339(),
            })?;
        };
    }
    for step in 0..rev.back {
        id = version_row(meta, id)?
            .parent
            .ok_or_else(|| Error::TooFarBack {
                rev: text.to_string(),
                base: label.clone(),
                have: step,
            })?;
    }
    Ok(id)
}

fn resolve_prefix(meta: &Meta, prefix: &str, text: &str) -> Result<VersionId> {
    let hex_like = prefix.len() >= MIN_ID_PREFIX && prefix.chars().all(|c| c.is_ascii_hexdigit());
    if !hex_like {
        return Err(Error::UnknownRevision(text.to_string()));
    }
    let found = meta.version_ids_with_prefix(&prefix.to_ascii_lowercase())?;
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::UnknownRevision(text.to_string())),
        many => Err(Error::AmbiguousRevision {
            rev: text.to_string(),
            candidates: many
                .iter()
                .map(|v| v.short())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::meta::BranchRow;

    fn id(hex_prefix: &str) -> VersionId {
        VersionId::parse(&format!("{hex_prefix:0<64}")).unwrap()
    }

    /// main: v1 <- v2 <- v3, one hour apart; plus an unrelated version sharing v1's prefix.
    fn setup() -> (tempfile::TempDir, Meta, DateTime<Utc>) {
        let dir = tempfile::tempdir().unwrap();
        let (mut meta, _) = Meta::open(&dir.path().join("m.db"), "/app", "app", "app-1").unwrap();
        meta.insert_branch(&BranchRow {
            name: "main".into(),
            uid: "u".into(),
            head_version: None,
            volume: None,
            created_at: Utc::now(),
            clean: None,
        })
        .unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap();
        let mut parent = None;
        for (i, hex) in ["abcd1", "beef2", "cafe3"].iter().enumerate() {
            let v = VersionRow {
                id: id(hex),
                branch: "main".into(),
                parent,
                created_at: t0 + Duration::hours(i as i64),
                message: format!("v{}", i + 1),
                capture: "fsync-lock".into(),
                bytes: 0,
                collections: 0,
            };
            meta.record_version(&v, "main").unwrap();
            parent = Some(v.id);
        }
        let stray = VersionRow {
            id: id("abcd9"),
            parent: None,
            ..meta.version(id("abcd1")).unwrap().unwrap()
        };
        meta.index_version(&stray).unwrap();
        (dir, meta, t0)
    }

    #[test]
    fn branches_steps_and_times() {
        let (_d, meta, t0) = setup();
        let now = t0 + Duration::hours(5);
        let r = |text: &str| resolve(&meta, Some("main"), text, now);
        assert_eq!(r("main").unwrap(), id("cafe3"));
        assert_eq!(r("HEAD~1").unwrap(), id("beef2"));
        assert_eq!(r("main~2").unwrap(), id("abcd1"));
        assert_eq!(r("main^^").unwrap(), id("abcd1"));
        assert_eq!(r("main@{4 hours ago}").unwrap(), id("beef2"));
        assert_eq!(r("main@{4 hours ago}~1").unwrap(), id("abcd1"));
        assert!(matches!(
            r("main~3"),
            Err(Error::TooFarBack { have: 2, .. })
        ));
        assert!(matches!(
            r("main@{6 hours ago}"),
            Err(Error::NoVersionAtTime { .. })
        ));
    }

    #[test]
    fn id_prefixes() {
        let (_d, meta, t0) = setup();
        let r = |text: &str| resolve(&meta, Some("main"), text, t0);
        assert_eq!(r("beef").unwrap(), id("beef2"));
        assert_eq!(r("CAFE3").unwrap(), id("cafe3"));
        match r("abcd") {
            Err(Error::AmbiguousRevision { candidates, .. }) => {
                assert!(
                    candidates.contains("abcd1") && candidates.contains("abcd9"),
                    "{candidates}"
                )
            }
            other => panic!("expected ambiguity, got {other:?}"),
        }
        assert_eq!(r("abcd1").unwrap(), id("abcd1"));
        assert!(
            matches!(r("abc"), Err(Error::UnknownRevision(_))),
            "too short to be an id"
        );
        assert!(matches!(r("feature"), Err(Error::UnknownRevision(_))));
        assert!(matches!(r("0000"), Err(Error::UnknownRevision(_))));
        assert!(matches!(
            resolve(&meta, None, "HEAD", t0),
            Err(Error::NoHead)
        ));
    }
}
