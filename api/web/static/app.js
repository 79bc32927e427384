// Shared helpers for every page: CSRF-carrying JSON calls and the dashboard's auto-refresh.
"use strict";
(function () {
  const csrf = () => document.body.dataset.csrf || "";

  async function call(method, url, body) {
    const headers = { "Accept": "application/json", "X-CSRF-Token": csrf() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = { detail: "unexpected answer (" + response.status + ")" }; }
    return { ok: response.ok, status: response.status, data };
  }

  // "procedures[0].modifiers[0]" -> "Procedure 1, modifier 1": the field as a person sees it.
  const NOUNS = { diagnoses: "Diagnosis", procedures: "Procedure", modifiers: "modifier", pointers: "diagnosis pointer",
    evidence: "evidence", indicators: "indicator", findings: "Finding", options: "option", lines: "Line", codes: "code" };
  function humanPath(path) {
    const parts = String(path).replace(/^body[.]/, "").replace(/\[(\d+)\]/g, ".$1").split(".").filter(Boolean);
    const out = [];
    for (let i = 0; i < parts.length; i++) {
      const word = NOUNS[parts[i]] || parts[i].replace(/_/g, " ");
      if (i + 1 < parts.length && /^\d+$/.test(parts[i + 1])) { out.push(word + " " + (Number(parts[i + 1]) + 1)); i++; }
      else out.push(word);
    }
    const text = out.join(", ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function errorList(target, data) {
    target.replaceChildren();
    const p = document.createElement("p");
    const listed = Array.isArray(data.errors) && data.errors.length > 0;
    p.textContent = listed ? "Please fix " + data.errors.length + " problem(s):" : (data.detail || "Something went wrong.");
    target.append(p);
    if (listed) {
      const ul = document.createElement("ul");
      for (const e of data.errors) {
        const li = document.createElement("li");
        const where = e.path || e.field || e.location || e.rule || "";
        if (where) {
          const label = document.createElement("strong");
          label.textContent = e.path || e.location ? humanPath(e.path || e.location) + ":" : where;
          label.title = where;
          li.append(label, " ");
        }
        li.append(e.message || "");
        if (e.rule) li.dataset.rule = e.rule;
        ul.append(li);
      }
      target.append(ul);
    }
  }

  function autoRefresh() {
    const toggle = document.getElementById("autorefresh");
    const body = document.querySelector("[data-refresh]");
    if (!toggle || !body) return;
    const seconds = Number(toggle.dataset.interval || "60");
    setInterval(async () => {
      if (!toggle.checked || document.hidden) return;
      const response = await fetch(location.href, { credentials: "same-origin" });
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.querySelector("[data-refresh]");
      if (fresh && !body.contains(document.activeElement)) body.replaceChildren(...fresh.childNodes);
    }, seconds * 1000);
  }

  window.cc = { call, errorList, humanPath };
  document.addEventListener("DOMContentLoaded", autoRefresh);
})();
