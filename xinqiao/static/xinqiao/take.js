// The student questionnaire (issue 4): one question per screen, every answer kept in the browser the
// moment it is given and sent to the server in batches, safe to retry, resumable on any device.
// No inline scripts (CSP): wired by data- attributes on <form data-take>; texts come from data-msg-*.
(() => {
  "use strict";

  const form = document.querySelector("form[data-take]");
  if (!form) return;

  const ds = form.dataset;
  const msg = (name) => ds["msg" + name] || "";
  const storeKey = "xq.take." + ds.ref;
  const FLUSH_DELAY_MS = 2500; // a few seconds of answers per request
  const MAX_BATCH = 200;
  const MAX_BACKOFF_MS = 30000;

  // --- local copy: every answer is written here first --------------------------------------------
  let memoryCopy = null;
  function readLocal() {
    try {
      const raw = window.localStorage.getItem(storeKey);
      return raw ? JSON.parse(raw) : memoryCopy;
    } catch (e) {
      return memoryCopy;
    }
  }
  function writeLocal() {
    memoryCopy = state;
    try {
      window.localStorage.setItem(storeKey, JSON.stringify(state));
    } catch (e) {
      /* private mode or full: the in-memory copy still holds it until sent */
    }
  }
  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  let state = readLocal() || {};
  state.answers = state.answers || {}; // "CODE:item" -> {i, q, v, s, n, ok}
  state.times = state.times || {}; // "CODE:item" -> seconds the item was on screen
  state.seq = state.seq || 0;
  if (!state.key) state.key = newKey(); // the submission key: generated once per assignment

  // Merge the server's drafts (resume on another device): the higher client_seq wins per item.
  const serverRows = JSON.parse((document.getElementById("take-drafts") || {}).textContent || "[]");
  const onServer = {};
  let serverSeq = Number(ds.serverSeq || 0);
  serverRows.forEach((r) => {
    const k = r.i + ":" + r.q;
    onServer[k] = r.n;
    serverSeq = Math.max(serverSeq, r.n);
    const local = state.answers[k];
    if (!local || local.n <= r.n) state.answers[k] = { i: r.i, q: r.q, v: r.v, s: r.s, n: r.n, ok: true };
  });
  // Anything the browser holds that the server lacks (or has older) is sent again.
  Object.keys(state.answers).forEach((k) => {
    const a = state.answers[k];
    if (!(k in onServer) || onServer[k] < a.n) a.ok = false;
  });
  state.seq = Math.max(state.seq, serverSeq);
  writeLocal();

  // Two tabs of the same questionnaire share the local copy.
  window.addEventListener("storage", (event) => {
    if (event.key !== storeKey || !event.newValue) return;
    try {
      const other = JSON.parse(event.newValue);
      Object.keys(other.answers || {}).forEach((k) => {
        const mine = state.answers[k];
        const theirs = other.answers[k];
        if (!mine || mine.n < theirs.n) {
          state.answers[k] = theirs;
          setRadio(theirs.i, theirs.q, theirs.v);
        } else if (mine.n === theirs.n && theirs.ok) mine.ok = true;
      });
      state.seq = Math.max(state.seq, other.seq || 0);
      state.key = other.key || state.key;
      refresh();
    } catch (e) {
      /* ignore a malformed copy */
    }
  });

  // --- status line ---------------------------------------------------------------------------------
  const statusEl = form.querySelector("[data-status]");
  function setStatus(text, offline) {
    if (!statusEl) return;
    statusEl.textContent = text;
    statusEl.classList.toggle("is-offline", !!offline);
  }

  // --- sending ----------------------------------------------------------------------------------
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }
  function pending() {
    return Object.values(state.answers).filter((a) => !a.ok);
  }
  function wire(a) {
    return { i: a.i, q: a.q, v: a.v, s: Math.round((a.s || 0) * 100) / 100, n: a.n };
  }
  let inFlight = null;
  let timer = null;
  let backoff = 1000;
  let stopped = false; // closed, signed out or submitted: no more sending

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    });
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    return { status: response.status, data };
  }

  async function refreshToken() {
    try {
      const r = await fetch(ds.stateUrl, { credentials: "same-origin" });
      const data = await r.json();
      if (data && data.csrf) {
        const meta = document.querySelector('meta[name="csrf-token"]');
        if (meta) meta.content = data.csrf;
      }
    } catch (e) {
      /* offline: the retry will come */
    }
  }

  function handleRefusal(result) {
    const code = result.data && result.data.code;
    if (code === "submitted") {
      stopped = true;
      clearLocal();
      window.location.replace(result.data.redirect || ds.doneUrl);
      return true;
    }
    if (code === "closed") {
      stopped = true;
      setStatus(msg("Closed"), true);
      return true;
    }
    if (code === "session") {
      stopped = true;
      setStatus(msg("Session"), true);
      return true;
    }
    if (code === "superseded") {
      // Signed in again elsewhere (the newest sign-in wins): stop; the answers stay on this device.
      stopped = true;
      setStatus((result.data && result.data.error) || msg("Session"), true);
      return true;
    }
    return false;
  }

  // At most one request per FLUSH_DELAY_MS while answering: an answer starts the timer, later
  // answers ride along (the timer is not restarted), so autosave never multiplies the load.
  function scheduleFlush(delay, restart) {
    if (stopped) return;
    if (timer && !restart) return;
    if (timer) window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      timer = null;
      flush();
    }, delay);
  }

  // Send what is pending; resolves true when nothing is pending any more.
  function flush() {
    if (inFlight) return inFlight;
    if (stopped) return Promise.resolve(false);
    const batch = pending().slice(0, MAX_BATCH).map(wire);
    if (!batch.length) {
      setStatus(msg("Saved"));
      return Promise.resolve(true);
    }
    setStatus(msg("Saving"));
    inFlight = (async () => {
      let result;
      try {
        result = await post(ds.saveUrl, { answers: batch });
      } catch (e) {
        result = { status: 0, data: null };
      }
      inFlight = null;
      if (result.status === 200 && result.data && result.data.ok) {
        batch.forEach((sent) => {
          const a = state.answers[sent.i + ":" + sent.q];
          if (a && a.n === sent.n) a.ok = true;
        });
        writeLocal();
        backoff = 1000;
        if (pending().length) return flush();
        setStatus(msg("Saved"));
        return true;
      }
      if (handleRefusal(result)) return false;
      if (result.status === 403 && !(result.data && result.data.code)) await refreshToken(); // CSRF
      // Offline, server restarting, or refused: keep everything, try again later (backoff).
      setStatus(msg("Offline"), true);
      scheduleFlush(backoff, true);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      return false;
    })();
    return inFlight;
  }

  // The page is going away: hand what is pending to the browser to deliver (no reply is awaited,
  // so the answers stay marked unsent here and are sent again later — the server ignores repeats).
  function beacon() {
    if (stopped) return;
    const batch = pending().slice(0, MAX_BATCH).map(wire);
    writeLocal();
    if (!batch.length || !navigator.sendBeacon) return;
    const body = new URLSearchParams();
    body.set("csrfmiddlewaretoken", csrfToken());
    body.set("payload", JSON.stringify({ answers: batch }));
    try {
      navigator.sendBeacon(ds.saveUrl, body);
    } catch (e) {
      /* the local copy still has them */
    }
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") {
      stopTiming();
      beacon();
    } else startTiming();
  });
  window.addEventListener("pagehide", () => {
    stopTiming();
    beacon();
  });
  window.addEventListener("online", () => {
    backoff = 1000;
    flush();
  });
  window.addEventListener("offline", () => setStatus(msg("Offline"), true));

  // --- screens ----------------------------------------------------------------------------------
  const screens = Array.from(form.querySelectorAll("[data-screen]"));
  const items = screens.filter((s) => s.dataset.screen === "item");
  const prevBtn = form.querySelector("[data-prev]");
  const nextBtn = form.querySelector("[data-next]");
  const nav = form.querySelector("[data-nav]");
  const bar = form.querySelector("[data-progress-bar]");
  const barBox = form.querySelector("[data-progress]");
  const progressText = form.querySelector("[data-progress-text]");
  const unansweredEl = form.querySelector("[data-unanswered]");
  let current = 0;

  const keyOf = (el) => el.dataset.instrument + ":" + el.dataset.item;
  const valueOf = (code, item) => {
    const a = state.answers[code + ":" + item];
    return a ? a.v : null;
  };
  function applicable(el) {
    if (!el.dataset.askIf) return true;
    const min = Number(el.dataset.askMin || 0);
    return el.dataset.askIf.split(",").some((id) => {
      const v = valueOf(el.dataset.instrument, id);
      return v !== null && v !== undefined && v >= min;
    });
  }
  function visible(index) {
    const el = screens[index];
    return el.dataset.screen !== "item" || applicable(el);
  }
  function setRadio(code, item, value) {
    form.querySelectorAll('input[name="a:' + code + ":" + item + '"]').forEach((input) => {
      input.checked = value !== null && value !== undefined && Number(input.value) === value;
    });
  }

  function refresh() {
    const shown = items.filter(applicable);
    const answered = shown.filter((el) => {
      const v = valueOf(el.dataset.instrument, el.dataset.item);
      return v !== null && v !== undefined;
    });
    const pct = shown.length ? Math.round((answered.length * 100) / shown.length) : 100;
    if (bar) bar.style.width = pct + "%";
    if (barBox) barBox.setAttribute("aria-valuenow", String(pct));
    const pos = items.indexOf(screens[current]);
    if (progressText) {
      progressText.textContent =
        pos >= 0
          ? msg("Progress") + " " + (shown.indexOf(screens[current]) + 1) + " " + msg("Of") + " " + shown.length
          : answered.length + " / " + shown.length;
    }
    if (unansweredEl) {
      const missing = shown.length - answered.length;
      unansweredEl.textContent = missing ? msg("Unanswered") + " " + missing : msg("AllAnswered");
    }
    if (prevBtn) prevBtn.disabled = current === 0;
    if (nextBtn) nextBtn.hidden = screens[current] && screens[current].dataset.screen === "review";
  }

  // Seconds on each item: counted while the item is on screen and the page is visible.
  let shownAt = null;
  function startTiming() {
    if (screens[current] && screens[current].dataset.screen === "item") shownAt = Date.now();
  }
  function stopTiming() {
    const el = screens[current];
    if (shownAt !== null && el && el.dataset.screen === "item") {
      const k = keyOf(el);
      state.times[k] = (state.times[k] || 0) + (Date.now() - shownAt) / 1000;
    }
    shownAt = null;
  }
  function secondsOn(k) {
    return (state.times[k] || 0) + (shownAt !== null ? (Date.now() - shownAt) / 1000 : 0);
  }

  function show(index, focus) {
    stopTiming();
    screens.forEach((el, i) => el.classList.toggle("is-current", i === index));
    current = index;
    state.pos = index;
    writeLocal();
    startTiming();
    refresh();
    if (focus) {
      const heading = screens[index].querySelector("legend, h2");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus({ preventScroll: true });
      }
      window.scrollTo(0, 0);
    }
    // Leaving an instrument (its intro, or the hand-in screen, comes next): send now.
    if (screens[index].dataset.screen !== "item" && pending().length) flush();
  }
  function step(direction) {
    let i = current + direction;
    while (i >= 0 && i < screens.length && !visible(i)) i += direction;
    if (i >= 0 && i < screens.length) show(i, true);
  }

  // --- answering ----------------------------------------------------------------------------------
  function record(code, item, value) {
    const k = code + ":" + item;
    state.seq += 1;
    state.answers[k] = { i: code, q: item, v: value, s: secondsOn(k), n: state.seq, ok: false };
  }
  form.addEventListener("change", (event) => {
    const input = event.target;
    if (!input.name || !input.name.startsWith("a:")) return;
    const parts = input.name.split(":");
    const code = parts[1];
    const item = parts.slice(2).join(":");
    record(code, item, Number(input.value));
    // An ask-if question no longer shown loses its answer (never kept as if it had been asked).
    items.forEach((el) => {
      if (el.dataset.instrument !== code || applicable(el)) return;
      const v = valueOf(code, el.dataset.item);
      if (v !== null && v !== undefined) {
        record(code, el.dataset.item, null);
        setRadio(code, el.dataset.item, null);
      }
    });
    writeLocal(); // kept in the browser the moment it is given
    refresh();
    scheduleFlush(FLUSH_DELAY_MS);
    const el = screens[current];
    if (el && el.dataset.screen === "item" && keyOf(el) === code + ":" + item) {
      window.setTimeout(() => {
        if (screens[current] === el) step(1);
      }, 350);
    }
  });

  // --- handing in ---------------------------------------------------------------------------------
  const submitBtn = form.querySelector("[data-submit]");
  let submitting = false;
  function clearLocal() {
    try {
      window.localStorage.removeItem(storeKey);
    } catch (e) {
      /* nothing to clear */
    }
  }
  function maxSeq() {
    return Object.values(state.answers).reduce((m, a) => Math.max(m, a.n), 0);
  }
  async function handIn() {
    if (submitting) return;
    submitting = true;
    if (submitBtn) submitBtn.disabled = true;
    let wait = 1000;
    for (;;) {
      setStatus(msg("Submitting"));
      const synced = await flush();
      if (stopped) return;
      if (synced) {
        let result;
        try {
          result = await post(ds.submitUrl, { client_key: state.key, seq: maxSeq() });
        } catch (e) {
          result = { status: 0, data: null };
        }
        if (result.status === 200 && result.data && result.data.ok) {
          stopped = true;
          clearLocal();
          window.location.replace(result.data.redirect || ds.doneUrl);
          return;
        }
        if (handleRefusal(result)) return;
        if (result.data && result.data.code === "stale") {
          Object.values(state.answers).forEach((a) => {
            a.ok = false;
          });
          writeLocal();
          continue;
        }
        if (result.status === 403 && !(result.data && result.data.code)) await refreshToken();
      }
      setStatus(msg("Waiting"), true);
      await new Promise((resolve) => window.setTimeout(resolve, wait));
      wait = Math.min(wait * 2, MAX_BACKOFF_MS);
    }
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    handIn();
  });

  // --- reading aloud (primary lower grades) ----------------------------------------------------------
  if (ds.readAloud === "1" && "speechSynthesis" in window) {
    const pickVoice = () =>
      window.speechSynthesis.getVoices().find((v) => /^zh(-|_)?(CN|Hans)?/i.test(v.lang)) || null;
    form.querySelectorAll("[data-speak]").forEach((button) => {
      button.hidden = false;
      button.addEventListener("click", () => {
        const screen = button.closest("[data-screen]");
        const parts = [screen.querySelector("[data-speak-text]")]
          .concat(Array.from(screen.querySelectorAll("[data-speak-option]")))
          .filter(Boolean)
          .map((el) => el.textContent.trim());
        window.speechSynthesis.cancel();
        const utterance = new SpeechSynthesisUtterance(parts.join("。"));
        utterance.lang = document.documentElement.lang === "en" ? "en-US" : "zh-CN";
        const voice = utterance.lang === "zh-CN" ? pickVoice() : null;
        if (voice) utterance.voice = voice;
        utterance.rate = 0.9;
        window.speechSynthesis.speak(utterance);
      });
    });
  }

  // --- start ----------------------------------------------------------------------------------------
  Object.values(state.answers).forEach((a) => setRadio(a.i, a.q, a.v));
  form.classList.add("is-enhanced");
  if (nav) nav.hidden = false;
  if (prevBtn) prevBtn.addEventListener("click", () => step(-1));
  if (nextBtn) nextBtn.addEventListener("click", () => step(1));
  let start = Number.isInteger(state.pos) && state.pos < screens.length ? state.pos : -1;
  if (start < 0) {
    // New device or first visit: the first unanswered question (or the first screen).
    const firstOpen = items.findIndex((el) => {
      const v = valueOf(el.dataset.instrument, el.dataset.item);
      return applicable(el) && (v === null || v === undefined);
    });
    start = serverRows.length && firstOpen >= 0 ? screens.indexOf(items[firstOpen]) : 0;
    if (serverRows.length && firstOpen < 0) start = screens.length - 1;
  }
  if (!visible(start)) start = 0;
  show(start, false);
  if (pending().length) flush();
  else setStatus(serverRows.length ? msg("Saved") : "");
})();

// The sign-in page: the personal QR code opens /take/#p=ABCDEFGH. The personal code is in the
// fragment, which the browser never sends to the server (no access log holds it); it is copied
// into the form here and then removed from the address bar and the history.
(() => {
  "use strict";

  const field = document.querySelector("input[data-personal-code]");
  if (!field) return;
  const match = /(?:^#|&)p=([A-Za-z0-9-]{4,20})/.exec(window.location.hash || "");
  if (!match) return;
  const code = match[1].replace(/-/g, "").toUpperCase();
  field.value = code.length === 8 ? code.slice(0, 4) + "-" + code.slice(4) : code;
  try {
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  } catch (e) {
    /* old browsers: the fragment stays in the address bar, still never sent */
  }
  const sitting = document.querySelector("input[name=code]");
  if (sitting && !sitting.value) sitting.focus();
})();
