// The cashier app. Every action is one call of /api (one D-Bus call of
// posd); the screen follows posd through /api/events. Text goes in through
// textContent only: nothing from the bus is ever parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
let lang = localStorage.getItem("lang") || null;
let state = null;          // the last /api/state
let typed = "";            // the amount being typed, in yuan ("12.3")
let pinCount = 0;
let busyWith = null;       // "sale", "void", … while a call runs
let lastResult = null;

function t(key, args) {
  const table = TEXTS[lang] || TEXTS.zh;
  let s = table[key] !== undefined ? table[key] : (TEXTS.en[key] !== undefined ? TEXTS.en[key] : key);
  for (const [k, v] of Object.entries(args || {})) s = s.split("{" + k + "}").join(String(v));
  return s;
}

function yuan(fen) {
  const n = Number(fen || 0);
  const sign = n < 0 ? "-" : "";
  const a = Math.abs(n);
  return sign + "¥" + Math.floor(a / 100).toLocaleString("en-US") + "." + String(a % 100).padStart(2, "0");
}

function age(seconds) {
  const s = Number(seconds || 0);
  if (s < 60) return t("age.s", { n: s });
  if (s < 3600) return t("age.m", { n: Math.floor(s / 60) });
  if (s < 86400) return t("age.h", { n: Math.floor(s / 3600) });
  return t("age.d", { n: Math.floor(s / 86400) });
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function show(id, on) { $(id).hidden = !on; }

// ---- calls ----------------------------------------------------------------

class Failure extends Error {
  constructor(name, message) { super(message); this.name = name; }
}

async function api(method, path, body) {
  let response;
  try {
    response = await fetch("/api/" + path, {
      method, headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new Failure("Unreachable", "The cashier app's service does not answer (" + e.message + ").");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const err = data.error || {};
    throw new Failure(err.name || "Other", err.message || ("HTTP " + response.status));
  }
  return data;
}

// ---- static text and language ---------------------------------------------

function applyTexts() {
  document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
  for (const e of document.querySelectorAll("[data-t]")) e.textContent = t(e.dataset.t);
  $("lang").textContent = t("lang.other");
  if (state) render(state);
}

// ---- the state --------------------------------------------------------------

function render(s) {
  // For scripts/bench: when the page first shows posd's state (a user sees a working screen).
  if (!state && performance.mark) performance.mark("state-rendered");
  state = s;
  if (!lang) { lang = s.language === "en" ? "en" : "zh"; applyTexts(); return; }
  const term = s.terminal || {};
  const st = s.posd ? (term.State || "unknown") : "unknown";
  $("merchant-name").textContent = term.MerchantName || "smartpos";
  $("terminal-id").textContent = term.TerminalId ? (t("terminal.tid") + " " + term.TerminalId) : (term.SerialNumber || "");
  const badge = $("status");
  badge.textContent = t("state." + st);
  badge.className = "badge " + st;
  const dot = $("online");
  dot.className = "dot " + (term.Online ? "on" : "off");
  dot.title = t(term.Online ? "online.yes" : "online.no");
  $("banner").hidden = !!s.posd;
  if (!s.posd) $("banner").textContent = t("banner.posd") + ((s.error || {}).message || "");

  const unbound = st === "unbound";
  document.body.classList.toggle("unbound", unbound);
  $("tabs").hidden = unbound;
  if (unbound) { for (const p of document.querySelectorAll(".page")) p.hidden = p.id !== "bind"; }
  else if (!$("bind").hidden) { go("home"); }

  // Home: sign-in, last error, deposit, queue.
  const signed = st === "signed-in" || (st === "busy" && term.SignedInAt);
  $("signin-text").textContent = signed ? t("home.signed", { batch: String(term.Batch || 0).padStart(6, "0") }) : (term.Online === false && st !== "unknown" ? t("home.offline-now") : t("home.not-signed"));
  $("signin").hidden = signed;
  const le = term.LastError || {};
  const box = $("last-error");
  box.hidden = !le.message;
  box.replaceChildren();
  if (le.message) {
    box.append(el("strong", null, errorTitle(categoryError(le.category)) + " "), el("span", null, le.message));
    if (le.remedy && !le.message.includes(le.remedy)) box.append(el("div", null, t("remedy") + le.remedy));
  }
  $("deposit").textContent = depositText(term.Deposit);
  const q = s.queue || {};
  $("queue-badge").textContent = q.Depth ? t("queue.some", { n: q.Depth, amount: yuan(q.Amount) }) : t("queue.none");
  if (!$("offline").hidden) renderQueueSummary();
  if (!$("terminal").hidden) renderTerminal();
}

function depositText(d) {
  if (!d || !d.status) return t("deposit.none");
  return yuan(d.amount) + " · " + t("deposit." + d.status);
}

function categoryError(category) {
  return { network: "Network", device: "Device", host: "Host", binding: "NotBound", operator: "Operator" }[category] || "Other";
}

function errorTitle(name) {
  const key = "err." + name;
  return t(key) === key ? t("err.Other") : t(key);
}

// ---- pages ------------------------------------------------------------------

function go(tab) {
  for (const p of document.querySelectorAll(".page")) p.hidden = p.id !== tab;
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === tab);
  if (tab === "today") loadToday();
  if (tab === "offline") loadQueue();
  if (tab === "terminal") renderTerminal();
}

// ---- amount pad and sale ----------------------------------------------------

function typeKey(k) {
  if (k === "back") typed = typed.slice(0, -1);
  else if (k === ".") { if (!typed.includes(".")) typed = (typed || "0") + "."; }
  else {
    const [whole, cents] = typed.split(".");
    if (cents !== undefined && cents.length >= 2) return;
    if (cents === undefined && whole.length >= 7) return;
    typed = (typed === "0" ? "" : typed) + k;
  }
  $("amount").textContent = yuan(typedFen());
  $("collect").disabled = typedFen() === 0;
}

function typedFen() {
  if (!typed) return 0;
  const [whole, cents] = typed.split(".");
  return Number(whole || 0) * 100 + Number(((cents || "") + "00").slice(0, 2));
}

function startProgress(kind, amount) {
  busyWith = kind;
  pinCount = 0;
  $("progress-kind").textContent = t("progress." + kind);
  $("progress-amount").textContent = amount === undefined ? "" : yuan(amount);
  $("progress-stage").textContent = t(kind === "sale" || kind === "void" || kind === "refund" ? "stage.waiting-card" : "stage." + kind);
  $("pin-dots").textContent = "";
  $("cancel").hidden = !(kind === "sale" || kind === "void" || kind === "refund");
  show("progress", true);
}

function endProgress() { busyWith = null; show("progress", false); }

function onProgress(p) {
  if (!busyWith) return;
  const stage = p.stage;
  const details = p.details || {};
  if (stage === "completed") return;
  if (stage === "pin-digit") {
    pinCount = Number(details.count || 0);
    $("pin-dots").textContent = "●".repeat(Math.min(pinCount, 12));
    $("progress-stage").textContent = t("stage.pin-digit");
    return;
  }
  let key = "stage." + stage;
  if (stage === "waiting-card" && Array.isArray(details.interfaces) && details.interfaces.length === 1 && details.interfaces[0] === "contact") key = "stage.waiting-card.contact";
  $("progress-stage").textContent = t(key) === key ? stage : t(key);
  if (stage === "waiting-pin") $("pin-dots").textContent = "";
}

// A call behind the progress screen; a failure is thrown on (the PIN dialog
// shows a wrong operator PIN itself, before any progress screen stays up).
async function withProgress(kind, amount, path, body) {
  startProgress(kind, amount);
  try {
    return await api("POST", path, body);
  } finally {
    endProgress();
  }
}

// The same, a failure shown as its error screen (null returned).
async function run(kind, amount, path, body) {
  try {
    return await withProgress(kind, amount, path, body);
  } catch (e) {
    showError(e);
    return null;
  }
}

async function sale() {
  const amount = typedFen();
  if (!amount) return;
  const r = await run("sale", amount, "sale", { amount });
  if (r) { typed = ""; $("amount").textContent = yuan(0); showResult(r); }
}

function showResult(r) {
  lastResult = r;
  const ok = r.approved === true;
  $("result-icon").textContent = ok ? "✓" : "✗";
  $("result-icon").className = "icon" + (ok ? "" : " bad");
  $("result-title").textContent = t(ok ? "result.approved" : "result.declined");
  $("result-amount").textContent = yuan(r.amount);
  // A decline in the merchant's words (CUP response codes), posd's own sentence beside it.
  const reason = "decline." + r.response_code;
  const declined = lang === "zh" && t(reason) !== reason ? t(reason) + (r.message ? "（" + r.message + "）" : "") : (r.message || "");
  $("result-note").textContent = ok ? (r.offline ? t("result.offline") : "") : declined;
  $("result-note").hidden = !$("result-note").textContent;
  const d = $("result-details");
  d.replaceChildren();
  const add = (label, value) => { if (value) d.append(el("span", null, label), el("span", null, value)); };
  add(t(r.masked_code ? "result.code" : "result.card"), r.masked_code || r.masked_pan);
  add(t("result.stan"), r.stan ? String(r.stan).padStart(6, "0") : "");
  add(t("result.rrn"), r.rrn);
  add(t("result.auth"), r.auth_code);
  if (!ok) add(t("result.code-label"), r.response_code);
  const printer = ((state || {}).hardware || {}).Printer || {};
  $("result-print").hidden = !(ok && printer.present);
  show("result", true);
}

function showError(e) {
  $("error-title").textContent = errorTitle(e.name);
  $("error-message").textContent = e.message;
  const hint = "hint." + e.name;
  $("error-remedy").textContent = t(hint) === hint ? t("hint.Other") : t(hint);
  show("error", true);
}

// ---- operator PIN -----------------------------------------------------------

let pinAction = null;

function askPin(purpose, action, refundDefault) {
  pinAction = action;
  $("pin-purpose").textContent = purpose;
  $("operator-pin").value = "";
  $("pin-error").textContent = "";
  $("refund-row").hidden = refundDefault === undefined;
  if (refundDefault !== undefined) $("refund-amount").value = (refundDefault / 100).toFixed(2);
  show("pin-dialog", true);
  $("operator-pin").focus();
}

async function pinOk() {
  const pin = $("operator-pin").value;
  const action = pinAction;
  if (!action) return;
  // A wrong PIN keeps the dialog open with the reason; anything else closes it.
  try {
    await action(pin);
  } catch (e) {
    if (e.name === "OperatorPin") { $("pin-error").textContent = e.message; $("operator-pin").value = ""; return; }
    show("pin-dialog", false);
    showError(e);
  }
}


// ---- today ------------------------------------------------------------------

async function loadToday() {
  const list = $("today-list");
  let rows;
  try { rows = await api("GET", "journal"); } catch (e) { list.replaceChildren(el("p", null, e.message)); return; }
  list.replaceChildren();
  if (!rows.length) { list.append(el("p", null, t("today.empty"))); return; }
  for (const r of rows) {
    const item = el("div", "item");
    item.dataset.stan = r.stan;
    item.dataset.kind = r.kind;
    const stateWord = t("tstate." + r.state) + (r.offline ? " · " + t("tstate.offline") : "") + (r.voided ? " · " + t("today.voided") : "");
    item.append(el("span", "what", t("kind." + r.kind) + " " + String(r.stan).padStart(6, "0")));
    item.append(el("span", "money", (r.kind === "void" || r.kind === "refund" ? "-" : "") + yuan(r.amount)));
    const when = (r.time || "").slice(11, 16);
    item.append(el("span", "sub", [when, r.masked_code || r.masked_pan, stateWord].filter(Boolean).join(" · ")));
    if (r.kind === "sale" && r.state === "approved" && !r.voided) {
      const actions = el("div", "actions");
      const v = el("button", "ghost void", t("today.void"));
      v.type = "button";
      v.onclick = () => askPin(t("pin.void", { stan: String(r.stan).padStart(6, "0"), amount: yuan(r.amount) }), async (pin) => {
        const res = await withProgress("void", r.amount, "void", { stan: r.stan, operator_pin: pin });
        show("pin-dialog", false);
        showResult(res);
        loadToday();
      });
      actions.append(v);
      if (r.rrn && r.host_date) {
        const f = el("button", "ghost refund", t("today.refund"));
        f.type = "button";
        f.onclick = () => askPin(t("pin.refund", { stan: String(r.stan).padStart(6, "0") }), async (pin) => {
          const amount = Math.round(Number($("refund-amount").value) * 100);
          const res = await withProgress("refund", amount, "refund", { amount, rrn: r.rrn, date: r.host_date, batch: r.batch, stan: r.stan, operator_pin: pin });
          show("pin-dialog", false);
          showResult(res);
          loadToday();
        }, r.amount);
        actions.append(f);
      }
      item.append(actions);
    }
    list.append(item);
  }
}

// ---- offline queue ----------------------------------------------------------

function renderQueueSummary() {
  const q = (state || {}).queue || {};
  $("queue-summary").textContent = q.Depth ? t("offline.summary", { n: q.Depth, amount: yuan(q.Amount), age: age(q.OldestAge) }) : t("offline.empty");
}

async function loadQueue() {
  renderQueueSummary();
  const list = $("queue-list");
  let rows;
  try { rows = await api("GET", "queue"); } catch (e) { list.replaceChildren(el("p", null, e.message)); return; }
  list.replaceChildren();
  for (const r of rows) {
    const item = el("div", "item");
    item.append(el("span", "what", t("kind." + r.kind) + " " + String(r.stan).padStart(6, "0")), el("span", "money", yuan(r.amount)));
    item.append(el("span", "sub", [r.masked_code || r.masked_pan, r.attempts ? "×" + r.attempts : ""].filter(Boolean).join(" · ")));
    list.append(item);
  }
  $("flush").disabled = !rows.length;
}

async function flush() {
  const r = await run("flush", undefined, "flush");
  if (r) $("flush-result").textContent = t("offline.flushed", { forwarded: r.forwarded, remaining: r.remaining });
  loadQueue();
}

// ---- settle -----------------------------------------------------------------

function settle() {
  askPin(t("pin.settle"), async (pin) => {
    const r = await withProgress("settle", undefined, "settle", { operator_pin: pin });
    show("pin-dialog", false);
    const out = $("settle-result");
    out.replaceChildren();
    const head = el("div", "item " + (r.balanced ? "ok" : "warn"));
    head.append(el("span", "what", t(r.balanced ? "settle.balanced" : "settle.unbalanced")), el("span", "money", t("settle.batch") + " " + String(r.batch).padStart(6, "0")));
    out.append(head);
    for (const [label, n, amount] of [[t("settle.debit"), r.debit_count, r.debit_amount], [t("settle.credit"), r.credit_count, r.credit_amount]]) {
      const row = el("div", "item");
      row.append(el("span", "what", label + " × " + n), el("span", "money", yuan(amount)));
      out.append(row);
    }
    if (r.uploaded) { const u = el("div", "item"); u.append(el("span", "what", t("settle.uploaded")), el("span", "money", String(r.uploaded))); out.append(u); }
  });
}

// ---- diagnose ---------------------------------------------------------------

async function diagnose() {
  $("diagnose-summary").textContent = t("diagnose.running");
  $("diagnose-list").replaceChildren();
  let rows;
  try { rows = await api("GET", "diagnose"); } catch (e) { $("diagnose-summary").textContent = ""; showError(e); return; }
  const failing = rows.filter((r) => r.status !== "ok");
  $("diagnose-summary").textContent = failing.length ? t("diagnose.failing", { n: failing.length }) : t("diagnose.all-ok");
  // The failing rows first: that is what the merchant came for.
  const order = { fail: 0, warn: 1, ok: 2 };
  rows.sort((a, b) => (order[a.status] ?? 3) - (order[b.status] ?? 3));
  for (const r of rows) {
    const item = el("div", "item " + r.status);
    item.dataset.category = r.category;
    item.dataset.status = r.status;
    item.append(el("span", "what", (r.status === "ok" ? "✓ " : r.status === "warn" ? "⚠ " : "✗ ") + t("cat." + r.category) + " · " + r.check));
    item.append(el("span", "mark", t("status." + r.status)));
    item.append(el("span", "sub", r.detail));
    if (r.remedy) {
      // posd's remedy is English; in Chinese a plain-words hint for the row's kind comes first.
      const box = el("div", "remedy");
      const hint = "cathint." + r.category;
      if (lang === "zh" && t(hint) !== hint) box.append(el("div", "hint", t(hint)));
      box.append(el("div", null, t("remedy") + r.remedy));
      item.append(box);
    }
    $("diagnose-list").append(item);
  }
}

// ---- terminal ---------------------------------------------------------------

function renderTerminal() {
  const term = (state || {}).terminal || {};
  const hw = (state || {}).hardware || {};
  const list = $("terminal-details");
  list.replaceChildren();
  const line = (label, value) => { const i = el("div", "item"); i.append(el("span", "what", label), el("span", null, value || "—")); list.append(i); };
  line(t("terminal.name"), term.MerchantName);
  line(t("terminal.mid"), term.MerchantId);
  line(t("terminal.tid"), term.TerminalId);
  line(t("terminal.serial"), term.SerialNumber);
  line(t("terminal.batch"), term.Batch ? String(term.Batch).padStart(6, "0") : "");
  line(t("terminal.deposit"), depositText(term.Deposit));
  const device = (d) => d && d.backend && d.backend !== "none" ? (t(d.present === false ? "hw.absent" : "hw.present") + (d.paper && d.paper !== "ok" ? " · " + d.paper : "")) : "";
  line(t("terminal.reader"), device(hw.CardReader));
  line(t("terminal.contactless"), device(hw.ContactlessReader));
  line(t("terminal.scanner"), device(hw.Scanner));
  line(t("terminal.printer"), device(hw.Printer));
  const m = hw.Modem || {};
  line(t("terminal.modem"), [m.state, m.operator, m.signal !== undefined ? m.signal + "%" : ""].filter(Boolean).join(" · "));
}

function unbind() {
  askPin(t("pin.unbind"), async (pin) => {
    await withProgress("unbind", undefined, "unbind", { operator_pin: pin });
    show("pin-dialog", false);
  });
}

async function bind() {
  const code = $("bind-code").value.trim();
  const r = await run("bind", undefined, "bind", { code });
  if (r) {
    $("bind-code").value = "";
    // The first sign-in right away: the merchant can take payments next.
    await run("sign-in", undefined, "sign-in");
    go("home");
  }
}

// ---- wiring -----------------------------------------------------------------

function wire() {
  for (const b of document.querySelectorAll("#pad button")) b.onclick = () => typeKey(b.dataset.key);
  for (const b of document.querySelectorAll("#tabs button")) b.onclick = () => go(b.dataset.tab);
  $("collect").onclick = sale;
  $("collect").disabled = true;
  $("cancel").onclick = () => api("POST", "cancel").catch(showError);
  $("result-done").onclick = () => show("result", false);
  $("result-print").onclick = async () => {
    try { await api("POST", "print", { stan: lastResult.stan }); $("result-print").textContent = t("result.printed"); } catch (e) { showError(e); }
  };
  $("error-ok").onclick = () => show("error", false);
  $("pin-ok").onclick = pinOk;
  $("operator-pin").onkeydown = (e) => { if (e.key === "Enter") pinOk(); };
  $("pin-cancel").onclick = () => show("pin-dialog", false);
  $("signin").onclick = async () => { await run("sign-in", undefined, "sign-in"); };
  $("flush").onclick = flush;
  $("settle-go").onclick = settle;
  $("diagnose-go").onclick = diagnose;
  $("unbind").onclick = unbind;
  $("bind-go").onclick = bind;
  $("lang").onclick = () => { lang = lang === "en" ? "zh" : "en"; localStorage.setItem("lang", lang); applyTexts(); };
  go("home");
  if (lang) applyTexts();
  const events = new EventSource("/api/events");
  events.addEventListener("state", (e) => render(JSON.parse(e.data)));
  events.addEventListener("progress", (e) => onProgress(JSON.parse(e.data)));
  // Let the stream go with the page: an HTTP/1.1 browser holds six connections per host.
  window.addEventListener("pagehide", () => events.close());
}

wire();
