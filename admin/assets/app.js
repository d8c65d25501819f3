// The live parts of the admin pages: an event from the server makes the
// open page fetch its <main> again. Nothing else needs JavaScript.
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
    var v = 0;
    try { v = JSON.parse(e.data).version || 0; } catch (x) {}
    if (v && v <= seen) return;
    if (v) seen = v;
    clearTimeout(timer);
    timer = setTimeout(refresh, 50);
  }
  var es = new EventSource(prefix + "/api/events");
  ["hello", "scan", "state", "action", "progress", "result"].forEach(function (name) {
    es.addEventListener(name, later);
  });
})();
