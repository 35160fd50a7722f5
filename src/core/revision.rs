//! Revision syntax, as in `git rev-parse`: `NAME`, `HEAD`, `NAME~N`, `NAME^`,
//! `NAME@{<time>}` and version-id prefixes. Parsing is pure; resolving against
//! the metadata happens in `core`.

use chrono::{DateTime, Duration, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// A parsed revision, not yet resolved to a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// `HEAD`, a branch name or a version-id prefix (which one is decided on resolution).
    pub base: Base,
    /// `@{time}`: the latest version at or before this instant.
    pub at: Option<DateTime<Utc>>,
    /// Number of parent steps (`~N`, `^`).
    pub back: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    Head,
    Name(String),
}

/// Parses `text` with `now` as the reference for relative times.
pub fn parse(text: &str, now: DateTime<Utc>) -> Result<Revision, String> {
    let bad = |why: &str| format!("bad revision '{text}': {why}");
    if text.is_empty() {
        return Err(bad("it is empty"));
    }
    // Split off the trailing ~N / ^ steps first: they may follow @{...}.
    let mut rest = text;
    let mut back: u32 = 0;
    let mut steps = Vec::new();
    loop {
        if let Some(stripped) = rest.strip_suffix('^') {
            steps.push(1);
            rest = stripped;
            continue;
        }
        let digits = rest.len() - rest.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let before = &rest[..rest.len() - digits];
        if let Some(stripped) = before.strip_suffix('~') {
            let n = if digits == 0 {
                1
            } else {
                rest[rest.len() - digits..]
                    .parse::<u32>()
                    .map_err(|_| bad("the number after '~' is too large"))?
            };
            steps.push(n);
            rest = stripped;
            continue;
        }
        break;
    }
    for n in steps {
        back = back
            .checked_add(n)
            .ok_or_else(|| bad("too many steps back"))?;
    }
    let mut at = None;
    if let Some(open) = rest.find("@{") {
        let inner = rest[open + 2..]
            .strip_suffix('}')
            .ok_or_else(|| bad("'@{' is not closed by '}'"))?;
        at = Some(parse_time(inner, now).map_err(|why| bad(&why))?);
        rest = &rest[..open];
        if rest.is_empty() {
            rest = "HEAD";
        }
    }
    if rest.is_empty() {
        return Err(bad("no branch or version before '~' or '^'"));
    }
    if rest.contains(['~', '^', '{', '}', ' ']) {
        return Err(bad(
            "unexpected character; use NAME, NAME~N, NAME^ or NAME@{time}",
        ));
    }
    let base = if rest == "HEAD" || rest == "@" {
        Base::Head
    } else {
        Base::Name(rest.to_string())
    };
    Ok(Revision { base, at, back })
}

/// Parses the time inside `@{...}`: an absolute date and time (local time unless
/// it carries an offset) or a relative `N units ago`, `now`, `yesterday`.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    match t {
        "now" => return Ok(now),
        "yesterday" => return Ok(now - Duration::days(1)),
        _ => {}
    }
    // No version is saved in the future: a time after now is a typo (or a
    // wrong clock), not "the latest version".
    let not_future = |at: DateTime<Utc>| match at > now + Duration::minutes(1) {
        true => Err(format!(
            "'{text}' is in the future (it is now {})",
            now.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M")
        )),
        false => Ok(at),
    };
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return not_future(dt.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, fmt) {
            return local_to_utc(naive, text).and_then(not_future);
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        // git reads a bare date as the end of that day would surprise users less
        // than midnight: "main@{2026-11-27}" means "as of that day" (today:
        // as of now).
        let start = date.and_hms_opt(0, 0, 0).ok_or("invalid date")?;
        not_future(local_to_utc(start, text)?)?;
        let end = date.and_hms_opt(23, 59, 59).ok_or("invalid date")?;
        return Ok(local_to_utc(end, text)?.min(now));
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    let relative = match words.as_slice() {
        [n, unit, "ago"] => Some((*n, *unit)),
        [n, unit] => Some((*n, *unit)),
        _ => None,
    };
    if let Some((n, unit)) = relative {
        let n: i64 = n
            .parse()
            .map_err(|_| format!("cannot read '{text}' as a time"))?;
        let unit_secs: i64 = match unit.trim_end_matches('s') {
            "second" | "sec" => 1,
            "minute" | "min" => 60,
            "hour" | "hr" => 3600,
            "day" => 86_400,
            "week" => 7 * 86_400,
            "month" => 30 * 86_400,
            "year" => 365 * 86_400,
            _ => return Err(format!("unknown time unit '{unit}' in '{text}'")),
        };
        let too_far = || format!("'{text}' is too far back");
        // Every step checked: a time before chrono's calendar is an error, not a panic.
        return n
            .checked_mul(unit_secs)
            .filter(|secs| *secs >= 0)
            .and_then(Duration::try_seconds)
            .and_then(|d| now.checked_sub_signed(d))
            .ok_or_else(too_far);
    }
    Err(format!(
        "cannot read '{text}' as a time; use e.g. '2026-11-27 10:00' or '2 hours ago'"
    ))
}

