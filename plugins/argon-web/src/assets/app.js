// Copy buttons, and keeping up with the CLI: the page asks the server for
// the project's state every second and reloads when it changed.
document.querySelectorAll("button[data-copy]").forEach(function (b) {
  b.addEventListener("click", function () {
    navigator.clipboard.writeText(b.getAttribute("data-copy"));
    b.textContent = "copied";
  });
});
(function () {
  var body = document.body;
  var state = body.getAttribute("data-state");
  if (!state) return;
  // While an action runs, its own answer (the new page, or its error) must
  // not be replaced by a reload: polling stops at the first submit.
  var busy = false;
  document.querySelectorAll("form").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      busy = true;
      f.querySelectorAll("button").forEach(function (b) { b.disabled = true; b.textContent += "…"; });
      if (f.method !== "post" || !window.fetch || !window.EventSource) return;
      // Sent from here rather than by navigating, so that this page can
      // show the action's progress until its answer arrives.
      ev.preventDefault();
      var source = follow();
      fetch(f.action, { method: "POST", body: new URLSearchParams(new FormData(f)), credentials: "same-origin" })
        .then(function (r) {
          if (r.redirected) { location.assign(r.url); return; }
          return r.text().then(function (html) {
            if (source) source.close();
            document.open(); document.write(html); document.close();
          });
        })
        .catch(function () { f.submit(); });
    });
  });
  setInterval(function () {
    if (busy) return;
    // Sizes on disk still being measured: filled in where they stand.
    if (document.querySelector("td.disk .measuring")) {
      fetch("/disk", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : {}; })
        .then(function (d) {
          if (!d.measured) return;
          document.querySelectorAll("tr[data-branch]").forEach(function (tr) {
            var cell = tr.querySelector("td.disk");
            if (cell) cell.textContent = d.sizes[tr.getAttribute("data-branch")] || "-";
          });
        })
        .catch(function () {});
    }
    fetch("/state", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      // A poll already under way when a form is submitted must not reload
      // over the action's answer either.
      .then(function (s) { if (s && s !== state && !busy) location.reload(); })
      .catch(function () {});
  }, 1000);
})();

// While an action runs, what it reports (its steps with their counts, and
// notices), as the CLI's progress bars show it, from /events.
function follow() {
  var box = document.getElementById("progress");
  if (!box) return null;
  var tasks = {}, order = [], notes = [];
  var source = new EventSource("/events");
  function render() {
    box.hidden = false;
    var lines = order.map(function (id) {
      var t = tasks[id];
      var count = t.total ? ": " + t.done + " of " + t.total : (t.done ? ": " + t.done : "");
      return t.label + count + (t.message ? " (" + t.message + ")" : "") + (t.finished ? " ✓" : "…");
    });
    box.textContent = lines.concat(notes).join("\n");
  }
  source.onmessage = function (m) {
    var e = JSON.parse(m.data);
    var t = tasks[e.task];
    if (e.event === "action-finished") { source.close(); return; }
    if (e.event === "task-started") { tasks[e.task] = { label: e.label, done: 0 }; order.push(e.task); }
    else if (e.event === "notice") notes.push(e.text);
    else if (!t) return;
    else if (e.event === "task-total") t.total = e.total;
    else if (e.event === "task-advanced") t.done = e.done;
    else if (e.event === "task-message") t.message = e.message;
    else if (e.event === "task-finished") t.finished = true;
    render();
  };
  source.onerror = function () { source.close(); };
  return source;
}
