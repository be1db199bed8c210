// The little JavaScript the dashboard owns. Pages work without it; it adds freshness
// ticking, the polling fallback switch, and guards against double submits.
(function () {
  "use strict";

  // Server time minus browser time, so "updated 3 s ago" is right on a skewed clock.
  var clockOffset = 0;
  var serverNow = Date.parse(document.body.dataset.serverNow || "");
  if (!isNaN(serverNow)) clockOffset = serverNow - Date.now();
  function now() { return Date.now() + clockOffset; }

  // --- live stream state: while it is down, fragments poll (data-poll-fallback) ---------
  window.liveStreamUp = false;
  var ticking = new WeakSet();
  document.body.addEventListener("htmx:sseOpen", function (event) {
    window.liveStreamUp = true;
    var source = event.detail.source;
    if (source && !ticking.has(source)) {
      ticking.add(source);
      source.addEventListener("tick", onTick);
      source.addEventListener("added", function (event) {
        noteAdded(addedCount + Number(event.data || 0));
      });
      // On (re)connecting: how many in all since the list was drawn (one added while the
      // stream was down was never told); the larger count stands.
      source.addEventListener("added-since", function (event) {
        noteAdded(Math.max(addedCount, Number(event.data || 0)));
      });
    }
  });
  // A campaign list hears of campaigns added since it was drawn that it would show: it
  // offers to show them (list.html's note), counts them, and says so once, not at every
  // further one. Reset when the list is drawn again.
  var addedCount = 0;
  function noteAdded(count) {
    var note = document.querySelector("[data-added-note]");
    if (!note || !count || count === addedCount && !note.hidden) return;
    addedCount = count;
    var words = note.querySelector("[data-added-words]");
    if (words) words.textContent = count === 1 ? "1 campaign was added" : count + " campaigns were added";
    if (!note.hidden) return;
    note.hidden = false;
    announce(note.textContent.replace(/\s+/g, " ").trim());
  }
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "results") addedCount = 0;
  });
  document.body.addEventListener("htmx:sseError", function () { window.liveStreamUp = false; });
  // Leaving a page with a stream open makes the browser fail it, and htmx logs that as an
  // error on every navigation (htmx#2005): close the page's streams as it goes. A page
  // brought back from the back-forward cache then has none, so it is loaded afresh.
  var openStreams = [];
  var leaving = false;
  // How long a stream error waits before htmx hears of it (and logs it, reconnects, and
  // the page falls back to polling). Chromium can fail a stream as soon as a navigation
  // starts, before beforeunload or pagehide, and the page is gone by then; and a stream
  // the server ends (a restart, a viewer too far behind) is reopened by the browser itself
  // after the 3 s the server asks for: by 5 s it is open again and nothing went wrong.
  var STREAM_ERROR_GRACE_MS = 5000;
  if (window.htmx && htmx.createEventSource) {
    var createEventSource = htmx.createEventSource;
    htmx.createEventSource = function (url) {
      var source = createEventSource(url);
      // Each reconnect makes a new one: keep only those not closed yet.
      openStreams = openStreams.filter(function (s) { return s.readyState !== EventSource.CLOSED; });
      openStreams.push(source);
      deferErrors(source);
      return source;
    };
  }
  // htmx sets `onerror` on the stream it asked for: keep that handler and call it after
  // the grace period, unless the page is being left or the stream is open again by then.
  function deferErrors(source) {
    var handler = null;
    Object.defineProperty(source, "onerror", {
      configurable: true,
      get: function () { return handler; },
      set: function (fn) { handler = fn; },
    });
    var handedOver = false;
    var opened = false;
    source.addEventListener("open", function () { opened = true; });
    source.addEventListener("error", function (event) {
      // Never connected (refused, unreachable): no retry by the browser every 3 s either.
      if (!opened) source.close();
      window.setTimeout(function () {
        if (handler && !handedOver && !leaving && source.readyState !== EventSource.OPEN) {
          // Still down: closed here, so htmx reconnects after a delay that doubles each
          // time (0.5 s to 64 s), not the browser after a fixed 3 s with an error logged
          // each time for as long as the stream is out of reach (the page polls meanwhile).
          handedOver = true;
          source.close();
          handler.call(source, event);
        }
      }, STREAM_ERROR_GRACE_MS);
    });
  }
  function closeStreams() {
    leaving = true;
    openStreams.forEach(function (source) { source.close(); });
  }
  // Close them at beforeunload too. Should the page stay after all (a navigation that did
  // not happen), its fragments poll instead, as they do whenever the stream is down.
  window.addEventListener("beforeunload", function () {
    closeStreams();
    window.liveStreamUp = false;
  });
  window.addEventListener("pagehide", closeStreams);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && openStreams.length) window.location.reload();
  });
  // Fragments marked data-poll-fallback poll only while the stream is down. Done here, not
  // as an hx-trigger filter, because htmx evaluates filters with eval, which the
  // Content-Security-Policy forbids. A poll has no triggering event; an SSE trigger does.
  // While the browser is offline no poll is sent at all: each could only fail, and a list
  // of live rows logged an error per row every interval. The next poll once back online
  // catches up.
  document.body.addEventListener("htmx:confirm", function (event) {
    if (event.detail.triggeringEvent) return;
    var elt = event.detail.elt;
    var polls = /\bevery\s/.test(elt.getAttribute("hx-trigger") || "");
    if (polls && navigator.onLine === false ||
        window.liveStreamUp && elt.hasAttribute("data-poll-fallback")) {
      event.preventDefault();
    }
  });

  // A tick confirms campaigns were fetched at `at`, even when nothing changed.
  function onTick(event) {
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    var times = {};
    (data.ids || []).forEach(function (id) { times[id] = data.at; });
    applyFetchTimes(times);
  }

  // The newest known fetch time of each campaign, from ticks, the page and polls. A swapped
  // fragment carries the time of its campaign's last *change*, so it is painted over again.
  var known = {};
  function applyFetchTimes(times) {
    Object.keys(times || {}).forEach(function (id) {
      if (!known[id] || Date.parse(times[id]) > Date.parse(known[id])) known[id] = times[id];
    });
    document.querySelectorAll(".freshness[data-campaign]").forEach(function (el) {
      var at = known[el.dataset.campaign];
      if (!at || el.dataset.error) return;
      if (!el.dataset.fetchedAt || Date.parse(at) > Date.parse(el.dataset.fetchedAt)) {
        el.dataset.fetchedAt = at;
      }
    });
    renderFreshness();
  }
  // Sent by the polling fallback (an HX-Trigger header) when the stream is down.
  document.body.addEventListener("live:fetched", function (event) { applyFetchTimes(event.detail); });
  document.body.addEventListener("htmx:afterSettle", function () { applyFetchTimes({}); });
  var embedded = document.getElementById("fetched-times");
  if (embedded) {
    try { applyFetchTimes(JSON.parse(embedded.textContent)); } catch (e) { /* page still works */ }
  }

  function renderFreshness() {
    document.querySelectorAll(".freshness[data-fetched-at]").forEach(function (el) {
      var age = Math.max(0, Math.round((now() - Date.parse(el.dataset.fetchedAt)) / 1000));
      var interval = Number(el.dataset.interval || 5);
      // Polling (the stream down), a fetch time arrives up to a poll interval after the
      // fetch: numbers read "Not live: from 11 seconds ago" while all was well (a probe).
      var stale = age > (window.liveStreamUp ? 2 : 3) * interval;
      if (el.dataset.compact !== undefined) {  // a table row: said only when not live
        stale = stale || !!el.dataset.error;
        el.classList.toggle("stale", stale);
        el.textContent = stale ? "Not live: numbers from " + spanWords(age) + " ago" : "";
        return;
      }
      if (el.dataset.error) return;  // the server's own words say why it is not live
      el.classList.toggle("stale", stale);
      el.textContent = stale
        ? "Not live: last update " + age + " s ago. The dashboard is not getting updates from Atoms right now."
        : "updated " + age + " s ago";
    });
    // Relative times the server wrote ("in 12 minutes", "3 minutes ago") keep counting.
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var seconds = Math.round((at - now()) / 1000);
      el.textContent = seconds > 0 ? "in " + spanWords(seconds) : spanWords(-seconds) + " ago";
    });
    document.querySelectorAll("[data-pending-since]").forEach(function (el) {
      var waited = (now() - Date.parse(el.dataset.pendingSince)) / 1000;
      var note = el.querySelector(".overdue-note");
      if (note) note.hidden = !(waited > Number(el.dataset.warnAfter || 60));
    });
  }
  function spanWords(seconds) {
    function unit(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
    if (seconds < 60) return unit(seconds, "second");
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return unit(minutes, "minute");
    var hours = Math.floor(minutes / 60);
    if (hours < 48) return unit(hours, "hour") + (minutes % 60 ? ", " + unit(minutes % 60, "minute") : "");
    return unit(Math.floor(hours / 24), "day");
  }
  setInterval(renderFreshness, 1000);
  document.addEventListener("DOMContentLoaded", renderFreshness);
  document.body.addEventListener("htmx:afterSwap", renderFreshness);

  // --- "Start at" is the person's own time: send the browser's zone and say which -------
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  // Chromium still names some zones by their old names; people know the current ones.
  var RENAMED_ZONES = {
    "Asia/Calcutta": "Asia/Kolkata", "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Katmandu": "Asia/Kathmandu", "Asia/Rangoon": "Asia/Yangon",
    "Europe/Kiev": "Europe/Kyiv", "America/Buenos_Aires": "America/Argentina/Buenos_Aires"
  };
  zone = RENAMED_ZONES[zone] || zone;
  if (zone) {
    document.querySelectorAll("input[name=time_zone]").forEach(function (input) { input.value = zone; });
    // A zone the person has not chosen yet (calling hours) starts as their own.
    // Only a zone the list offers: one it refuses (Etc/UTC on some systems) would start as an error.
    document.querySelectorAll("input[data-browser-zone]").forEach(function (input) {
      var offered = input.list && Array.prototype.some.call(input.list.options, function (o) { return o.value === zone; });
      if (!input.value && offered) input.value = zone;
    });
    var help = document.getElementById("id_scheduled_at_helptext");
    if (help) help.textContent = help.textContent.replace(/Times are in .*$/, "Times are in your time zone, " + zone + ".");
  }

  // --- every time in the person's own zone ------------------------------------------------
  // The server writes times in its zone, labelled ("13:22 UTC"); each is written again here
  // in the browser's zone, with the same parts, whenever it arrives (page, htmx, stream).
  // "zoned" ones (when a campaign starts) also name the zone; a note under the page names
  // it once for the rest.
  var LOCAL_PARTS = {
    "date": {year: "numeric", month: "short", day: "numeric"},
    "minute": {year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"},
    "zoned": {year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"},
    "second": {year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit"},
    "day-minute": {month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"},
    "day-second": {month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit"},
    "time": {hour: "2-digit", minute: "2-digit", second: "2-digit"}
  };
  // What a pointer resting on a time shows: to the second, its zone named.
  var FULL_PARTS = {year: "numeric", month: "short", day: "numeric", hour: "2-digit",
                    minute: "2-digit", second: "2-digit", timeZoneName: "short"};
  function localText(iso, parts) {
    var at = new Date(iso);
    return parts && !isNaN(at) ? at.toLocaleString(undefined, parts) : null;
  }
  function renderLocalTimes() {
    if (!zone) return;
    var shown = false;
    document.querySelectorAll("time[data-local]").forEach(function (el) {
      var text = localText(el.getAttribute("datetime"), LOCAL_PARTS[el.dataset.local]);
      if (text === null) return;
      el.textContent = el.dataset.local === "zoned" ? text + " (" + zone + ")" : text;
      el.title = localText(el.getAttribute("datetime"), FULL_PARTS);
      shown = true;
    });
    // A chart's spoken name gives its span, in the same zone as its axis.
    document.querySelectorAll("[data-local-label]").forEach(function (el) {
      var parts = LOCAL_PARTS[el.dataset.localStyle];
      var from = localText(el.dataset.localFrom, parts), to = localText(el.dataset.localTo, parts);
      if (from === null || to === null) return;
      el.setAttribute("aria-label",
        el.dataset.localLabel.replace("{from}", from).replace("{to}", to));
    });
    var note = document.getElementById("time-zone-note");
    if (note && shown) {
      note.querySelector("span").textContent = zone;
      note.hidden = false;
    }
  }
  renderLocalTimes();
  document.body.addEventListener("htmx:afterSwap", renderLocalTimes);

  // --- buttons follow the status ----------------------------------------------------------
  // The live detail fragment says which state it shows; when that differs from the state
  // the buttons were drawn for, refetch them. This holds whether the fragment came from the
  // stream or from the polling fallback, and if a status event was missed.
  var askedFor = null;
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var actions = document.getElementById("actions");
    var shown = document.querySelector("#live-detail [data-button-state]");
    if (!actions || !shown || !window.htmx) return;
    var state = shown.dataset.buttonState;
    if (event.detail && event.detail.elt && event.detail.elt.id === "actions") {  // our own refetch
      // Answered, whatever state they were drawn for: buttons drawn for another state than
      // the one shown (the database a moment behind the fragment) are asked for again at
      // the next fragment. Kept as asked, "Pausing…" stayed beside "Paused" for good while
      // the stream was down (no status event to ask again; seen in CI).
      askedFor = null;
      // What was done follows too (detail.html's activity).
      window.htmx.trigger(document.body, "live:actions-redrawn");
      return;
    }
    if (state === actions.dataset.buttonState || state === askedFor) return;
    askedFor = state;
    window.htmx.trigger(actions, "live:state-moved");
  });

  // --- a refetch asked for while one is on its way is not lost ----------------------------
  // htmx queues a second request of an element behind the one on its way, and drops it once
  // the first answer replaces the element (outerHTML): the buttons stayed at "Pausing…"
  // beside a status saying "Paused" (seen in CI). An element marked data-ask-again is asked
  // once more ("live:again") when that happened. (hx-sync="this:replace" would abort the
  // first request instead, and htmx logs every abort as a console error.)
  // The call log's page one refreshes itself while calls come in, and its rows move: the
  // call under the pointer changed five times in 30 s, so a click opened another call than
  // the one aimed at (probe). It holds still while the pointer is on it; the next refresh
  // after the pointer leaves brings it up to date. (Focus is kept across a refresh anyway.)
  // A mouse only: after a tap a touch screen keeps :hover on what was tapped, and the log
  // stopped refreshing for good at the first tap (probe).
  var pointerIsMouse = false;
  document.addEventListener("pointermove", function (event) {
    pointerIsMouse = event.pointerType === "mouse";
  }, { passive: true });
  document.addEventListener("pointerdown", function (event) {
    pointerIsMouse = event.pointerType === "mouse";
  }, { passive: true });
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;  // the log itself asks only for its own refresh
    if (elt && elt.id === "call-log" && pointerIsMouse && elt.matches(":hover")) {
      event.preventDefault();
    }
  });
  var onItsWay = {};
  var askedMeanwhile = {};
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.id && elt.hasAttribute("data-ask-again")) onItsWay[elt.id] = elt;
  });
  document.body.addEventListener("htmx:trigger", function (event) {
    var elt = event.target;
    if (elt && elt.id && onItsWay[elt.id] === elt) askedMeanwhile[elt.id] = true;
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.id && !event.detail.successful) {  // nothing replaced: the queue runs
      delete onItsWay[elt.id];
      delete askedMeanwhile[elt.id];
    }
  });
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var id = event.detail && event.detail.elt && event.detail.elt.id;
    if (!id || !onItsWay[id]) return;
    var was = onItsWay[id];
    var asked = askedMeanwhile[id];
    delete onItsWay[id];
    delete askedMeanwhile[id];
    var now = document.getElementById(id);
    if (asked && now && now !== was && window.htmx) window.htmx.trigger(now, "live:again");
  });
  // Focus stays with the buttons when they are redrawn: someone on "Pause" (keyboard or
  // screen reader) whose buttons change because the campaign moved was left on the page's
  // body. They land on the first control of the new buttons, else on the group itself.
  // Only the buttons' own swap and settle count: the "Before you start" card, refetched
  // on the same status change and swapped in between, reset the note, and focus was left
  // on the body (a probe: 3 of 7 starts made by someone else).
  var focusWasInActions = false;
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var actions = document.getElementById("actions");
    if (!actions || event.detail.target !== actions) return;
    // Kept while a swap has not settled: a second swap then finds focus on the body.
    focusWasInActions = focusWasInActions || actions.contains(document.activeElement);
  });
  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (!focusWasInActions || !event.detail || !event.detail.elt ||
        event.detail.elt.id !== "actions") return;
    focusWasInActions = false;
    var actions = document.getElementById("actions");
    if (!actions || actions.contains(document.activeElement)) return;
    var control = actions.querySelector("button:not([disabled]), a[href]");
    if (control) { control.focus(); return; }
    actions.setAttribute("tabindex", "-1");
    actions.focus();
  });

  // What was said of the state the page was drawn in ("Already starting.") is past once
  // the status or the buttons show another, whichever arrives first.
  var drawnFor = document.getElementById("actions") ? document.getElementById("actions").dataset.buttonState : null;
  document.body.addEventListener("htmx:afterSettle", function () {
    if (drawnFor === null) return;
    var shown = document.querySelector("#live-detail [data-button-state]");
    var actions = document.getElementById("actions");
    if ((shown && shown.dataset.buttonState !== drawnFor) ||
        (actions && actions.dataset.buttonState !== drawnFor)) {
      document.querySelectorAll("#messages .flash.transient").forEach(function (flash) { flash.remove(); });
    }
  });

  // What was asked ("Pause requested. Atoms accepted it.") goes once the campaign has
  // settled in another state than the page was drawn in, no action pending: it stayed
  // above "Completed". Not on the first difference: the live fragment drawn with the page
  // can be a moment older than the request, and the note went before it was read.
  // Shown 5 s at least, though: a start confirmed within a second took the note with it
  // before it could be read.
  var liveDetail = document.querySelector("#live-detail [data-button-state]");
  var drawnIn = liveDetail ? liveDetail.dataset.buttonState : null;
  var drawnAt = Date.now();
  var SAID_AT_LEAST_MS = 5000;
  document.body.addEventListener("htmx:afterSettle", function () {
    var shown = document.querySelector("#live-detail [data-button-state]");
    if (drawnIn === null || !shown) return;
    var state = shown.dataset.buttonState;
    if (state !== drawnIn && state.split(":")[1] === "") {
      window.setTimeout(function () {
        document.querySelectorAll("#messages .flash.until-settled").forEach(function (flash) { flash.remove(); });
      }, Math.max(0, drawnAt + SAID_AT_LEAST_MS - Date.now()));
    }
  });

  // --- said aloud: changes the person did not make ----------------------------------------
  // One polite live region (#announcer in base.html), in the page from the start and never
  // swapped: htmx replaces the fragments whole, and a live region that is itself new is
  // mostly not read. Emptied first and filled a moment later, so the same words twice are
  // said twice. `delay` lets a later change take the place of one not said yet.
  var announcer = document.getElementById("announcer");
  var sayTimer = null;
  function announce(words, delay) {
    if (!announcer || !words) return;
    clearTimeout(sayTimer);
    announcer.textContent = "";
    sayTimer = setTimeout(function () { sayTimer = null; announcer.textContent = words; }, delay || 100);
  }
  // A campaign's status moved (someone else's action, Atoms, its schedule): the chip in
  // #live-detail is swapped silently, so the announcer says it, in the words the chip
  // shows. Not the status the page was drawn with, and not the same one again.
  function shownStatus() {
    var chip = document.querySelector("#live-detail [data-testid=status]");
    return chip ? chip.textContent.replace(/\s+/g, " ").trim() : "";
  }
  // So is an action found not carried out: the status stays as it was ("Paused" after a
  // resume that did not happen), so only its note said so, and silently. Its words as
  // shown to this person (the role's own sentence).
  function shownLapse() {
    var note = document.querySelector("#live-detail [data-testid=lapsed-notice]");
    return note ? note.innerText.replace(/\s+/g, " ").trim() : "";
  }
  var saidStatus = shownStatus();
  var saidLapse = shownLapse();
  document.body.addEventListener("htmx:afterSettle", function () {
    var status = shownStatus();
    var lapse = shownLapse();
    var words = [];
    if (status && status !== saidStatus) words.push("Status: " + status);
    if (lapse && lapse !== saidLapse) words.push(lapse);
    if (status) saidStatus = status;
    saidLapse = lapse;
    if (words.length) announce(words.join(". "));
  });

  // A new page of results (a paging link) takes focus, or it would fall to the page's
  // body and a keyboard user start over from the top; it and a new search say what came
  // (the words are the region's data-said-*). A search keeps focus in its field, and is
  // said once the typing stops (the request already waits 300 ms for that; the words wait
  // a little more, and a key pressed meanwhile drops them).
  // The campaign list's #results and the call log's #call-log: each holds (or is) a
  // [data-results] region. Only a paging link or a filter counts: the call log's own
  // refresh every few seconds takes no focus and says nothing.
  var RESULT_BOXES = ["results", "call-log"];
  var resultsAskedBy = null;
  var resultsBox = null;
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && RESULT_BOXES.indexOf(target.id) >= 0 && event.detail.shouldSwap !== false) {
      resultsAskedBy = (event.detail.requestConfig && event.detail.requestConfig.elt) || null;
      resultsBox = target.id;
    }
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    var source = resultsAskedBy;
    if (!source) return;
    resultsAskedBy = null;
    var box = document.getElementById(resultsBox);
    var region = box && (box.matches("[data-results]") ? box : box.querySelector("[data-results]"));
    if (!region) return;
    if (source.matches("a")) {
      region.focus();
      announce(region.dataset.saidPage);
    } else if (source.closest("form")) {
      announce(region.dataset.saidSearch, 700);
    }
  });
  document.addEventListener("input", function (event) {
    if (sayTimer && event.target.closest && event.target.closest("form[hx-target='#results'], form[hx-target='#call-log']")) {
      clearTimeout(sayTimer);
      sayTimer = null;
    }
  });

  // A link that its own request replaces (Play recording, Get a fresh one) left focus on
  // the page's body, and the next Tab skipped what it brought: focus goes to the new
  // content's [data-takes-focus] instead.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.querySelector || (document.activeElement &&
        document.activeElement !== document.body)) return;
    var next = target.querySelector("[data-takes-focus]");
    if (next) next.focus();
  });
  // Back from a call, focus goes back to the call's link in the log, not to the page's
  // top (a keyboard user on the fifth call started over from "Skip to content", or from
  // the filters above the log). The link opened is remembered for this tab only, until
  // the log next shows it. (Not only on a "back" navigation: a page with a live stream
  // brought back from the browser's cache reloads itself.)
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("#call-log a[data-testid=call-link]");
    if (!link) return;
    try { sessionStorage.setItem("callLinkLeft", link.id); } catch (e) { /* private mode */ }
  });
  function focusCallLinkLeft() {
    var id = null;
    try { id = sessionStorage.getItem("callLinkLeft"); } catch (e) { return false; }
    var link = id && document.getElementById(id);
    if (!link) return false;
    try { sessionStorage.removeItem("callLinkLeft"); } catch (e) { /* private mode */ }
    link.focus();
    return true;
  }
  window.addEventListener("pageshow", focusCallLinkLeft);
  // The call log opened on a campaign's page lands far below the button: focus (and the
  // view) go to it, and the button says it is open.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "calls-panel") return;
    var opener = document.querySelector("[aria-controls='calls-panel']");
    if (opener) opener.setAttribute("aria-expanded", "true");
    if (focusCallLinkLeft()) return;
    var tab = document.getElementById("calls-tab");
    if (!tab) return;
    // Focus alone scrolled a tall log to its middle (filters and headers out of view, three
    // screens past them on a phone): its top is brought into view instead.
    tab.focus({ preventScroll: true });
    tab.scrollIntoView({ block: "start" });
  });

  // "Refresh lists" (the create form's pickers) says what it brought: focus stays on the
  // link, and nothing else told a screen reader that the lists were read again.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var asked = event.detail && event.detail.requestConfig;  // detail.elt is what settled
    if (!asked || !asked.elt || asked.elt.id !== "refresh-pickers") return;
    var pickers = document.getElementById("pickers");
    if (pickers && pickers.dataset.said) announce(pickers.dataset.said);
  });

  // --- one submit per form: a double click sends one request -----------------------------
  // The form stays busy (buttons disabled, its "Talking to Atoms…" note shown) until the
  // next page arrives. A stopped page (the browser's Stop, or Esc) fires no event and
  // would leave it so for good, with a reload the only way out, which loses what was
  // typed. So Esc frees it at once (browsers stop the navigation on Esc), and a busy form
  // still on screen after BUSY_RELEASE_MS is freed too, with a note beside its buttons:
  // longer than Atoms normally takes, shorter than people give up. Sending it again is
  // safe: every such action is idempotent on the server (a create carries a form token,
  // starts and pauses refuse while one is pending, a delete of something gone says so).
  var BUSY_RELEASE_MS = 1000 * (Number(document.body.dataset.busyRelease) || 15);
  var STOPPED_WORDS = "Stopped waiting. Atoms may have got it already: you can send it " +
    "again, the dashboard checks Atoms first, so nothing is done twice.";
  var STILL_WAITING_WORDS = "Still waiting for Atoms. If you stopped the page, you can send " +
    "it again: the dashboard checks Atoms first, so nothing is done twice.";
  var SUBMIT_BUTTONS = "button[type=submit], button:not([type])";
  var busyTimers = new WeakMap();
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-once]")) return;
    if (form.dataset.submitted) { event.preventDefault(); return; }
    form.dataset.submitted = "1";
    sayStalled(form, null);
    dropKeptSubmitter(form);
    var submitter = event.submitter;
    if (submitter && submitter.name) {
      var keep = document.createElement("input");
      keep.type = "hidden"; keep.name = submitter.name; keep.value = submitter.value;
      keep.dataset.onceSubmitter = "";
      form.appendChild(keep);
    }
    form.classList.add("htmx-request");  // shows the "Talking to Atoms…" note
    setTimeout(function () {
      if (!form.dataset.submitted) return;  // freed meanwhile (Esc)
      form.querySelectorAll(SUBMIT_BUTTONS).forEach(function (b) { b.disabled = true; });
    }, 0);
    busyTimers.set(form, setTimeout(function () { release(form, STILL_WAITING_WORDS); },
                                    BUSY_RELEASE_MS));
  });
  // A busy form becomes usable again, as it was before the submit; `words` (if any) say
  // why beside its buttons.
  function release(form, words) {
    clearTimeout(busyTimers.get(form));
    busyTimers.delete(form);
    delete form.dataset.submitted;
    form.classList.remove("htmx-request");
    dropKeptSubmitter(form);
    form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    form.querySelectorAll("[data-enabled-by]").forEach(syncConfirm);
    sayStalled(form, words);
  }
  // The button pressed is sent as a hidden field (a disabled button is not sent): the
  // next submit may be by the other button.
  function dropKeptSubmitter(form) {
    form.querySelectorAll("input[data-once-submitter]").forEach(function (input) { input.remove(); });
  }
  // The note lives at the end of the buttons' row (their parent), made on first use. It
  // is a status region: made empty and filled a moment later, so screen readers say it.
  function sayStalled(form, words) {
    var note = form.querySelector("[data-stalled-note]");
    if (!words) { if (note) note.hidden = true; return; }
    if (!note) {
      note = document.createElement("span");
      note.className = "stalled-note";
      note.setAttribute("role", "status");
      note.dataset.stalledNote = "";
      note.setAttribute("data-testid", "stalled-note");
      var anchor = form.querySelector("[data-busy-note]") || form.querySelector(SUBMIT_BUTTONS);
      (anchor ? anchor.parentNode : form).appendChild(note);
    }
    note.textContent = "";
    note.hidden = false;
    setTimeout(function () { note.textContent = words; }, 50);
  }
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("form[data-once][data-submitted]").forEach(function (form) {
      release(form, STOPPED_WORDS);
    });
  });
  // Coming back with the browser's Back button must not leave a dead form.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-once]").forEach(function (form) { release(form, null); });
  });

  // --- a live search's box says whether it was refused ----------------------------------
  // Its refusal comes with the results (`_filter_errors.html`, `id_q_error`), but the box
  // is not swapped: drawn refused, it stayed marked invalid after the search was mended,
  // and a search refused as typed was not marked at all (a probe). Each answer sets it.
  document.body.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("form.filters[hx-get] input, form.filters[hx-get] select")
      .forEach(function (field) {
        if (!field.id) return;
        var error = document.getElementById(field.id + "_error");
        var described = (field.getAttribute("aria-describedby") || "").split(" ")
          .filter(function (id) { return id && id !== field.id + "_error"; });
        if (error) {
          field.setAttribute("aria-invalid", "true");
          described.push(error.id);
        } else {
          field.removeAttribute("aria-invalid");
        }
        if (described.length) field.setAttribute("aria-describedby", described.join(" "));
        else field.removeAttribute("aria-describedby");
      });
  });

  // --- a search form shows the search its page shows -------------------------------------
  // A plain GET filter form's page is drawn for the filters in its address, but Back
  // brings it back with what was typed in it afterwards: the activity log listed who=staff
  // under a box saying "nobodyxyz" (a probe). Its fields go back to the page's own. (Forms
  // that search with htmx keep their boxes: their results follow what is typed.) Only when
  // the page came back by Back or Forward: on any other load, what someone typed before
  // the page had finished loading is theirs.
  window.addEventListener("pageshow", function (event) {
    var entry = window.performance && performance.getEntriesByType
      ? performance.getEntriesByType("navigation")[0] : null;
    if (!event.persisted && !(entry && entry.type === "back_forward")) return;
    document.querySelectorAll("form.filters[method=get]:not([hx-get])").forEach(function (form) {
      form.reset();
    });
  });

  // --- one history entry per address --------------------------------------------------
  // A filter form applies on change and on submit: ticking a box and then pressing Apply
  // pushed the same address twice, so the first Back seemed to do nothing. An update to
  // the address already shown replaces it instead (htmx reads the type after this event).
  document.body.addEventListener("htmx:beforeHistoryUpdate", function (event) {
    var update = event.detail.history;
    if (update.type === "push" && new URL(update.path, location.href).href === location.href) {
      update.type = "replace";
    }
  });

  // --- a refused form: focus goes to what needs fixing ---------------------------------
  // A form the server sends back with errors marks each field in error aria-invalid
  // (Django does); left alone, focus stays on the body and a keyboard or screen-reader
  // user must hunt for the error. So the first field in error takes focus, or, if only
  // the form as a whole was refused, its error message (`form .form-error`). Once, as the
  // page loads: a page without errors keeps the browser's own focus, and autofocus
  // yields to this. Here and not an inline script, which the Content-Security-Policy
  // forbids.
  function focusFirstError() {
    var fields = document.querySelectorAll("[aria-invalid=true]");
    var messages = document.querySelectorAll("form .form-error");
    var candidates = Array.prototype.slice.call(fields).concat(Array.prototype.slice.call(messages));
    for (var i = 0; i < candidates.length; i++) {
      var el = candidates[i];
      if (!el.matches("input, select, textarea, button, a[href]") && !el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "-1");  // a message takes focus, but not a Tab stop
      }
      el.focus();
      if (document.activeElement === el) return;  // else hidden or disabled: try the next
    }
  }
  focusFirstError();

  // After an action that reloaded the page (a role set, a number added, hours saved),
  // focus went nowhere, and a keyboard user started again from the top not knowing it
  // was done (a probe): with no error to fix, the page's own message takes focus (not a
  // Tab stop), once, as the page loads.
  function focusTheMessage() {
    if (document.activeElement && document.activeElement !== document.body) return;
    var flash = document.querySelector("#messages .flash");
    if (!flash) return;
    flash.setAttribute("tabindex", "-1");
    flash.focus();
  }
  focusTheMessage();

  // --- typed confirmation: the delete button waits for the exact name --------------------
  // aria-disabled, not disabled: a disabled button is skipped by Tab, and a keyboard or
  // screen-reader user never learnt it was there (a probe). Pressed too early, it says why;
  // so does Enter in the name box, which presses it (the form's implicit submission).
  function syncConfirm(button) {
    var input = document.getElementById(button.dataset.enabledBy);
    if (input) button.setAttribute("aria-disabled", String(input.value.trim() !== input.dataset.mustEqual));
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-enabled-by][aria-disabled='true']");
    if (!button) return;
    event.preventDefault();
    var input = document.getElementById(button.dataset.enabledBy);
    if (input) { showMismatch(input, true); input.focus(); }
  });
  // Typing on: the button follows the name, and the note a press too early showed goes.
  document.addEventListener("input", function (event) {
    if (!event.target.dataset || event.target.dataset.mustEqual === undefined) return;
    document.querySelectorAll("[data-enabled-by='" + event.target.id + "']").forEach(syncConfirm);
    showMismatch(event.target, false);
  });
  document.querySelectorAll("[data-enabled-by]").forEach(syncConfirm);
  function showMismatch(input, shown) {
    var note = document.querySelector("[data-mismatch-for='" + input.id + "']");
    if (note) showNote(input, note, shown);
  }
  // While shown, a note is what its field is described by, and the field is invalid.
  function showNote(input, note, shown) {
    note.hidden = !shown;
    if (!note.id) return;
    var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) {
      return id && id !== note.id;
    });
    if (shown) ids.push(note.id);
    if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
    else input.removeAttribute("aria-describedby");
    // Still invalid while another error it is described by (the server's) is shown.
    var otherError = ids.some(function (id) {
      var el = document.getElementById(id);
      return el && !el.hidden && (el.matches(".field-error") || el.querySelector(".field-error"));
    });
    if (shown || otherError) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }

  // A field the browser cannot read as typed (a date without its time) is sent empty, as
  // if left so: a schedule typed as a date alone was dropped, and "Create and start"
  // dialled at once (a probe). Such a form is not sent; the field keeps what was typed and
  // says what is missing. Listened for first (capture), before htmx or data-once see it.
  var UNREAD_WORDS = {
    "datetime-local": "Type the time as well as the date, or clear the date.",
    "date": "Finish the date, or clear it.",
    "time": "Finish the time, or clear it."
  };
  document.addEventListener("submit", function (event) {
    var unread = Array.prototype.filter.call(event.target.elements || [], function (el) {
      return el.validity && el.validity.badInput && el.id;
    });
    if (!unread.length) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    unread.forEach(function (input) { showNote(input, unreadNote(input), true); });
    unread[0].focus();
  }, true);
  document.addEventListener("input", function (event) {
    var input = event.target;
    var note = input.id && document.getElementById(input.id + "_unread");
    if (note && !(input.validity && input.validity.badInput)) showNote(input, note, false);
  });
  function unreadNote(input) {
    var note = document.getElementById(input.id + "_unread");
    if (!note) {
      note = document.createElement("p");
      note.id = input.id + "_unread";
      note.className = "field-error";
      note.setAttribute("role", "alert");
      note.setAttribute("data-testid", "unread-input");
      note.textContent = UNREAD_WORDS[input.type] || "Finish this, or clear it.";
      input.insertAdjacentElement("afterend", note);
    }
    return note;
  }

  // --- downloads with progress: a large export streams for a while ------------------------
  // The link still works without this (the browser's own download); with it, the page
  // counts the rows as they arrive against the number the server expects.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-download-rows]");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    if (!window.fetch || !window.ReadableStream || !window.URL || !URL.createObjectURL) return;
    event.preventDefault();
    if (link.dataset.busy) return;
    link.dataset.busy = "1";
    var status = document.getElementById(link.dataset.progress);
    var expected = Number(link.dataset.downloadRows || 0);
    function say(text) { if (status) { status.hidden = false; status.textContent = text; } }
    say("Starting the download…");
    fetch(link.href, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok || !response.body) { window.location.href = link.href; return null; }
      // filename*=utf-8''… (RFC 6266) first: a name outside ASCII is whole only there.
      var disposition = response.headers.get("Content-Disposition") || "";
      var encoded = /filename\*=utf-8''([^;]+)/i.exec(disposition);
      var name = encoded ? decodeURIComponent(encoded[1]) : (/filename="([^"]+)"/.exec(disposition) || [])[1];
      var reader = response.body.getReader();
      var parts = [];
      var rows = 0;
      var quoted = false;  // inside a quoted cell, whose line breaks end no row
      function pump() {
        return reader.read().then(function (step) {
          if (step.done) return new Blob(parts, { type: "text/csv" });
          parts.push(step.value);
          for (var i = 0; i < step.value.length; i++) {
            if (step.value[i] === 34) quoted = !quoted;  // "" inside a cell toggles twice
            else if (step.value[i] === 10 && !quoted) rows++;
          }
          var done = Math.max(0, rows - 1);  // the header is not a row of data
          say(expected ? done + " of about " + expected + " rows…" : done + " rows…");
          return pump();
        });
      }
      return pump().then(function (blob) {
        var url = URL.createObjectURL(blob);
        var save = document.createElement("a");
        save.href = url; save.download = name || "export.csv";
        document.body.appendChild(save); save.click(); save.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
        say("Downloaded " + Math.max(0, rows - 1) + " rows.");
      });
    }).catch(function () {
      say("The download stopped before the end. Try again.");
    }).then(function () { delete link.dataset.busy; });
  });
  // --- a table wider than its box says so -------------------------------------------------
  // Its box (.table-wrap) is marked at the side(s) it scrolls on to, and app.css fades that
  // edge: cut at the edge, a table looked whole at phone width.
  function markScrollable(wrap) {
    var left = wrap.scrollLeft > 1;
    var right = wrap.scrollLeft + wrap.clientWidth < wrap.scrollWidth - 1;
    wrap.toggleAttribute("data-more-left", left);
    wrap.toggleAttribute("data-more-right", right);
  }
  function markAllScrollable() {
    document.querySelectorAll(".table-wrap").forEach(markScrollable);
  }
  document.addEventListener("scroll", function (event) {
    var wrap = event.target;
    if (wrap && wrap.classList && wrap.classList.contains("table-wrap")) markScrollable(wrap);
  }, true);
  window.addEventListener("resize", markAllScrollable);
  document.body.addEventListener("htmx:afterSettle", markAllScrollable);
  markAllScrollable();
})();
