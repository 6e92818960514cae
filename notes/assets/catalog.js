// Filters, sorting and row anchors for the catalog tables (catalog/*), without libraries or CDNs.
// Loaded on the pages whose front matter says `catalog: true` (notes/overrides/main.html).
//
// tools/site_catalog.py generates each table and, above it, a <form class="catalog-filters"> whose
// data-tables is a CSS selector for the tables it filters. Each control's name is its URL parameter and the
// row attribute it reads: a row matches select "capability" when its data-capability (values separated by |)
// holds the chosen value, and the text box "find" when data-find holds every word typed. The filters and the
// sort order live in the URL (?capability=reasoning&sort=-released), so a filtered view survives a reload and
// can be shared. Rows carry their catalog id as id, so #llama-4-scout finds (and if need be unfilters) a row.
(function () {
  "use strict";

  const SIZE = /^(\d+(?:\.\d+)?)([KMBT])\b/;
  const UNITS = { K: 1e3, M: 1e6, B: 1e9, T: 1e12 };

  // ------------------------------------------------------------------ the URL

  function readParams(form) {
    const params = new URLSearchParams(location.search);
    for (const control of form.elements) {
      if (!control.name || !params.has(control.name)) continue;
      const value = params.get(control.name);
      if (control.tagName === "SELECT" && !Array.from(control.options).some((o) => o.value === value)) continue;
      control.value = value;
    }
    return params.get("sort") || "";
  }

  function writeParams(form, sort) {
    const params = new URLSearchParams(location.search);
    for (const control of form.elements) {
      if (!control.name) continue;
      if (control.value.trim()) params.set(control.name, control.value.trim());
      else params.delete(control.name);
    }
    if (sort) params.set("sort", sort);
    else params.delete("sort");
    const query = params.toString();
    history.replaceState(history.state, "", location.pathname + (query ? "?" + query : "") + location.hash);
  }

  // ------------------------------------------------------------------ filtering

  function matches(row, form) {
    for (const control of form.elements) {
      const value = control.value.trim().toLowerCase();
      if (!control.name || !value) continue;
      const held = row.dataset[control.name];
      if (held === undefined) continue;
      if (control.tagName === "SELECT") {
        if (!held.split("|").some((v) => v.toLowerCase() === value)) return false;
      } else if (!value.split(/\s+/).every((word) => held.includes(word))) {
        return false;
      }
    }
    return true;
  }

  function filter(form, tables, count) {
    let shown = 0;
    let total = 0;
    for (const table of tables) {
      let visible = 0;
      for (const row of table.tBodies[0].rows) {
        row.hidden = !matches(row, form);
        if (!row.hidden) visible += 1;
      }
      total += table.tBodies[0].rows.length;
      shown += visible;
      // A page of several tables (the modifiers) hides a section that the filters empty.
      if (tables.length > 1) {
        const box = table.closest(".catalog-scroll") || table;
        box.hidden = visible === 0;
        const heading = box.previousElementSibling;
        if (heading && /^H[2-6]$/.test(heading.tagName)) heading.hidden = visible === 0;
      }
    }
    count.value = `${shown} of ${total} ${form.dataset.noun || "rows"}`;
  }

  // ------------------------------------------------------------------ sorting

  function sortKey(cell, kind) {
    if (cell.dataset.sort !== undefined) return parseFloat(cell.dataset.sort);
    const text = cell.textContent.trim();
    if (kind === "num") {
      const size = text.match(SIZE);
      if (size) return parseFloat(size[1]) * UNITS[size[2]];
      return /^\d/.test(text) ? parseFloat(text.replace(/,/g, "")) : null;
    }
    return cell.querySelector(".nil") ? null : text.toLowerCase();
  }

  function compare(a, b) {
    if (a === b) return 0;
    if (a === null) return 1; // empty cells last, whatever the direction
    if (b === null) return -1;
    return a < b ? -1 : 1;
  }

  function sortTable(table, sort) {
    const descending = sort.startsWith("-");
    const key = sort.replace(/^-/, "");
    const headings = Array.from(table.tHead.rows[0].cells);
    const column = headings.findIndex((th) => th.dataset.key === key && th.dataset.sort);
    headings.forEach((th) => th.dataset.sort && th.setAttribute("aria-sort", "none"));
    if (column < 0) return false;
    headings[column].setAttribute("aria-sort", descending ? "descending" : "ascending");
    const kind = headings[column].dataset.sort;
    const body = table.tBodies[0];
    const keyed = Array.from(body.rows, (row, index) => [sortKey(row.cells[column], kind), index, row]);
    keyed.sort((x, y) => {
      const order = x[0] === null || y[0] === null ? compare(x[0], y[0]) : descending ? compare(y[0], x[0]) : compare(x[0], y[0]);
      return order || x[1] - y[1];
    });
    keyed.forEach(([, , row]) => body.appendChild(row));
    return true;
  }

  function makeSortable(table, onSort) {
    for (const th of table.tHead.rows[0].cells) {
      if (!th.dataset.sort) continue;
      th.tabIndex = 0;
      th.classList.add("catalog-sortable");
      th.setAttribute("aria-sort", "none");
      th.title = "Sort by " + th.textContent.trim();
      const sort = () => onSort(th.getAttribute("aria-sort") === "ascending" ? "-" + th.dataset.key : th.dataset.key);
      th.addEventListener("click", sort);
      th.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sort();
        }
      });
    }
  }

  // ------------------------------------------------------------------ layout

  // A table that fits its box lets its header stick to the top of the window; one that does not scrolls
  // inside a box of the window's height, where its header and first column stick instead.
  function fit() {
    for (const box of document.querySelectorAll(".catalog-scroll")) {
      box.classList.remove("is-scrolling");
      const table = box.querySelector("table");
      if (table && table.offsetWidth > box.clientWidth + 1) box.classList.add("is-scrolling");
    }
  }

  // ------------------------------------------------------------------ anchors

  function reveal(form, tables, count) {
    const id = decodeURIComponent(location.hash.slice(1));
    const row = id && document.getElementById(id);
    if (!row || row.tagName !== "TR") return;
    if (row.hidden && form) {
      form.reset(); // the linked row wins over filters that hide it
      filter(form, tables, count);
      writeParams(form, new URLSearchParams(location.search).get("sort") || "");
    }
    row.scrollIntoView({ block: "center" });
  }

  // ------------------------------------------------------------------ set-up

  function init() {
    for (const form of document.querySelectorAll("form.catalog-filters")) {
      if (form.dataset.ready) continue;
      form.dataset.ready = "true";
      const tables = Array.from(document.querySelectorAll(form.dataset.tables || "table.catalog"));
      if (!tables.length) continue;
      const count = form.querySelector(".catalog-count");
      let sort = readParams(form);
      const update = () => {
        filter(form, tables, count);
        writeParams(form, sort);
      };
      form.addEventListener("input", update);
      form.addEventListener("change", update);
      form.addEventListener("submit", (event) => event.preventDefault());
      form.addEventListener("reset", () => setTimeout(update, 0));
      for (const table of tables.filter((t) => t.dataset.sortable)) {
        makeSortable(table, (next) => {
          sort = next;
          sortTable(table, sort);
          writeParams(form, sort);
        });
        if (sort && !sortTable(table, sort)) sort = "";
      }
      filter(form, tables, count);
      if (location.hash) reveal(form, tables, count);
      window.addEventListener("hashchange", () => reveal(form, tables, count));
    }
    fit();
    window.addEventListener("resize", fit, { passive: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
