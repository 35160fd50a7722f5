//! `argon status`.

use crate::core::Result;

use super::{ago, human_bytes, Ctx};

pub async fn run(ctx: &Ctx) -> Result<()> {
    let mut project = ctx.open(false).await?;
    let s = project.status().await?;
    ctx.out.emit(&s, || {
        let mut t = String::new();
        match (&s.head, s.state) {
            (Some(h), Some(state)) => t.push_str(&format!("On branch {h} ({})\n", state.as_str())),
            _ => t.push_str("No branch checked out yet ('argon checkout -b main' creates one)\n"),
        }
        t.push_str(&format!("Project:   {}\nURI:       {}\n", s.project, s.uri));
        match &s.latest_version {
            Some(v) => t.push_str(&format!(
                "Latest:    {} {} ({}, {})\n",
                v.short_id,
                v.message,
                ago(v.created_at),
                human_bytes(v.bytes)
            )),
            None => t.push_str("Latest:    no saved version\n"),
        }
        if s.latest_version.is_some() {
            t.push_str(match s.changed {
                Some(true) => {
                    "Changes:   yes, since the latest version ('argon commit' saves them)\n"
                }
                Some(false) => "Changes:   none since the latest version\n",
                None => "Changes:   unknown without reading the data ('argon commit' compares)\n",
            });
        }
        if let Some(proxy) = &s.proxy {
            t.push_str(&match (proxy.running, &proxy.route) {
                (true, Some(route)) if route.starts_with("serve") => format!(
                    "Proxy:     running (pid {}, {} client connection{}){}\n",
                    proxy.pid.unwrap_or_default(),
                    proxy.clients,
                    if proxy.clients == 1 { "" } else { "s" },
                    if proxy.started { "; it was down and was started again" } else { "" }
                ),
                (true, Some(route)) if route == "sleep" => format!(
                    "Proxy:     running (pid {}); HEAD suspended while idle: the next client wakes it\n",
                    proxy.pid.unwrap_or_default()
                ),
                (true, _) => format!(
                    "Proxy:     running (pid {}), serving no branch\n",
                    proxy.pid.unwrap_or_default()
                ),
                (false, _) => "Proxy:     not running (another argon is at work; the next command starts it)\n".to_string(),
            });
        }
        for p in &s.pending_saves {
            t.push_str(&format!(
                "Saving:    {} ({}), left {}: {}\n",
                p.branch,
                p.message,
                ago(p.since),
                match p.pid {
                    Some(pid) if p.running => format!("a background argon (pid {pid}) is recording it"),
                    _ => "the next argon command records it ('argon wait')".into(),
                }
            ));
        }
        t.push_str(&format!("Image:     {}\nStore:     {}", s.image, s.store));
        t
    });
    Ok(())
}