fn local_to_utc(naive: NaiveDateTime, text: &str) -> Result<DateTime<Utc>, String> {
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|dt| dt.with_timezone(&Utc))
        .ok_or_else(|| format!("'{text}' does not exist in the local time zone"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    fn name(n: &str) -> Base {
        Base::Name(n.to_string())
    }

    #[test]
    fn plain_names_and_steps() {
        let r = parse("main", now()).unwrap();
        assert_eq!((r.base, r.at, r.back), (name("main"), None, 0));
        assert_eq!(parse("main~2", now()).unwrap().back, 2);
        assert_eq!(parse("main~", now()).unwrap().back, 1);
        assert_eq!(parse("main^^", now()).unwrap().back, 2);
        assert_eq!(parse("main~2^", now()).unwrap().back, 3);
        assert_eq!(parse("HEAD~1", now()).unwrap().base, Base::Head);
        assert_eq!(
            parse("feature/x~10", now()).unwrap().base,
            name("feature/x")
        );
        assert_eq!(parse("abc123", now()).unwrap().base, name("abc123"));
    }

    #[test]
    fn times() {
        // Far beyond chrono's calendar: an error, never a panic.
        for far in [
            "main@{300000 years ago}",
            "main@{9223372036854775807 seconds ago}",
            "main@{-3 days ago}",
        ] {
            assert!(parse(far, now()).is_err(), "{far}");
        }
        let r = parse("main@{10 minutes ago}", now()).unwrap();
        assert_eq!(r.at, Some(now() - Duration::minutes(10)));
        assert_eq!(r.base, name("main"));
        let r = parse("main@{2 hours ago}~1", now()).unwrap();
        assert_eq!((r.at, r.back), (Some(now() - Duration::hours(2)), 1));
        let r = parse("main@{2026-11-27T10:00:00Z}", now()).unwrap();
        assert_eq!(
            r.at,
            Some(Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap())
        );
        assert!(parse("main@{2026-11-27 10:00}", now())
            .unwrap()
            .at
            .is_some());
        assert_eq!(parse("@{1 day ago}", now()).unwrap().base, Base::Head);
        // No version is saved in the future; a bare date of today means now.
        let e = parse("main@{2099-01-01 10:00}", now())
            .unwrap_err()
            .to_string();
        assert!(e.contains("is in the future"), "{e}");
        assert!(parse("main@{2099-01-01}", now()).is_err());
        let today = now()
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d")
            .to_string();
        let r = parse(&format!("main@{{{today}}}"), now()).unwrap();
        assert!(r.at.unwrap() <= now());
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "~1",
            "main@{",
            "main@{soon}",
            "main@{3 fortnights ago}",
            "ma in",
            "main~99999999999",
        ] {
            assert!(parse(bad, now()).is_err(), "{bad:?} should be rejected");
        }
    }
}
