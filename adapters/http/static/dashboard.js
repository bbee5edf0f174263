// headroom-gateway dashboard: plain JS, no dependencies, no network beyond this gateway.
// Every number comes from the gateway's own /stats JSON; every element is built with DOM
// calls and textContent (never innerHTML), so data from the ledger cannot become markup.
"use strict";
(function () {
  const TOKEN_KEY = "headroom.operatorToken";
  const SVG = "http://www.w3.org/2000/svg";
  const RECENT_ROWS = 25;
  const $ = (id) => document.getElementById(id);
  const knownTeams = new Set();

  // --- talking to the gateway --------------------------------------------------------------

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  async function api(path, init) {
    const options = Object.assign({ cache: "no-store" }, init || {});
    options.headers = Object.assign({}, options.headers || {});
    if (token()) options.headers.Authorization = "Bearer " + token();
    const response = await fetch(path, options);
    let body = null;
    try { body = await response.json(); } catch (error) { body = null; }
    if (!response.ok) {
      const message = body && body.error ? body.error.message : "HTTP " + response.status;
      const failure = new Error(message);
      failure.status = response.status;
      throw failure;
    }
    return { body: body, headers: response.headers };
  }

  function status(state, text) {
    const el = $("status");
    el.dataset.state = state;
    el.textContent = text;
  }

  // --- formatting ----------------------------------------------------------------------------

  function integer(n) { return Math.round(n).toLocaleString("en-US"); }
  function dollars(n) {
    const digits = Math.abs(n) < 1 ? 4 : 2;
    return "$" + n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  function percent(r) { return (100 * r).toFixed(1) + "%"; }
  function ratio(part, whole) { return whole > 0 ? part / whole : null; }

  // --- overview --------------------------------------------------------------------------------

  function kpis(stats) {
    const s = stats.summary, c = s.compression, cost = s.cost;
    const usage = s.provider_usage || {};
    const outcomes = {};
    (stats.by_outcome || []).forEach((row) => { outcomes[row.outcome] = row.requests; });
    const known = Array.isArray(stats.by_outcome);
    const seen = (usage.input_tokens || 0) + (usage.cache_read_tokens || 0) + (usage.cache_write_tokens || 0);
    return [
      ["requests", s.api_requests, integer],
      ["tokens-saved", c.total_tokens_removed, integer],
      ["dollars-saved", cost.total_saved_usd, dollars],
      ["compression-rate", ratio(c.total_tokens_removed, c.tokens_before), percent],
      ["replay-rate", ratio(c.messages_replayed, c.messages_replayed + c.messages_new), percent],
      ["cache-hit-rate", ratio(usage.cache_read_tokens || 0, seen), percent],
      ["fail-open-rate", known ? ratio(outcomes.failed_open || 0, s.api_requests) : null, percent],
      ["shed-rate", known ? ratio(outcomes.shed || 0, s.api_requests) : null, percent],
    ];
  }

  function showKpis(stats) {
    kpis(stats).forEach(([name, value, format]) => {
      const el = $("kpi-" + name);
      const known = value !== null && value !== undefined && !Number.isNaN(value);
      el.dataset.value = known ? String(value) : "";
      el.textContent = known ? format(value) : "—";
    });
  }

  const HOUR_MS = 3600 * 1000;
  const MAX_SLOTS = 24 * 31;

  // One slot per hour, empty hours included, from the oldest hour /stats returned (or 23
  // hours ago) to the current hour, so the bars' spacing is time.
  function slots(hourly) {
    const byHour = new Map(hourly.map((p) => [Date.parse(p.hour + "Z"), p]));
    const now = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
    const end = Math.max(now, ...byHour.keys());
    const start = Math.max(end - (MAX_SLOTS - 1) * HOUR_MS, Math.min(end - 23 * HOUR_MS, ...byHour.keys()));
    const out = [];
    for (let t = start; t <= end; t += HOUR_MS) {
      out.push(byHour.get(t) || { hour: new Date(t).toISOString().slice(0, 19), tokens_saved: 0,
                                  cost_saved_usd: 0, requests: 0, empty: true });
    }
    return out;
  }

  function chart(hourly) {
    const points = slots(hourly);
    const width = 960, height = 200, left = 56, bottom = 24, top = 12;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "tokens saved per hour");
    const max = Math.max(1, ...points.map((p) => p.tokens_saved));
    const axis = document.createElementNS(SVG, "line");
    Object.entries({ x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: "axis" })
      .forEach(([k, v]) => axis.setAttribute(k, v));
    svg.appendChild(axis);
    label(svg, 4, top + 8, integer(max));
    label(svg, 4, height - bottom, "0");
    const slot = (width - left) / points.length;
    points.forEach((p, i) => {
      if (p.empty) return;
      const h = (height - bottom - top) * (p.tokens_saved / max);
      const bar = document.createElementNS(SVG, "rect");
      Object.entries({ x: left + i * slot + slot * 0.15, y: height - bottom - h,
                       width: Math.max(slot * 0.7, 1), height: Math.max(h, 0), class: "bar" })
        .forEach(([k, v]) => bar.setAttribute(k, v));
      bar.dataset.hour = p.hour;
      bar.dataset.tokens = String(p.tokens_saved);
      const title = document.createElementNS(SVG, "title");
      title.textContent = p.hour + "Z: " + integer(p.tokens_saved) + " tokens, " +
        dollars(p.cost_saved_usd) + " saved, " + integer(p.requests) + " requests";
      bar.appendChild(title);
      svg.appendChild(bar);
    });
    const when = (p) => p.hour.slice(5, 16).replace("T", " ");
    label(svg, left, height - 6, when(points[0]));
    label(svg, width - 4, height - 6, when(points[points.length - 1])).setAttribute("text-anchor", "end");
    if (!hourly.length) {
      label(svg, (width + left) / 2, height / 2, "no traffic in this window").setAttribute("text-anchor", "middle");
    }
    $("chart").replaceChildren(svg);
  }

  function label(svg, x, y, text) {
    const el = document.createElementNS(SVG, "text");
    el.setAttribute("x", x);
    el.setAttribute("y", y);
    el.textContent = text;
    svg.appendChild(el);
    return el;
  }

  // columns: [heading, key or function, format, numeric]
  function table(id, columns, rows) {
    const el = $(id);
    const head = document.createElement("tr");
    columns.forEach(([heading, , , numeric]) => {
      const th = document.createElement("th");
      th.textContent = heading;
      if (numeric) th.className = "num";
      head.appendChild(th);
    });
    const body = rows.map((row) => {
      const tr = document.createElement("tr");
      columns.forEach(([, key, format, numeric]) => {
        const td = document.createElement("td");
        const value = typeof key === "function" ? key(row) : row[key];
        td.dataset.value = value === null || value === undefined ? "" : String(value);
        td.textContent = format ? format(value) : (value === "" ? "(none)" : String(value));
        if (numeric) td.className = "num";
        tr.appendChild(td);
      });
      return tr;
    });
    if (!rows.length) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = columns.length;
      td.className = "empty";
      td.textContent = "no requests in this window";
      tr.appendChild(td);
      body.push(tr);
    }
    const thead = document.createElement("thead");
    thead.appendChild(head);
    const tbody = document.createElement("tbody");
    tbody.replaceChildren(...body);
    el.replaceChildren(thead, tbody);
    el.dataset.rows = String(rows.length);
  }

  function breakdown(name) {
    return [
      [name[0].toUpperCase() + name.slice(1), name, null, false],
      ["Requests", "requests", integer, true],
      ["Tokens in", "total_input", integer, true],
      ["Tokens saved", "tokens_saved", integer, true],
      ["Avg saved", (r) => r.avg_compression_pct / 100, percent, true],
      ["$ saved", "cost_saved_usd", dollars, true],
    ];
  }

  function showTables(stats, insights) {
    table("table-team", breakdown("team"), stats.by_team || []);
    table("table-user", breakdown("user"), stats.by_user || []);
    table("table-model", breakdown("model"), stats.by_model || []);
    const engines = Object.entries((insights && insights.engines) || {})
      .map(([engine, blocks]) => ({ engine: engine, blocks: blocks }))
      .sort((a, b) => b.blocks - a.blocks || a.engine.localeCompare(b.engine));
    table("table-engine", [["Engine", "engine", null, false], ["Blocks", "blocks", integer, true]], engines);
    const recent = (stats.recent_requests || []).slice(-RECENT_ROWS).reverse();
    table("table-recent", [
      ["Time (UTC)", (r) => r.timestamp.slice(0, 19).replace("T", " "), null, false],
      ["User", (r) => (r.tags && r.tags["user-id"]) || "", null, false],
      ["Team", (r) => (r.tags && r.tags.team) || "", null, false],
      ["Model", "model", null, false],
      ["Client", "client", null, false],
      ["Outcome", "outcome", null, false],
      ["Tokens in", "input_tokens_original", integer, true],
      ["Tokens out", "input_tokens_optimized", integer, true],
      ["Saved", (r) => r.savings_percent / 100, percent, true],
      ["$ saved", "cost_saved_usd", dollars, true],
      ["Latency", (r) => r.total_latency_ms, (ms) => ms.toFixed(1) + " ms", true],
    ], recent);
  }

  function rememberTeams(stats) {
    (stats.by_team || []).forEach((row) => { if (row.team) knownTeams.add(row.team); });
    const select = $("team");
    const chosen = select.value;
    const options = [["", "all teams"]].concat([...knownTeams].sort().map((t) => [t, t]));
    select.replaceChildren(...options.map(([value, text]) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = text;
      return option;
    }));
    select.value = chosen;
  }

  function query() {
    const params = new URLSearchParams();
    if ($("window").value) params.set("window", $("window").value);
    if ($("team").value) params.set("team", $("team").value);
    const text = params.toString();
    return text ? "?" + text : "";
  }

  async function load() {
    status("loading", "loading…");
    const q = query();
    try {
      const [stats, insights] = await Promise.all([api("/stats" + q), api("/stats/insights" + q)]);
      showKpis(stats.body);
      chart(stats.body.hourly || []);
      showTables(stats.body, insights.body);
      rememberTeams(stats.body);
      $("generated").textContent = "as of " + (stats.body.generated_at || "").slice(0, 19).replace("T", " ") + " UTC";
      document.body.dataset.loaded = q || "?";
      status("ready", "");
      // Navigation start to numbers on screen, for the first-paint benchmark.
      if (!performance.getEntriesByName("dashboard-ready").length) performance.mark("dashboard-ready");
    } catch (error) {
      status("error", error.status === 401 ? "the gateway refused the token: enter the operator token" : String(error.message));
    }
  }

  // --- playground ------------------------------------------------------------------------------

  const EXAMPLES = {
    "kubectl get pods -o json": () => JSON.stringify({
      apiVersion: "v1", kind: "List",
      items: Array.from({ length: 120 }, (_, i) => ({
        metadata: { name: "api-" + (7000 + i) + "-x" + (i % 7), namespace: "prod",
                    labels: { app: "api", tier: i % 3 ? "web" : "worker" } },
        status: { phase: i === 42 ? "CrashLoopBackOff" : "Running", restartCount: i === 42 ? 17 : 0,
                  podIP: "10.0." + Math.floor(i / 250) + "." + (i % 250), hostIP: "10.1.0." + (i % 9) },
      })),
    }, null, 2),
    "pytest -v": () => Array.from({ length: 240 }, (_, i) =>
      "tests/test_api.py::test_case_" + i + (i === 117 ? " FAILED" : " PASSED") + " [" + Math.floor(i / 2.4) + "%]")
      .concat(["", "=================================== FAILURES ===================================",
               "____ test_case_117 ____", "E   AssertionError: expected 200, got 503",
               "=========== 1 failed, 239 passed in 12.34s ==========="]).join("\n"),
    "grep -rn": () => Array.from({ length: 160 }, (_, i) =>
      "src/service/module_" + (i % 12) + ".py:" + (10 + i * 3) + ":    value = store.get(key_" + i + ")").join("\n"),
  };

  function initPlayground() {
    const select = $("example");
    select.replaceChildren(...Object.keys(EXAMPLES).map((name) => {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      return option;
    }));
    $("input").value = EXAMPLES[select.value]();
    select.addEventListener("change", () => { $("input").value = EXAMPLES[select.value](); });
    $("compress").addEventListener("click", compress);
  }

  async function compress() {
    const text = $("input").value;
    const mode = $("mode").value;
    const body = {
      model: "claude-sonnet-4-5",
      messages: [
        { role: "user", content: "Run the command and tell me what is wrong." },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_playground", name: "Bash",
                                         input: { command: $("example").value } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_playground", content: text }] },
      ],
    };
    if (mode === "ccr") body.config = { mode: "ccr" };
    $("ccr").classList.add("hidden");
    status("loading", "compressing…");
    try {
      const answer = await api("/v1/compress", {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const result = answer.body;
      const block = result.messages[2].content[0];
      const compressed = typeof block.content === "string" ? block.content
        : block.content.map((part) => part.text || "").join("");
      $("output").textContent = compressed;
      const saved = $("savings");
      saved.dataset.tokensBefore = String(result.tokens_before);
      saved.dataset.tokensAfter = String(result.tokens_after);
      saved.dataset.tokensSaved = String(result.tokens_saved);
      saved.textContent = integer(result.tokens_before) + " → " + integer(result.tokens_after) +
        " tokens: " + integer(result.tokens_saved) + " saved (" +
        percent(ratio(result.tokens_saved, result.tokens_before) || 0) + "), " +
        (answer.headers.get("x-headroom-outcome") || "") + ", " +
        (result.transforms_applied.join(", ") || "no transform");
      if (mode === "ccr") await showOriginal(compressed, text);
      status("ready", "");
    } catch (error) {
      status("error", error.status === 401 ? "the gateway refused the token" : String(error.message));
    }
  }

  async function showOriginal(compressed, text) {
    const match = /Retrieve original: hash=([0-9a-f]{24})/.exec(compressed);
    $("ccr").classList.remove("hidden");
    $("marker").textContent = match ? match[0] : "none: this output was compressed losslessly";
    $("retrieved").textContent = "";
    const check = $("retrieved-check");
    check.dataset.match = "";
    check.textContent = "";
    if (!match) return;
    const original = await api("/v1/retrieve/" + match[1]);
    $("retrieved").textContent = original.body.original_content;
    const same = original.body.original_content === text;
    check.dataset.match = String(same);
    check.textContent = same ? "GET /v1/retrieve/" + match[1] + " returns the original, byte for byte"
      : "the retrieved original differs from the input";
  }

  // --- wiring ----------------------------------------------------------------------------------

  function showTab(name) {
    ["overview", "playground"].forEach((tab) => {
      $(tab).classList.toggle("hidden", tab !== name);
      $("tab-" + tab).classList.toggle("active", tab === name);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".tab").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
    $("auth").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
      load();
    });
    $("window").addEventListener("change", load);
    $("team").addEventListener("change", load);
    $("refresh").addEventListener("click", load);
    initPlayground();
    if (token()) {
      $("token").value = token();
      load();
    } else {
      status("idle", "enter the operator token to load the numbers");
    }
  });
})();
