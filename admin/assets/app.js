// The live parts of the admin pages: an event from the server makes the
// open page fetch its <main> again; a progress line of the action shown is
// added to its list at once. Nothing else needs JavaScript.
(function () {
  "use strict";
  var prefix = document.body.dataset.prefix || "";
  var main = document.getElementById("main");
  if (!main || !window.EventSource) return;
  var seen = Number(document.body.dataset.version || 0);
  var timer = null, busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.pathname, { headers: { "X-Upkeep-Fragment": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) main.innerHTML = html; })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  function later(e) {
    var d = {};
    try { d = JSON.parse(e.data) || {}; } catch (x) {}
    var v = d.version || 0;
    if (v && v <= seen) return;
    if (v) seen = v;
    var action = document.getElementById("action"), list = document.getElementById("progress");
    if (e.type === "progress") {
      if (!action || !list || action.dataset.id !== d.id) return;
      var none = list.querySelector(".none");
      if (none) none.remove();
      var li = document.createElement("li");
      li.textContent = d.line;
      list.appendChild(li);
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(refresh, 50);
  }
  var es = new EventSource(prefix + "/api/events");
  ["hello", "scan", "state", "action", "progress", "result"].forEach(function (name) {
    es.addEventListener(name, later);
  });
})();
