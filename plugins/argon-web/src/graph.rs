//! The history picture: every version as a dot in its branch's lane, newest
//! at the top, a line to its parent (across lanes where a branch started
//! from another), tags beside, each dot a link to the version's page.

use std::collections::HashMap;

use argon::core::{TagInfo, VersionInfo};

use crate::html::{esc, seg};

const ROW: i64 = 28;
const LANE: i64 = 22;
const LEFT: i64 = 16;
const COLORS: [&str; 6] = [
    "#2b6cb0", "#2f855a", "#c05621", "#6b46c1", "#b83280", "#2c7a7b",
];

/// An SVG of `versions` (any order), lanes in the order of `branches`.
pub fn history_svg(branches: &[String], versions: &[VersionInfo], tags: &[TagInfo]) -> String {
    let mut versions: Vec<&VersionInfo> = versions.iter().collect();
    versions.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    let mut lanes: Vec<&str> = branches.iter().map(String::as_str).collect();
    for v in &versions {
        if !lanes.contains(&v.branch.as_str()) {
            lanes.push(&v.branch);
        }
    }
    let lane_of = |b: &str| lanes.iter().position(|l| *l == b).unwrap_or(0) as i64;
    let row_of: HashMap<&str, i64> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| (v.id.as_str(), i as i64))
        .collect();
    let x = |lane: i64| LEFT + lane * LANE;
    let y = |row: i64| ROW + row * ROW;
    let text_x = x(lanes.len() as i64) + 12;
    let height = y(versions.len() as i64) + 8;
    let mut lines = String::new();
    let mut dots = String::new();
    for (row, v) in versions.iter().enumerate() {
        let (lane, row) = (lane_of(&v.branch), row as i64);
        let color = COLORS[lane as usize % COLORS.len()];
        if let Some(parent_row) = v.parent.as_deref().and_then(|p| row_of.get(p)) {
            let parent = versions[*parent_row as usize];
            let plane = lane_of(&parent.branch);
            lines.push_str(&format!(
                "<path d=\"M{} {} C{} {} {} {} {} {}\" stroke=\"{color}\" stroke-width=\"2\" fill=\"none\"/>",
                x(lane),
                y(row),
                x(lane),
                y(row) + ROW / 2,
                x(plane),
                y(*parent_row) - ROW / 2,
                x(plane),
                y(*parent_row)
            ));
        }
        let tagged: Vec<&str> = tags
            .iter()
            .filter(|t| t.version == v.id)
            .map(|t| t.name.as_str())
            .collect();
        let tag_text = match tagged.is_empty() {
            true => String::new(),
            false => format!(
                "<tspan class=\"tag\" fill=\"#b7791f\" font-weight=\"600\"> [{}]</tspan>",
                esc(&tagged.join(", "))
            ),
        };
        dots.push_str(&format!(
            "<a href=\"/version/{id}\" class=\"version\" data-version=\"{short}\"><title>{short} {branch}: {msg}</title>\
<circle cx=\"{cx}\" cy=\"{cy}\" r=\"6\" fill=\"#fff\" stroke=\"{color}\" stroke-width=\"2\"/>\
<text x=\"{text_x}\" y=\"{ty}\" font-size=\"12\" font-family=\"ui-monospace, monospace\">\
<tspan fill=\"{color}\">{short}</tspan> <tspan fill=\"#5a6472\">{branch}</tspan> {msg}{tag_text} <tspan fill=\"#718096\">{when}</tspan></text></a>",
            id = seg(&v.id),
            short = esc(&v.short_id),
            branch = esc(&v.branch),
            msg = esc(&v.message),
            cx = x(lane),
            cy = y(row),
            ty = y(row) + 4,
            when = v.created_at.format("%Y-%m-%d %H:%M"),
        ));
    }
    let mut heads = String::new();
    for (i, b) in lanes.iter().enumerate() {
        heads.push_str(&format!(
            "<text x=\"{}\" y=\"12\" font-size=\"10\" text-anchor=\"middle\" fill=\"{}\">{}</text>",
            x(i as i64),
            COLORS[i % COLORS.len()],
            esc(&b.chars().take(3).collect::<String>())
        ));
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"history-graph\" width=\"100%\" height=\"{height}\" role=\"img\" aria-label=\"history of every branch\">{heads}{lines}{dots}</svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(id: &str, branch: &str, parent: Option<&str>, minute: u32) -> VersionInfo {
        VersionInfo {
            id: id.into(),
            short_id: id.into(),
            branch: branch.into(),
            parent: parent.map(str::to_string),
            created_at: chrono::DateTime::from_timestamp(1_800_000_000 + minute as i64 * 60, 0)
                .unwrap(),
            message: format!("<{id}>"),
            capture: "snapshot".into(),
            bytes: 1,
            collections: 1,
        }
    }

    #[test]
    fn every_version_is_a_link_with_its_parent_line_and_tags() {
        let versions = [
            v("a1", "main", None, 0),
            v("a2", "main", Some("a1"), 1),
            v("b1", "feature", Some("a1"), 2),
        ];
        let tags = [TagInfo {
            name: "release".into(),
            version: "a2".into(),
        }];
        let svg = history_svg(&["main".into(), "feature".into()], &versions, &tags);
        assert_eq!(svg.matches("<a href=\"/version/").count(), 3);
        assert_eq!(svg.matches("<path").count(), 2, "a2->a1 and b1->a1");
        assert!(svg.contains("[release]"));
        assert!(svg.contains("&lt;b1&gt;"), "messages are escaped");
        // Newest first: b1's row is above a1's.
        assert!(svg.find("data-version=\"b1\"") < svg.find("data-version=\"a1\""));
    }
}
