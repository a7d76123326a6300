// What the inspector and the fleet page share: the token (from the URL fragment, which no
// server sees), the API base (a fleet's module lives under /modules/<i>/), the language,
// building nodes and reading a stream of server-sent events with fetch (so that the token
// travels in a header).
"use strict";
window.InspectorPage = (() => {
  const STRINGS = window.INSPECTOR_STRINGS;
  const $ = (id) => document.getElementById(id);
  const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
  const path = location.pathname.replace(/\/+$/, "");
  // "" for the module of `run --control` and for the fleet's list, /modules/<i> for one of
  // a fleet's modules.
  const base = /^\/modules\/\d+$/.test(path) ? path : "";
  const page = { $, token, base, lang: pickLanguage(), live: false, t, el, api, post, follow, setLanguage };

  function pickLanguage() {
    try {
      const saved = localStorage.getItem("inspector-lang");
      if (saved && STRINGS[saved]) return saved;
    } catch (_) { /* storage may be off */ }
    for (const code of navigator.languages || [navigator.language || "en"]) {
      const low = String(code).toLowerCase();
      if (low.startsWith("zh")) return "zh";
      if (low.startsWith("en")) return "en";
    }
    return "en";
  }

  function t(key, vars) {
    const text = STRINGS[page.lang][key] ?? STRINGS.en[key] ?? key;
    if (typeof text !== "string") return text;
    return text.replace(/\{(\w+)\}/g, (_, name) => (vars && name in vars ? String(vars[name]) : ""));
  }

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else if (key === "onclick") node.addEventListener("click", value);
      else node[key] = value;
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  // The page's fixed text in the language chosen, then redraw(): at the start and on each
  // press of the language button.
  function setLanguage(redraw) {
    const apply = () => {
      document.documentElement.lang = page.lang === "zh" ? "zh-CN" : "en";
      document.title = t(document.body.dataset.title || "title");
      for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
      $("lang").textContent = t("other_lang");
      $("lang").lang = page.lang === "zh" ? "en" : "zh-CN";
      renderLink();
      redraw();
    };
    $("lang").addEventListener("click", () => {
      page.lang = page.lang === "zh" ? "en" : "zh";
      try { localStorage.setItem("inspector-lang", page.lang); } catch (_) { /* storage may be off */ }
      apply();
    });
    apply();
  }

  function renderLink() {
    $("link").dataset.state = page.live ? "live" : "off";
    $("link").textContent = t(page.live ? "live" : "offline");
  }

  function api(where, options) {
    const headers = Object.assign({ Authorization: "Bearer " + token }, (options || {}).headers);
    return fetch(base + where, Object.assign({}, options, { headers, cache: "no-store" }));
  }

  async function post(where, body) {
    const response = await api(where, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({ ok: false, error: response.statusText }));
    if (!response.ok || !answer.ok) throw new Error(answer.error || response.statusText);
    return answer;
  }

  // Read the stream at where() for ever, connecting again a second after it ends:
  // onMessage(name, value) for each message, then done() once for all those of one read.
  async function follow(where, onMessage, done) {
    for (;;) {
      try {
        const response = await api(where());
        if (!response.ok || !response.body) {
          const answer = await response.json().catch(() => ({ error: response.statusText }));
          problem(answer.error || String(response.status));
          throw new Error(String(response.status));
        }
        problem(null);
        page.live = true;
        renderLink();
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done: ended } = await reader.read();
          if (ended) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const [name, data] = parse(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            onMessage(name, data);
          }
          done();
        }
      } catch (_) { /* the server went away: try again below */ }
      page.live = false;
      renderLink();
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  // What the server answered instead of a stream (a fleet's failed module), or null.
  function problem(error) {
    const node = $("problem");
    if (!node) return;
    node.hidden = error === null;
    node.textContent = error === null ? "" : t("refused", { error });
  }

  function parse(text) {
    let name = "message";
    let data = "";
    for (const line of text.split("\n")) {
      if (line.startsWith("event: ")) name = line.slice(7);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    return [name, JSON.parse(data)];
  }

  return page;
})();
