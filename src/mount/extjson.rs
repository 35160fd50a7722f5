//! BSON to relaxed extended JSON (what `mongoexport` writes), straight from
//! the raw bytes: the common types are written directly, without building a
//! `bson::Document` and a `serde_json::Value` first; rare ones go through
//! the bson crate's own conversion, so every type renders exactly as it does.

use std::io::Write;

use mongodb::bson::raw::{RawArray, RawBsonRef, RawDocument};
use mongodb::bson::Bson;

type Result<T> = std::result::Result<T, String>;

/// 10000-01-01T00:00:00Z in milliseconds: the bson crate writes a date as an
/// RFC 3339 string from 1970 up to here, and as its milliseconds outside.
const YEAR_10000_MS: i64 = 253_402_300_800_000;

/// Appends `doc` as one line of relaxed extended JSON (no newline).
pub fn write_document(doc: &RawDocument, out: &mut Vec<u8>) -> Result<()> {
    out.push(b'{');
    for (i, element) in doc.iter().enumerate() {
        let (key, value) = element.map_err(|e| e.to_string())?;
        if i > 0 {
            out.push(b',');
        }
        write_string(key, out)?;
        out.push(b':');
        write_value(value, out)?;
    }
    out.push(b'}');
    Ok(())
}

fn write_array(array: &RawArray, out: &mut Vec<u8>) -> Result<()> {
    out.push(b'[');
    for (i, value) in array.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_value(value.map_err(|e| e.to_string())?, out)?;
    }
    out.push(b']');
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) -> Result<()> {
    serde_json::to_writer(&mut *out, s).map_err(|e| e.to_string())
}

fn write_value(value: RawBsonRef<'_>, out: &mut Vec<u8>) -> Result<()> {
    match value {
        RawBsonRef::String(s) => write_string(s, out),
        RawBsonRef::Int32(n) => write!(out, "{n}").map_err(|e| e.to_string()),
        RawBsonRef::Int64(n) => write!(out, "{n}").map_err(|e| e.to_string()),
        RawBsonRef::Double(d) if d.is_finite() => {
            serde_json::to_writer(&mut *out, &d).map_err(|e| e.to_string())
        }
        RawBsonRef::Boolean(b) => {
            out.extend_from_slice(if b { b"true" } else { b"false" });
            Ok(())
        }
        RawBsonRef::Null => {
            out.extend_from_slice(b"null");
            Ok(())
        }
        RawBsonRef::ObjectId(oid) => {
            let mut hex = [0u8; 24];
            hex::encode_to_slice(oid.bytes(), &mut hex).map_err(|e| e.to_string())?;
            out.extend_from_slice(b"{\"$oid\":\"");
            out.extend_from_slice(&hex);
            out.extend_from_slice(b"\"}");
            Ok(())
        }
        RawBsonRef::DateTime(date) => {
            let ms = date.timestamp_millis();
            if (0..YEAR_10000_MS).contains(&ms) {
                let text = date.try_to_rfc3339_string().map_err(|e| e.to_string())?;
                write!(out, "{{\"$date\":\"{text}\"}}").map_err(|e| e.to_string())
            } else {
                write!(out, "{{\"$date\":{{\"$numberLong\":\"{ms}\"}}}}").map_err(|e| e.to_string())
            }
        }
        RawBsonRef::Document(d) => write_document(d, out),
        RawBsonRef::Array(a) => write_array(a, out),
        // Binaries, decimals, timestamps, regexes, non-finite doubles
        // and the deprecated types: the bson crate's conversion decides.
        other => {
            let bson = Bson::try_from(other.to_raw_bson()).map_err(|e| e.to_string())?;
            serde_json::to_writer(&mut *out, &bson.into_relaxed_extjson())
                .map_err(|e| e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{
        doc, oid::ObjectId, spec::BinarySubtype, Binary, DateTime, Decimal128, RawDocumentBuf,
        Regex, Timestamp,
    };

    #[test]
    fn every_type_renders_as_the_bson_crate_renders_it() {
        let d = doc! {
            "_id": ObjectId::parse_str("65f0a1b2c3d4e5f601234567").unwrap(),
            "s": "quote \" backslash \\ newline \n unicode é ☃ \u{1}",
            "i32": -5_i32, "i64": 1_i64 << 40, "d": 1.5, "whole": 2.0, "big": 1e300, "tiny": -1e-300,
            "nan": f64::NAN, "inf": f64::INFINITY, "t": true, "f": false, "null": Bson::Null,
            "date": DateTime::from_millis(1_700_000_000_123), "old": DateTime::from_millis(-1),
            "far": DateTime::from_millis(300_000_000_000_000),
            "whole_second": DateTime::from_millis(1_700_000_000_000),
            "last_of_9999": DateTime::from_millis(253_402_300_799_999),
            "first_of_10000": DateTime::from_millis(253_402_300_800_000),
            "before_1970": DateTime::from_millis(-62_135_596_800_000),
            "bin": Binary { subtype: BinarySubtype::Generic, bytes: vec![0, 1, 2, 255] },
            "uuid": Binary { subtype: BinarySubtype::Uuid, bytes: vec![7; 16] },
            "dec": Decimal128::from_bytes([1; 16]),
            "ts": Timestamp { time: 5, increment: 6 },
            "re": Regex { pattern: "a.*b".into(), options: "i".into() },
            "nested": { "a": [1, "two", { "three": 3.25 }, [], {}], "empty": {} },
            "minkey": Bson::MinKey, "maxkey": Bson::MaxKey,
            "code": Bson::JavaScriptCode("x = 1".into()),
        };
        let raw = RawDocumentBuf::from_document(&d).unwrap();
        let mut fast = Vec::new();
        write_document(&raw, &mut fast).unwrap();
        let slow = serde_json::to_vec(&Bson::Document(d).into_relaxed_extjson()).unwrap();
        assert_eq!(
            String::from_utf8(fast).unwrap(),
            String::from_utf8(slow).unwrap()
        );
    }
}
