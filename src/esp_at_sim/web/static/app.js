// The module's setup page: Wi-Fi provisioning and OTA, talking to the ESP-AT web API.
"use strict";
(() => {
  const POLL_MS = 1000; // how often /getstainfo is asked while connecting
  const POLL_LIMIT_MS = 90000; // the module gives up after at most 60 s (connection_timeout)
  const REQUEST_MS = 6000; // one API request
  const SCAN_MS = 15000; // a scan takes a few seconds on a real module
  const UPLOAD_MS = 600000;
  const DEFAULT_OTA_SIZE = 0x180000; // an ESP32 ESP-AT app slot, when /getotainfo has no sizes
  const MAX_BODY = 319; // /setstainfo takes bodies shorter than 320 bytes

  const $ = (id) => document.getElementById(id);
  const encoder = new TextEncoder();
  const byteLength = (s) => encoder.encode(s).length;

  // ---------------------------------------------------------------- strings
  const STRINGS = window.STRINGS;
  let lang = pickLanguage();

  function pickLanguage() {
    try {
      const saved = localStorage.getItem("lang");
      if (saved && STRINGS[saved]) return saved;
    } catch (_) { /* storage may be off */ }
    const wanted = navigator.languages && navigator.languages.length
      ? navigator.languages : [navigator.language || "en"];
    for (const code of wanted) {
      const low = String(code).toLowerCase();
      if (low.startsWith("zh")) return "zh";
      if (low.startsWith("en")) return "en";
    }
    return "en";
  }

  function t(key, vars) {
    const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (vars && name in vars ? String(vars[name]) : ""));
  }

  // A message is kept as {key, vars} so that it can be shown again in the other language.
  const msg = (key, vars) => ({ key, vars: vars || {} });
  const view = {
    scan: null, ssidErr: null, pwErr: null, fileErr: null, otaInfoErr: null,
    wifi: null, ota: null, limit: null, pending: null,
  };

  function applyLanguage() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.title = t("title");
    for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
    for (const el of document.querySelectorAll("[data-t-label]")) {
      el.setAttribute("aria-label", t(el.dataset.tLabel));
    }
    const other = lang === "zh" ? "en" : "zh";
    const switcher = $("lang");
    switcher.lang = other === "zh" ? "zh-CN" : "en";
    switcher.setAttribute("aria-label", t("other_lang_label"));
    renderPasswordToggle();
    renderNetworks();
    renderPartitions();
    renderAll();
  }

  function renderAll() {
    setText($("scan-status"), view.scan);
    showError($("ssid-error"), $("ssid"), view.ssidErr);
    showError($("pw-error"), $("password"), view.pwErr);
    showError($("file-error"), $("file"), view.fileErr);
    showError($("ota-info-error"), null, view.otaInfoErr);
    setText($("limit-hint"), view.limit);
    $("ota-pending").hidden = !view.pending;
    setText($("ota-pending"), view.pending);
    renderStatus("wifi", view.wifi);
    renderStatus("ota", view.ota);
    if (upload) renderProgress();
  }

  const setText = (el, m) => { el.textContent = m ? t(m.key, m.vars) : ""; };

  function showError(el, input, m) {
    el.hidden = !m;
    setText(el, m);
    if (input) input.setAttribute("aria-invalid", m ? "true" : "false");
  }

  // status: {tone: "busy" | "ok" | "fail" | "info", title, detail, note}; note: a second
  // sentence (the module still retries, what happens after a restart...).
  function renderStatus(name, status) {
    const box = $(`${name}-status`);
    box.hidden = !status;
    if (!status) return;
    box.dataset.tone = status.tone;
    box.dataset.retrying = String(Boolean(status.retrying));
    setText($(`${name}-status-title`), status.title);
    const detail = status.detail ? t(status.detail.key, status.detail.vars) : "";
    const note = status.note ? t(status.note.key, status.note.vars) : "";
    $(`${name}-status-detail`).textContent = note ? `${detail} ${note}` : detail;
  }

  function setStatus(name, tone, title, detail, extra) {
    view[name] = { tone, title, detail, ...(extra || {}) };
    renderStatus(name, view[name]);
  }

  // ---------------------------------------------------------------- requests
  async function request(path, options = {}, limit = REQUEST_MS) {
    const control = new AbortController();
    const timer = setTimeout(() => control.abort(), limit);
    try {
      return await fetch(path, { cache: "no-store", ...options, signal: control.signal });
    } finally {
      clearTimeout(timer);
    }
  }

  async function getJson(path, limit) {
    const res = await request(path, {}, limit);
    let data = null;
    try { data = await res.json(); } catch (_) { /* not JSON */ }
    return { res, data };
  }

  // ---------------------------------------------------------------- tabs
  const tabs = [$("tab-wifi"), $("tab-ota")];

  function selectTab(tab, focus) {
    for (const other of tabs) {
      const on = other === tab;
      other.setAttribute("aria-selected", String(on));
      other.tabIndex = on ? 0 : -1;
      $(other.getAttribute("aria-controls")).hidden = !on;
    }
    if (focus) tab.focus();
    if (tab.id === "tab-ota" && !otaInfoLoaded) loadOtaInfo();
    const hash = tab.id === "tab-ota" ? "#ota" : "#wifi";
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  for (const tab of tabs) {
    tab.addEventListener("click", () => selectTab(tab, false));
    tab.addEventListener("keydown", (e) => {
      const i = tabs.indexOf(tab);
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (next === undefined) return;
      e.preventDefault();
      selectTab(tabs[(next + tabs.length) % tabs.length], true);
    });
  }

  // ---------------------------------------------------------------- networks
  const ssidInput = $("ssid");
  const list = $("ap-list");
  const toggle = $("ap-toggle");
  let networks = []; // [{ssid, auth}], strongest first, one entry per name
  let shown = []; // the entries the open list shows
  let active = -1;
  let scanning = false;

  async function scan() {
    if (scanning) return;
    scanning = true;
    $("rescan").setAttribute("aria-busy", "true");
    view.scan = msg("scanning");
    renderAll();
    try {
      const { res, data } = await getJson("/getaprecord", SCAN_MS);
      if (res.ok && data && data.state === 0 && Array.isArray(data.aplist)) {
        networks = distinct(data.aplist);
        view.scan = networks.length ? msg("scan_count", { n: networks.length }) : msg("scan_none");
      } else {
        networks = [];
        view.scan = msg(res.status === 500 ? "scan_none" : "scan_failed");
      }
    } catch (_) {
      view.scan = msg("scan_failed");
    } finally {
      scanning = false;
      $("rescan").removeAttribute("aria-busy");
    }
    renderNetworks();
    renderAll();
  }

  function distinct(aplist) {
    const seen = new Map();
    for (const ap of aplist) {
      if (!ap || typeof ap.ssid !== "string" || ap.ssid === "" || seen.has(ap.ssid)) continue;
      seen.set(ap.ssid, { ssid: ap.ssid, auth: Number(ap.auth_mode) || 0 });
    }
    return [...seen.values()];
  }

  const LOCK = '<svg class="lock" viewBox="0 0 24 24" aria-hidden="true">'
    + '<rect x="5" y="11" width="14" height="10" rx="2"/><path d="M8 11V8a4 4 0 0 1 8 0v3"/></svg>';

  function renderNetworks() {
    const typed = ssidInput.value.toLowerCase();
    const filtering = list.dataset.filter === "1" && typed;
    shown = filtering ? networks.filter((n) => n.ssid.toLowerCase().includes(typed)) : networks;
    list.textContent = "";
    shown.forEach((net, i) => {
      const item = document.createElement("li");
      item.id = `ap-${i}`;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", String(i === active));
      item.dataset.ssid = net.ssid;
      item.dataset.secured = String(net.auth !== 0);
      const name = document.createElement("span");
      name.className = "ap-name";
      name.textContent = net.ssid;
      const kind = document.createElement("span");
      kind.className = "sr-only";
      kind.textContent = `, ${t(net.auth !== 0 ? "secured" : "open")}`;
      item.append(name, kind);
      if (net.auth !== 0) item.insertAdjacentHTML("beforeend", LOCK);
      item.addEventListener("mousedown", (e) => e.preventDefault()); // keep focus in the field
      item.addEventListener("click", () => choose(net));
      list.append(item);
    });
    if (!shown.length) closeList();
  }

  function openList(filter) {
    list.dataset.filter = filter ? "1" : "0";
    active = -1;
    renderNetworks();
    if (!shown.length) return;
    list.hidden = false;
    ssidInput.setAttribute("aria-expanded", "true");
    toggle.setAttribute("aria-expanded", "true");
  }

  function closeList() {
    list.hidden = true;
    active = -1;
    ssidInput.setAttribute("aria-expanded", "false");
    ssidInput.removeAttribute("aria-activedescendant");
    toggle.setAttribute("aria-expanded", "false");
  }

  function moveActive(step) {
    if (list.hidden) openList(false);
    if (!shown.length) return;
    active = (active + step + shown.length) % shown.length;
    for (const item of list.children) item.setAttribute("aria-selected", "false");
    const item = list.children[active];
    item.setAttribute("aria-selected", "true");
    item.scrollIntoView({ block: "nearest" });
    ssidInput.setAttribute("aria-activedescendant", item.id);
  }

  function choose(net) {
    ssidInput.value = net.ssid;
    closeList();
    view.ssidErr = null;
    renderAll();
    $("password").focus();
  }

  toggle.addEventListener("click", async () => {
    if (!list.hidden) { closeList(); return; }
    if (!networks.length) await scan();
    openList(false);
    ssidInput.focus();
  });
  $("rescan").addEventListener("click", async () => {
    await scan();
    if (networks.length) openList(false);
  });
  ssidInput.addEventListener("input", () => {
    if (view.ssidErr) { view.ssidErr = null; renderAll(); }
    openList(true);
  });
  ssidInput.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); moveActive(1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); moveActive(-1); }
    else if (e.key === "Escape" && !list.hidden) { e.preventDefault(); closeList(); }
    else if (e.key === "Enter" && !list.hidden && active >= 0) { e.preventDefault(); choose(shown[active]); }
  });
  ssidInput.addEventListener("blur", () => setTimeout(() => {
    if (!list.contains(document.activeElement) && document.activeElement !== toggle) closeList();
  }, 0));
  document.addEventListener("click", (e) => {
    if (!list.parentElement.contains(e.target)) closeList();
  });

  // ---------------------------------------------------------------- password
  const pwInput = $("password");
  const pwToggle = $("pw-toggle");

  function renderPasswordToggle() {
    const visible = pwInput.type === "text";
    pwToggle.setAttribute("aria-pressed", String(visible));
    pwToggle.setAttribute("aria-label", t(visible ? "pw_hide" : "pw_show"));
  }
  pwToggle.addEventListener("click", () => {
    pwInput.type = pwInput.type === "password" ? "text" : "password";
    renderPasswordToggle();
  });
  pwInput.addEventListener("input", () => {
    if (view.pwErr) { view.pwErr = null; renderAll(); }
  });

  // ---------------------------------------------------------------- provisioning
  let poll = null; // the provisioning this page follows
  const newPoll = (ssid) => ({
    ssid, started: Date.now(), failures: 0, timer: 0, final: false, acked: false, seen: false,
    retrying: false,
  });

  function body(ssid, password) {
    return JSON.stringify({
      ssid, password, ssid_len: byteLength(ssid), password_len: byteLength(password),
    });
  }

  function validate(ssid, password) {
    const ssidBytes = byteLength(ssid);
    const pwBytes = byteLength(password);
    const known = networks.find((n) => n.ssid === ssid);
    const auth = known ? known.auth : null;
    view.ssidErr = null;
    view.pwErr = null;
    if (!ssid) view.ssidErr = msg("err_ssid_empty");
    else if (ssidBytes > 32) view.ssidErr = msg("err_ssid_long", { n: ssidBytes });
    if (pwBytes > 64) view.pwErr = msg("err_pw_long", { n: pwBytes });
    else if (password && auth === 0) view.pwErr = msg("err_pw_open", { ssid });
    else if (password && auth === 1) {
      const ok = [5, 13].includes(password.length) || /^([0-9a-f]{10}|[0-9a-f]{26})$/i.test(password);
      if (!ok) view.pwErr = msg("err_pw_wep");
    } else if (password && pwBytes < 8) view.pwErr = msg("err_pw_short");
    else if (pwBytes === 64 && !/^[0-9a-f]{64}$/i.test(password)) view.pwErr = msg("err_pw_hex");
    if (!view.ssidErr && !view.pwErr && byteLength(body(ssid, password)) > MAX_BODY) {
      view.pwErr = msg("err_too_long");
    }
    renderAll();
    if (view.ssidErr) ssidInput.focus();
    else if (view.pwErr) pwInput.focus();
    return !view.ssidErr && !view.pwErr;
  }

  function setWifiBusy(busy) {
    $("wifi-fields").disabled = busy;
    $("wifi-form").setAttribute("aria-busy", String(busy));
    if (busy) closeList();
    else settle("wifi", $("connect"));
  }

  // After a form was disabled: its focus (lost to the page) goes back to its button, and
  // the result, maybe below the fold on a phone, is scrolled into view.
  function settle(name, button) {
    if (document.activeElement === document.body) button.focus({ preventScroll: true });
    const box = $(`${name}-status`);
    if (!box.hidden) box.scrollIntoView({ block: "nearest" });
  }

  $("wifi-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    // Busy, unless the module is only retrying a connection that cannot work.
    if (poll && !poll.final && !poll.retrying) return;
    const ssid = ssidInput.value;
    const password = pwInput.value;
    if (!validate(ssid, password)) return;
    setWifiBusy(true);
    setStatus("wifi", "busy", msg("st_sending"), null);
    let res = null;
    let data = null;
    try {
      res = await request("/setstainfo", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: body(ssid, password),
      });
      data = await res.json().catch(() => null);
    } catch (_) {
      setStatus("wifi", "fail", msg("err_network_title"), msg("err_network"));
      setWifiBusy(false);
      return;
    }
    if (!res.ok || !data || data.state !== 0) {
      setStatus("wifi", "fail", msg("err_refused_title"), msg("err_refused"));
      setWifiBusy(false);
      return;
    }
    rememberSent(ssid);
    follow(ssid);
  });

  // The network this tab sent settings for (kept across reloads of the tab, never shared
  // with another tab or device): a result left on the module is shown only to its sender.
  const SENT_KEY = "sent-ssid";
  function rememberSent(ssid) {
    try { sessionStorage.setItem(SENT_KEY, ssid); } catch (_) { /* storage may be off */ }
  }
  function sentHere(ssid) {
    try { return sessionStorage.getItem(SENT_KEY) === ssid; } catch (_) { return false; }
  }

  function follow(ssid) {
    if (poll) clearTimeout(poll.timer);
    poll = newPoll(ssid);
    setWifiBusy(true);
    setStatus("wifi", "busy", msg("st_connecting", { ssid }), msg("st_hint"));
    poll.timer = setTimeout(pollOnce, POLL_MS);
  }

  async function pollOnce() {
    const p = poll;
    let data = null;
    try {
      const answer = await getJson("/getstainfo");
      if (answer.res.ok) data = answer.data;
    } catch (_) { /* the phone may be off the module's Wi-Fi for a moment */ }
    if (poll !== p || p.final) return;
    if (data && typeof data.state === "number") {
      p.failures = 0;
      if (showState(data, p)) return;
    } else if (++p.failures >= 3) {
      setStatus("wifi", "busy", msg("st_connecting", { ssid: p.ssid }), msg("st_unreachable"));
    }
    if (Date.now() - p.started > POLL_LIMIT_MS) {
      p.final = true;
      setStatus("wifi", "fail", msg("fail_title"), msg("err_no_result"));
      setWifiBusy(false);
      acknowledge(p);
      return;
    }
    p.timer = setTimeout(pollOnce, POLL_MS);
  }

  const PROGRESS = { "waiting config": "st_waiting", "config done": "st_config_done" };
  const REASONS = ["wrong_password", "not_found", "no_ip", "timeout", "failed"];
  // Reasons the module reports while it still retries (esp-at-sim's "retrying"): retrying
  // will not change them, so the form is given back at once.
  const RETRY_REASONS = ["wrong_password", "not_found"];

  // Show one /getstainfo answer; true when it is the result.
  function showState(data, p) {
    const ssid = p.ssid;
    if (data.state === 1) {
      const ip = typeof data.sta_ip === "string" && data.sta_ip !== "0.0.0.0" ? data.sta_ip : "";
      setStatus("wifi", "ok", msg("ok_title"), msg(ip ? "ok_ip" : "ok_detail", { ssid, ip }));
    } else if (data.state === 2) {
      const reason = REASONS.includes(data.reason) ? data.reason : "generic";
      setStatus("wifi", "fail", msg("fail_title"), msg(`reason_${reason}`, { ssid }));
    } else if (data.state === 0 && data.retrying === true && RETRY_REASONS.includes(data.reason)) {
      setStatus("wifi", "fail", msg("fail_title"), msg(`reason_${data.reason}`, { ssid }),
        { note: msg("retrying_note"), retrying: true });
      if (!p.retrying) {
        p.retrying = true;
        setWifiBusy(false);
      }
      return false; // still following: the module may yet connect, or give up
    } else if (data.message === "waiting config" && p.seen) {
      // Back to the start: another client took the result, or the module restarted.
      setStatus("wifi", "info", msg("lost_title"), msg("lost_detail"));
    } else {
      p.seen = p.seen || data.message !== "waiting config";
      if (p.retrying) { // the module no longer says why: it takes no new settings now
        p.retrying = false;
        setWifiBusy(true);
      }
      const key = PROGRESS[data.message] || "st_connecting";
      setStatus("wifi", "busy", msg(key, { ssid }), msg("st_hint"));
      return false;
    }
    p.final = true;
    setWifiBusy(false);
    // Like the stock page, only a success is collected: after a failure the module prints
    // nothing more than +WEBSERVERRSP:1, which host firmware times out on, and it takes
    // new credentials straight away.
    if (data.state === 1) acknowledge(p);
    else p.acked = true;
    return true;
  }

  const receivedForm = () => new URLSearchParams({ received: "1" });

  async function acknowledge(p, attempt = 0) {
    try {
      const res = await request("/getresult", { method: "POST", body: receivedForm() });
      if (res.ok) { p.acked = true; return; }
    } catch (_) { /* tried again below */ }
    if (attempt < 2 && poll === p && !p.acked) setTimeout(() => acknowledge(p, attempt + 1), POLL_MS);
  }

  // Closing the page mid-way tells the module that nobody is following any more. The
  // beacon carries "received" only for a result this page has shown: a beacon sent while
  // connecting may arrive after the result, which must then stay for another client.
  window.addEventListener("pagehide", () => {
    if (poll && !poll.acked) {
      const form = poll.final ? receivedForm() : new URLSearchParams();
      poll.acked = navigator.sendBeacon("/getresult", form);
    }
  });

  // On opening: a provisioning started earlier (or a result nobody collected) is shown.
  async function resume() {
    let data = null;
    try {
      const answer = await getJson("/getstainfo");
      if (answer.res.ok) data = answer.data;
    } catch (_) { /* offline: the form still works */ }
    const ssid = data && typeof data.sta_ssid === "string" ? data.sta_ssid : "";
    // A failure (or a retry that cannot work) that another visitor left behind is theirs:
    // the module takes new settings, and this page starts afresh.
    const othersFailure = data && (data.state === 2 || data.retrying === true) && !sentHere(ssid);
    if (data && ssid && (data.state === 1 || data.state === 2) && !othersFailure) {
      poll = newPoll(ssid);
      showState(data, poll);
      return;
    }
    if (data && data.state === 0 && ssid && data.message !== "waiting config" && !othersFailure) {
      follow(ssid);
      return;
    }
    scan();
  }

  // ---------------------------------------------------------------- OTA
  const partSelect = $("partition");
  const fileInput = $("file");
  let otaInfoLoaded = false;
  let partitions = [];
  let otaLimit = DEFAULT_OTA_SIZE;
  let partSizes = {}; // partition -> bytes, when the module says (esp-at-sim's "sizes")
  let pendingVersion = null; // an accepted update waiting for a restart (/getotainfo)
  let upload = null; // {xhr, part, file, sent, total, verifying, tooLate}

  function formatSize(n) {
    const number = (v, digits) => new Intl.NumberFormat(lang === "zh" ? "zh-CN" : "en",
      { maximumFractionDigits: digits }).format(v);
    if (n < 1024) return t("bytes", { n: number(n, 0) });
    if (n < 1024 * 1024) return `${number(n / 1024, 1)} KB`;
    return `${number(n / 1048576, 2)} MB`;
  }

  async function loadOtaInfo() {
    otaInfoLoaded = true;
    view.otaInfoErr = null;
    let data = null;
    try {
      const answer = await getJson("/getotainfo");
      if (answer.res.ok && answer.data && answer.data.state === 0) data = answer.data;
    } catch (_) { /* reported below */ }
    if (!data) {
      otaInfoLoaded = false;
      view.otaInfoErr = msg("ota_info_failed");
      renderAll();
      return;
    }
    $("fw-version").textContent = String(data.fw_version ?? "?");
    $("core-version").textContent = String(data.at_core_version ?? "?");
    partitions = Array.isArray(data.partitions) ? data.partitions.filter((p) => typeof p === "string") : [];
    partSizes = {};
    if (data.sizes && typeof data.sizes === "object") {
      for (const [name, size] of Object.entries(data.sizes)) {
        if (Number.isInteger(size) && size > 0) partSizes[name] = size;
      }
    }
    if (partSizes.ota) otaLimit = partSizes.ota;
    pendingVersion = typeof data.pending_version === "string" ? data.pending_version : null;
    view.pending = pendingVersion ? msg("ota_pending", { version: pendingVersion }) : null;
    renderPartitions();
    if (!partitions.length) view.fileErr = msg("err_no_partition");
    renderAll();
  }

  function renderPartitions() {
    const chosen = partSelect.value;
    partSelect.textContent = "";
    for (const name of partitions) {
      const option = new Option(name === "ota" ? t("part_app") : t("part_data", { name }), name);
      partSelect.append(option);
    }
    if (partitions.includes(chosen)) partSelect.value = chosen;
    updateLimit();
  }

  function updateLimit() {
    const part = partSelect.value;
    if (!part) view.limit = null;
    else if (part === "ota") view.limit = msg("limit_app", { max: formatSize(otaLimit) });
    else if (partSizes[part]) view.limit = msg("limit_data_max", { name: part, max: formatSize(partSizes[part]) });
    else view.limit = msg("limit_data", { name: part });
  }

  async function checkFile() {
    const file = fileInput.files[0];
    const part = partSelect.value;
    if (!part) return msg("err_no_partition");
    if (!file) return msg("err_no_file");
    if (!/\.bin$/i.test(file.name)) return msg("err_ext");
    if (file.size === 0) return msg("err_empty");
    if (part !== "ota") {
      const max = partSizes[part];
      return max && file.size > max
        ? msg("err_too_big_data", { size: formatSize(file.size), name: part, max: formatSize(max) })
        : null;
    }
    if (file.size > otaLimit) {
      return msg("err_too_big", { size: formatSize(file.size), max: formatSize(otaLimit) });
    }
    let first;
    try {
      first = new Uint8Array(await file.slice(0, 1).arrayBuffer())[0];
    } catch (_) {
      return msg("err_read");
    }
    if (first !== 0xe9) return msg("err_magic", { b: first.toString(16).padStart(2, "0").toUpperCase() });
    return null;
  }

  async function recheck() {
    updateLimit();
    view.fileErr = fileInput.files.length ? await checkFile() : null;
    view.ota = null;
    renderAll();
  }
  fileInput.addEventListener("change", recheck);
  partSelect.addEventListener("change", recheck);

  $("ota-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (upload) return;
    view.fileErr = await checkFile();
    renderAll();
    if (view.fileErr) { fileInput.focus(); return; }
    // An app upload goes to the slot that holds an update waiting for a restart: say so.
    if (partSelect.value === "ota" && pendingVersion && !window.confirm(t("ota_replace_pending",
      { version: pendingVersion, current: $("fw-version").textContent }))) return;
    send(fileInput.files[0], partSelect.value);
  });

  function send(file, part) {
    const xhr = new XMLHttpRequest();
    upload = { xhr, part, file, sent: 0, total: file.size, verifying: false };
    $("ota-fields").disabled = true;
    $("ota-progress").hidden = false;
    view.ota = null;
    renderAll();
    xhr.open("POST", "/setotadata");
    xhr.timeout = UPLOAD_MS;
    xhr.setRequestHeader("Object", part);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (ev) => {
      upload.sent = ev.loaded;
      if (ev.lengthComputable && ev.total) upload.total = ev.total;
      renderProgress();
    };
    xhr.upload.onload = () => {
      upload.sent = upload.total;
      upload.verifying = true;
      renderProgress();
    };
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      const tooLate = upload && upload.tooLate;
      if (xhr.status === 200 && data && data.state === 0) {
        finishUpload("ok", msg("ota_ok_title"),
          part === "ota" ? msg("ota_ok_app") : msg("ota_ok_data", { name: part }),
          tooLate ? msg("ota_too_late_kept") : null);
      } else if (xhr.status === 500) {
        finishUpload("fail", msg("ota_fail_title"), rejection(data, part), afterFailure(data, part));
      } else if (xhr.status === 409) {
        finishUpload("fail", msg("ota_fail_title"), msg("ota_fail_busy"));
      } else {
        finishUpload("fail", msg("ota_fail_title"), msg("ota_fail_refused", { status: xhr.status }));
      }
    };
    xhr.onerror = xhr.ontimeout = () => finishUpload("fail", msg("ota_fail_title"),
      msg("ota_fail_network"), afterFailure(null, part));
    xhr.onabort = () => finishUpload("fail", msg("ota_fail_title"), msg("ota_cancelled"),
      afterFailure(null, part));
    xhr.send(file);
  }

  // Why the module refused an upload: esp-at-sim says (reason); the original firmware
  // answers only {"state": 1}.
  const OTA_REASONS = ["not_an_image", "truncated", "wrong_chip", "too_large", "corrupt",
    "empty", "no_partition", "not_confirmed", "no_flash", "interrupted"];
  function rejection(data, part) {
    const reason = data && OTA_REASONS.includes(data.reason) ? data.reason : null;
    return reason ? msg(`ota_why_${reason}`, { name: part }) : msg("ota_fail_rejected");
  }

  // What a failed upload leaves behind: an app upload never touches the running
  // firmware; a data partition is erased when the upload starts.
  function afterFailure(data, part) {
    if (part === "ota") return msg("ota_after_app");
    if (data && data.erased === false) return msg("ota_after_data_untouched", { name: part });
    return msg("ota_after_data", { name: part });
  }

  function renderProgress() {
    const pct = upload.total ? Math.min(100, Math.floor((upload.sent * 100) / upload.total)) : 0;
    $("ota-bar").value = pct;
    $("ota-bar-label").textContent = upload.tooLate ? t("verifying_too_late")
      : upload.verifying && upload.part === "ota" ? t("verifying") : t("uploading");
    $("ota-bytes").textContent = t("sent_of",
      { sent: formatSize(upload.sent), total: formatSize(upload.total), pct });
  }

  function finishUpload(tone, title, detail, note) {
    if (!upload) return;
    const part = upload.part;
    upload = null;
    $("ota-progress").hidden = true;
    $("ota-fields").disabled = false;
    setStatus("ota", tone, title, detail, { note });
    settle("ota", $("upload"));
    if (part === "ota") loadOtaInfo(); // what waits for the restart now
  }

  // Once every byte is sent the module has the whole file and decides on its own: it
  // keeps a good image whether or not this page waits, so the page waits and says so.
  $("ota-cancel").addEventListener("click", () => {
    if (!upload) return;
    if (!upload.verifying) { upload.xhr.abort(); return; }
    upload.tooLate = true;
    renderProgress();
  });
  window.addEventListener("beforeunload", (e) => { if (upload) e.preventDefault(); });

  // ---------------------------------------------------------------- start
  $("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    try { localStorage.setItem("lang", lang); } catch (_) { /* not kept */ }
    applyLanguage();
  });

  applyLanguage();
  selectTab(location.hash === "#ota" ? tabs[1] : tabs[0], false);
  resume();
})();
