// The fleet page: every module of `esp-at-sim fleet` at a glance, from one stream for the
// whole list (the full list first, then only the modules that changed); a click opens the
// module's inspector under /modules/<i>/.
"use strict";
(() => {
  const P = window.InspectorPage;
  const { $, t, el } = P;
  const modules = []; // the newest entry of each module, by index
  const rows = []; // its row in the table

  function inspectorUrl(index) {
    return "/modules/" + index + "/#token=" + encodeURIComponent(P.token);
  }

  function row(m) {
    const state = el("td", { class: "state " + m.state }, t("state_" + m.state));
    const cells = [el("td", {}, m.state === "failed" ? "#" + m.index
      : el("a", { href: inspectorUrl(m.index) }, "#" + m.index)), state];
    if (m.state === "failed") {
      cells.push(el("td", { class: "error", colSpan: 5 }, m.error));
    } else {
      const fw = m.firmware;
      const stations = m.softap_stations.map((s) => s.mac + (s.ip ? " " + s.ip : "")).join(", ");
      cells.push(
        el("td", {}, fw ? fw.slot + " · " + fw.version : "–"),
        el("td", {}, t("modes")[m.wifi_mode] ?? String(m.wifi_mode)),
        el("td", {}, m.station_ip ?? "–"),
        el("td", { title: stations }, String(m.softap_stations.length)),
        el("td", {}, m.web_url ?? "–"));
    }
    const tr = el("tr", { "data-index": String(m.index), "data-state": m.state }, ...cells);
    if (m.state !== "failed") {
      tr.classList.add("open");
      tr.addEventListener("click", (event) => {
        if (!event.target.closest("a")) location.href = inspectorUrl(m.index);
      });
    }
    tr.hidden = !matches(tr);
    return tr;
  }

  function matches(tr) {
    const filter = $("fleet-filter").value.trim().toLowerCase();
    return !filter || tr.textContent.toLowerCase().includes(filter);
  }

  function put(m) {
    modules[m.index] = m;
    const fresh = row(m);
    if (rows[m.index]) rows[m.index].replaceWith(fresh);
    rows[m.index] = fresh;
    return fresh;
  }

  function message(name, value) {
    if (name === "modules") {
      modules.length = 0;
      rows.length = 0;
      $("fleet-rows").replaceChildren(...value.map(put));
    } else if (name === "changed") {
      for (const m of value) put(m);
    }
  }

  function summary() {
    const count = { running: 0, starting: 0, failed: 0 };
    for (const m of modules) if (m) count[m.state] += 1;
    $("fleet-summary").textContent = t("fleet_summary", Object.assign({ n: modules.length }, count));
  }

  function redraw() {
    const list = modules.filter(Boolean);
    rows.length = 0;
    $("fleet-rows").replaceChildren(...list.map(put));
    summary();
  }

  P.setLanguage(redraw);
  $("fleet-filter").addEventListener("input", () => {
    for (const tr of rows) if (tr) tr.hidden = !matches(tr);
  });
  if (!P.token) {
    $("no-token").hidden = false;
  } else {
    P.follow(() => "/modules/stream", message, summary);
  }
})();
