// lunora serve: the little the pages need beyond HTML. It keeps the
// token for this tab (sessionStorage, sent as a header, never a cookie),
// confirms each action, swaps in the live fragment when the event
// stream says the reading changed, and runs the admin page's
// destination form (preview, then confirm). No framework, nothing from elsewhere.
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

  // The admin page's destination form: the presets that fit the chosen
  // platform (the recommended one selected) and its default ingest URL;
  // Preview shows the diff and the plan, Confirm writes what was
  // previewed (the preview's digest goes back: the server writes only if
  // the file did not change since). Nothing here deploys.
  const initForm = () => {
    const platform = $("add-platform");
    const preset = $("add-preset");
    const catalog = $("preset-catalog");
    if (!platform || !preset || !catalog) return;
    preset.replaceChildren();
    // The platform's recommended preset; without one, its own first.
    let chosen = null;
    let own = null;
    for (const o of catalog.options) {
      if (o.dataset.platform !== platform.value) continue;
      const c = o.cloneNode(true);
      preset.appendChild(c);
      if (o.dataset.recommended === "true" && !chosen) chosen = c;
      if (!own && o.value.startsWith(platform.value + "-")) own = c;
    }
    if (chosen || own) (chosen || own).selected = true;
    const url = $("add-ingest-url");
    const option = platform.selectedOptions[0];
    const def = (option && option.dataset.defaultUrl) || "";
    url.value = def;
    url.placeholder = def ? "" : "rtmps://… (this platform has no default)";
  };

  const formBody = () => {
    const body = {};
    for (const el of $("add-destination").querySelectorAll("input[name], select[name]")) {
      const v = el.value.trim();
      if (v) body[el.name] = v;
    }
    return body;
  };

  let pending = null;
  const line = (parent, tag, text, cls) => {
    const el = document.createElement(tag);
    el.textContent = text;
    if (cls) el.className = cls;
    parent.appendChild(el);
    return el;
  };
  const usd = (v) => (v < 0 ? "-$" : "+$") + Math.abs(v).toFixed(2);

  const showPreview = (doc) => {
    const report = doc.add || doc.remove || {};
    $("edit-title").textContent = (doc.action === "add" ? "Add " : "Remove ") + doc.destination + ": what Confirm writes to " + doc.config;
    $("edit-summary").textContent = doc.add
      ? "In stage " + doc.add.stage + " (" + doc.add.stage_reason + ")."
      : "The next deploy deletes " + (report.deletes || []).join(", ") + "." +
        (report.removed_stages || []).map((st) => " Stage " + st + " goes too: " + doc.destination + " was all it deployed.").join("");
    const pre = $("edit-diff");
    pre.replaceChildren();
    for (const l of doc.diff.split("\n")) {
      let cls = "";
      if (l.startsWith("@@")) cls = "hunk";
      else if (l.startsWith("+") && !l.startsWith("+++")) cls = "added";
      else if (l.startsWith("-") && !l.startsWith("---")) cls = "removed";
      line(pre, "span", l + "\n", cls);
    }
    const plan = $("edit-plan");
    plan.replaceChildren();
    if (doc.plan_error) line(plan, "li", "The plan could not be read: " + doc.plan_error, "problem");
    else if (doc.plan) {
      if (!doc.plan.changes.length) line(plan, "li", "No stack changes.");
      for (const c of doc.plan.changes) {
        const li = line(plan, "li", c.summary, "plan-" + c.action);
        for (const r of c.risks) line(li, "div", r, "warn");
      }
      line(plan, "li", "Compared with " + doc.plan.compared_with + ".", "muted");
    }
    const cost = report.cost;
    $("edit-cost").textContent = cost
      ? "Monthly cost (" + cost.streaming_hours + " h streaming): $" + cost.before_usd.toFixed(2) + " → $" + cost.after_usd.toFixed(2) + " (" + usd(cost.change_usd) + ")"
      : "";
    $("edit-next").textContent = doc.next;
    $("edit-confirm").disabled = false;
    const box = $("edit-preview");
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  };

  const post = async (path, body) => {
    const r = await fetch(path, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify(body),
    });
    const doc = await r.json().catch(() => null);
    if (r.status === 401) {
      sessionStorage.removeItem(TOKEN);
      say("The token was refused; enter it again.", "error");
      return null;
    }
    if (!r.ok) {
      say((doc && doc.message) || r.statusText, "error");
      return null;
    }
    return doc;
  };

  const edit = async (button) => {
    const what = button.dataset.edit;
    if (what === "cancel") {
      pending = null;
      $("edit-preview").hidden = true;
      return;
    }
    if (!token() && !(await askToken())) return;
    button.disabled = true;
    try {
      if (what === "confirm") {
        if (!pending) return;
        const p = pending;
        say("Writing lunora.yaml…", "busy");
        const doc = await post(p.path, p.body);
        if (doc) {
          pending = null;
          say((p.kind === "add" ? "Added " : "Removed ") + doc.destination + " in " + doc.config + ". Nothing is deployed: run lunora plan, then lunora deploy.", "ok");
          refresh();
        }
        return;
      }
      const dest = button.dataset.dest;
      const body = what === "add" ? formBody() : {};
      const base = "/api/admin/destinations";
      const path = what === "add" ? base + "/preview" : base + "/" + encodeURIComponent(dest) + "/remove/preview";
      say("Preparing the preview…", "busy");
      const doc = await post(path, body);
      if (!doc) return;
      say("", "");
      pending = what === "add"
        ? { kind: "add", path: base, body: Object.assign({}, body, { digest: doc.digest }) }
        : { kind: "remove", path: base + "/" + encodeURIComponent(dest) + "/remove", body: { digest: doc.digest } };
      showPreview(doc);
    } catch (e) {
      say("The request failed: " + e, "error");
    } finally {
      button.disabled = false;
    }
  };

  document.addEventListener("change", (e) => {
    if (e.target.id === "add-platform") initForm();
  });
  document.addEventListener("submit", (e) => {
    if (e.target.id === "add-destination") {
      e.preventDefault();
      const b = $("add-preview");
      if (b) edit(b);
    }
  });

  document.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (b) { act(b); return; }
    const ed = e.target.closest("button[data-edit]");
    if (ed) { edit(ed); return; }
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
      if (r.ok) { target().innerHTML = await r.text(); loadThumbs(); initForm(); }
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
  initForm();
  if (tokenReads && !token()) {
    askToken().then((ok) => { if (ok) { refresh(); connect(); } });
  } else {
    if (tokenReads) refresh();
    connect();
  }
})();
