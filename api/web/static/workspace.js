// Coder workspace: code rows with ICD-10-CM search, evidence from selected document text,
// query compliance lint as you type, and the submit/raise/hold calls (errors shown inline).
"use strict";
(function () {
  // A citation is exactly the text selected now: no selection (or one outside a single
  // document) is refused, never replaced by an earlier one.
  function selected() {
    const sel = document.getSelection();
    if (!sel || sel.isCollapsed || !sel.rangeCount) return null;
    const range = sel.getRangeAt(0);
    const el = (n) => n && (n.nodeType === 1 ? n : n.parentElement);
    const doc = el(range.startContainer) && el(range.startContainer).closest("pre[data-document-id]");
    if (!doc || !doc.contains(range.endContainer)) return null;
    const raw = range.toString();
    const text = raw.trim();
    if (!text) return null;
    const lead = document.createRange();
    lead.setStart(doc, 0);
    lead.setEnd(range.startContainer, range.startOffset);
    const near = lead.toString().length + (raw.length - raw.trimStart().length);
    return { document_id: doc.dataset.documentId, excerpt: text, name: doc.dataset.documentName, near: near };
  }

  function chip(list, item, noun) {
    const li = document.createElement("li");
    li.dataset.documentId = item.document_id;
    li.dataset.excerpt = item.excerpt;
    if (Number.isInteger(item.near)) li.dataset.near = String(item.near);
    const short = item.excerpt.length > 80 ? item.excerpt.slice(0, 79) + "…" : item.excerpt;
    li.append("“" + short + "” (" + item.name + ") ");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", "Remove " + noun + " “" + short + "”");
    remove.addEventListener("click", () => { li.remove(); list.dispatchEvent(new Event("change", { bubbles: true })); });
    li.append(remove);
    list.append(li);
    list.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function cite(list, noun, status) {
    const picked = selected();
    if (!picked) { status.textContent = "Select the text to cite inside one document first: nothing is selected there now."; return; }
    chip(list, picked, noun);
    status.textContent = "";
  }

  // Keep the selection when the cite button is pressed with the mouse.
  document.addEventListener("mousedown", (e) => {
    if (e.target.closest && e.target.closest(".use-selection, #q-cite")) e.preventDefault();
  });

  const cited = (list) => [...list.children].map((li) => {
    const item = { document_id: li.dataset.documentId, excerpt: li.dataset.excerpt };
    if (li.dataset.near) item.near = Number(li.dataset.near);
    return item;
  });
  const csv = (value) => value.split(",").map((s) => s.trim()).filter(Boolean);

  function codeSearch(row, n) {
    const input = row.querySelector(".code-input");
    const box = row.querySelector(".suggestions");
    const desc = row.querySelector(".desc");
    box.id = "dx-suggest-" + n;
    input.setAttribute("aria-controls", box.id);
    let timer = null, active = -1;
    const close = () => { box.hidden = true; input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant"); active = -1; };
    const choose = (li) => {
      input.value = li.dataset.code;
      desc.textContent = li.dataset.description + (li.dataset.billable === "true" ? " — billable" : " — header code, not billable");
      close();
      input.focus();
    };
    const highlight = (i) => {
      const items = [...box.children];
      if (!items.length) return;
      active = (i + items.length) % items.length;
      items.forEach((li, k) => li.setAttribute("aria-selected", String(k === active)));
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    };
    const fetchCodes = async (q, offset) => {
      const response = await fetch("/ui/codes?q=" + encodeURIComponent(q) + "&offset=" + offset, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      return response.ok ? response.json() : null;
    };
    const options = (page, start) => {
      const items = page.items.map((h, k) => {
        const li = document.createElement("li");
        li.id = box.id + "-" + (start + k);
        li.setAttribute("role", "option");
        li.dataset.code = h.code;
        li.dataset.description = h.description;
        li.dataset.billable = String(h.billable);
        li.textContent = h.code + " — " + h.description + (h.billable ? " (billable)" : " (header, not billable)");
        li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(li); });
        return li;
      });
      if (page.next_offset !== null) {
        const more = document.createElement("li");
        more.id = box.id + "-more-" + page.next_offset;
        more.setAttribute("role", "option");
        more.className = "more";
        more.textContent = "More codes…";
        more.dataset.more = String(page.next_offset);
        more.addEventListener("mousedown", (e) => { e.preventDefault(); loadMore(more); });
        items.push(more);
      }
      return items;
    };
    const loadMore = async (more) => {
      const next = await fetchCodes(input.value.trim(), Number(more.dataset.more));
      if (!next) return;
      const start = Number(more.dataset.more);
      more.replaceWith(...options(next, start));
      highlight(start);
    };
    input.addEventListener("input", () => {
      clearTimeout(timer);
      desc.textContent = "";
      timer = setTimeout(async () => {
        const q = input.value.trim();
        if (q.length < 2) { close(); return; }
        const hits = await fetchCodes(q, 0);
        if (!hits) return;
        box.replaceChildren(...options(hits, 0));
        box.hidden = box.children.length === 0;
        input.setAttribute("aria-expanded", String(!box.hidden));
      }, 200);
    });
    input.addEventListener("keydown", (e) => {
      if (box.hidden) return;
      if (e.key === "ArrowDown") { e.preventDefault(); highlight(active + 1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); highlight(active - 1); }
      else if (e.key === "Enter" && active >= 0) {
        e.preventDefault();
        const li = box.children[active];
        if (li.dataset.more) loadMore(li); else choose(li);
      }
      else if (e.key === "Escape") { close(); }
    });
    input.addEventListener("blur", () => setTimeout(close, 150));
  }

  function renumber(list, noun) {
    [...list.children].forEach((row, i) => {
      row.querySelectorAll("input").forEach((input) => {
        const label = input.closest("label").querySelector(".lbl").textContent;
        input.setAttribute("aria-label", noun + " " + (i + 1) + " " + label.toLowerCase());
      });
      row.querySelector(".use-selection").setAttribute("aria-label", "Add selected text as evidence for " + noun.toLowerCase() + " " + (i + 1));
      row.querySelector(".remove").setAttribute("aria-label", "Remove " + noun.toLowerCase() + " " + (i + 1));
    });
  }

  let rows = 0;
  function addRow(kind, status) {
    const list = document.getElementById(kind === "dx" ? "dx-list" : "px-list");
    const noun = kind === "dx" ? "Diagnosis" : "Procedure";
    const row = document.getElementById(kind + "-row").content.firstElementChild.cloneNode(true);
    rows += 1;
    list.append(row);
    if (kind === "dx") codeSearch(row, rows);
    row.querySelector(".use-selection").addEventListener("click", () => cite(row.querySelector(".chips"), "evidence", status));
    row.querySelector(".remove").addEventListener("click", () => { row.remove(); renumber(list, noun); });
    renumber(list, noun);
    return row;
  }

  // After a hard scrub edit the chart comes back with its previous coding: start from it.
  function prefill(status) {
    const data = document.getElementById("prior-coding");
    if (!data) return false;
    let prior = null;
    try { prior = JSON.parse(data.textContent); } catch (e) { return false; }
    const dx = (prior && prior.diagnoses) || [];
    const px = (prior && prior.procedures) || [];
    if (!dx.length && !px.length) return false;
    const chips = (row, evidence) => {
      for (const ev of evidence || []) chip(row.querySelector(".chips"), { document_id: ev.document_id, excerpt: ev.excerpt, name: "cited", near: ev.start }, "evidence");
    };
    for (const d of dx) {
      const row = addRow("dx", status);
      row.querySelector("[name=code]").value = d.code || "";
      chips(row, d.evidence);
    }
    for (const p of px) {
      const row = addRow("px", status);
      row.querySelector("[name=code]").value = p.code || "";
      row.querySelector("[name=modifiers]").value = (p.modifiers || []).join(", ");
      row.querySelector("[name=units]").value = String(p.units || 1);
      row.querySelector("[name=pointers]").value = (p.pointers || []).join(", ");
      chips(row, p.evidence);
    }
    return true;
  }

  function coding(form) {
    const errors = document.getElementById("coding-errors");
    document.getElementById("add-dx").addEventListener("click", () => addRow("dx", errors).querySelector("input").focus());
    document.getElementById("add-px").addEventListener("click", () => addRow("px", errors).querySelector("input").focus());
    if (!prefill(errors)) addRow("dx", errors);
    // Accepted code suggestions arrive here (suggestions.js): the code, its excerpt, its id.
    window.cc.addDiagnosis = (item) => {
      const list = document.getElementById("dx-list");
      const blank = [...list.children].find((r) => !r.querySelector("[name=code]").value.trim() && !r.querySelector(".chips").children.length);
      const row = blank || addRow("dx", errors);
      const input = row.querySelector("[name=code]");
      input.value = item.code;
      row.querySelector(".desc").textContent = item.description;
      row.dataset.suggestionId = item.suggestion_id;
      input.addEventListener("input", () => { if (input.value.trim().toUpperCase() !== item.code) delete row.dataset.suggestionId; });
      for (const ev of item.evidence) chip(row.querySelector(".chips"), ev, "evidence");
      return row;
    };
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const dx = [...document.querySelectorAll("#dx-list > li")].map((r) => ({
        code: r.querySelector("[name=code]").value.trim(), evidence: cited(r.querySelector(".chips")),
        suggestion_id: r.dataset.suggestionId || undefined }));
      const px = [...document.querySelectorAll("#px-list > li")].map((r) => ({
        code: r.querySelector("[name=code]").value.trim(),
        modifiers: csv(r.querySelector("[name=modifiers]").value),
        units: Number(r.querySelector("[name=units]").value || "1"),
        pointers: csv(r.querySelector("[name=pointers]").value).map(Number),
        evidence: cited(r.querySelector(".chips")) }));
      form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
      const result = await window.cc.call("POST", form.dataset.url, { diagnoses: dx, procedures: px });
      if (result.ok && result.data.ok !== false) { location.assign(result.data.next); return; }
      window.cc.errorList(errors, result.data);
      for (const err of result.data.errors || []) {
        // The field the error names, not just its row: a bad modifier marks the modifiers box.
        const where = (err.path || err.location || "").replace(/^body[.]/, "").replace(/[.](\d+)/g, "[$1]");
        const m = /^(diagnoses|procedures)\[(\d+)\](?:[.](\w+))?/.exec(where);
        if (!m) continue;
        const row = document.querySelectorAll(m[1] === "diagnoses" ? "#dx-list > li" : "#px-list > li")[Number(m[2])];
        if (!row) continue;
        const name = { modifiers: "modifiers", units: "units", pointers: "pointers" }[m[3]] || "code";
        const target = m[3] === "evidence" ? row.querySelector(".use-selection") : row.querySelector("[name=" + name + "]");
        if (target) target.setAttribute("aria-invalid", "true");
      }
      errors.focus();
    });
  }

  function query(form) {
    const $ = (id) => document.getElementById(id);
    const indicators = $("q-indicators");
    const lintBox = $("q-lint");
    const errors = $("query-errors");
    const draft = () => {
      const kind = $("q-form").value;
      return {
        physician_npi: $("q-npi").value.trim() || null,
        question: $("q-question").value.trim(),
        form: kind,
        indicators: cited(indicators).map((i) => ({ document_id: i.document_id, excerpt: i.excerpt })),
        options: kind === "multiple_choice" ? $("q-options").value.split("\n").map((s) => s.trim()).filter(Boolean) : [],
        yes_no_purpose: kind === "yes_no" ? ($("q-purpose").value || null) : null,
        proposed_diagnosis: kind === "yes_no" ? ($("q-proposed").value.trim() || null) : null,
      };
    };
    const toggle = () => {
      $("q-options-wrap").hidden = $("q-form").value !== "multiple_choice";
      $("q-yesno-wrap").hidden = $("q-form").value !== "yes_no";
    };
    let timer = null;
    const lint = () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const body = draft();
        if (!body.question) { lintBox.replaceChildren(); return; }
        const result = await window.cc.call("POST", form.dataset.lint, body);
        if (!result.ok || result.data.ok === false) return;
        const issues = result.data.issues || [];
        if (!issues.length) {
          const p = document.createElement("p");
          p.className = "clean";
          p.textContent = "No compliance issues found.";
          lintBox.replaceChildren(p);
          return;
        }
        const ul = document.createElement("ul");
        for (const i of issues) {
          const li = document.createElement("li");
          li.className = "issue";
          li.dataset.rule = i.rule;
          li.textContent = "[" + i.rule + "] " + i.message;
          ul.append(li);
        }
        lintBox.replaceChildren(ul);
      }, 300);
    };
    $("q-cite").addEventListener("click", () => cite(indicators, "indicator", errors));
    form.addEventListener("input", lint);
    form.addEventListener("change", (e) => { if (e.target === $("q-form")) toggle(); lint(); });
    toggle();
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const result = await window.cc.call("POST", form.dataset.url, draft());
      if (result.ok && result.data.ok !== false) { location.assign(result.data.next); return; }
      window.cc.errorList(errors, result.data);
    });
  }

  function hold(form) {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = { reason: document.getElementById("h-reason").value, note: document.getElementById("h-note").value };
      const result = await window.cc.call("POST", form.dataset.url, body);
      if (result.ok && result.data.ok !== false) { location.assign(result.data.next); return; }
      window.cc.errorList(document.getElementById("hold-errors"), result.data);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const c = document.getElementById("coding-form");
    if (c) coding(c);
    const q = document.getElementById("query-form");
    if (q) query(q);
    const h = document.getElementById("hold-form");
    if (h) hold(h);
  });
})();
