// DER IQ Chat: sign-in, streaming chat, result tables and charts, citations, exports.
// Plain JavaScript, no dependencies; served by `deriq serve` under a strict CSP.
"use strict";

(() => {
  const API = "/api/der-iq";
  const TOKEN_KEY = "deriq.token";
  const DRAFT_KEY = "deriq.draft";
  const NUMERIC_TYPES = new Set(["int2", "int4", "int8", "numeric", "float4", "float8", "money"]);
  const TIME_TYPES = new Set(["date", "timestamp", "timestamptz"]);
  // The words that open a follow-up, as the server reads them (FOLLOW_UP_CUES in chat.rs).
  const FOLLOW_UP_RE = /^(only|and|but|just|also|excluding|except|without|of those|of them|among|what about|how about|now|same|then|limit)(?=$|[\s,:])/i;
  const STEPS = [
    ["retrieving", "Retrieving passages"],
    ["drafting", "Drafting the query"],
    ["guarding", "Checking it"],
    ["running", "Running it"],
    ["auditing", "Auditing"],
  ];
  // Example questions per module, shown in "What can I ask?" for the modules a role may use.
  const EXAMPLES = {
    drug_alcohol: ["Drug tests by reason this year", "Monthly drug test counts this year", "How many random drug tests were positive in Texas last quarter?"],
    background: ["Background checks by adjudication", "How many background checks are in progress?"],
    dot: ["Which drivers have a med card expiring in the next 30 days?", "How many DQ files are incomplete?"],
    occupational_health: ["OSHA cases by location this year", "How many OSHA recordable injuries this year?"],
    training: ["Training certificates by type", "Which employees have certificates expiring in the next 30 days?"],
    geo_fencing: ["Check-ins by method this week", "How many check-ins outside the zone in the last 30 days?"],
    roster: ["Headcount by state", "Employees by employment status"],
    audit_reports: ["Red flags by module", "Non-compliant employees by location"],
  };
  const REGULATORY_EXAMPLES = [
    "How soon after an accident must the alcohol test happen?",
    "How long must we keep records of positive drug tests?",
    "When must an employer record an injury on the OSHA 300 log?",
  ];

  const $ = (id) => document.getElementById(id);
  const state = {
    token: null,
    me: null,
    devMode: false,
    conversationId: null,
    turnsInConversation: 0,
    // The question of the conversation's last data answer, as refined by its follow-ups.
    refined: null,
    busy: false,
    // The assigned company questions are narrowed to (compliance-company roles), or null.
    company: null,
    // Who was signed in last, so that signing in again after a timeout keeps the conversation.
    lastEmail: null,
    retryAt: 0,
    schema: null,
  };

  // ---- DOM helpers -------------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") el.setAttribute("class", v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, String(v));
    }
    for (const c of children.flat()) if (c) el.append(c);
    return el;
  }

  function showNotice(message, { warn = false, action = null } = {}) {
    const n = $("notice");
    n.replaceChildren(h("span", { text: message }));
    if (action) n.append(h("button", { type: "button", class: "secondary", onclick: action.run, text: action.label }));
    n.classList.toggle("warn", warn);
    n.hidden = false;
  }
  function clearNotice() {
    $("notice").hidden = true;
    $("notice").replaceChildren();
  }

  // ---- The API -----------------------------------------------------------------------

  /** A failed request, with what the page tells the user. */
  class ApiFailure extends Error {
    constructor({ status = 0, code = "network", message, hint = null, retryAfter = null }) {
      super(message);
      Object.assign(this, { status, code, hint, retryAfter });
    }
  }

  async function failureOf(resp) {
    let body = null;
    try {
      body = await resp.json();
    } catch (_) {
      body = null;
    }
    const e = (body && body.error) || {};
    const retryAfter = Number(resp.headers.get("retry-after")) || e.retry_after_seconds || null;
    return new ApiFailure({ status: resp.status, code: e.code || `http_${resp.status}`, message: e.message || `${resp.status} ${resp.statusText}`, hint: e.hint || null, retryAfter });
  }

  async function request(path, { method = "GET", body = undefined, accept = "application/json", auth = true, narrow = true } = {}) {
    const headers = { Accept: accept };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth && state.token) headers.Authorization = `Bearer ${state.token}`;
    // A compliance-company user may narrow their questions to one assigned company.
    if (auth && narrow && state.company) headers["X-Tenant-ID"] = state.company;
    let resp;
    try {
      resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
    } catch (_) {
      throw new ApiFailure({ message: "DER IQ cannot be reached: the server may be down or restarting, or the network is out." });
    }
    if (!resp.ok) throw await failureOf(resp);
    return resp;
  }

  const getJson = async (path, opts) => (await request(path, opts)).json();

  /** Server-sent events of a streaming response, as { event, data } objects. */
  async function* events(resp) {
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event = val;
          else if (field === "data") data.push(val);
        }
        if (!data.length) continue;
        let parsed = data.join("\n");
        try {
          parsed = JSON.parse(parsed);
        } catch (_) {
          /* plain text data */
        }
        yield { event, data: parsed };
      }
    }
  }

  // ---- Session -----------------------------------------------------------------------

  function saveDraft() {
    try {
      sessionStorage.setItem(DRAFT_KEY, $("question").value);
    } catch (_) {
      /* storage unavailable */
    }
  }

  function restoreDraft(text) {
    const q = $("question");
    if (text && !q.value.trim()) q.value = text;
    saveDraft();
  }

  function setToken(token) {
    state.token = token;
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (_) {
      /* storage unavailable: the token lives in memory only */
    }
  }

  function sessionEnded(failure) {
    saveDraft();
    setToken(null);
    state.me = null;
    const reason = failure.code === "session_timeout" || failure.code === "token_expired" ? "Your session has expired" : "Your sign-in is no longer accepted";
    showNotice(`${reason} (${failure.message}). Sign in again: your question is kept.`, { warn: true });
    showSignIn();
  }

  async function signIn(token) {
    setToken(token);
    try {
      state.company = null;
      state.me = await getJson(`${API}/me`, { narrow: false });
    } catch (e) {
      setToken(null);
      throw e;
    }
    clearNotice();
    // The same user signing in again (after a session ended) keeps the conversation.
    if (state.me.email !== state.lastEmail) {
      state.conversationId = null;
      state.turnsInConversation = 0;
      state.refined = null;
      $("turns").replaceChildren();
    }
    state.lastEmail = state.me.email;
    state.schema = null;
    showChat();
  }

  function signOut() {
    saveDraft();
    setToken(null);
    state.me = null;
    state.lastEmail = null;
    state.conversationId = null;
    state.refined = null;
    $("turns").replaceChildren();
    clearNotice();
    showSignIn();
  }

  function fmtTime(unix) {
    return new Date(unix * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function renderWho() {
    const me = state.me;
    const who = $("who");
    if (!me) {
      who.replaceChildren();
      return;
    }
    const tierLabel = me.tier === "full" ? "Full records" : "De-identified";
    const parts = [
      h("strong", { text: me.full_name || me.email }),
      h("span", { class: "badge", title: "Role", text: me.role_label }),
      h("span", { class: `badge tier-${me.tier}`, title: "What you see of each record", text: tierLabel }),
    ];
    if (me.portal === "compliance_company") {
      const companies = me.assigned_companies || [];
      if (companies.length > 1) {
        const select = h(
          "select",
          { id: "company", onchange: (e) => chooseCompany(e.target.value, e.target.selectedOptions[0].textContent) },
          h("option", { value: "", text: `All ${companies.length} assigned companies` }),
          companies.map((c) => h("option", { value: c.id, selected: state.company === c.id, text: c.name })),
        );
        parts.push(h("span", { class: "scope-line" }, `${me.tenant.name} · `, h("label", { for: "company", class: "inline", text: "Asking about" }), " ", select));
      } else {
        parts.push(h("span", { class: "scope-line" }, `${me.tenant.name} · assigned companies: `, h("strong", { text: companies.length ? companies.map((c) => c.name).join(", ") : "none" })));
      }
    } else {
      parts.push(h("span", { class: "scope-line" }, "Company: ", h("strong", { text: me.tenant.name })));
      if (me.locations) parts.push(h("span", { class: "scope-line" }, "Locations: ", h("strong", { text: me.locations.map((l) => l.name).join(", ") || "none" })));
    }
    parts.push(h("span", { class: "session", text: `Session until ${fmtTime(me.session.expires_at)}` }));
    who.replaceChildren(...parts);
  }

  function showSignIn() {
    renderWho();
    $("chat").hidden = true;
    $("composer").hidden = true;
    $("help-open").hidden = true;
    $("sign-out").hidden = true;
    $("sign-in").hidden = false;
    loadDevUsers();
  }

  function showChat() {
    renderWho();
    $("sign-in").hidden = true;
    $("chat").hidden = false;
    $("composer").hidden = false;
    $("help-open").hidden = false;
    $("sign-out").hidden = false;
    $("empty").hidden = $("turns").children.length > 0;
    renderStarters();
    updateConversationState();
    let draft = "";
    try {
      draft = sessionStorage.getItem(DRAFT_KEY) || "";
    } catch (_) {
      draft = "";
    }
    restoreDraft(draft);
    $("question").focus();
  }

  async function loadDevUsers() {
    const box = $("dev-users");
    if (box.childElementCount) return;
    let list;
    try {
      list = (await getJson(`${API}/dev/users`, { auth: false })).users;
    } catch (_) {
      $("dev-sign-in").hidden = true; // not a development server
      return;
    }
    state.devMode = true;
    $("dev-sign-in").hidden = false;
    let tenant = null;
    for (const u of list) {
      if (u.tenant_name !== tenant) {
        tenant = u.tenant_name;
        box.append(h("h3", { class: "tenant-group", text: `${tenant}${u.portal === "compliance_company" ? " (compliance company)" : ""}` }));
      }
      box.append(
        h(
          "button",
          { type: "button", "data-email": u.email, "aria-label": `Sign in as ${u.role_label} at ${u.tenant_name} (${u.email})`, onclick: () => devSignIn(u.email) },
          h("span", { class: "role", text: u.role_label }),
          h("span", { text: u.full_name }),
          h("span", { class: "email", text: `${u.email} · ${u.tier === "full" ? "full records" : "de-identified"}` }),
        ),
      );
    }
  }

  async function devSignIn(email) {
    try {
      const t = await getJson(`${API}/dev/token`, { method: "POST", body: { email, mfa: $("dev-mfa").checked }, auth: false });
      await signIn(t.token);
    } catch (e) {
      showNotice(`Sign-in failed: ${e.message}`);
    }
  }

  // ---- "What can I ask?" -------------------------------------------------------------

  function suggestionButtons(questions) {
    return h("div", { class: "suggestions" }, questions.map((q) => h("button", { type: "button", onclick: () => useQuestion(q, true), text: q })));
  }

  function useQuestion(text, send) {
    const q = $("question");
    q.value = text;
    saveDraft();
    if ($("help").open) $("help").close();
    if (send) submitQuestion();
    else q.focus();
  }

  function renderStarters() {
    const mods = ((state.me && state.me.modules) || []).map((m) => m.module);
    const qs = mods.flatMap((m) => (EXAMPLES[m] || []).slice(0, 1)).slice(0, 3).concat(REGULATORY_EXAMPLES.slice(0, 1));
    $("starters").replaceChildren(...suggestionButtons(qs).children);
  }

  async function openHelp() {
    const dialog = $("help");
    dialog.showModal();
    const body = $("help-body");
    if (!state.schema) {
      body.replaceChildren(h("p", { text: "Loading…" }));
      try {
        state.schema = await getJson(`${API}/schema`);
      } catch (e) {
        if (e.status === 401) {
          dialog.close();
          sessionEnded(e);
          return;
        }
        body.replaceChildren(h("p", { class: "err", text: `The list could not be loaded: ${e.message}` }));
        return;
      }
    }
    const schema = state.schema;
    const tier = schema.tier === "full" ? "You see full records, PII included." : "You see de-identified records: no names or other PII, and counts under 5 are shown as <5.";
    const children = [h("p", { text: `As ${state.me.role_label}, you can ask about ${schema.modules.length} areas. ${tier}` })];
    for (const m of schema.modules) {
      children.push(
        h(
          "section",
          { class: "module", "aria-label": m.label },
          h("h3", { text: m.label }),
          h(
            "ul",
            {},
            m.tables.map((t) =>
              h("li", {}, h("strong", { text: t.name.replace(/_/g, " ") }), `: ${t.description}`, t.synonyms && t.synonyms.length ? h("span", { class: "syn", text: ` (also: ${t.synonyms.join(", ")})` }) : null),
            ),
          ),
          EXAMPLES[m.module] ? suggestionButtons(EXAMPLES[m.module]) : null,
        ),
      );
    }
    children.push(h("section", { class: "module", "aria-label": "Regulations" }, h("h3", { text: "Regulations" }), h("p", { text: "49 CFR Parts 40, 382 and 391, 29 CFR 1904 and the FCRA, answered with citations." }), suggestionButtons(REGULATORY_EXAMPLES)));
    body.replaceChildren(...children);
  }

  // ---- Chat --------------------------------------------------------------------------

  function updateConversationState() {
    const n = state.turnsInConversation;
    $("new-conversation").disabled = !state.conversationId;
    $("conversation-state").textContent = state.conversationId ? `Follow-ups refine your last question (${n} so far in this conversation).` : "";
  }

  function chooseCompany(id, name) {
    state.company = id || null;
    state.conversationId = null;
    state.refined = null;
    updateConversationState();
    $("turns").append(h("li", { class: "meta", text: id ? `Questions now cover ${name} only (a new conversation).` : "Questions now cover all your assigned companies (a new conversation)." }));
  }

  function newConversation() {
    state.conversationId = null;
    state.refined = null;
    state.turnsInConversation = 0;
    updateConversationState();
    $("turns").append(h("li", { class: "meta", text: "New conversation: the next question starts fresh." }));
    $("question").focus();
  }

  function setBusy(busy) {
    state.busy = busy;
    $("send").disabled = busy;
    $("send").textContent = busy ? "Asking…" : "Ask";
  }

  async function submitQuestion() {
    const input = $("question");
    const text = input.value.trim();
    if (!text || state.busy) return;
    const wait = Math.ceil((state.retryAt - Date.now()) / 1000);
    if (wait > 0) {
      showNotice(`Too many questions: try again in ${wait} s. Your question is kept.`, { warn: true });
      return;
    }
    clearNotice();
    // A question after a data answer of the same conversation that reads as a refinement
    // ("only the ones in Texas") is marked as a follow-up; the server decides what it means.
    const followUp = Boolean(state.conversationId && state.refined && FOLLOW_UP_RE.test(text));
    const turn = new Turn(text, followUp, followUp ? `${state.refined} ${text}` : text);
    $("empty").hidden = true;
    $("turns").append(turn.el);
    turn.el.scrollIntoView({ block: "start" });
    input.value = "";
    saveDraft();
    setBusy(true);
    try {
      await turn.run();
    } finally {
      setBusy(false);
    }
  }

  class Turn {
    constructor(question, followUp, effective) {
      // What the server answers: the question refined so far plus a follow-up's words.
      this.effective = effective;
      this.question = question;
      this.followUp = followUp;
      this.answer = null;
      this.steps = new Map();
      this.stepList = h("ol", { class: "steps", "aria-label": "Progress" });
      for (const [key, label] of [["received", "Sent"], ...STEPS]) {
        const li = h("li", { "data-step": key, text: label, hidden: key !== "received" });
        this.steps.set(key, li);
        this.stepList.append(li);
      }
      this.steps.get("received").classList.add("active");
      this.text = h("div", { class: "answer-text", "aria-live": "polite" });
      this.body = h("div", { class: "answer-body" });
      this.card = h("div", { class: "a", "data-kind": "pending", "aria-busy": "true" }, this.stepList, this.text, this.body);
      this.el = h(
        "li",
        { class: "turn" },
        h("div", { class: "q" }, followUp ? h("span", { class: "tag", text: "Follow-up" }) : null, question),
        this.card,
      );
    }

    step(key, done, ms) {
      let li = this.steps.get(key);
      if (!li) {
        li = h("li", { "data-step": key, text: key });
        this.steps.set(key, li);
        this.stepList.append(li);
      }
      li.hidden = false;
      if (key !== "received") {
        const r = this.steps.get("received");
        r.classList.remove("active");
        r.classList.add("done");
      }
      li.classList.toggle("active", !done);
      li.classList.toggle("done", Boolean(done));
      if (done && typeof ms === "number") li.title = `${ms.toFixed(0)} ms`;
    }

    async run() {
      const body = { message: this.question };
      if (state.conversationId) body.conversation_id = state.conversationId;
      let resp;
      try {
        resp = await request(`${API}/chat`, { method: "POST", body, accept: "text/event-stream" });
      } catch (e) {
        return this.failed(e);
      }
      const type = resp.headers.get("content-type") || "";
      if (!type.includes("text/event-stream")) {
        const v = await resp.json();
        this.onConversation(v.conversation_id);
        return this.finish(v.answer);
      }
      const a = { kind: null, answer: "", columns: [], rows: [], citations: [], reasons: [] };
      let ended = false;
      try {
        for await (const { event, data } of events(resp)) {
          switch (event) {
            case "conversation":
              this.onConversation(data.conversation_id);
              break;
            case "status":
              this.step(data.step, data.done !== false, data.ms);
              break;
            case "sql":
              Object.assign(a, { sql: data.sql, drafted_sql: data.drafted_sql, explanation: data.explanation });
              break;
            case "rows":
              Object.assign(a, { columns: data.columns || [], rows: data.rows || [], row_cap_applied: data.row_cap_applied });
              break;
            case "answer":
            case "answer_delta":
            case "delta":
            case "token": {
              const d = typeof data === "string" ? { delta: data } : data;
              if (d.kind) a.kind = d.kind;
              if (d.reasons) a.reasons = d.reasons;
              if (typeof d.text === "string" && event === "answer") a.answer = d.text;
              else a.answer += d.delta || d.text || "";
              this.text.textContent = a.answer;
              break;
            }
            case "citations":
              a.citations = Array.isArray(data) ? data : data.citations || [];
              break;
            case "timings":
              Object.assign(a, { request_id: data.request_id, timings_ms: data.timings_ms });
              ended = true;
              break;
            case "error":
              return this.failed(new ApiFailure({ status: data.status || 500, code: data.code || "error", message: data.message || "the answer failed", hint: data.hint }));
            default:
              break;
          }
        }
      } catch (_) {
        return this.failed(new ApiFailure({ message: "The connection to DER IQ was lost while answering." }));
      }
      if (!a.kind) return this.failed(new ApiFailure({ message: "The answer was cut off before it was complete." }));
      if (!ended) a.incomplete = true;
      return this.finish(a);
    }

    onConversation(id) {
      if (!id) return;
      state.conversationId = id;
      state.turnsInConversation += 1;
      updateConversationState();
    }

    done() {
      for (const li of this.steps.values()) {
        if (li.classList.contains("active")) {
          li.classList.remove("active");
          li.classList.add("done");
        }
      }
      this.card.removeAttribute("aria-busy");
    }

    failed(e) {
      this.done();
      this.card.dataset.kind = "error";
      this.card.classList.add("error");
      restoreDraft(this.question);
      let message = e.message;
      if (e.status === 429) {
        const secs = e.retryAfter || 60;
        state.retryAt = Date.now() + secs * 1000;
        message = `Too many questions: ${e.message}. Try again in ${secs} s.`;
      } else if (e.status === 401) {
        this.body.replaceChildren(h("p", { class: "err", text: `Not answered: ${e.message}.` }));
        sessionEnded(e);
        return;
      } else if (e.status >= 500) {
        message = `DER IQ could not answer right now: ${e.message}`;
      } else if (e.status === 0) {
        this.stepList.hidden = true; // nothing reached the server, or the answer was lost
      }
      this.body.replaceChildren(h("p", { class: "err", role: "alert" }, message, e.hint ? h("span", { class: "meta", text: ` (${e.hint})` }) : null, " Your question is back in the box below."));
    }

    finish(a) {
      this.answer = a;
      if (a.sql && (a.kind === "data" || a.kind === "mixed")) state.refined = this.effective;
      this.done();
      this.card.dataset.kind = a.kind;
      this.card.classList.add(a.kind);
      for (const [key] of STEPS) {
        const li = this.steps.get(key);
        if (li && !li.classList.contains("done")) li.hidden = true;
      }
      // "5 rows." says nothing the row count below does not.
      const plainCount = a.columns && a.columns.length && /^\d+ rows?\.$/.test((a.answer || "").trim());
      const sentence = (a.answer || "").replace(/^\p{Ll}/u, (c) => c.toUpperCase());
      this.text.textContent = plainCount ? "" : sentence;
      this.text.hidden = plainCount;
      const parts = [];
      if (a.kind === "refused" || a.kind === "not_understood") parts.push(refusal(a));
      if (a.columns && a.columns.length) parts.push(resultBlock(a));
      else if (a.sql && (a.kind === "data" || a.kind === "mixed")) parts.push(h("p", { class: "rowinfo", text: "No rows match (0 rows)." }));
      if (a.sql || a.drafted_sql) parts.push(sqlBlock(a));
      if (a.sql && (a.kind === "data" || a.kind === "mixed")) parts.push(exportBlock(this));
      if (a.citations && a.citations.length) parts.push(citationsBlock(a.citations));
      if (a.incomplete) parts.push(h("p", { class: "meta", text: "The stream ended early; the answer may be incomplete." }));
      if (a.timings_ms) parts.push(h("p", { class: "meta", text: `Answered in ${Math.round(a.timings_ms.total)} ms · request ${a.request_id}` }));
      this.body.replaceChildren(...parts);
    }
  }

  // ---- Refusals ----------------------------------------------------------------------

  function refusal(a) {
    const reasons = (a.reasons || []).map((r) => r.message).filter((m) => m && m !== a.answer);
    const quoted = [...(a.answer || "").matchAll(/[“"]([^”"]{6,120})[”"]/g)].map((m) => m[1]);
    const mods = ((state.me && state.me.modules) || []).map((m) => m.module);
    const fromRole = mods.flatMap((m) => (EXAMPLES[m] || []).slice(0, 1));
    const suggestions = [...new Set(quoted.concat(fromRole))].slice(0, 4);
    const title = a.kind === "refused" ? "Why this was refused" : "Why this was not understood";
    const explain =
      a.kind === "refused"
        ? "DER IQ only answers within your role's permissions and data scope; nothing was run."
        : "DER IQ answers questions about your compliance records and the covered regulations.";
    return h(
      "div",
      { class: "why" },
      h("h3", { text: title }),
      h("p", { text: explain }),
      reasons.length ? h("ul", {}, reasons.map((r) => h("li", { text: r }))) : null,
      h("p", { text: "You could ask instead:" }),
      suggestionButtons(suggestions),
    );
  }

  // ---- Results: table and chart ------------------------------------------------------

  const isNumericCol = (c) => NUMERIC_TYPES.has(c.pg_type);
  const isSuppressed = (v) => typeof v === "string" && /^<\s*\d+$/.test(v);

  function cellText(v) {
    if (v === null || v === undefined) return "—";
    if (Array.isArray(v)) return v.join(", ");
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  function compare(a, b) {
    const na = a === null || a === undefined;
    const nb = b === null || b === undefined;
    if (na || nb) return na === nb ? 0 : na ? 1 : -1;
    const fa = typeof a === "number" ? a : isSuppressed(a) ? 0 : Number.NaN;
    const fb = typeof b === "number" ? b : isSuppressed(b) ? 0 : Number.NaN;
    if (!Number.isNaN(fa) && !Number.isNaN(fb)) return fa - fb;
    const da = Number(a);
    const db = Number(b);
    if (a !== "" && b !== "" && !Number.isNaN(da) && !Number.isNaN(db)) return da - db;
    return cellText(a).localeCompare(cellText(b), undefined, { numeric: true });
  }

  function table(columns, rows) {
    const order = rows.map((_, i) => i);
    let sortCol = -1;
    let dir = 1;
    const tbody = h("tbody");
    const heads = columns.map((c, i) =>
      h("th", { scope: "col", class: isNumericCol(c) ? "num" : null, "aria-sort": "none" }, h("button", { type: "button", onclick: () => sortBy(i), title: `Sort by ${c.name}` }, c.name, h("span", { class: "sort", "aria-hidden": "true" }))),
    );
    function draw() {
      tbody.replaceChildren(
        ...order.map((r) =>
          h(
            "tr",
            {},
            rows[r].map((v, i) => h("td", { class: [isNumericCol(columns[i]) ? "num" : "", isSuppressed(v) ? "suppressed" : ""].join(" ").trim() || null, text: cellText(v) })),
          ),
        ),
      );
    }
    function sortBy(i) {
      dir = sortCol === i ? -dir : 1;
      sortCol = i;
      order.sort((x, y) => dir * compare(rows[x][i], rows[y][i]) || x - y);
      heads.forEach((th, j) => th.setAttribute("aria-sort", j === i ? (dir > 0 ? "ascending" : "descending") : "none"));
      draw();
    }
    draw();
    return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Result table" }, h("table", {}, h("thead", {}, h("tr", {}, heads)), tbody));
  }

  /** What to chart: one label column and one to three numeric columns, 2 to 60 rows. */
  function chartSpec(columns, rows) {
    if (columns.length < 2 || rows.length < 2 || rows.length > 60) return null;
    const numeric = [];
    const labels = [];
    columns.forEach((c, i) => {
      const values = rows.map((r) => r[i]);
      const allNum = values.every((v) => v === null || typeof v === "number" || isSuppressed(v) || (typeof v === "string" && v !== "" && !Number.isNaN(Number(v))));
      if (isNumericCol(c) && allNum) numeric.push(i);
      else labels.push(i);
    });
    if (labels.length !== 1 || numeric.length < 1 || numeric.length > 3) return null;
    const li = labels[0];
    const labelValues = rows.map((r) => cellText(r[li]));
    const timeLike = TIME_TYPES.has(columns[li].pg_type) || labelValues.every((v) => /^\d{4}(-\d{2}){0,2}$|^\d{4}-Q[1-4]$/.test(v)) || /^(month|week|day|date|year|quarter)$/i.test(columns[li].name);
    const series = numeric[0];
    return {
      kind: timeLike ? "line" : "bar",
      label: columns[li].name,
      value: columns[series].name,
      points: rows.map((r) => ({ label: cellText(r[li]), value: typeof r[series] === "number" ? r[series] : isSuppressed(r[series]) ? null : Number(r[series]), raw: cellText(r[series]) })),
      order: timeLike ? rows.map((_, i) => i).sort((a, b) => labelValues[a].localeCompare(labelValues[b])) : null,
    };
  }

  function niceMax(v) {
    if (v <= 0) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function drawChart(spec, width) {
    const max = niceMax(Math.max(0, ...spec.points.map((p) => p.value || 0)));
    const title = `${spec.kind === "line" ? "Line" : "Bar"} chart of ${spec.value} by ${spec.label}`;
    if (spec.kind === "bar") {
      const barH = 22;
      const gap = 8;
      const labelW = Math.min(Math.max(...spec.points.map((p) => p.label.length)) * 7 + 8, width * 0.42);
      const valueW = 48;
      const plotW = Math.max(40, width - labelW - valueW);
      const height = spec.points.length * (barH + gap) + gap;
      const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title }, s("title", { text: title }));
      spec.points.forEach((p, i) => {
        const y = gap + i * (barH + gap);
        const w = p.value === null ? 4 : (p.value / max) * plotW;
        const maxChars = Math.floor(labelW / 7);
        const label = p.label.length > maxChars ? `${p.label.slice(0, Math.max(1, maxChars - 1))}…` : p.label;
        svg.append(
          s("text", { x: labelW - 6, y: y + barH * 0.7, "text-anchor": "end", text: label }),
          s("rect", { class: p.value === null ? "bar suppressed" : "bar", x: labelW, y, width: Math.max(1, w), height: barH, rx: 2 }, s("title", { text: `${p.label}: ${p.raw}` })),
          s("text", { class: "value", x: labelW + Math.max(1, w) + 4, y: y + barH * 0.7, text: p.raw }),
        );
      });
      return svg;
    }
    const height = 220;
    const pad = { l: 44, r: 12, t: 12, b: 40 };
    const plotW = width - pad.l - pad.r;
    const plotH = height - pad.t - pad.b;
    const pts = spec.order.map((i) => spec.points[i]);
    const x = (i) => pad.l + (pts.length === 1 ? plotW / 2 : (i / (pts.length - 1)) * plotW);
    const y = (v) => pad.t + plotH - (v / max) * plotH;
    const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title }, s("title", { text: title }));
    for (let k = 0; k <= 4; k++) {
      const v = (max / 4) * k;
      svg.append(s("line", { class: "grid", x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v) }), s("text", { class: "value", x: pad.l - 6, y: y(v) + 4, "text-anchor": "end", text: Number.isInteger(v) ? v : v.toFixed(1) }));
    }
    svg.append(s("line", { class: "axis", x1: pad.l, x2: width - pad.r, y1: y(0), y2: y(0) }));
    const known = pts.map((p, i) => [i, p]).filter(([, p]) => p.value !== null);
    svg.append(s("polyline", { class: "line", points: known.map(([i, p]) => `${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ") }));
    const every = Math.max(1, Math.ceil((pts.length * 52) / plotW));
    pts.forEach((p, i) => {
      if (p.value !== null) svg.append(s("circle", { class: "dot", cx: x(i), cy: y(p.value), r: 3.5 }, s("title", { text: `${p.label}: ${p.raw}` })));
      if (i % every === 0 || i === pts.length - 1) svg.append(s("text", { x: x(i), y: height - pad.b + 18, "text-anchor": "middle", text: p.label }));
    });
    return svg;
  }

  function chart(spec) {
    const holder = h("div", { class: "chart-canvas" });
    const fig = h("figure", { class: "chart", "data-chart": spec.kind }, holder, h("figcaption", { text: `${spec.value} by ${spec.label}${spec.points.some((p) => p.value === null) ? " · grey bars: counts under 5, suppressed" : ""}` }));
    let lastWidth = 0;
    const render = () => {
      const w = Math.round(Math.min(Math.max(holder.clientWidth || 600, 280), 900));
      if (w === lastWidth) return;
      lastWidth = w;
      holder.replaceChildren(drawChart(spec, w));
    };
    requestAnimationFrame(render);
    if (typeof ResizeObserver === "function") new ResizeObserver(() => render()).observe(holder);
    return fig;
  }

  function resultBlock(a) {
    const n = a.rows.length;
    const capped = a.row_cap_applied && n >= a.row_cap_applied;
    const info = h(
      "div",
      { class: "rowinfo" },
      h("strong", { class: "rowcount", text: `${n} ${n === 1 ? "row" : "rows"}` }),
      capped ? h("span", { class: "cap", role: "note", text: `Only the first ${a.row_cap_applied} rows are shown (row cap). Narrow the question to see the rest.` }) : null,
      !capped && a.row_cap_applied ? h("span", { class: "meta", text: `row cap ${a.row_cap_applied}` }) : null,
      a.rows.some((r) => r.some(isSuppressed)) ? h("span", { class: "meta", text: "“<5”: a count under 5, suppressed to protect privacy" }) : null,
    );
    const spec = chartSpec(a.columns, a.rows);
    return h("div", { class: "result" }, info, spec ? chart(spec) : null, table(a.columns, a.rows));
  }

  // ---- SQL, with the scope predicates marked -----------------------------------------

  const SCOPE_RE = /\(?\b(?:[a-z_]+\.)?(tenant_id|location_id|employee_id)\s*=\s*(?:ANY\s*\(\s*)?\$\d+(?:::[A-Za-z]+(?:\[\])?)?\s*\)?\)?/gi;

  function prettySql(sql) {
    return sql.replace(/\s+(FROM|WHERE|JOIN|LEFT JOIN|GROUP BY|ORDER BY|HAVING|LIMIT|UNION)\s/g, "\n$1 ");
  }

  function markedSql(sql) {
    const pre = h("pre", { class: "sql" });
    const text = prettySql(sql);
    let last = 0;
    let count = 0;
    for (const m of text.matchAll(SCOPE_RE)) {
      pre.append(text.slice(last, m.index), h("mark", { class: "scope", title: "Scope predicate added by the guard: only your tenants, locations or records", text: m[0] }));
      last = m.index + m[0].length;
      count += 1;
    }
    pre.append(text.slice(last));
    return { pre, count };
  }

  function sqlBlock(a) {
    const parts = [];
    if (a.explanation) parts.push(h("p", { class: "meta", text: a.explanation }));
    if (a.sql) {
      const { pre, count } = markedSql(a.sql);
      parts.push(h("h3", { text: "The SQL that ran" }), pre, h("p", { class: "legend" }, h("mark", { class: "scope", text: "highlighted" }), ` = ${count} scope ${count === 1 ? "predicate" : "predicates"} the guard added, so the query sees only your companies, locations or records (enforced again by row-level security).`));
    }
    if (a.drafted_sql && a.drafted_sql !== a.sql) parts.push(h("h3", { text: "As drafted, before the guard" }), h("pre", { class: "sql", text: prettySql(a.drafted_sql) }));
    return h("details", { class: "sql-block" }, h("summary", { text: a.sql ? "Show the SQL" : "Show the drafted SQL" }), ...parts);
  }

  // ---- CSV export --------------------------------------------------------------------

  /** The records of a CSV text (line breaks inside quoted fields do not count). */
  function csvRecords(text) {
    let records = 0;
    let quoted = false;
    let empty = true;
    for (const ch of text) {
      if (ch === '"') quoted = !quoted;
      if (ch === "\n" && !quoted) {
        if (!empty) records += 1;
        empty = true;
      } else if (ch !== "\r") {
        empty = false;
      }
    }
    return records + (empty ? 0 : 1);
  }

  function exportBlock(turn) {
    const me = state.me || { export: {} };
    const result = h("p", { class: "result", "aria-live": "polite" });
    const full = me.export && me.export.requires_mfa;
    let note = "Exports are audited, like every question.";
    if (full) {
      const mins = Math.round((me.export.mfa_fresh_seconds || 900) / 60);
      const mfaOk = me.session.mfa_at && Date.now() / 1000 - me.session.mfa_at < me.export.mfa_fresh_seconds;
      note += ` Your role sees full records (PII), so an export needs MFA completed within the last ${mins} minutes${mfaOk ? " (yours is recent)." : "; you have not completed it in this session."}`;
    } else {
      note += " Your role sees de-identified records, so no MFA is needed.";
    }
    const button = h("button", { type: "button", class: "secondary" }, "Export CSV");
    if (turn.followUp) note += ` The export runs the question as refined so far: “${turn.effective}”.`;
    button.addEventListener("click", async () => {
      button.disabled = true;
      result.className = "result";
      result.textContent = "Preparing the export…";
      try {
        const resp = await request(`${API}/query`, { method: "POST", body: { question: turn.effective, export: true }, accept: "text/csv" });
        const blob = await resp.blob();
        const disposition = resp.headers.get("content-disposition") || "";
        const name = (/filename="([^"]+)"/.exec(disposition) || [])[1] || "der-iq-export.csv";
        const url = URL.createObjectURL(blob);
        const a = h("a", { href: url, download: name });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
        const lines = csvRecords(await blob.text()) - 1;
        result.textContent = `Downloaded ${name} (${lines} ${lines === 1 ? "row" : "rows"}). The export was recorded in the audit log.`;
        if (lines !== turn.answer.rows.length) result.textContent += ` It differs from the ${turn.answer.rows.length} rows shown: ask the question in full to export exactly those.`;
      } catch (e) {
        result.className = "result err";
        if (e.code === "mfa_required") {
          result.textContent = `${e.message}.${state.devMode ? " Sign out, tick “I have just completed MFA” and sign in again." : " Complete MFA in the compliance portal, then try again."}`;
        } else if (e.status === 401) {
          sessionEnded(e);
        } else if (e.status === 429) {
          result.textContent = `Too many requests: try again in ${e.retryAfter || 60} s.`;
        } else {
          result.textContent = `The export failed: ${e.message}`;
        }
      } finally {
        button.disabled = false;
      }
    });
    return h("div", { class: "export" }, button, h("p", { text: note }), result);
  }

  // ---- Citations ---------------------------------------------------------------------

  const sectionOf = (citation) => citation.replace(/(\([^)]*\))+$/, "").trim();

  function citationsBlock(citations) {
    return h(
      "section",
      { "aria-label": "Regulatory passages" },
      h("h3", { text: "From the regulations" }),
      h(
        "ul",
        { class: "citations" },
        citations.map((c) => {
          const section = sectionOf(c.citation);
          const full = h("div", { class: "section-text", hidden: true });
          const toggle = h("button", { type: "button", class: "link", "aria-expanded": "false", text: `Show the whole section ${section}` });
          toggle.addEventListener("click", async () => {
            const open = toggle.getAttribute("aria-expanded") === "true";
            if (open) {
              full.hidden = true;
              toggle.setAttribute("aria-expanded", "false");
              return;
            }
            toggle.setAttribute("aria-expanded", "true");
            full.hidden = false;
            if (full.childElementCount) return;
            full.textContent = "Loading the section…";
            try {
              const r = await getJson(`${API}/search`, { method: "POST", body: { query: section, k: 20 } });
              const parts = (r.results || []).filter((p) => p.citation === section || p.citation.startsWith(`${section}(`));
              if (!parts.length) throw new ApiFailure({ message: "the section was not found in the index" });
              full.replaceChildren(h("h4", { text: `${section} · ${parts[0].title}` }), ...parts.map((p) => h("p", { "data-citation": p.citation, text: p.text })));
            } catch (e) {
              full.replaceChildren(h("p", { class: "err", text: `The section could not be loaded: ${e.message}` }));
            }
          });
          return h(
            "li",
            { class: "citation" },
            h("div", {}, h("span", { class: "ref", text: c.citation }), ` · ${c.title}`),
            h("p", { class: "passage", text: c.text }),
            toggle,
            full,
          );
        }),
      ),
    );
  }

  // ---- Start -------------------------------------------------------------------------

  function tokenFromUrl() {
    const m = /[#&]token=([^&]+)/.exec(location.hash);
    if (!m) return null;
    history.replaceState(null, "", location.pathname + location.search);
    return decodeURIComponent(m[1]);
  }

  async function start() {
    $("composer").addEventListener("submit", (e) => {
      e.preventDefault();
      submitQuestion();
    });
    $("question").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        submitQuestion();
      }
    });
    $("question").addEventListener("input", saveDraft);
    $("new-conversation").addEventListener("click", newConversation);
    $("sign-out").addEventListener("click", signOut);
    $("help-open").addEventListener("click", openHelp);
    $("help-close").addEventListener("click", () => $("help").close());
    $("token-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const err = $("token-error");
      const token = $("token-input").value.trim().replace(/^Bearer\s+/i, "");
      err.hidden = true;
      if (!token) {
        err.textContent = "Paste a token first.";
        err.hidden = false;
        return;
      }
      try {
        await signIn(token);
        $("token-input").value = "";
      } catch (ex) {
        err.textContent = `This token is not accepted: ${ex.message}`;
        err.hidden = false;
        $("token-input").focus();
      }
    });

    let token = tokenFromUrl();
    if (!token) {
      try {
        token = sessionStorage.getItem(TOKEN_KEY);
      } catch (_) {
        token = null;
      }
    }
    if (token) {
      try {
        await signIn(token);
        return;
      } catch (e) {
        if (e.status === 401 || e.status === 403) showNotice(`Please sign in again (${e.message}).`, { warn: true });
        else showNotice(e.message);
      }
    }
    showSignIn();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
