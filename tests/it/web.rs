//! `argon web`: the dashboard, driven in a real browser (Debian's chromium
//! through chromedriver, both installed by scripts/test-services.sh).

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mongodb::bson::doc;
use serde_json::{json, Value};

use crate::harness::{free_port, Backend, Project, WaitingArgon};

/// One HTTP/1.1 exchange on a fresh connection: (status, body). The body
/// is read as far as Content-Length says (or to its last chunk): a server
/// may keep the connection open.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        &s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )
    .unwrap();
    let mut r = std::io::BufReader::new(s);
    let mut status_line = String::new();
    r.read_line(&mut status_line).unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let (mut length, mut chunked) = (None, false);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap() == 0 || line.trim().is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse::<usize>().ok();
        }
        chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
    }
    let mut out = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            let mut chunk = vec![0u8; n + 2];
            r.read_exact(&mut chunk).unwrap();
            out.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = length {
        out.resize(n, 0);
        r.read_exact(&mut out).unwrap();
    } else {
        let _ = r.read_to_end(&mut out);
    }
    (status, String::from_utf8_lossy(&out).to_string())
}

/// A W3C WebDriver session on a chromedriver this test started.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
}

impl Browser {
    fn start() -> Browser {
        Browser::start_with("normal")
    }

    /// `strategy` "none": a navigation (a form's submit) does not block
    /// the next command, so a test can look at a page while its action runs.
    fn start_with(strategy: &str) -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (scripts/test-services.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": strategy,
            "goog:chromeOptions": { "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1280,1000"] } } } });
        let (status, body) = http(port, "POST", "/session", Some(&caps));
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let session = v["value"]["sessionId"].as_str().unwrap().to_string();
        Browser {
            driver,
            port,
            session,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let (status, text) = http(self.port, method, &path, body.as_ref());
        assert_eq!(status, 200, "{method} {path}: {text}");
        serde_json::from_str::<Value>(&text).unwrap()["value"].clone()
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        v.as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    fn text(&self, css: &str) -> String {
        let id = self.find(css);
        self.call("GET", &format!("/element/{id}/text"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn click(&self, css: &str) {
        let id = self.find(css);
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    fn type_in(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn source(&self) -> String {
        self.call("GET", "/source", None)
            .as_str()
            .unwrap()
            .to_string()
    }

    /// `css`'s text, or None while the page has no such element.
    fn try_text(&self, css: &str) -> Option<String> {
        let path = format!("/session/{}/element", self.session);
        let (status, body) = http(
            self.port,
            "POST",
            &path,
            Some(&json!({ "using": "css selector", "value": css })),
        );
        if status != 200 {
            return None;
        }
        let v: Value = serde_json::from_str(&body).ok()?;
        let id = v["value"]
            .as_object()?
            .values()
            .next()?
            .as_str()?
            .to_string();
        let path = format!("/session/{}/element/{id}/text", self.session);
        let (status, body) = http(self.port, "GET", &path, None);
        let v: Value = serde_json::from_str(&body).ok()?;
        (status == 200).then(|| v["value"].as_str().map(str::to_string))?
    }

    /// Waits up to `secs` for `css`'s text to contain `want`.
    fn wait_text(&self, css: &str, want: &str, secs: u64) -> Duration {
        let start = Instant::now();
        loop {
            if self.try_text(css).is_some_and(|t| t.contains(want)) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < Duration::from_secs(secs),
                "{css} never showed '{want}': {:?} (error box: {:?})",
                self.try_text(css),
                self.try_text("#error")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn screenshot(&self, name: &str) {
        let b64 = self.call("GET", "/screenshot", None);
        let png = decode_base64(b64.as_str().unwrap());
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn decode_base64(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = s
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::new();
    for group in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in group.iter().enumerate() {
            n |= (value(*c) as u32) << (18 - 6 * i);
        }
        for i in 0..group.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

/// `argon web` running for `p`: its address (with the token) and port.
struct Web {
    child: Child,
    url: String,
    port: u16,
    _output: std::io::BufReader<std::process::ChildStdout>,
}

impl Web {
    /// The address of the page at `path`, with the access token.
    fn page(&self, path: &str) -> String {
        self.url.replace("/?token", &format!("{path}?token"))
    }
}

impl Web {
    fn start(p: &Project) -> Web {
        Web::start_with(p, &[])
    }

    fn start_with(p: &Project, env: &[(&str, &str)]) -> Web {
        Web::launch(p, &[], env)
    }

    fn launch(p: &Project, extra: &[&str], env: &[(&str, &str)]) -> Web {
        let port = free_port();
        let port_arg = port.to_string();
        let mut args = vec!["web", "--port", &port_arg];
        args.extend_from_slice(extra);
        let mut child = p
            .command(&args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut output = std::io::BufReader::new(child.stdout.take().unwrap());
        output.read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("argon web: ")
            .unwrap_or_else(|| panic!("argon web printed '{line}'"))
            .to_string();
        assert!(
            url.starts_with(&format!("http://127.0.0.1:{port}/?token=")),
            "{url}"
        );
        Web {
            child,
            url,
            port,
            _output: output,
        }
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_dashboard_shows_and_steers_branches_in_a_real_browser() {
    let p = Project::new("web", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    let m = p.mongo();
    m.insert(
        "app",
        "users",
        (0..45)
            .map(|i| doc! { "_id": i, "name": if i == 0 { "ada lovelace".to_string() } else { format!("user {i}") } })
            .collect(),
    );
    let first = p.commit("first users");
    m.insert("app", "orders", vec![doc! { "_id": 1, "total": 12.5 }]);
    p.commit("an order");
    p.ok(&["tag", "v1"]);
    p.ok(&["checkout", "-b", "feature"]);
    p.mongo()
        .insert("app", "orders", vec![doc! { "_id": 2, "total": 3 }]);
    p.ok(&["checkout", "main"]);

    let web = Web::start(&p);
    // Without the token, or with a wrong one: refused.
    assert_eq!(http(web.port, "GET", "/", None).0, 401);
    assert_eq!(http(web.port, "GET", "/state", None).0, 401);
    assert_eq!(http(web.port, "GET", "/?token=wrong", None).0, 401);
    assert_eq!(http(web.port, "POST", "/action/stash", None).0, 401);

    let b = Browser::start();
    b.go(&web.url);
    assert_eq!(b.text("#head-branch"), "main");
    let table = b.text("#branches");
    assert!(
        table.contains("main") && table.contains("feature"),
        "{table}"
    );
    let history = b.source();
    assert!(
        history.contains("id=\"history-graph\"") && history.contains("[v1]"),
        "the graph with its tag"
    );
    // Sizes on disk are measured in the background; the open page reloads with them.
    b.wait_text("tr[data-branch=\"main\"] td.disk", "iB", 30);
    b.wait_text("tr[data-branch=\"feature\"] td.disk", "iB", 5);
    b.screenshot("branch-view.png");

    // A version's page, and its documents read from the store.
    b.go(&web.page(&format!("/version/{first}")));
    assert!(b.text("#collections").contains("app.users"));
    b.click("#collections a");
    assert!(b.text("#documents").contains("ada lovelace"));
    b.click("#next");
    assert!(
        b.text(".pager").contains("documents 21–40 of 45"),
        "{}",
        b.text(".pager")
    );

    // A checkout in a terminal shows on the open page within about two seconds.
    b.go(&web.url);
    p.ok(&["checkout", "feature"]);
    let took = b.wait_text("#head-branch", "feature", 10);
    assert!(took < Duration::from_secs(5), "{took:?}");

    // A new branch from a version, then checkout, stash and pop, from the page.
    b.go(&web.page(&format!("/version/{first}")));
    b.type_in("#from-version-name", "from-first");
    b.click("#from-version");
    b.wait_text("#head-branch", "from-first", 60);
    assert_eq!(p.json(&["status"])["head"], "from-first");
    assert_eq!(
        p.mongo().count("app", "orders"),
        0,
        "the first version's data"
    );
    b.click("#checkout-main");
    b.wait_text("#head-branch", "main", 60);
    b.click("#stash");
    b.wait_text("tr.head", "stashed", 60);
    b.click("#stash-pop");
    b.wait_text("tr.head", "running", 60);

    // Delete asks for the branch's name; a wrong one deletes nothing.
    b.type_in("#confirm-feature", "nope");
    b.click("#delete-feature");
    b.wait_text("#error", "confirmation does not match", 30);
    assert!(p.ok(&["branch"]).contains("feature"));
    b.go(&web.url);
    b.type_in("#confirm-feature", "feature");
    b.click("#delete-feature");
    // A warm branch's engine is stopped and asked first: it can take a moment.
    let start = std::time::Instant::now();
    while b
        .try_text("#branches")
        .is_none_or(|t| t.contains("feature"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "feature was never deleted"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!p.ok(&["branch"]).contains("feature"));

    // Bad input: the CLI's message and hint in the page.
    b.type_in("#new-name", "bad..name");
    b.click("#create");
    b.wait_text("#error", "bad..name", 30);
    let e = b.text("#error");
    assert!(
        e.starts_with("error: ") && e.contains("bad..name") && e.contains("hint:"),
        "{e}"
    );
    b.go(&web.url);
    b.type_in("#new-name", "later");
    b.type_in("#new-rev", "main@{2099-01-01 10:00}");
    b.click("#create");
    b.wait_text("#error", "is in the future", 30);
    assert!(
        b.text("#error").contains("is in the future"),
        "{}",
        b.text("#error")
    );
    b.go(&web.page("/version/nosuchrev"));
    b.wait_text("#error", "nosuchrev", 30);

    // Tag a version from its page; untag it from the branch view.
    b.go(&web.page(&format!("/version/{first}")));
    b.type_in("#tag-name", "before-orders");
    b.click("#tag");
    b.wait_text("#tags", "before-orders", 30);
    let tags = p.json(&["tag"]);
    assert!(
        tags.as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "before-orders" && t["version"] == first),
        "{tags}"
    );
    b.click("#untag-before-orders");
    let start = Instant::now();
    while b.source().contains("before-orders") {
        assert!(start.elapsed() < Duration::from_secs(30), "the tag stayed");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!p.ok(&["tag"]).contains("before-orders"));

    // reset --hard from a version's page: refused unless confirmed, then HEAD
    // goes back, with the state it left saved first.
    let head_before = p.version_of("main");
    b.go(&web.page(&format!("/version/{first}")));
    b.click("#reset");
    b.wait_text("#error", "was not reset", 30);
    assert!(
        b.text("#error").contains("was not reset"),
        "{}",
        b.text("#error")
    );
    assert_eq!(p.mongo().count("app", "orders"), 1);
    b.go(&web.page(&format!("/version/{first}")));
    b.click("#reset-confirm");
    b.click("#reset");
    b.wait_text("#head-branch", "main", 60);
    assert_eq!(
        p.mongo().count("app", "orders"),
        0,
        "HEAD is the first version"
    );
    assert_eq!(p.version_of("main"), first);
    let log = p.json(&["log", "--all"]);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == head_before),
        "the state reset left is kept: {log}"
    );

    // gc: the plan first, then the run.
    b.go(&web.url);
    b.click("#gc-link");
    let plan = b.text("#gc-plan");
    assert!(plan.starts_with("A run now would delete"), "{plan}");
    b.click("#gc-run");
    b.wait_text("#head-branch", "main", 60);

    // A busy project: the page names the command that holds it.
    p.mongo().insert("app", "busy", vec![doc! { "_id": 1 }]);
    let waiting = WaitingArgon::at(&p, "save:captured", &["commit", "-m", "busy"]);
    b.go(&web.url);
    b.click("#stash");
    b.wait_text("#error", "another argon process", 30);
    let e = b.text("#error");
    assert!(
        e.contains("another argon process")
            && e.contains(&format!("pid {}: argon commit -m busy", waiting.child.id())),
        "{e}"
    );
    waiting.resume();
    let (status, _) = waiting.finish();
    assert!(status.success());
}

/// A long action shows its steps live in the page (server-sent events): a
/// commit held at a fault point shows "saving main" with its count of
/// documents, and once it goes on the page shows the new version.
#[test]
fn an_action_under_way_shows_its_progress_live() {
    let p = Project::new("web-live", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert(
        "app",
        "t",
        (0..2000)
            .map(|i| doc! { "_id": i, "pad": "l".repeat(100) })
            .collect(),
    );
    let resume = p.home.join("resume-live");
    let web = Web::start_with(
        &p,
        &[
            ("ARGON_FAULT_POINT", "save:captured"),
            ("ARGON_FAULT_ACTION", "wait"),
            ("ARGON_FAULT_RESUME", resume.to_str().unwrap()),
        ],
    );
    let b = Browser::start_with("none");
    b.go(&web.url);
    b.wait_text("#branches", "main", 30);
    b.type_in("#commit-message", "live");
    b.click("#commit");
    b.wait_text("#progress", "saving main", 60);
    // Held after the capture: the page follows the count to its end.
    b.wait_text("#progress", "2000 of 2000", 30);
    assert!(
        p.json(&["log"]).as_array().unwrap().is_empty(),
        "still held"
    );
    std::fs::write(&resume, "").unwrap();
    let start = Instant::now();
    while p.json(&["log"])[0]["message"] != "live" {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the commit never finished"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The action's answer replaces the page: a fresh one, no progress box.
    let start = Instant::now();
    while b.try_text("#progress").is_none_or(|t| !t.is_empty()) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the page never came back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `argon web --open` starts the browser BROWSER names on the page's
/// address, token included: here headless chromium, which writes down the
/// page it was given.
#[test]
fn open_starts_a_browser_on_the_page_with_its_token() {
    let p = Project::new("web-open", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    let dumped = p.home.join("dumped.html");
    let browser = p.home.join("browser.sh");
    std::fs::write(
        &browser,
        format!(
            "#!/bin/sh\nexec chromium --headless --no-sandbox --disable-gpu --dump-dom \"$1\" > '{}' 2>/dev/null\n",
            dumped.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &browser,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let _web = Web::launch(&p, &["--open"], &[("BROWSER", browser.to_str().unwrap())]);
    let start = Instant::now();
    loop {
        let page = std::fs::read_to_string(&dumped).unwrap_or_default();
        if page.contains("id=\"branches\"") {
            assert!(page.contains("main"), "{page}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the browser never showed the branch view: {page}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
