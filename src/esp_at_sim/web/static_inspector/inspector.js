// The inspector: reads the module's state and events from the control API (a stream of
// server-sent events) and sends faults and AT lines back, all under the API base that
// page.js takes from the URL ("" for `run --control`, /modules/<i> for a fleet's module).
"use strict";
(() => {
  const P = window.InspectorPage; // the token, the API base and what the fleet page shares
  const { $, t, el, api, post } = P;
  const KEEP = 2000; // lines kept in each log
  const FINAL = /^(OK|ERROR|SEND OK|SEND FAIL|SET OK)$/;
  let state = null;
  let last = 0; // the number of the newest event seen
  let faultShape = "";
  const pendingUrcs = []; // URC lines announced, not yet seen in the output
  let awaiting = null; // the page's own AT line, while its answer comes
  let fresh = false; // a new state came, not drawn yet

  function redraw() {
    faultShape = "";
    render();
    renderFlash();
  }

  // One message of the stream.
  function message(name, value) {
    if (name === "state") {
      state = value;
      fresh = true;
    } else if (name === "events") {
      for (const event of value) onEvent(event);
    } else if (name === "skipped") {
      skippedLine(value.count);
    }
  }

  // After the messages of one read: their lines go in at once, the newest state is drawn.
  function messagesRead() {
    flushLines();
    if (fresh) render();
    fresh = false;
  }

  // ------------------------------------------------------------------ AT traffic
  function onEvent(event) {
    last = Math.max(last, event.n);
    if (event.kind === "at.cmd") {
      atLine(event.t, "in", event.line + (event.valid ? "" : "  ✗"));
    } else if (event.kind === "urc") {
      pendingUrcs.push(event.line);
      if (pendingUrcs.length > 50) pendingUrcs.shift();
    } else if (event.kind === "at.out") {
      for (const line of event.data.split("\r\n")) {
        const shown = line.replace(/\r/g, "");
        if (!shown) continue;
        const urc = pendingUrcs.indexOf(shown);
        if (urc >= 0) pendingUrcs.splice(urc, 1);
        atLine(event.t, urc >= 0 ? "urc" : "out", shown);
        answer(shown, urc >= 0);
      }
    } else if (event.kind !== "at.data") {
      timelineLine(event);
      if (/^(flash|boot|ota|web\.ota)/.test(event.kind)) flashChanged();
    }
  }

  function seconds(value) {
    return Number(value).toFixed(3);
  }

  // Lines wait here until the message that brought them is read, then go in at once: one
  // layout per message, not one per line (a flood brings hundreds in each).
  const queued = new Map(); // list → its new lines

  function queueLine(list, item) {
    if (!queued.has(list)) queued.set(list, []);
    queued.get(list).push(item);
  }

  function flushLines() {
    for (const [list, items] of queued) {
      list.append(...items.slice(-KEEP));
      const extra = list.children.length - KEEP;
      for (let i = 0; i < extra; i++) list.firstChild.remove();
      const follow = list === $("at-log") ? $("at-follow").checked : true;
      if (follow) list.scrollTop = list.scrollHeight;
    }
    queued.clear();
  }

  function matches(node, filter) {
    return !filter || node.textContent.toLowerCase().includes(filter);
  }

  function atLine(time, dir, text) {
    const arrows = { in: "→", out: "←", urc: "⚑" };
    const item = el("li", { class: dir, title: dir === "urc" ? "URC" : "" },
      el("span", { class: "t" }, seconds(time)),
      el("span", { class: "dir" }, arrows[dir]),
      el("span", { class: "text" }, text));
    item.hidden = !matches(item, $("at-filter").value.trim().toLowerCase());
    queueLine($("at-log"), item);
  }

  function answer(line, isUrc) {
    if (!awaiting || isUrc) return;
    if (!awaiting.echoSkipped && line === awaiting.line) {
      awaiting.echoSkipped = true;
      return;
    }
    awaiting.lines.push(line);
    $("at-answer").textContent = awaiting.lines.join("\n");
    if (FINAL.test(line)) awaiting = null;
  }

  async function sendLine(event) {
    event.preventDefault();
    const line = $("at-line").value.trim();
    if (!line) return;
    awaiting = { line, lines: [], echoSkipped: false };
    $("at-answer").textContent = "";
    try {
      await post("/at", { line });
      $("at-line").select();
    } catch (error) {
      awaiting = null;
      $("at-answer").textContent = t("sent_failed", { error: error.message });
    }
  }

  // ------------------------------------------------------------------ timeline
  function describe(event) {
    const rest = Object.assign({}, event);
    for (const key of ["n", "t", "kind"]) delete rest[key];
    return Object.entries(rest).map(([k, v]) => k + "=" + JSON.stringify(v)).join("  ");
  }

  function timelineLine(event) {
    timelineItem(event.kind.split(".")[0], seconds(event.t), event.kind, describe(event));
  }

  function skippedLine(count) {
    timelineItem("skipped", "…", "…", t("skipped", { count }));
  }

  function timelineItem(group, time, kind, what) {
    const item = el("li", { class: group },
      el("span", { class: "t" }, time),
      el("span", { class: "kind" }, kind),
      el("span", { class: "what" }, what));
    item.hidden = !matches(item, $("tl-filter").value.trim().toLowerCase());
    queueLine($("timeline"), item);
  }

  function refilter(list, input) {
    const filter = input.value.trim().toLowerCase();
    for (const item of list.children) item.hidden = !matches(item, filter);
  }

  // ------------------------------------------------------------------ module
  function yesNo(on) {
    return t(on ? "on" : "off");
  }

  function render() {
    if (!state) return;
    renderModule();
    renderWorld();
    renderFaults();
  }

  function renderModule() {
    const s = state;
    const facts = [];
    const add = (key, value) => facts.push(el("dt", {}, t(key)), el("dd", { "data-k": key }, value));
    add("chip", [s.chip, s.name, "AT " + s.at_version].filter(Boolean).join(" · "));
    add("layout", s.layout ?? t("none"));
    const fw = s.firmware;
    add("firmware", fw ? fw.slot + " · " + fw.version : (s.booted ? t("none") : t("booting")));
    if (fw && fw.ota_state !== null) add("ota_state", t("ota_states")[String(fw.ota_state)] ?? String(fw.ota_state));
    add("next_boot", s.next_boot ? s.next_boot.slot + " · " + s.next_boot.version : t("same_slot"));
    add("wifi_mode", t("modes")[s.wifi_mode] ?? String(s.wifi_mode));
    const sta = s.station;
    add("station", sta.state);
    add("station_ap", sta.ssid ? sta.ssid + " (" + sta.bssid + ", ch " + sta.channel + ")" : t("none"));
    add("rssi", sta.rssi === null ? "–" : sta.rssi + " dBm");
    add("station_ip", sta.ip ?? "–");
    const ap = s.softap;
    add("softap", ap.running ? ap.ssid + " (ch " + ap.channel + ", " + ap.ip + ")" : t("off"));
    add("softap_stations", ap.stations.length
      ? ap.stations.map((st) => st.mac + (st.ip ? " " + st.ip : "")).join(", ") : t("none"));
    add("web", s.web.running ? s.web.url : t("off"));
    add("captive", yesNo(s.web.running && s.web.captive_portal));
    add("time_scale", s.time_scale === 0 ? "0 (as fast as possible)" : "×" + s.time_scale);
    add("uptime", seconds(s.time) + " s");
    add("boots", String(s.boot_count));
    $("module").replaceChildren(...facts);
  }

  // rowProps(i): the attributes of row i (to find it again)
  function table(columns, rows, rowProps) {
    return el("table", {},
      el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", {}, t(c))))),
      el("tbody", {}, ...rows.map((cells, i) => el("tr", rowProps ? rowProps(i) : {},
        ...cells.map((c) => el("td", {}, c))))));
  }

  function renderWorld() {
    const w = state.world;
    if (!w) {
      $("world").replaceChildren(el("p", { class: "note" }, state.radio), connectionsGroup());
      return;
    }
    const apState = (ap) => t(!ap.present ? "absent" : ap.joined ? "joined" : "present");
    $("world").replaceChildren(
      connectionsGroup(),
      el("div", { class: "group" }, el("h3", {}, t("aps")),
        table(["col_ssid", "col_ch", "col_rssi", "col_auth", "col_state"],
          w.aps.map((ap) => [ap.ssid || "(hidden)", String(ap.channel), String(ap.rssi), ap.auth, apState(ap)]))),
      el("div", { class: "group" }, el("h3", {}, t("phones")),
        table(["col_mac", "col_name"], w.phones.map((p) => [p.mac, p.hostname ?? ""]))),
      el("div", { class: "group" }, el("h3", {}, t("routes")),
        table(["col_device", "col_host"], w.routes.map((r) => [r.device, r.host]))));
  }

  function linkState(c) {
    const words = [t(c.state === "closing" ? "link_closing" : "link_open")];
    if (c.passthrough) words.push(t("passthrough"));
    if (c.unread) words.push(t("link_unread", { n: c.unread }));
    return words.join(" · ");
  }

  function connectionsGroup() {
    const links = state.connections;
    const notes = [];
    const server = state.tcp_server;
    if (server) {
      notes.push(el("p", { class: "note", id: "tcp-server" }, t("tcp_server", {
        port: server.port, type: server.type, clients: server.clients, max: server.max_conn, timeout: server.timeout,
      })));
    }
    if (state.passthrough && state.passthrough.link === null) {
      notes.push(el("p", { class: "note" }, t("passthrough_again")));
    }
    const body = links.length
      ? table(["col_id", "col_type", "col_remote", "col_state", "col_sent", "col_received"],
        links.map((c) => [String(c.id), c.type + (c.server ? " " + t("accepted") : ""),
          c.remote_ip + ":" + c.remote_port, linkState(c), String(c.sent), String(c.received)]),
        (i) => ({ "data-link": String(links[i].id) }))
      : el("p", { class: "note" }, t("no_connections"));
    return el("div", { class: "group scroll", id: "connections" }, el("h3", {}, t("connections")), ...notes, body);
  }

  // ------------------------------------------------------------------ faults
  async function fault(name, args) {
    try {
      await post("/faults/" + name, args || {});
      $("fault-result").textContent = t("fault_done", { name });
    } catch (error) {
      $("fault-result").textContent = t("fault_failed", { name, error: error.message });
    }
  }

  function button(label, name, args, extra) {
    return el("button", Object.assign({ type: "button", "data-fault": name, onclick: () => fault(name, args) }, extra), t(label));
  }

  function renderFaults() {
    const has = new Set(state.faults);
    const w = state.world || { aps: [], phones: [], routes: [] };
    const shape = JSON.stringify([P.lang, state.faults, w.aps.map((a) => a.ssid), w.phones, w.routes]);
    if (shape === faultShape) return; // keep the buttons under the pointer
    faultShape = shape;
    const groups = [];
    const group = (title, ...rows) => groups.push(el("div", { class: "group" }, el("h3", {}, title), ...rows));
    if (has.has("drop_link")) {
      group(t("station"), el("div", { class: "row" }, button("drop_link", "drop_link", {})));
    }
    const apRows = w.aps.filter((ap) => ap.ssid).map((ap) => {
      const row = el("div", { class: "row", "data-ap": ap.ssid }, el("span", { class: "name" }, ap.ssid));
      const a = { ap: ap.ssid };
      if (has.has("vanish")) row.append(button("vanish", "vanish", a));
      if (has.has("appear")) row.append(button("appear", "appear", a));
      if (has.has("change_password")) {
        row.append(el("button", { type: "button", "data-fault": "change_password", onclick: () => {
          const password = window.prompt(t("new_password"), "");
          if (password !== null) fault("change_password", { ap: ap.ssid, password: password || null });
        } }, t("change_password")));
      }
      if (has.has("refuse_joins")) row.append(button("refuse_joins", "refuse_joins", { ap: ap.ssid, count: 1 }));
      if (has.has("stall_dhcp")) {
        row.append(button("stall_dhcp", "stall_dhcp", { ap: ap.ssid, on: true }));
        row.append(button("release_dhcp", "stall_dhcp", { ap: ap.ssid, on: false }));
      }
      return row;
    });
    if (apRows.length) group(t("aps"), ...apRows);
    if (has.has("phone_join")) {
      group(t("phones"), ...w.phones.map((p) => el("div", { class: "row", "data-phone": p.mac },
        el("span", { class: "name" }, p.mac),
        button("phone_join", "phone_join", { mac: p.mac }),
        has.has("phone_leave") ? button("phone_leave", "phone_leave", { mac: p.mac }) : null)));
    }
    if (has.has("stall_upload")) {
      group(t("upload"), el("div", { class: "row" },
        button("stall_upload", "stall_upload", { on: true }),
        button("release_upload", "stall_upload", { on: false })));
    }
    if (has.has("close_connections")) {
      const rows = [el("div", { class: "row" }, button("close_connections", "close_connections", {}))];
      for (const route of w.routes) {
        const row = el("div", { class: "row", "data-route": route.device }, el("span", { class: "name" }, route.device));
        for (const name of ["refuse", "blackhole", "stall"]) {
          if (has.has(name)) {
            row.append(button(name, name, { dest: route.device, on: true }));
            row.append(button("restore", name, { dest: route.device, on: false }, { title: t(name) }));
          }
        }
        rows.push(row);
      }
      group(t("routes"), ...rows);
    }
    $("faults").replaceChildren(...groups);
  }

  // ------------------------------------------------------------------ flash
  let flash = null;
  let flashTimer = null;

  function flashChanged() {
    // A burst of writes (an OTA upload) asks once.
    if (flashTimer === null) flashTimer = setTimeout(loadFlash, 300);
  }

  async function loadFlash() {
    flashTimer = null;
    try {
      const response = await api("/flash?secrets=" + ($("show-secrets").checked ? "1" : "0"));
      if (!response.ok) return;
      flash = await response.json();
    } catch (_) {
      return; // the stream says when the module is back
    }
    renderFlash();
  }

  function hex(value) {
    return "0x" + Number(value).toString(16);
  }

  function size(bytes) {
    return bytes >= 1048576 && bytes % 1048576 === 0 ? bytes / 1048576 + " MiB"
      : bytes >= 1024 ? Math.round(bytes / 1024) + " KiB" : bytes + " B";
  }

  function renderFlash() {
    if (!flash) {
      $("flash-bar").replaceChildren();
      $("flash-tables").replaceChildren(el("p", { class: "note" }, t("no_flash")));
      return;
    }
    const pct = (value) => (100 * value / flash.size) + "%";
    const parts = flash.partitions.map((p) => el("div", {
      class: "part " + (p.type === "app" ? "app" : "data"),
      "data-part": p.name,
      title: p.name + " · " + p.type + "/" + p.subtype + " · " + hex(p.offset) + " · " + size(p.size),
    }, p.name));
    const written = flash.written.map((n) => el("div", {
      class: "written", title: t("written") + " " + hex(n * flash.sector),
    }));
    flash.written.forEach((n, i) => {
      written[i].style.left = pct(n * flash.sector);
      written[i].style.width = pct(flash.sector);
    });
    flash.partitions.forEach((p, i) => {
      parts[i].style.left = pct(p.offset);
      parts[i].style.width = pct(p.size);
    });
    $("flash-bar").replaceChildren(...parts, ...written);
    $("flash-bar").setAttribute("aria-label", t("flash") + ": " + flash.partitions.map((p) => p.name).join(", "));
    $("flash-legend").replaceChildren(el("span", { class: "swatch" }),
      t(flash.since === "opened" ? "written_count_opened" : "written_count",
        { n: flash.written.length, total: size(flash.size) }));
    const box = (title, node) => el("div", { class: "group scroll" }, el("h3", {}, title), node);
    $("flash-tables").replaceChildren(
      box(t("partitions"), table(["col_name", "col_type", "col_offset", "col_size"],
        flash.partitions.map((p) => [p.name, p.type + "/" + p.subtype, hex(p.offset), size(p.size)]))),
      box("otadata", table(["col_sector", "col_seq", "col_state", "col_slot"],
        flash.otadata.map((e) => e.blank ? [String(e.sector), "–", t("blank"), "–"]
          : [String(e.sector), String(e.seq), e.state + (e.crc_ok ? "" : " (CRC!)"), e.slot ?? "–"]))),
      box(t("slots"), table(["col_name", "col_version", "col_state"],
        flash.slots.map((sl) => [sl.name, sl.version ?? "–", sl.valid ? t("valid") : t("invalid") + ": " + sl.problem]))),
      box("NVS", table(["col_namespace", "col_key", "col_type", "col_value"],
        flash.nvs.map((i) => [i.namespace, i.key, i.type, i.value]))));
  }

  // ------------------------------------------------------------------ start
  function start() {
    $("at-form").addEventListener("submit", sendLine);
    $("at-filter").addEventListener("input", () => refilter($("at-log"), $("at-filter")));
    $("tl-filter").addEventListener("input", () => refilter($("timeline"), $("tl-filter")));
    $("show-secrets").addEventListener("change", loadFlash);
    $("at-clear").addEventListener("click", () => $("at-log").replaceChildren());
    $("at-log").addEventListener("scroll", () => {
      const log = $("at-log");
      const bottom = log.scrollHeight - log.clientHeight - log.scrollTop < 4;
      if (!bottom && $("at-follow").checked && log.dataset.user === "1") $("at-follow").checked = false;
    });
    // Only a scroll the user makes pauses the view.
    for (const kind of ["wheel", "touchmove", "keydown"]) {
      $("at-log").addEventListener(kind, () => { $("at-log").dataset.user = "1"; }, { passive: true });
    }
    if (P.base) {
      // One module of a fleet: which one, and the way back to the list.
      $("which").textContent = "#" + P.base.split("/").pop();
      $("fleet-link").href = "/#token=" + encodeURIComponent(P.token);
      $("fleet-link").hidden = false;
    }
    P.setLanguage(redraw);
    if (!P.token) {
      $("no-token").hidden = false;
      return;
    }
    P.follow(() => "/stream?after=" + last, message, messagesRead);
    loadFlash();
  }

  start();
})();
