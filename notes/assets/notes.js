// Every page of the notes site, loaded in <head> before Material's bundle (notes/overrides/main.html).
// 1. The search index, the heaviest file of a visit, is fetched when the reader reaches for search, not on load.
// 2. The "possibly stale" warning is decided by the reader's date, not only by the date the site was built.
(function () {
  "use strict";

  // 1. Material's bundle requests search/search_index.json with XMLHttpRequest as soon as a page loads. Its
  // send() waits here until the reader hovers, taps or focuses the search box (Material's keyboard shortcuts
  // focus it too), or arrives from a search result (?h= asks Material to highlight the terms, which needs the
  // index). Should a later Material fetch the index another way, this does nothing and the index loads eagerly.
  const INDEX = /\/search\/search_index\.json(?:[?#]|$)/;
  const waiting = [];
  let wanted = new URLSearchParams(location.search).has("h");
  const open = XMLHttpRequest.prototype.open;
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.notesDeferred = INDEX.test(String(url));
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    if (this.notesDeferred && !wanted) {
      const request = this;
      const args = arguments;
      waiting.push(() => send.apply(request, args));
      return undefined;
    }
    return send.apply(this, arguments);
  };
  function wantSearch() {
    wanted = true;
    waiting.splice(0).forEach((go) => go());
  }
  function reaching(event) {
    const target = event.target;
    if (!wanted && target instanceof Element && target.closest(".md-search, label[for='__search']")) wantSearch();
  }
  for (const type of ["focusin", "pointerover", "touchstart"]) {
    document.addEventListener(type, reaching, { capture: true, passive: true });
  }

  // 2. Under each title sits a hidden warning with the page's date (tools/site_hooks.py); show it when that
  // date lies more than 12 months before the reader's today.
  function isoDate(day) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
  }
  function yearBefore(iso) {
    const [year, month, day] = iso.split("-");
    return `${Number(year) - 1}-${month}-${month === "02" && day === "29" ? "28" : day}`;
  }
  function markStale() {
    const today = isoDate(new Date());
    for (const box of document.querySelectorAll(".notes-stale[data-updated]")) {
      box.hidden = !(box.dataset.updated < yearBefore(today));
      const when = box.querySelector(".notes-today");
      if (when) when.textContent = `today (${today})`;
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", markStale);
  else markStale();
})();
