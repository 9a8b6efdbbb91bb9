// murano-sim console: plain JavaScript, no build step, nothing fetched from elsewhere.
// Every value from the solution is inserted as text (never as HTML).
"use strict";
(function () {
  const API = "/_murano-sim/api";
  const $ = (id) => document.getElementById(id);
  const state = { view: "requests", selected: null, solution: null, twilio: null };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  const json = (v) => (typeof v === "string" ? v : JSON.stringify(v, null, 2));
  const pre = (v) => el("pre", {}, json(v));
  const statusClass = (code, error) => (error || code >= 400 ? "status-bad" : "status-ok");

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    if (opts.body && typeof opts.body !== "string") {
      opts.body = JSON.stringify(opts.body);
      opts.headers["Content-Type"] = "application/json";
    }
    const res = await fetch(API + path, opts);
    const data = await res.json().catch(() => ({ error: "HTTP " + res.status }));
    if (!res.ok) throw new Error(data.error || "HTTP " + res.status);
    return data;
  }
  function table(headers, rows) {
    return el("div", { class: "table-wrap" },
      el("table", {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c)))))));
  }
  function fill(id, ...nodes) { const n = $(id); n.replaceChildren(...nodes.flat().filter((x) => x !== null && x !== undefined)); return n; }
  function empty(text) { return el("p", { class: "hint" }, text); }
  function fail(id, err) { $(id).textContent = err ? err.message || String(err) : ""; }

  // -- navigation ------------------------------------------------------------------------------
  const VIEWS = ["requests", "solution", "twilio", "phone", "data", "clock", "state"];
  function route() {
    const [view, arg] = (location.hash.slice(1) || "requests").split("/");
    state.view = VIEWS.includes(view) ? view : "requests";
    for (const v of VIEWS) $("view-" + v).hidden = v !== state.view;
    for (const a of document.querySelectorAll("header nav a")) {
      if (a.getAttribute("href") === "#" + state.view) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    if (state.view === "requests" && arg) showExecution(Number(arg));
    if (state.view === "data" && arg && $("data-" + arg)) $("data-" + arg).scrollIntoView();
    refresh(state.view);
  }
  window.addEventListener("hashchange", route);

  function refresh(view) {
    const loaders = { requests: loadExecutions, solution: loadSolution, twilio: loadTwilio, phone: loadPhone,
      data: loadData, clock: loadClock, state: loadSnapshots };
    return loaders[view]().catch((err) => console.error(err));
  }
  document.addEventListener("click", (ev) => {
    const target = ev.target.closest("[data-refresh]");
    if (target) refresh(target.dataset.refresh);
  });

  // -- Requests --------------------------------------------------------------------------------
  function executionItem(x) {
    const what = x.kind === "endpoint" ? `${x.method} ${x.path}` : `${x.service} ${x.event}`;
    return el("li", { "data-id": x.id },
      el("a", { href: `#requests/${x.id}`, "aria-current": state.selected === x.id ? "true" : null },
        el("span", { class: "badge" }, x.kind),
        el("span", { class: "what" }, what),
        el("span", { class: statusClass(x.status, x.error) }, x.error ? "error" : x.status),
        el("span", { class: "meta" }, `${x.at} · ${x.duration_ms.toFixed(1)} ms · ${x.calls} call(s) · ${x.logs} log line(s)`)));
  }
  // The list's search and filters: answered by the server, which searches the whole execution.
  function executionQuery() {
    const query = new URLSearchParams();
    if ($("exec-search").value.trim()) query.set("q", $("exec-search").value.trim());
    if ($("exec-kind").value) query.set("kind", $("exec-kind").value);
    if ($("exec-level").value) query.set("level", $("exec-level").value);
    return query.toString();
  }
  async function loadExecutions() {
    const query = executionQuery();
    const data = await api("/executions" + (query ? "?" + query : ""));
    fill("executions", data.executions.slice().reverse().map(executionItem));
    if (!data.executions.length) {
      fill("executions", el("li", {}, empty(query ? "No execution matches." : "Nothing ran yet: make a request to the solution.")));
    }
  }
  let searchTimer = null;
  $("exec-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => loadExecutions().catch((err) => console.error(err)), 150);
  });
  for (const id of ["exec-kind", "exec-level"]) $(id).addEventListener("change", () => loadExecutions().catch((err) => console.error(err)));
  $("exec-filter").addEventListener("submit", (ev) => { ev.preventDefault(); loadExecutions().catch((err) => console.error(err)); });
  $("exec-clear").addEventListener("click", async () => {
    await api("/executions", { method: "DELETE" });
    state.selected = null;
    fill("execution", el("p", { class: "hint" }, "Cleared. New executions appear as they end (murano-sim logs keeps the log)."));
    fill("executions", el("li", {}, empty("Cleared.")));
  });
  function addExecution(x) {
    if (executionQuery()) { loadExecutions().catch((err) => console.error(err)); return; }  // the server filters
    const list = $("executions");
    if (list.querySelector(`li[data-id="${x.id}"]`)) return;
    if (!list.querySelector("li[data-id]")) list.replaceChildren();
    list.prepend(executionItem(x));
  }
  async function showExecution(id) {
    state.selected = id;
    for (const a of document.querySelectorAll("#executions a")) {
      if (a.getAttribute("href") === `#requests/${id}`) a.setAttribute("aria-current", "true");
      else a.removeAttribute("aria-current");
    }
    let x;
    try { x = await api(`/executions/${id}`); } catch (err) { fill("execution", el("p", { class: "error" }, err.message)); return; }
    const parts = [el("h3", {}, x.kind === "endpoint" ? `${x.request.method} ${x.request.path}` : `${x.service} ${x.event}`)];
    parts.push(el("dl", { class: "facts" },
      el("dt", {}, "Script"), el("dd", {}, x.file),
      el("dt", {}, "At"), el("dd", {}, x.at),
      el("dt", {}, "Duration"), el("dd", {}, `${x.duration_ms.toFixed(2)} ms`),
      el("dt", {}, "Status"), el("dd", { class: statusClass(x.status, x.error), id: "execution-status" }, x.status)));
    if (x.error) {
      const where = x.error_location ? `${x.error_location.file}:${x.error_location.line}` : "";
      parts.push(el("h4", {}, "Error" + (where ? ` at ${where}` : "")), el("pre", { class: "error", id: "execution-error" }, x.error));
    }
    if (x.request) {
      parts.push(el("h4", {}, "Request"), pre(x.request.headers), x.request.body ? pre(x.request.body) : null);
    } else {
      parts.push(el("h4", {}, "Event payload"), pre(x.parameters));
    }
    parts.push(el("h4", {}, "Response"), pre(x.response.headers), el("pre", { id: "execution-response" }, json(x.response.body)));
    parts.push(el("h4", {}, `Logs (${x.logs.length})`),
      x.logs.length ? el("ol", { class: "logs", id: "execution-logs" },
        x.logs.map((l) => el("li", { class: "level-" + l.level }, el("span", { class: "badge" }, l.level), " ", l.text)))
        : empty("No output."));
    parts.push(el("h4", {}, `Service calls (${x.calls.length})`),
      x.calls.length ? table(["Call", "Status", "ms", "Arguments", "Result"], x.calls.map((c) => [
        `${c.service}.${c.operation}`, String(c.status), c.duration_ms != null ? Number(c.duration_ms).toFixed(1) : "",
        pre(c.arguments), pre("error" in c ? c.error : c.result)])) : empty("No service calls."));
    parts.push(replayForm(x));
    fill("execution", parts);
  }
  function replayForm(x) {
    const status = el("p", { role: "status", id: "replay-status" });
    const fields = x.kind === "endpoint" ? [
      el("label", {}, "Method ", el("input", { name: "method", value: x.request.method, size: 7 })),
      el("label", { class: "wide" }, "Path ", el("input", { name: "path", value: x.request.path })),
      el("label", { class: "wide" }, "Headers (JSON)", el("textarea", { name: "headers", rows: 3 }, json(x.request.headers))),
      el("label", { class: "wide" }, "Body", el("textarea", { name: "body", rows: 3 }, x.request.body || "")),
    ] : [el("label", { class: "wide" }, "Payload (JSON)", el("textarea", { name: "payload", rows: 4 }, json(x.parameters)))];
    async function replay(edited, form) {
      let changes = {};
      try {
        if (edited) {
          const f = new FormData(form);
          if (x.kind === "endpoint") changes = { method: f.get("method"), path: f.get("path"), headers: JSON.parse(f.get("headers") || "{}"), body: f.get("body") };
          else changes = { payload: JSON.parse(f.get("payload") || "null") };
        }
        const next = await api(`/executions/${x.id}/replay`, { method: "POST", body: changes });
        location.hash = `#requests/${next.id}`;
      } catch (err) { status.textContent = err.message; }
    }
    const form = el("form", { class: "form", onsubmit: (ev) => { ev.preventDefault(); replay(true, form); } },
      fields, el("button", { type: "submit" }, "Replay with these changes"));
    return el("div", {}, el("h4", {}, "Replay"),
      el("p", {}, el("button", { type: "button", id: "replay", onclick: () => replay(false) }, "Replay as it was")),
      el("details", {}, el("summary", {}, "Edit, then replay"), form), status);
  }

  // -- Solution --------------------------------------------------------------------------------
  async function loadSolution() {
    const s = await api("/solution");
    state.solution = s;
    if (s.load_error) { fill("solution", el("p", { class: "error" }, "The solution does not load: " + s.load_error)); return; }
    fill("solution",
      el("p", {}, `${s.root} (${s.layout} layout)`),
      el("h3", {}, `Endpoints (${s.endpoints.length})`),
      table(["Method", "Path", "Accepts", "Tags", "Script"], s.endpoints.map((e) => [e.method, e.path, e.content_type || "", e.tags.join(", "), `${e.file}:${e.line}`])),
      el("h3", {}, `Event handlers (${s.handlers.length})`),
      s.handlers.length ? table(["Service", "Event", "Script"], s.handlers.map((h) => [h.service, h.event, `${h.file}:${h.line}`])) : empty("None."),
      el("h3", {}, `Modules (${s.modules.length})`),
      s.modules.length ? table(["Names", "File", "Global"], s.modules.map((m) => [m.names.join(", "), m.file, m.global ? "yes" : ""])) : empty("None."),
      el("h3", {}, "Assets"),
      s.assets.length ? table(["Folder", "Files"], s.assets.map((a) => [a.path + "/", String(a.files)])) : empty("None."),
      el("h3", {}, `Services used (${s.services.length})`),
      s.services.length ? table(["Service", "Emulated"], s.services.map((v) => [v.name, v.emulated ? "yes" : "NO: a call fails unless a stand-in is declared"])) : empty("None."),
      el("h3", {}, `Warnings (${s.warnings.length})`), s.warnings.length ? el("ul", {}, s.warnings.map((w) => el("li", {}, w))) : empty("None."),
      el("h3", {}, `Errors (${s.errors.length})`), s.errors.length ? el("ul", { class: "error" }, s.errors.map((w) => el("li", {}, w))) : empty("None."));
  }

  // -- Twilio ----------------------------------------------------------------------------------
  const timeline = (r) => el("ol", {}, r.timeline.map((t) => el("li", {}, `${t.field}: ${t.at}`)));
  async function loadTwilio() {
    const t = await api("/twilio");
    state.twilio = t;
    if (!t.emulated) { fill("twilio", empty("Twilio is not emulated (services.twilio.backend is not local).")); return; }
    fill("twilio",
      el("h3", {}, `Messages (${t.messages.length})`),
      t.messages.length ? table(["SID", "Direction", "From → To", "Body", "Status", "Timeline"], t.messages.slice().reverse().map((m) => [
        m.sid, m.direction, `${m.from || ""} → ${m.to}`, m.body, el("span", { class: "badge" }, m.status), timeline(m)])) : empty("No messages."),
      el("h3", {}, `Calls (${t.calls.length})`),
      t.calls.length ? table(["SID", "From → To", "Status", "Duration", "Timeline"], t.calls.slice().reverse().map((c) => [
        c.sid, `${c.from} → ${c.to}`, el("span", { class: "badge" }, c.status), c.duration || "", timeline(c)])) : empty("No calls."),
      el("h3", {}, `Webhook deliveries (${t.deliveries.length})`),
      t.deliveries.length ? table(["Kind", "Request", "Answer", "Parameters"], t.deliveries.slice().reverse().map((d) => [
        d.kind, `${d.method} ${d.url}`, d.ok ? `HTTP ${d.status}` : el("span", { class: "status-bad" }, d.error || `HTTP ${d.status}`),
        el("details", {}, el("summary", {}, "show"), pre(d.params), d.body ? pre(d.body) : null)])) : empty("No webhooks sent."));
  }

  // -- Phone -----------------------------------------------------------------------------------
  async function loadPhone() {
    if (!state.solution) state.solution = await api("/solution");
    if (!state.twilio) state.twilio = await api("/twilio");
    const select = $("sms-path");
    if (!select.options.length) {
      const posts = (state.solution.endpoints || []).filter((e) => e.method === "POST");
      posts.sort((a, b) => (b.path.includes("sms") ? 1 : 0) - (a.path.includes("sms") ? 1 : 0));
      select.replaceChildren(...posts.map((e) => el("option", { value: e.path }, e.path)));
      if (!$("sms-to").value) $("sms-to").value = (state.twilio.owned_numbers || [])[0] || "+15005550006";
    }
    const phone = $("sms-from").value;
    const thread = await api(`/phone?from=${encodeURIComponent(phone)}`);
    fill("thread", thread.messages.length ? thread.messages.map((m) => el("li", { class: m.from_phone ? "me" : "them", "data-source": m.source },
      m.body, el("small", {}, m.from_phone ? `sent ${m.at}` : `${m.source === "twiml" ? "reply (TwiML)" : m.source === "api" ? "sent by the solution" : "problem"} · ${m.at}`)))
      : el("li", { class: "hint" }, "No messages with this phone yet."));
    const twilio = state.twilio;
    const calls = (twilio.calls || []).filter((c) => c.to === phone || c.from === phone);
    if (!twilio.calls_supported) {
      fill("phone-calls", empty("Taking calls and pressing digits needs an emulator with call transcripts; this one has none."),
        calls.length ? table(["SID", "Status"], calls.map((c) => [c.sid, c.status])) : null);
      return;
    }
    // Digits being typed survive a redraw by the live feed (the panels are rebuilt on every execution).
    const typed = {};
    for (const input of document.querySelectorAll("#phone-calls [data-call] input[name='digits']")) {
      typed[input.closest("[data-call]").dataset.call] = { value: input.value, focused: input === document.activeElement };
    }
    fill("phone-calls", calls.length ? calls.map((c) => callPanel(c, typed[c.sid])) : empty("No calls to or from this phone."));
    const focused = Object.keys(typed).find((sid) => typed[sid].focused);
    if (focused) document.querySelector(`#phone-calls [data-call="${CSS.escape(focused)}"] input[name='digits']`)?.focus();
  }
  function callPanel(c, typed) {
    const out = el("div", { class: "transcript" });
    const form = el("form", { class: "form", onsubmit: async (ev) => {
      ev.preventDefault();
      try { const d = await api(`/twilio/calls/${c.sid}/digits`, { method: "POST", body: { digits: new FormData(form).get("digits") } });
        out.replaceChildren(pre(d.transcript || d)); } catch (err) { out.replaceChildren(el("p", { class: "error" }, err.message)); }
    } }, el("label", {}, "Digits ", el("input", { name: "digits", inputmode: "tel", autocomplete: "off", value: typed ? typed.value : null })), el("button", { type: "submit" }, "Press"));
    api(`/twilio/calls/${c.sid}`).then((d) => out.replaceChildren(pre(d.transcript || d))).catch(() => {});
    return el("div", { "data-call": c.sid }, el("h4", {}, `${c.from} → ${c.to} (${c.status})`), out, form);
  }
  $("sms-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    fail("sms-error");
    const f = new FormData(ev.target);
    try {
      await api("/phone/sms", { method: "POST", body: Object.fromEntries(f) });
      $("sms-body").value = "";
      state.twilio = null;
      await loadPhone();
    } catch (err) { fail("sms-error", err); }
  });
  $("sms-from").addEventListener("change", () => loadPhone());

  // -- Data ------------------------------------------------------------------------------------
  async function loadData() {
    await Promise.all([loadKeystore(), loadTsdb(), loadSimple("timers"), loadDevices(), loadSimple("users"), loadSimple("email")]);
  }
  async function loadKeystore() {
    let k;
    try { k = await api("/keystore"); } catch (err) { fill("keystore", empty(err.message)); return; }
    fill("keystore", k.keys.length ? table(["Key", "Value", ""], k.keys.map((row) => [row.key,
      row.type === "string" ? el("pre", { "data-key": row.key }, row.value) : el("span", { class: "hint" }, `(${row.type})`),
      el("span", {}, row.type === "string" ? el("button", { type: "button", class: "secondary", "aria-label": `Edit ${row.key}`,
        onclick: () => { $("ks-key").value = row.key; $("ks-value").value = row.value; $("ks-value").focus(); } }, "Edit") : null, " ",
      el("button", { type: "button", class: "secondary", "aria-label": `Delete ${row.key}`, onclick: async () => {
        try { await api(`/keystore/${encodeURIComponent(row.key)}`, { method: "DELETE" }); loadKeystore(); } catch (err) { fail("ks-error", err); }
      } }, "Delete"))])) : empty("No keys."));
  }
  $("ks-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    fail("ks-error");
    try { await api("/keystore", { method: "POST", body: Object.fromEntries(new FormData(ev.target)) }); await loadKeystore(); }
    catch (err) { fail("ks-error", err); }
  });
  async function loadTsdb() {
    const metric = $("tsdb-metric").value, window_ = $("tsdb-window").value || "1h";
    const params = new URLSearchParams({ window: window_ });
    if (metric) params.set("metric", metric);
    for (const tag of $("tsdb-tags").value.split(",").map((s) => s.trim()).filter(Boolean)) params.append("tag", tag);
    let t;
    try { t = await api("/tsdb?" + params); } catch (err) { fill("tsdb", el("p", { class: "error" }, err.message)); return; }
    const ms = $("tsdb-metric");
    ms.replaceChildren(el("option", { value: "" }, "(pick a metric)"), ...t.metrics.map((m) => el("option", { value: m, selected: m === t.metric }, m)));
    const ws = $("tsdb-window");
    ws.replaceChildren(...t.windows.map((w) => el("option", { value: w, selected: w === t.window }, w)));
    const tagText = Object.entries(t.tags).map(([k, v]) => `${k}: ${[].concat(v).join(", ")}`).join("; ");
    fill("tsdb", t.metrics.length ? null : empty("No metrics written yet."), tagText ? el("p", { class: "hint" }, "Tags: " + tagText) : null,
      t.metric ? chart(t.points, t.metric) : null);
  }
  $("tsdb-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadTsdb(); });
  function chart(points, label) {
    if (!points.length) return empty(`No points for ${label} in this window.`);
    const W = 600, H = 220, P = 40, NS = "http://www.w3.org/2000/svg";
    const xs = points.map((p) => p[0]), ys = points.map((p) => Number(p[1]));
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
    const sx = (x) => P + (x1 === x0 ? (W - 2 * P) / 2 : ((x - x0) / (x1 - x0)) * (W - 2 * P));
    const sy = (y) => H - P + (y1 === y0 ? -(H - 2 * P) / 2 : -((y - y0) / (y1 - y0)) * (H - 2 * P));
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`); svg.setAttribute("class", "chart"); svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", `${label}: ${points.length} points from ${y0} to ${y1}`);
    const add = (tag, attrs, text) => { const n = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); if (text !== undefined) n.textContent = text; svg.append(n); return n; };
    add("line", { x1: P, y1: H - P, x2: W - P, y2: H - P, class: "axis" });
    add("line", { x1: P, y1: P, x2: P, y2: H - P, class: "axis" });
    add("polyline", { class: "line", points: points.map((p) => `${sx(p[0])},${sy(Number(p[1]))}`).join(" ") });
    for (const p of points.length < 60 ? points : []) add("circle", { cx: sx(p[0]), cy: sy(Number(p[1])), r: 3, fill: "#1f5fbf" });
    add("text", { x: 4, y: P }, String(y1)); add("text", { x: 4, y: H - P }, String(y0));
    add("text", { x: P, y: H - 10 }, new Date(x0).toISOString().slice(5, 19).replace("T", " "));
    add("text", { x: W - P - 110, y: H - 10 }, new Date(x1).toISOString().slice(5, 19).replace("T", " "));
    return el("figure", {}, svg, el("figcaption", { class: "hint" }, `${label}: ${points.length} point(s)`));
  }
  async function loadSimple(name) {
    let d;
    try { d = await api("/" + name); } catch (err) { fill(name, empty(err.message)); return; }
    if (name === "timers") fill(name, d.timers.length ? table(["Timer", "Kind", "Due", "Message"], d.timers.map((t) => [t.timer_id, t.kind, t.due, pre(t.message)])) : empty("No pending timers."));
    if (name === "users") fill(name, d.users.length ? table(["ID", "Name", "Email", "Status", "Roles"], d.users.map((u) => [String(u.id), u.name, u.email, String(u.status), u.roles.map((r) => r.role_id).join(", ")])) : empty("No users."),
      el("h4", {}, "Roles"), d.roles.length ? table(["Role", "Parameters"], d.roles.map((r) => [r.role_id, pre(r.parameter || [])])) : empty("No roles."));
    if (name === "email") fill(name, d.outbox.length ? table(["To", "Subject", "Body"], d.outbox.slice().reverse().map((m) => [json(m.to), m.subject || "", pre(m.text || m.html || "")])) : empty("The outbox is empty."));
  }
  async function loadDevices() {
    let d;
    try { d = await api("/devices"); } catch (err) { fill("devices", empty(err.message)); return; }
    fill("devices", d.devices.length ? table(["Identity", "Connected", "Last seen", "State"], d.devices.map((v) => [v.identity, (v.connected || []).join(", ") || "no", v.lastseen ? String(v.lastseen) : "", pre(v.state || {})])) : empty("No devices."));
    const sel = $("din-identity"), current = sel.value;
    sel.replaceChildren(...d.devices.map((v) => el("option", { value: v.identity, selected: v.identity === current }, v.identity)));
  }
  $("din-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    fail("din-error");
    const f = new FormData(ev.target);
    try {
      const values = JSON.parse(f.get("values"));
      await api(`/devices/${encodeURIComponent(f.get("identity"))}/data_in`, { method: "POST", body: { values } });
      await loadDevices();
    } catch (err) { fail("din-error", err); }
  });

  // -- Clock -----------------------------------------------------------------------------------
  function clockFacts(c) {
    return [el("dt", {}, "Now"), el("dd", { id: "clock-now" }, c.now),
      el("dt", {}, "Offset from real time"), el("dd", {}, c.offset_seconds == null ? "manual clock" : `${c.offset_seconds} s`),
      el("dt", {}, "Next due"), el("dd", {}, c.next_due || "nothing pending")];
  }
  async function loadClock() { fill("clock", clockFacts(await api("/clock"))); }
  $("clock-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    fail("clock-error");
    try {
      const r = await api("/clock/advance", { method: "POST", body: { seconds: Number($("clock-seconds").value) } });
      fill("clock", clockFacts(r.after));
      fill("clock-result", el("p", {}, `Advanced from ${r.before.now} to ${r.after.now}.`),
        r.ran.length ? el("div", {}, el("p", {}, `${r.ran.length} execution(s) ran:`),
          el("ul", { id: "clock-ran" }, r.ran.map((x) => el("li", {}, el("a", { href: `#requests/${x.id}` }, `${x.service} ${x.event}`), ` → ${x.error ? "error" : x.status}`))))
          : el("p", { id: "clock-ran-none" }, "Nothing became due."));
    } catch (err) { fail("clock-error", err); }
  });

  // -- State: reset and snapshots (every change asks first) -------------------------------------
  async function loadSnapshots() {
    const { snapshots } = await api("/snapshots");
    fill("snapshots", snapshots.length ? table(["Snapshot", "Clock", "Saved", ""], snapshots.map((x) => [
      x.name, x.clock, x.created,
      el("span", {},
        el("button", { type: "button", "data-load": x.name, "aria-label": `Load ${x.name}` }, "Load…"), " ",
        el("button", { type: "button", "data-delete": x.name, "aria-label": `Delete ${x.name}` }, "Delete…"))]))
      : empty("No snapshots yet."));
  }
  async function stateChange(question, path, options, done) {
    fail("state-error");
    if (!window.confirm(question)) return;
    try {
      const r = await api(path, options);
      $("state-result").textContent = done(r);
      state.twilio = null;
      await loadSnapshots();
    } catch (err) { fail("state-error", err); }
  }
  $("state-reset").addEventListener("click", () => stateChange(
    "Reset every service to its seeded state and run init.lua again? What the solution wrote is lost.",
    "/reset", { method: "POST" }, (r) => `Reset: ${r.services.length} services back to their seed; init.lua ran.`));
  $("snapshot-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = $("snapshot-name").value;
    stateChange(`Save the whole state as “${name}” (replacing a snapshot of that name)?`, "/snapshots",
      { method: "POST", body: { name } }, (r) => `Saved ${r.saved.name} (clock ${r.saved.clock}).`);
  });
  $("snapshots").addEventListener("click", (ev) => {
    const load = ev.target.closest("[data-load]");
    const del = ev.target.closest("[data-delete]");
    if (load) stateChange(`Load “${load.dataset.load}”? The current state and clock are replaced.`,
      `/snapshots/${encodeURIComponent(load.dataset.load)}/load`, { method: "POST" },
      (r) => `Loaded ${r.loaded} (clock ${r.clock.now}).`);
    if (del) stateChange(`Delete the snapshot “${del.dataset.delete}”?`,
      `/snapshots/${encodeURIComponent(del.dataset.delete)}`, { method: "DELETE" }, (r) => `Deleted ${r.deleted}.`);
  });

  // -- live updates ----------------------------------------------------------------------------
  function connect() {
    const source = new EventSource(API + "/stream");
    source.onopen = () => { $("live").textContent = "live"; $("live").className = "on"; };
    source.onerror = () => { $("live").textContent = "reconnecting…"; $("live").className = ""; };
    source.addEventListener("execution", (ev) => {
      const x = JSON.parse(ev.data);
      addExecution(x);
      state.twilio = null;
      if (state.view !== "requests" && state.view !== "solution") refresh(state.view);
    });
  }
  route();
  connect();
})();
