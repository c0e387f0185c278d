// lunora serve: the little the pages need beyond HTML. It keeps the
// token for this tab (sessionStorage, sent as a header, never a cookie),
// confirms each action, and swaps in the live fragment when the event
// stream says the reading changed. No framework, nothing from elsewhere.
"use strict";
(() => {
  const TOKEN = "lunora-token";
  const body = document.body;
  const tokenReads = body.dataset.tokenReads === "true";
  const $ = (id) => document.getElementById(id);
  const token = () => sessionStorage.getItem(TOKEN);
  const headers = (extra) => {
    const h = Object.assign({}, extra);
    const t = token();
    if (t) h.Authorization = "Bearer " + t;
    return h;
  };
  const say = (text, kind) => {
    const m = $("message");
    m.textContent = text;
    m.className = kind || "";
    if (kind === "ok") setTimeout(() => { if (m.textContent === text) m.textContent = ""; }, 8000);
  };

  // A dialog with yes/no buttons, as a promise of the answer.
  const ask = (dialog) => new Promise((resolve) => {
    const done = (answer) => { dialog.close(); dialog.removeEventListener("click", onClick); resolve(answer); };
    const onClick = (e) => {
      const b = e.target.closest("button[data-answer]");
      if (b) done(b.dataset.answer === "yes");
    };
    dialog.addEventListener("click", onClick);
    dialog.addEventListener("cancel", () => done(false), { once: true });
    dialog.showModal();
  });

  const askToken = async () => {
    const input = $("token-input");
    input.value = "";
    const yes = await ask($("token-dialog"));
    if (yes && input.value.trim()) {
      sessionStorage.setItem(TOKEN, input.value.trim());
      return true;
    }
    return false;
  };

  const confirmAction = (text) => {
    $("confirm-text").textContent = text;
    return ask($("confirm-dialog"));
  };

  // One destination's or the flow's outcome, in words.
  const outcome = (doc) => {
    if (!doc) return "";
    if (doc.destinations) return doc.destinations.map((d) => d.id + ": " + d.message).join(" · ");
    if (doc.kind === "failover") return "preferred source now " + (doc.after && doc.after.preferred);
    return doc.message || "";
  };

  const act = async (button) => {
    const kind = button.dataset.action;
    const dest = button.dataset.dest;
    const to = button.dataset.to;
    const label = kind === "failover" ? "Switch the flow to its " + to + " source" : (kind === "start" ? "Start " : "Stop ") + dest;
    if (!token() && !(await askToken())) return;
    if (!(await confirmAction(label + "?"))) return;
    const path = kind === "failover" ? "/api/mediaconnect/failover"
      : "/api/destinations/" + encodeURIComponent(dest) + "/" + kind + "-channel";
    say(label + "…", "busy");
    button.disabled = true;
    try {
      const r = await fetch(path, {
        method: "POST",
        headers: headers({ "Content-Type": "application/json" }),
        body: JSON.stringify(kind === "failover" ? { to } : {}),
      });
      const doc = await r.json().catch(() => null);
      if (r.status === 401) {
        sessionStorage.removeItem(TOKEN);
        say("The token was refused; enter it again.", "error");
      } else if (!r.ok) {
        say((doc && doc.message) || r.statusText, "error");
      } else {
        const failed = doc && doc.destinations && doc.destinations.some((d) => d.result === "failed");
        say(outcome(doc), failed ? "error" : "ok");
      }
    } catch (e) {
      say(label + " failed: " + e, "error");
    } finally {
      button.disabled = false;
      refresh();
    }
  };

  document.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (b) { act(b); return; }
    if (e.target.closest("#token-button")) askToken().then((ok) => { if (ok) { refresh(); connect(); } });
  });

  // Thumbnails come through fetch, so they can carry the token.
  const urls = new Map();
  const loadThumbs = () => {
    document.querySelectorAll("img.thumb[data-src]").forEach(async (img) => {
      try {
        const r = await fetch(img.dataset.src, { headers: headers() });
        if (!r.ok) return;
        const url = URL.createObjectURL(await r.blob());
        const old = urls.get(img.dataset.src);
        if (old) URL.revokeObjectURL(old);
        urls.set(img.dataset.src, url);
        img.src = url;
      } catch (_) { /* the next reading tries again */ }
    });
  };

  const fragment = body.dataset.page === "admin" ? "/fragments/admin" : "/fragments/live";
  const target = () => $(body.dataset.page === "admin" ? "admin" : "live");
  let refreshing = false;
  const refresh = async () => {
    if (refreshing || (tokenReads && !token())) return;
    refreshing = true;
    try {
      const r = await fetch(fragment, { headers: headers() });
      if (r.ok) { target().innerHTML = await r.text(); loadThumbs(); }
    } catch (_) { /* shown by the connection line */ }
    refreshing = false;
  };

  // The event stream, read with fetch so it can carry the token;
  // reconnects after a break.
  let streaming = null;
  const connect = async () => {
    if (body.dataset.page !== "streaming" || (tokenReads && !token())) return;
    if (streaming) streaming.abort();
    const ctl = new AbortController();
    streaming = ctl;
    const conn = $("conn");
    for (;;) {
      try {
        const r = await fetch("/api/events", { headers: headers(), signal: ctl.signal });
        if (!r.ok || !r.body) throw new Error(r.status);
        conn.textContent = "live";
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let name = "message";
            let data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) name = line.slice(6).trim();
              else if (line.startsWith("data:")) data += line.slice(5).trim();
            }
            if (name === "status") refresh();
            else if (name === "progress") {
              try { const p = JSON.parse(data); say(p.stack + ": " + p.status, "busy"); } catch (_) { /* not for people */ }
            } else if (name === "error") {
              try { conn.textContent = "reading failed: " + JSON.parse(data).message; } catch (_) { /* keep */ }
            }
          }
        }
      } catch (e) {
        if (ctl.signal.aborted) return;
      }
      conn.textContent = "reconnecting…";
      await new Promise((ok) => setTimeout(ok, 2000));
    }
  };

  loadThumbs();
  if (tokenReads && !token()) {
    askToken().then((ok) => { if (ok) { refresh(); connect(); } });
  } else {
    if (tokenReads) refresh();
    connect();
  }
})();
