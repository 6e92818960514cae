// Filters and sorting for the model catalog table (catalog/models/), without libraries or CDNs.
// tools/site_hooks.py generates the page: a #catalog-filters box followed by one markdown table.
// The filters find their columns by heading text, so they follow the table if columns move.
(function () {
  "use strict";

  // [label, column heading, how one cell's text splits into the values it holds]
  const FILTERS = [
    ["Capability", "Capabilities", (text) => text.split(",")],
    ["Modality", "Modalities", (text) => text.split(/[,→]/)],
    ["Organisation", "Organisation", (text) => [text]],
    ["Open weights", "Open weights", (text) => [text]],
  ];
  const SIZES = { K: 1e3, M: 1e6, B: 1e9, T: 1e12 };

  function cellValues(cell, split) {
    return split(cell.textContent).map((v) => v.trim()).filter((v) => v && v !== "—");
  }

  // Sort key of a cell: sizes ("7B") and counts ("128,000") as numbers, the rest as text.
  function sortKey(text) {
    text = text.trim();
    if (text === "" || text === "—") return null;
    const size = text.match(/^(\d+(?:\.\d+)?)([KMBT])\b/);
    if (size) return parseFloat(size[1]) * SIZES[size[2]];
    if (/^\d[\d,]*$/.test(text)) return parseFloat(text.replace(/,/g, ""));
    return text.toLowerCase();
  }

  function compare(a, b) {
    if (a === b) return 0;
    if (a === null) return 1; // empty cells last, whatever the direction
    if (b === null) return -1;
    if (typeof a !== typeof b) return typeof a === "number" ? -1 : 1;
    return a < b ? -1 : 1;
  }

  function makeSortable(table, rows) {
    const body = table.tBodies[0];
    Array.from(table.tHead.rows[0].cells).forEach((th, column) => {
      th.classList.add("catalog-sortable");
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      const sort = () => {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        table.tHead.querySelectorAll("th").forEach((h) => h.setAttribute("aria-sort", "none"));
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const keyed = rows.map((row) => [sortKey(row.cells[column].textContent), row]);
        keyed.sort((x, y) => {
          if (x[0] === null || y[0] === null) return compare(x[0], y[0]);
          return ascending ? compare(x[0], y[0]) : compare(y[0], x[0]);
        });
        keyed.forEach(([, row]) => body.appendChild(row));
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sort();
        }
      });
    });
  }

  function init() {
    const box = document.getElementById("catalog-filters");
    const table = document.querySelector(".md-content table");
    if (!box || !table || box.dataset.ready) return;
    box.dataset.ready = "true";
    const headings = Array.from(table.tHead.rows[0].cells).map((th) => th.textContent.trim());
    const rows = Array.from(table.tBodies[0].rows);

    const name = document.createElement("input");
    name.type = "search";
    name.placeholder = "Model name";
    name.setAttribute("aria-label", "Filter by model name");
    box.append(name);

    const filters = [];
    for (const [label, heading, split] of FILTERS) {
      const column = headings.indexOf(heading);
      if (column < 0) continue;
      const options = new Set();
      rows.forEach((row) => cellValues(row.cells[column], split).forEach((v) => options.add(v)));
      const select = document.createElement("select");
      select.name = heading;
      select.setAttribute("aria-label", label);
      select.add(new Option(label + ": any", ""));
      Array.from(options).sort((a, b) => a.localeCompare(b)).forEach((v) => select.add(new Option(v, v)));
      box.append(select);
      filters.push({ select, column, split });
    }

    const reset = document.createElement("button");
    reset.type = "button";
    reset.textContent = "Reset";
    const count = document.createElement("span");
    count.className = "catalog-count";
    count.setAttribute("aria-live", "polite");
    box.append(reset, count);

    function apply() {
      const query = name.value.trim().toLowerCase();
      let shown = 0;
      for (const row of rows) {
        const visible =
          row.cells[0].textContent.toLowerCase().includes(query) &&
          filters.every(
            (f) => !f.select.value || cellValues(row.cells[f.column], f.split).includes(f.select.value)
          );
        row.hidden = !visible;
        if (visible) shown += 1;
      }
      count.textContent = shown + " of " + rows.length + " models";
    }

    name.addEventListener("input", apply);
    filters.forEach((f) => f.select.addEventListener("change", apply));
    reset.addEventListener("click", () => {
      name.value = "";
      filters.forEach((f) => (f.select.value = ""));
      apply();
    });
    makeSortable(table, rows);
    apply();
  }

  // Material's document$ fires on every page load, including instant navigation if enabled.
  if (window.document$) window.document$.subscribe(init);
  else document.addEventListener("DOMContentLoaded", init);
})();
