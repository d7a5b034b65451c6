// The scorecard: reads each item's inputs into an entry and saves it through ONE outbox.
//
// The outbox keeps one pending change per key (an item, the extras, an upload, a deletion), sends them
// one at a time with fetch() (as htmx fragment requests, so the answers are server-rendered HTML with
// out-of-band parts), retries network failures with backoff until acknowledged, and keeps the pending
// changes (and the version each was based on) in localStorage so a reload or a dead battery loses
// nothing. A 409 is never retried: the item shows the server's value and the user decides.
(function () {
  "use strict";
  var root = document.getElementById("scorecard");
  if (!root) return;

  var editable = root.dataset.editable === "1";
  var STORE = "xj-outbox:v1:" + root.dataset.user + ":" + root.dataset.assessment;
  var BACKOFF = [1000, 2000, 4000, 8000, 15000, 30000];
  var TEXT_DELAY = 700;

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  function byId(id) { return document.getElementById(id); }
  function esc(s) { var d = document.createElement("div"); d.textContent = s; return d.innerHTML; }

  // ---------------------------------------------------------------- outbox state
  // ops: [{key, kind, url, method, body, label, target, seq, paused, error, persist}], known: {key: base}
  var state = { ops: [], known: {} };
  var sending = null;        // the op in flight
  var sentSeq = 0;           // its seq when it left
  var attempt = 0;           // consecutive network failures
  var retryTimer = null;
  var retryAt = 0;
  var lastFailure = "";
  var authLost = false;
  var uid = 0;

  function load() {
    try {
      var raw = JSON.parse(window.localStorage.getItem(STORE) || "null");
      if (raw && Array.isArray(raw.ops)) {
        state.ops = raw.ops.filter(function (o) { return o && o.key && o.persist; });
        state.known = raw.known || {};
      }
    } catch (e) { /* unreadable storage: start empty */ }
  }
  function persist() {
    var ops = state.ops.filter(function (o) { return o.persist; });
    var known = {};
    ops.forEach(function (o) { if (o.key in state.known) known[o.key] = state.known[o.key]; });
    try {
      if (ops.length) window.localStorage.setItem(STORE, JSON.stringify({ ops: ops, known: known, at: Date.now() }));
      else window.localStorage.removeItem(STORE);
    } catch (e) { /* quota or private mode: the page still works, a reload may lose changes */ }
  }
  function find(key) {
    for (var i = 0; i < state.ops.length; i++) if (state.ops[i].key === key) return state.ops[i];
    return null;
  }
  function drop(key) { state.ops = state.ops.filter(function (o) { return o.key !== key; }); }

  function enqueue(op) {
    var cur = find(op.key);
    if (cur) {
      cur.body = op.body;
      cur.seq += 1;
      cur.paused = null;
      cur.error = "";
    } else {
      op.seq = 1;
      op.paused = null;
      op.error = "";
      state.ops.push(op);
    }
    persist();
    refresh();
    pump();
  }

  function schedule(delay) {
    if (retryTimer) clearTimeout(retryTimer);
    retryAt = Date.now() + delay;
    retryTimer = setTimeout(function () { retryTimer = null; pump(); }, delay);
  }

  function pump() {
    if (sending || retryTimer || authLost) return;
    var op = null;
    for (var i = 0; i < state.ops.length; i++) if (!state.ops[i].paused) { op = state.ops[i]; break; }
    if (!op) { refresh(); return; }
    send(op);
  }

  function requestOf(op) {
    var headers = { "X-CSRF-Token": csrf(), "HX-Request": "true", "Accept": "text/html" };
    var body = null;
    if (op.kind === "item") {
      headers["Content-Type"] = "application/json";
      var base = state.known[op.key];
      body = JSON.stringify({ entry: op.body.entry, note: op.body.note, version: base === undefined ? 0 : base });
    } else if (op.kind === "extras") {
      headers["Content-Type"] = "application/json";
      var b = state.known.extras || { version: 1, base: {} };
      body = JSON.stringify(Object.assign({}, op.body, { version: currentVersion() || b.version, base: b.base }));
    } else if (op.kind === "upload") {
      body = new FormData();
      body.append("file", op.file, op.file.name);
    }
    return { method: op.method, headers: headers, body: body, credentials: "same-origin", cache: "no-store" };
  }

  function send(op) {
    sending = op;
    sentSeq = op.seq;
    refresh();
    var req;
    try { req = requestOf(op); } catch (e) { op.paused = "rejected"; op.error = "无法读取要上传的文件"; sending = null; refresh(); return; }
    fetch(op.url, req).then(function (resp) {
      return resp.text().then(function (text) { answer(op, resp, text); });
    }, function () {
      failed(op, "网络连接失败");
    }).catch(function (err) {
      // a bug in handling the answer must not stall the queue
      if (window.console) console.warn("outbox", err);
      failed(op, "处理服务器响应时出错");
    });
  }

  function failed(op, why) {
    sending = null;
    lastFailure = why;
    var delay = BACKOFF[Math.min(attempt, BACKOFF.length - 1)];
    attempt += 1;
    op.error = why;
    schedule(delay + Math.floor(Math.random() * 400));
    refresh();
  }

  function answer(op, resp, text) {
    sending = null;
    var s = resp.status;
    if (resp.headers.get("HX-Redirect")) {
      // the session ended: the server answers every request with a redirect to the login page
      authLost = true;
      op.error = "登录已过期";
    } else if (s >= 200 && s < 300) {
      attempt = 0;
      lastFailure = "";
      clearError(op);
      applyFragment(op, text);
      fireTriggers(resp.headers.get("HX-Trigger"));
      if (op.seq === sentSeq) drop(op.key);  // else: changed again meanwhile, resend on the new version
      else op.error = "";
      markSaved(op);
    } else if (s === 409) {
      attempt = 0;
      op.paused = "conflict";
      applyFragment(op, text);
      var box = byId("conflict-" + keyId(op.key));
      if (box) box.hidden = false;
    } else if (s === 401) {
      authLost = true;
      op.error = "登录已过期";
    } else if (s === 408 || s === 429 || s >= 500) {
      failed(op, "服务器暂时无法处理（" + s + "）");
      return;
    } else {
      // 403, 404, 413, 415, 422, 423: retrying the same thing cannot help; the user must change it
      attempt = 0;
      op.paused = "rejected";
      op.error = messageOf(text) || ("保存失败（" + s + "）");
      if (s === 422 || s === 413) applyFragment(op, text);
      showError(op);
      if (op.kind === "upload" || op.kind === "delete") drop(op.key);
    }
    persist();
    refresh();
    pump();
  }

  function messageOf(html) {
    var box = document.createElement("div");
    box.innerHTML = html;
    var el = box.querySelector(".item-error, .toast, .alert, p");
    return el ? el.textContent.trim() : "";
  }

  function applyFragment(op, html) {
    if (!html || !window.htmx) return;
    var target = byId(op.target) || root;
    window.htmx.swap(target, html, { swapStyle: "none" });
    var code = keyId(op.key);
    if (op.kind === "item") {
      var st = byId("status-" + code);
      if (st && st.dataset.version !== undefined) {
        if (op.paused !== "conflict") state.known[op.key] = parseInt(st.dataset.version, 10);
      }
      var err = byId("error-" + code);
      if (err) err.hidden = !err.textContent.trim();
    } else if (op.kind === "extras") {
      var es = byId("extras-status");
      if (es && op.paused !== "conflict") state.known.extras = { version: parseInt(es.dataset.version, 10), base: parseJSON(es.dataset.base) };
      var e2 = byId("error-extras");
      if (e2) e2.hidden = !e2.textContent.trim();
    } else if (op.itemCode) {
      var e3 = byId("error-" + op.itemCode);
      if (e3) e3.hidden = !e3.textContent.trim();
    }
  }

  function fireTriggers(header) {
    if (!header) return;
    var events;
    try { events = JSON.parse(header); } catch (e) { events = {}; events[header] = null; }
    Object.keys(events).forEach(function (name) {
      document.body.dispatchEvent(new CustomEvent(name, { bubbles: true, detail: events[name] }));
    });
  }

  function parseJSON(s) { try { return JSON.parse(s || "{}"); } catch (e) { return {}; } }
  function keyId(key) { return key.indexOf("item:") === 0 ? key.slice(5) : (key === "extras" ? "extras" : key); }
  function currentVersion() {
    var bar = byId("totals-bar");
    return bar ? parseInt(bar.dataset.version, 10) : 0;
  }

  // ---------------------------------------------------------------- visible state
  var justSaved = {};
  function markSaved(op) { justSaved[op.key] = true; }

  function stateEl(key) {
    if (key === "extras") { var s = byId("extras"); return s ? s.querySelector(".save-state") : null; }
    if (key.indexOf("item:") !== 0) return null;
    var it = byId("item-" + key.slice(5));
    return it ? it.querySelector(".save-state") : null;
  }

  function setState(el, kind, text) {
    if (!el) return;
    if (el.dataset.state === kind && el.textContent === text) return;
    el.dataset.state = kind;
    el.textContent = text;
  }

  function refresh() {
    var keys = {};
    state.ops.forEach(function (op) {
      keys[op.key] = true;
      var el = stateEl(op.key);
      if (sending === op) setState(el, "saving", "保存中…");
      else if (op.paused === "conflict") setState(el, "conflict", "有冲突·未保存");
      else if (op.paused === "rejected") setState(el, "failed", "保存失败·未保存");
      else if (op.error) setState(el, "failed", "保存失败·未保存");
      else setState(el, "pending", "未保存");
    });
    Object.keys(justSaved).forEach(function (key) {
      if (!keys[key]) { setState(stateEl(key), "saved", "已保存"); delete justSaved[key]; }
    });
    banner();
    submitGate();
  }

  function banner() {
    var box = byId("outbox-banner");
    if (!box) return;
    var pending = state.ops;
    if (!pending.length && !authLost) { box.hidden = true; box.innerHTML = ""; box.className = "outbox-banner"; return; }
    var conflicts = pending.filter(function (o) { return o.paused === "conflict"; }).length;
    var rejected = pending.filter(function (o) { return o.paused === "rejected"; }).length;
    var offline = !navigator.onLine || (lastFailure && !sending);
    var html = "<strong>有 " + pending.length + " 项修改尚未保存：</strong>";
    html += "<span class=\"ob-items\">" + pending.map(function (o) {
      return "<a href=\"#" + esc(anchorOf(o)) + "\" class=\"ob-item\">" + esc(o.label) + "</a>";
    }).join("、") + "</span>";
    var notes = [];
    if (authLost) notes.push("登录已过期：请在新标签页重新登录，再刷新本页；未保存的修改留在本机，不会丢失");
    else if (offline) notes.push("网络不通，修改已保存在本机，恢复后自动上传" + (retryTimer ? "（" + Math.max(1, Math.round((retryAt - Date.now()) / 1000)) + " 秒后重试）" : ""));
    else if (sending || pending.some(function (o) { return !o.paused; })) notes.push("正在保存……");
    if (conflicts) notes.push(conflicts + " 项与他人的修改冲突，请在该项中选择保留哪一方");
    if (rejected) notes.push(rejected + " 项未被接受，请按提示修改");
    html += "<span class=\"ob-note\">" + esc(notes.join("；")) + "</span>";
    if (offline || authLost) html += " <button type=\"button\" class=\"btn\" data-act=\"retry\">立即重试</button>";
    if (rejected) html += " <button type=\"button\" class=\"btn\" data-act=\"discard\">放弃未被接受的修改</button>";
    box.innerHTML = html;
    box.className = "outbox-banner" + (conflicts || rejected || offline || authLost ? " bad" : "");
    box.hidden = false;
  }
  function anchorOf(op) {
    if (op.key === "extras") return "extras";
    if (op.itemCode) return "item-" + op.itemCode;
    return "item-" + keyId(op.key);
  }

  function submitGate() {
    var btn = byId("submit-btn");
    if (!btn) return;
    var busy = state.ops.length > 0 || !!root.querySelector(".invalid");
    btn.disabled = busy;
    var hint = root.querySelector(".submit-hint");
    if (hint) hint.hidden = !busy;
  }

  function errorEl(op) {
    return byId(op.kind === "extras" ? "error-extras" : "error-" + (op.itemCode || keyId(op.key)));
  }
  function clearError(op) {
    var el = errorEl(op);
    if (el && op.kind !== "upload" && op.kind !== "delete") { el.textContent = ""; el.hidden = true; }
  }

  function showError(op) {
    var id = op.kind === "extras" ? "error-extras" : "error-" + (op.itemCode || keyId(op.key));
    var el = byId(id);
    if (el && op.error) { el.textContent = op.error; el.hidden = false; }
  }

  // ---------------------------------------------------------------- reading and writing an item's inputs
  function readItem(el) {
    var entry = {};
    if (el.dataset.mode === "points") {
      var v = el.querySelector(".points").value.trim();
      if (v !== "") entry.points = v;
    } else {
      var hits = [];
      el.querySelectorAll(".preset").forEach(function (p) {
        if (p.dataset.kind === "fixed") {
          if (p.querySelector('[data-act="toggle"]').getAttribute("aria-pressed") === "true") hits.push({ code: p.dataset.code, count: "1" });
        } else {
          var c = p.querySelector(".count").value.trim();
          if (c !== "" && Number(c) > 0) hits.push({ code: p.dataset.code, count: c });
        }
      });
      if (hits.length) entry.deductions = hits;
      var discs = [];
      el.querySelectorAll(".disc").forEach(function (d) {
        var pts = d.querySelector(".disc-points").value.trim();
        if (pts !== "" && Number(pts) > 0) discs.push({ points: pts, reason: d.querySelector(".disc-reason").value.trim() });
      });
      if (discs.length) entry.discretionary = discs;
    }
    var note = el.querySelector(".note-input");
    return { entry: entry, note: note && note.value.trim() ? note.value.trim() : null };
  }

  function writeItem(el, body) {
    var entry = body.entry || {};
    if (el.dataset.mode === "points") {
      el.querySelector(".points").value = entry.points === undefined ? "" : entry.points;
    } else {
      var hits = {};
      (entry.deductions || []).forEach(function (h) { hits[h.code] = h.count; });
      el.querySelectorAll(".preset").forEach(function (p) {
        var c = hits[p.dataset.code];
        if (p.dataset.kind === "fixed") p.querySelector('[data-act="toggle"]').setAttribute("aria-pressed", c ? "true" : "false");
        else p.querySelector(".count").value = c || "";
        p.classList.toggle("on", !!c);
      });
      var list = el.querySelector(".disc-list");
      if (list) {
        list.innerHTML = "";
        (entry.discretionary || []).forEach(function (d) {
          var row = newDisc(el);
          if (!row) return;
          row.querySelector(".disc-points").value = d.points;
          row.querySelector(".disc-reason").value = d.reason || "";
        });
      }
    }
    var note = el.querySelector(".note-input");
    if (note) note.value = body.note || "";
    syncChips(el);
  }

  function newDisc(el) {
    var tpl = el.querySelector("template.disc-template");
    var list = el.querySelector(".disc-list");
    if (!tpl || !list) return null;
    list.appendChild(tpl.content.cloneNode(true));
    return list.lastElementChild;
  }

  function decimals(step) { var s = String(step); return s.indexOf(".") < 0 ? 0 : s.length - s.indexOf(".") - 1; }
  function fmt(x, step) { var d = decimals(step); return String(Number(x.toFixed(d))); }

  // Client-side checks that mirror the server's, so nothing the server would refuse leaves the tablet.
  function validate(el) {
    var problems = [];
    if (el.dataset.mode === "points") {
      var raw = el.querySelector(".points").value.trim();
      if (raw !== "") {
        var v = Number(raw), max = Number(el.dataset.max), step = Number(el.dataset.step);
        if (isNaN(v)) problems.push("得分须为数字");
        else if (v < 0 || v > max) problems.push("得分须在 0 至 " + el.dataset.max + " 之间");
        else if (Math.abs(v / step - Math.round(v / step)) > 1e-9) problems.push("得分须为 " + el.dataset.step + " 的整数倍");
      }
    }
    el.querySelectorAll(".disc").forEach(function (d) {
      var pts = d.querySelector(".disc-points").value.trim();
      var reason = d.querySelector(".disc-reason").value.trim();
      d.classList.toggle("has-error", pts !== "" && Number(pts) > 0 && !reason);
      if (pts !== "" && Number(pts) > 0 && !reason) problems.push("酌情扣分须写明理由");
      if (pts !== "" && !(Number(pts) > 0)) problems.push("酌情扣分的分值须大于 0");
    });
    el.querySelectorAll(".preset .count").forEach(function (c) {
      if (c.value.trim() !== "" && (isNaN(Number(c.value)) || Number(c.value) < 0)) problems.push("次数须为正数");
    });
    var err = el.querySelector(".item-error");
    el.classList.toggle("invalid", problems.length > 0);
    if (err) { err.textContent = problems.join("；"); err.hidden = !problems.length; }
    if (problems.length) setState(el.querySelector(".save-state"), "failed", "未保存·" + problems[0]);
    return problems.length === 0;
  }

  function syncChips(el) {
    var input = el.querySelector(".points");
    if (!input) return;
    el.querySelectorAll(".chip[data-value]").forEach(function (c) {
      c.classList.toggle("on", input.value !== "" && Number(c.dataset.value) === Number(input.value));
    });
  }

  var timers = {};
  function changed(el, delay) {
    var code = el.dataset.item;
    if (timers[code]) { clearTimeout(timers[code]); delete timers[code]; }
    var go = function () {
      delete timers[code];
      if (!validate(el)) { submitGate(); return; }
      enqueue({
        key: "item:" + code, kind: "item", method: "PUT", url: el.dataset.url, body: readItem(el),
        label: el.dataset.label, target: "item-" + code, persist: true
      });
    };
    if (delay) {
      setState(el.querySelector(".save-state"), "pending", "未保存");
      timers[code] = setTimeout(go, delay);
    } else go();
  }

  function readExtras(sec) {
    var vetoes = {};
    sec.querySelectorAll(".veto").forEach(function (v) {
      if (v.querySelector('[data-act="toggle-veto"]').getAttribute("aria-pressed") === "true") {
        vetoes[v.dataset.code] = v.querySelector(".veto-reason").value.trim();
      }
    });
    var prereqs = [];
    sec.querySelectorAll(".prereq:checked").forEach(function (c) { prereqs.push(c.value); });
    var appraisal = null;
    var votes = sec.querySelectorAll(".vote");
    if (votes.length) {
      var any = false, obj = {};
      votes.forEach(function (v) { if (v.value.trim() !== "") any = true; obj[v.dataset.key] = parseInt(v.value || "0", 10) || 0; });
      appraisal = any ? obj : null;
    }
    var direct = sec.querySelector(".appraisal-direct");
    if (direct && direct.value.trim() !== "") appraisal = direct.value.trim();
    return { vetoes: vetoes, prerequisites: prereqs, appraisal: appraisal };
  }

  function writeExtras(sec, body) {
    sec.querySelectorAll(".veto").forEach(function (v) {
      var on = Object.prototype.hasOwnProperty.call(body.vetoes || {}, v.dataset.code);
      v.querySelector('[data-act="toggle-veto"]').setAttribute("aria-pressed", on ? "true" : "false");
      var r = v.querySelector(".veto-reason");
      r.hidden = !on;
      r.value = on ? body.vetoes[v.dataset.code] : "";
      v.classList.toggle("on", on);
    });
    sec.querySelectorAll(".prereq").forEach(function (c) { c.checked = (body.prerequisites || []).indexOf(c.value) >= 0; });
    var a = body.appraisal;
    sec.querySelectorAll(".vote").forEach(function (v) { v.value = a && typeof a === "object" ? (a[v.dataset.key] === undefined ? "" : a[v.dataset.key]) : ""; });
    var direct = sec.querySelector(".appraisal-direct");
    if (direct) direct.value = a !== null && a !== undefined && typeof a !== "object" ? a : "";
  }

  function extrasChanged(sec, delay) {
    if (timers.extras) { clearTimeout(timers.extras); delete timers.extras; }
    var go = function () {
      delete timers.extras;
      var body = readExtras(sec);
      var missing = Object.keys(body.vetoes).filter(function (k) { return !body.vetoes[k]; });
      sec.querySelectorAll(".veto").forEach(function (v) {
        v.classList.toggle("has-error", missing.indexOf(v.dataset.code) >= 0);
      });
      var err = byId("error-extras");
      if (missing.length) {
        sec.classList.add("invalid");
        if (err) { err.textContent = "一票否决须写明事实与依据"; err.hidden = false; }
        setState(sec.querySelector(".save-state"), "failed", "未保存·须写明否决依据");
        submitGate();
        return;
      }
      sec.classList.remove("invalid");
      if (err) { err.textContent = ""; err.hidden = true; }
      enqueue({
        key: "extras", kind: "extras", method: "PUT", url: sec.dataset.url, body: body,
        label: sec.dataset.label, target: "extras", persist: true
      });
    };
    if (delay) { setState(sec.querySelector(".save-state"), "pending", "未保存"); timers.extras = setTimeout(go, delay); }
    else go();
  }

  // ---------------------------------------------------------------- events
  root.addEventListener("click", function (evt) {
    var btn = evt.target.closest("[data-act]");
    if (!btn || !root.contains(btn)) return;
    var act = btn.dataset.act;
    if (act === "explain") { toggleExplain(); return; }
    if (act === "retry") { authLost = false; attempt = 0; if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; } pump(); refresh(); return; }
    if (act === "discard") {
      if (!window.confirm("放弃未被接受的修改？这些修改将不会保存。")) return;
      state.ops = state.ops.filter(function (o) { return o.paused !== "rejected"; });
      persist();
      window.location.reload();
      return;
    }
    if (!editable) return;
    var item = btn.closest(".item");
    var sec = btn.closest("#extras");
    if (act === "keep-mine" || act === "take-theirs") { resolveConflict(btn, act, item, sec); return; }
    if (act === "delete-evidence") { deleteEvidence(btn, item); return; }
    if (act === "toggle-veto" && sec) {
      var on = btn.getAttribute("aria-pressed") !== "true";
      btn.setAttribute("aria-pressed", on ? "true" : "false");
      var v = btn.closest(".veto");
      v.classList.toggle("on", on);
      var reason = v.querySelector(".veto-reason");
      reason.hidden = !on;
      if (on) { reason.focus(); extrasChanged(sec, 0); } else extrasChanged(sec, 0);
      return;
    }
    if (!item) return;
    if (act === "set") {
      item.querySelector(".points").value = btn.dataset.value;
    } else if (act === "inc" || act === "dec") {
      var sign = act === "inc" ? 1 : -1;
      var preset = btn.closest(".preset");
      if (preset) {
        var c = preset.querySelector(".count");
        var n = Math.max(0, (Number(c.value) || 0) + sign);
        c.value = n ? String(n) : "";
        preset.classList.toggle("on", n > 0);
      } else {
        var input = item.querySelector(".points");
        var step = Number(item.dataset.step), max = Number(item.dataset.max);
        var cur = input.value === "" ? (sign > 0 ? -step : max + step) : Number(input.value);
        var next = Math.min(max, Math.max(0, Math.round((cur + sign * step) / step) * step));
        input.value = fmt(next, item.dataset.step);
      }
    } else if (act === "toggle") {
      var pressed = btn.getAttribute("aria-pressed") !== "true";
      btn.setAttribute("aria-pressed", pressed ? "true" : "false");
      btn.closest(".preset").classList.toggle("on", pressed);
    } else if (act === "add-disc") {
      var row = newDisc(item);
      if (row) row.querySelector(".disc-points").focus();
      return;  // nothing to save until points are entered
    } else if (act === "remove-disc") {
      btn.closest(".disc").remove();
    } else if (act === "clear") {
      item.querySelectorAll(".preset").forEach(function (p) {
        var t = p.querySelector('[data-act="toggle"]');
        if (t) t.setAttribute("aria-pressed", "false");
        var cnt = p.querySelector(".count");
        if (cnt) cnt.value = "";
        p.classList.remove("on");
      });
      var list = item.querySelector(".disc-list");
      if (list) list.innerHTML = "";
    } else {
      return;
    }
    syncChips(item);
    changed(item, 0);
  });

  root.addEventListener("input", function (evt) {
    if (!editable) return;
    var t = evt.target;
    var sec = t.closest("#extras");
    if (sec) { extrasChanged(sec, TEXT_DELAY); return; }
    var item = t.closest(".item");
    if (!item || t.type === "file") return;
    if (t.classList.contains("points")) syncChips(item);
    changed(item, TEXT_DELAY);
  });

  root.addEventListener("change", function (evt) {
    if (!editable) return;
    var t = evt.target;
    if (t.classList.contains("ev-input")) { upload(t); return; }
    var sec = t.closest("#extras");
    if (sec) { extrasChanged(sec, 0); return; }
    var item = t.closest(".item");
    if (item) changed(item, 0);
  });

  // ---------------------------------------------------------------- conflicts
  function resolveConflict(btn, act, item, sec) {
    var key = sec ? "extras" : "item:" + item.dataset.item;
    var box = btn.closest(".sc-conflict");
    var op = find(key);
    if (act === "keep-mine") {
      if (sec) state.known.extras = { version: parseInt(box.dataset.version, 10), base: parseJSON(box.dataset.base) };
      else state.known[key] = parseInt(box.dataset.version, 10);
      if (op) { op.paused = null; op.error = ""; }
      box.hidden = true;
      box.innerHTML = "";
      persist();
      refresh();
      pump();
      return;
    }
    // take theirs: forget the local change and reload the editor as the server has it
    drop(key);
    persist();
    var url = sec ? sec.dataset.url : item.dataset.url;
    fetch(url, { headers: { "HX-Request": "true", "Accept": "text/html" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var target = sec || item;
        window.htmx.swap(target, html, { swapStyle: "outerHTML" });
        if (sec) {
          var es = byId("extras-status");
          if (es) state.known.extras = { version: parseInt(es.dataset.version, 10), base: parseJSON(es.dataset.base) };
          setState(byId("extras").querySelector(".save-state"), "saved", "已采用对方的修改");
        } else {
          var fresh = byId("item-" + item.dataset.item);
          state.known[key] = parseInt(fresh.dataset.version, 10);
          setState(fresh.querySelector(".save-state"), "saved", "已采用对方的修改");
        }
        refresh();
        reloadTotals();
      }, function () {
        var op2 = { key: key, paused: "rejected", error: "无法载入对方的修改，请检查网络后刷新页面" };
        if (box) box.insertAdjacentHTML("beforeend", "<p class=\"item-error\">" + esc(op2.error) + "</p>");
      });
  }

  function reloadTotals() {
    var bar = byId("totals-bar");
    if (!bar || !window.htmx) return;
    window.htmx.ajax("GET", "/assessments/" + root.dataset.assessment + "/totals", { target: "#totals-bar", swap: "outerHTML" });
  }

  // ---------------------------------------------------------------- evidence
  function upload(input) {
    var item = input.closest(".item");
    if (!item || !input.files || !input.files.length) return;
    var limit = 10 * 1024 * 1024;
    Array.prototype.forEach.call(input.files, function (file) {
      var code = item.dataset.item;
      if (file.size > limit) {
        var err = byId("error-" + code);
        if (err) { err.textContent = "“" + file.name + "”超过 10 MB，请压缩后再上传"; err.hidden = false; }
        return;
      }
      uid += 1;
      enqueue({
        key: "upload:" + code + ":" + Date.now() + ":" + uid, kind: "upload", method: "POST", url: input.dataset.url,
        file: file, body: null, label: item.dataset.label + " 的佐证材料", target: "item-" + code, itemCode: code, persist: false
      });
    });
    input.value = "";
  }

  function deleteEvidence(btn, item) {
    if (!window.confirm("删除佐证材料“" + (btn.dataset.name || "") + "”？")) return;
    var fig = btn.closest(".ev");
    if (fig) fig.classList.add("deleting");
    enqueue({
      key: "delete:" + btn.dataset.url, kind: "delete", method: "DELETE", url: btn.dataset.url, body: null,
      label: item.dataset.label + " 的佐证材料（删除）", target: "item-" + item.dataset.item, itemCode: item.dataset.item, persist: true
    });
  }

  // ---------------------------------------------------------------- explanation and submission
  var panel = byId("explain-panel");
  function explainOpen() { return panel && !panel.hidden; }
  function loadExplain() {
    if (window.htmx) window.htmx.ajax("GET", root.dataset.explainUrl, { target: "#explain-body", swap: "innerHTML" });
  }
  function toggleExplain() {
    if (!panel) return;
    panel.hidden = !panel.hidden;
    root.querySelectorAll('[data-act="explain"]').forEach(function (b) { b.setAttribute("aria-expanded", String(!panel.hidden)); });
    if (!panel.hidden) loadExplain();
  }
  document.body.addEventListener("score-saved", function () {
    var bar = byId("totals-bar");
    if (bar) bar.querySelectorAll('[data-act="explain"]').forEach(function (b) { b.setAttribute("aria-expanded", String(explainOpen())); });
    var form = root.querySelector(".submit-form .version-input");
    if (form && bar) form.value = bar.dataset.version;
    if (explainOpen()) loadExplain();
  });

  // Submitting waits for the outbox and asks once (capture phase: before htmx sees the event).
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.classList || !form.classList.contains("submit-form")) return;
    if (state.ops.length || root.querySelector(".invalid")) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
      submitGate();
      return;
    }
    var bar = byId("totals-bar");
    var v = form.querySelector(".version-input");
    if (bar && v) v.value = bar.dataset.version;
    if (form.dataset.ask && !window.confirm(form.dataset.ask)) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
    }
  }, true);

  document.body.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail && evt.detail.target && evt.detail.target.id === "submit-problems") {
      var box = evt.detail.target.querySelector(".problems");
      if (box) { box.scrollIntoView({ block: "start" }); box.focus({ preventScroll: true }); }
    }
  });

  // ---------------------------------------------------------------- start
  window.addEventListener("online", function () {
    attempt = 0;
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    pump();
  });
  window.addEventListener("offline", refresh);
  setInterval(function () { if (retryTimer || state.ops.length) banner(); }, 1000);
  window.addEventListener("beforeunload", function (evt) {
    // Saves survive in localStorage; only file uploads live in memory.
    if (state.ops.some(function (o) { return !o.persist; })) { evt.preventDefault(); evt.returnValue = ""; }
  });

  load();
  state.ops.forEach(function (op) { op.paused = null; op.error = ""; });  // a reload retries everything once
  // Restore what was typed before the reload: show it in the inputs, keep the version it was based on.
  state.ops.forEach(function (op) {
    if (op.kind === "item") {
      var el = byId("item-" + keyId(op.key));
      if (el) writeItem(el, op.body);
      else drop(op.key);
    } else if (op.kind === "extras") {
      var sec = byId("extras");
      if (sec) writeExtras(sec, op.body);
    }
  });
  root.querySelectorAll(".item").forEach(function (el) {
    var key = "item:" + el.dataset.item;
    if (!(key in state.known) || !find(key)) state.known[key] = parseInt(el.dataset.version, 10) || 0;
    syncChips(el);
  });
  var es = byId("extras-status");
  if (es && !find("extras")) state.known.extras = { version: parseInt(es.dataset.version, 10), base: parseJSON(es.dataset.base) };
  if (!editable && state.ops.length) {
    // The card became read-only (submitted, locked): what is left cannot be saved here any more.
    state.ops.forEach(function (op) { op.paused = "rejected"; op.error = "评分表已不能修改"; });
  }
  refresh();
  pump();
})();
