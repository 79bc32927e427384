// Code suggestions beside the note: each suggestion's supporting words are highlighted in its
// document; Accept records the choice and adds the code (with its excerpt as evidence) to the
// coding form through window.cc.addDiagnosis; Reject records the choice and asks nothing.
// Nothing here submits the coding.
"use strict";
(function () {
  // Python offsets count code points; JavaScript strings count UTF-16 units.
  function utf16(text, offset) {
    return /[\uD800-\uDFFF]/.test(text) ? Array.from(text).slice(0, offset).join("").length : offset;
  }

  function highlight(suggestions) {
    const byDoc = new Map();
    for (const s of suggestions) {
      if (s.status === "rejected") continue;
      for (const span of s.spans) {
        if (!byDoc.has(span.document_id)) byDoc.set(span.document_id, []);
        byDoc.get(span.document_id).push({ ...span, id: s.id, code: s.code });
      }
    }
    for (const pre of document.querySelectorAll("pre[data-document-id]")) {
      const spans = (byDoc.get(pre.dataset.documentId) || []).sort((a, b) => a.start - b.start);
      const text = pre.textContent;
      const parts = [];
      let at = 0;
      for (const span of spans) {
        const start = utf16(text, span.start), end = utf16(text, span.end);
        if (start < at || text.slice(start, end) !== span.excerpt) continue; // overlapping or stale: not marked
        parts.push(text.slice(at, start));
        const mark = document.createElement("mark");
        mark.className = "cac-span";
        mark.dataset.suggestion = span.id;
        mark.title = span.code;
        mark.textContent = text.slice(start, end);
        parts.push(mark);
        at = end;
      }
      if (!parts.length) continue;
      parts.push(text.slice(at));
      pre.replaceChildren(...parts);
    }
  }

  function showSpan(id) {
    const mark = document.querySelector('mark[data-suggestion="' + id + '"]');
    if (!mark) return;
    mark.scrollIntoView({ block: "center" });
    mark.classList.add("cac-focus");
    setTimeout(() => mark.classList.remove("cac-focus"), 1500);
  }

  function item(panel, s, status) {
    const li = document.createElement("li");
    li.className = "cac-item cac-" + s.status;
    li.dataset.code = s.code;
    const head = document.createElement("p");
    const code = document.createElement("strong");
    code.textContent = s.code;
    head.append(code, " " + s.description + " ");
    const meta = document.createElement("span");
    meta.className = "hint";
    meta.textContent = Math.round(s.confidence * 100) + "% · " + s.reason.replace(/_/g, " ") + ": “" + s.matched_term + "”";
    head.append(meta);
    li.append(head);
    for (const span of s.spans) {
      const quote = document.createElement("button");
      quote.type = "button";
      quote.className = "link cac-quote";
      quote.textContent = "“" + (span.excerpt.length > 90 ? span.excerpt.slice(0, 89) + "…" : span.excerpt) + "”";
      quote.setAttribute("aria-label", "Show the words supporting " + s.code + " in the document");
      quote.addEventListener("click", () => showSpan(s.id));
      li.append(quote);
    }
    const state = document.createElement("span");
    state.className = "cac-state";
    state.dataset.testid = "suggestion-state";
    state.textContent = s.status === "open" ? "" : s.status;
    li.append(state);
    if (panel.dataset.workable === "true" && s.status === "open") {
      const decide = async (decision) => {
        const result = await window.cc.call("POST", panel.dataset.url + "/" + s.id + "/decision", { decision });
        if (!result.ok || result.data.ok === false) { status.textContent = result.data.detail || "Not recorded."; return; }
        li.className = "cac-item cac-" + decision;
        state.textContent = decision;
        li.querySelectorAll(".cac-decide").forEach((b) => b.remove());
        if (decision === "accepted" && window.cc.addDiagnosis) {
          const name = (d) => (document.querySelector('pre[data-document-id="' + d + '"]') || {}).dataset?.documentName || "cited";
          window.cc.addDiagnosis({
            code: s.code, description: s.description, suggestion_id: s.id,
            evidence: s.spans.slice(0, 1).map((span) => ({ document_id: span.document_id, excerpt: span.excerpt, name: name(span.document_id) })),
          });
          status.textContent = s.code + " added to the coding form.";
        } else {
          status.textContent = s.code + " " + decision + ".";
        }
      };
      for (const [label, decision] of [["Accept", "accepted"], ["Reject", "rejected"]]) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "cac-decide" + (decision === "accepted" ? " primary" : "");
        button.textContent = label;
        button.setAttribute("aria-label", label + " " + s.code + " " + s.description);
        button.addEventListener("click", () => decide(decision));
        li.append(button);
      }
    }
    return li;
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const panel = document.getElementById("cac");
    if (!panel) return;
    const status = document.getElementById("cac-status");
    const list = document.getElementById("cac-list");
    const response = await fetch(panel.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) { status.textContent = "Suggestions could not be loaded."; return; }
    const suggestions = await response.json();
    status.textContent = suggestions.length ? "" : "No suggestions for this chart (yet).";
    highlight(suggestions);
    list.replaceChildren(...suggestions.map((s) => item(panel, s, status)));
  });
})();
