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

  // A range over a document's text by character offsets, whatever text nodes the <pre> holds.
  function rangeIn(pre, start, end) {
    const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    let seen = 0, started = false;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const length = node.textContent.length;
      if (!started && start <= seen + length) { range.setStart(node, start - seen); started = true; }
      if (started && end <= seen + length) { range.setEnd(node, end - seen); return range; }
      seen += length;
    }
    return null;
  }

  const ranges = new Map(); // suggestion id -> its first range, to show it on request
  const LEADING = 10; // suggestions listed openly, best first; the rest fold under "weaker readings"

  // The CSS Custom Highlight API marks the spans without touching the document's DOM, so
  // selecting and citing text in it works exactly as without suggestions.
  // Only the leading suggestions (and any accepted) are marked: the weaker tail stays unmarked so
  // the note is not painted over, but each of its quotes can still be shown on request.
  function highlight(suggestions) {
    const marked = [];
    for (const [index, s] of suggestions.entries()) {
      if (s.status === "rejected") continue;
      const shown = index < LEADING || s.status === "accepted";
      for (const span of s.spans) {
        const pre = document.querySelector('pre[data-document-id="' + span.document_id + '"]');
        if (!pre) continue;
        const text = pre.textContent;
        const start = utf16(text, span.start), end = utf16(text, span.end);
        if (text.slice(start, end) !== span.excerpt) continue; // the document changed since: not marked
        const range = rangeIn(pre, start, end);
        if (!range) continue;
        if (shown) marked.push(range);
        if (!ranges.has(s.id)) ranges.set(s.id, range);
      }
    }
    if (window.CSS && CSS.highlights && window.Highlight) CSS.highlights.set("cac", new Highlight(...marked));
  }

  // Scroll to the supporting words and select them (so they can be cited like any selection).
  function showSpan(id) {
    const range = ranges.get(id);
    if (!range) return;
    const pre = range.startContainer.parentElement.closest("pre");
    const box = range.getBoundingClientRect();
    if (pre) pre.scrollTop += box.top - pre.getBoundingClientRect().top - pre.clientHeight / 3;
    range.startContainer.parentElement.scrollIntoView({ block: "nearest" });
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
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
    list.replaceChildren(...suggestions.slice(0, LEADING).map((s) => item(panel, s, status)));
    const weaker = suggestions.slice(LEADING);
    if (weaker.length) {
      const fold = document.createElement("details");
      fold.className = "cac-weaker";
      const summary = document.createElement("summary");
      summary.textContent = weaker.length + " weaker readings (lower confidence)";
      const more = document.createElement("ol");
      more.className = "cac-list";
      more.start = LEADING + 1;
      more.replaceChildren(...weaker.map((s) => item(panel, s, status)));
      fold.append(summary, more);
      list.after(fold);
    }
  });
})();
