//! HTML building: escaping, and the page frame every view shares.

/// `text` safe inside HTML text and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` as a URL path segment.
pub fn seg(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{n} B"),
        _ => format!("{v:.1} {}", UNITS[unit]),
    }
}

/// A whole page: the frame, `body`, and (when `state` is given) the
/// fingerprint the page's script compares to reload on a change.
pub fn page(project: &str, title: &str, state: Option<&str>, body: &str) -> String {
    let state = state
        .map(|s| format!(" data-state=\"{}\"", esc(s)))
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · argon</title>\
<link rel=\"stylesheet\" href=\"/assets/app.css\"></head><body{state}>\
<header><span class=\"project\">argon · {project}</span><a href=\"/\">branches</a><a href=\"/#history\">history</a></header>\
<div id=\"progress\" hidden></div><main>{body}</main><script src=\"/assets/app.js\"></script></body></html>",
        title = esc(title),
        project = esc(project),
    )
}

/// A page without the project (errors before it opened, refusals).
pub fn page_plain(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
<link rel=\"stylesheet\" href=\"/assets/app.css\"></head><body><main>{body}</main></body></html>",
        esc(title)
    )
}

/// An error as the CLI prints it: the message, then its hint.
pub fn error_box(message: &str, hint: Option<&str>) -> String {
    let hint = hint
        .map(|h| format!("<div class=\"hint\">hint: {}</div>", esc(h)))
        .unwrap_or_default();
    format!(
        "<div class=\"error\" id=\"error\"><div>error: {}</div>{hint}</div>",
        esc(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_paths_are_escaped() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(seg("app.users/x y"), "app.users%2Fx%20y");
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }
}
