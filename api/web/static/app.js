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
        if (where) { const code = document.createElement("code"); code.textContent = where; li.append(code, " "); }
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

  window.cc = { call, errorList };
  document.addEventListener("DOMContentLoaded", autoRefresh);
})();
