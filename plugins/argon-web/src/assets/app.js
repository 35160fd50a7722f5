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
    f.addEventListener("submit", function () {
      busy = true;
      f.querySelectorAll("button").forEach(function (b) { b.disabled = true; b.textContent += "…"; });
    });
  });
  setInterval(function () {
    if (busy) return;
    fetch("/state", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      // A poll already under way when a form is submitted must not reload
      // over the action's answer either.
      .then(function (s) { if (s && s !== state && !busy) location.reload(); })
      .catch(function () {});
  }, 1000);
})();
