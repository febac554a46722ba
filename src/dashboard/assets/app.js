"use strict";
// The dashboard page. Polls the API every 2 s and renders with textContent only: keys and
// reasons are data, never markup. State-changing calls are same-origin fetches (the server
// checks the Origin and the session cookie).
(function () {
  const POLL_MS = 2000;
  const $ = (id) => document.getElementById(id);
  let overview = null;
  let lastUploads = "";
  let lastDlq = "";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") node.textContent = value;
      else if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function bytes(n) {
    if (n == null) return "–";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
  }

  function millis(ms) {
    if (ms == null || ms < 0) return "–";
    return ms < 1000 ? ms + " ms" : (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
  }

  function when(ms) {
    if (!ms) return "–";
    const d = new Date(ms);
    const age = (Date.now() - ms) / 1000;
    if (age < 60) return Math.max(0, Math.round(age)) + " s ago";
    if (age < 3600) return Math.round(age / 60) + " min ago";
    return d.toLocaleString();
  }

  function objectUrl(bucket, key) {
    return "/ui/api/object?bucket=" + encodeURIComponent(bucket) + "&key=" + encodeURIComponent(key);
  }

  async function api(path, options) {
    const response = await fetch("/ui/api/" + path, Object.assign({ credentials: "same-origin" }, options));
    if (response.status === 401) {
      window.location.assign("/ui/");
      throw new Error("session ended");
    }
    let body = null;
    try { body = await response.json(); } catch (e) { /* no JSON */ }
    if (!response.ok) throw new Error((body && body.message) || "HTTP " + response.status);
    return body;
  }

  function post(path, body) {
    return api(path, { method: "POST", headers: { "Content-Type": "application/json" },
                       body: JSON.stringify(body || {}) });
  }

  // ---- overview ----
  function renderOverview(o) {
    overview = o;
    $("bucket").textContent = "bucket " + o.bucket + " · uploads under " + o.upload_prefix;
    $("upload-prefix").textContent = o.upload_prefix;
    const q = o.queue || {};
    for (const [id, field] of [["q-visible", "visible"], ["q-in-flight", "in_flight"],
                               ["q-delayed", "delayed"], ["q-dlq", "dlq"]]) {
      $(id).textContent = q.error ? "?" : String(q[field]);
    }
    $("q-dlq").classList.toggle("bad", (q.dlq || 0) > 0);
    const a = o.activity;
    $("p50").textContent = millis(a.p50_ms);
    $("p95").textContent = millis(a.p95_ms);
    $("latency-samples").textContent = a.latency_samples + " thumbnail sets in the last 15 min";
    $("totals").textContent = "· since start: " + a.made_total + " made, " + a.failed_total + " failed";
    $("workers").textContent = o.workers.busy + " / " + o.workers.total;
    $("disk").textContent = o.disk ? bytes(o.disk.free_bytes) : "–";
    drawChart($("rate-chart"), a.made_per_second, a.failed_per_second);
  }

  function drawChart(canvas, made, failed) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 600;
    const height = canvas.clientHeight || 120;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    const g = canvas.getContext("2d");
    g.scale(ratio, ratio);
    g.clearRect(0, 0, width, height);
    const top = Math.max(1, ...made, ...failed);
    const step = width / Math.max(1, made.length);
    g.fillStyle = "#8b949e";
    g.font = "11px system-ui, sans-serif";
    g.fillText(top.toFixed(top < 10 ? 1 : 0) + "/s", 2, 11);
    for (const [series, color] of [[made, "#2f81f7"], [failed, "#d1242f"]]) {
      g.strokeStyle = color;
      g.lineWidth = 1.5;
      g.beginPath();
      series.forEach((v, i) => {
        const x = i * step + step / 2;
        const y = height - 2 - (v / top) * (height - 16);
        if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
      });
      g.stroke();
    }
  }

  // ---- recent uploads ----
  function renderUploads(data) {
    const text = JSON.stringify(data);
    if (text === lastUploads) return;
    lastUploads = text;
    const grid = $("uploads");
    grid.replaceChildren();
    const bucket = overview ? overview.bucket : "";
    for (const u of data.uploads) {
      const thumbs = el("div", { class: "thumbs" });
      for (const t of u.thumbnails) {
        const link = el("a", { href: objectUrl(bucket, t.key), target: "_blank", rel: "noopener",
                               title: t.size + " · " + bytes(t.bytes) });
        link.append(el("img", { src: objectUrl(bucket, t.key), alt: t.size + " thumbnail", loading: "lazy" }));
        thumbs.append(el("figure", {}, link, el("figcaption", { text: t.size })));
      }
      const outcome = el("span", { class: "badge " + u.outcome, text: u.outcome });
      const card = el("article", { class: "upload" },
        el("a", { class: "key mono", href: objectUrl(bucket, u.key), target: "_blank", rel: "noopener",
                  text: u.key, title: u.key }),
        el("p", { class: "muted", text: bytes(u.size) + " · " + when(u.last_modified_ms) }),
        thumbs,
        el("p", {}, outcome, u.reason ? el("span", { class: "reason", text: " " + u.reason }) : null));
      grid.append(card);
    }
    $("uploads-empty").hidden = data.uploads.length > 0;
    $("uploads-note").textContent = data.complete ? "" :
      "(newest among the first " + data.scanned + " keys)";
  }

  // ---- dead letters ----
  function renderDlq(data) {
    const text = JSON.stringify(data);
    if (text === lastDlq) return;
    lastDlq = text;
    const body = $("dlq").tBodies[0];
    body.replaceChildren();
    for (const d of data.dead_letters) {
      const keys = el("td", { class: "mono" });
      if (d.keys.length === 0) keys.append(el("span", { class: "muted", text: d.body || "(not an S3 event)" }));
      for (const k of d.keys) {
        keys.append(el("a", { href: objectUrl(k.bucket, k.key), target: "_blank", rel: "noopener",
                              text: k.key, title: "open the source" }), el("br"));
      }
      const redrive = el("button", { class: "redrive", text: "Redrive" });
      redrive.addEventListener("click", () => act(() => post("dlq/redrive", { ids: [d.id] }), "Redriven."));
      body.append(el("tr", { "data-id": d.id }, keys, el("td", { text: d.reason }),
        el("td", { text: String(d.receive_count) }), el("td", { text: when(d.first_receive_ms) }),
        el("td", { text: when(d.last_receive_ms) }), el("td", {}, redrive)));
    }
    $("dlq-empty").hidden = data.dead_letters.length > 0;
    $("dlq").hidden = data.dead_letters.length === 0;
  }

  async function act(call, done) {
    try {
      const result = await call();
      $("dlq-message").textContent = result && result.redriven != null ? result.redriven + " redriven." : done;
    } catch (e) {
      $("dlq-message").textContent = "Failed: " + e.message;
    }
    refresh();
  }

  // ---- upload ----
  function uploadFiles(files) {
    const prefix = overview ? overview.upload_prefix : "uploads/";
    const folder = $("folder").value.trim().replace(/^\/+|\/+$/g, "");
    for (const file of files) {
      const key = prefix + (folder ? folder + "/" : "") + file.name;
      const bar = el("progress", { max: "100", value: "0" });
      const status = el("span", { class: "muted", text: " " + bytes(file.size) });
      $("upload-list").prepend(el("li", {}, el("span", { class: "mono", text: key }), bar, status));
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", "/ui/api/upload?key=" + encodeURIComponent(key));
      if (file.type) xhr.setRequestHeader("Content-Type", file.type);
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
      });
      xhr.addEventListener("load", () => {
        let message = "";
        try { message = JSON.parse(xhr.responseText).message || ""; } catch (e) { /* not JSON */ }
        const ok = xhr.status === 200;
        bar.value = ok ? 100 : bar.value;
        status.textContent = ok ? " uploaded" : " failed: " + (message || "HTTP " + xhr.status);
        status.className = ok ? "ok-text" : "error";
        refresh();
      });
      xhr.addEventListener("error", () => { status.textContent = " failed: network error"; status.className = "error"; });
      xhr.send(file);
    }
  }

  // ---- wiring ----
  async function refresh() {
    try {
      const [o, u, d] = await Promise.all([api("overview"), api("uploads?limit=24"), api("dlq")]);
      renderOverview(o);
      renderUploads(u);
      renderDlq(d);
      $("live").textContent = "live";
      $("live").className = "pill live";
    } catch (e) {
      $("live").textContent = "stale: " + e.message;
      $("live").className = "pill stale";
    }
  }

  $("file-input").addEventListener("change", (e) => { uploadFiles(e.target.files); e.target.value = ""; });
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => { e.preventDefault(); zone.classList.remove("over"); uploadFiles(e.dataTransfer.files); });
  $("redrive-all").addEventListener("click", () => act(() => post("dlq/redrive", { all: true }), "Redriven."));
  $("purge").addEventListener("click", () => { $("purge-confirm").hidden = false; });
  $("purge-no").addEventListener("click", () => { $("purge-confirm").hidden = true; });
  $("purge-yes").addEventListener("click", () => {
    $("purge-confirm").hidden = true;
    act(() => post("dlq/purge", { confirm: true }), "Purged.");
  });
  $("logout").addEventListener("click", async () => {
    try { await post("logout"); } finally { window.location.assign("/ui/"); }
  });
  refresh();
  setInterval(refresh, POLL_MS);
})();
