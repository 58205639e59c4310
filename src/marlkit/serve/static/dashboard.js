// The runs page: filter (text and status), sort by a column, pick runs to compare, relative times.
(function () {
  "use strict";
  const table = document.getElementById("runs");
  const filter = document.getElementById("filter");
  const status = document.getElementById("status-filter");
  const compare = document.getElementById("compare-button");
  const shown = document.getElementById("shown");

  function ago(seconds) {
    if (!seconds) return "-";
    const d = Date.now() / 1000 - seconds;
    if (d < 60) return Math.max(0, Math.round(d)) + " s ago";
    if (d < 3600) return Math.round(d / 60) + " min ago";
    if (d < 86400) return Math.round(d / 3600) + " h ago";
    return new Date(seconds * 1000).toISOString().slice(0, 10);
  }
  document.querySelectorAll("td.when").forEach(function (td) {
    const t = parseFloat(td.dataset.time);
    td.textContent = ago(t);
    td.title = t ? new Date(t * 1000).toLocaleString() : "";
  });
  if (!table) return;
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);

  function apply() {
    const words = (filter.value || "").toLowerCase().split(/\s+/).filter(Boolean);
    const wanted = status.value;
    let count = 0;
    rows.forEach(function (row) {
      const text = row.textContent.toLowerCase() + " " + row.dataset.name.toLowerCase();
      const ok = words.every(function (w) { return text.indexOf(w) >= 0; }) && (!wanted || row.dataset.status === wanted);
      row.hidden = !ok;
      if (ok) count += 1;
    });
    shown.textContent = count === rows.length ? "" : count + " of " + rows.length + " shown";
  }
  filter.addEventListener("input", apply);
  status.addEventListener("change", apply);

  table.querySelectorAll("th.sortable").forEach(function (th) {
    th.addEventListener("click", function () {
      const key = th.dataset.key;
      const numeric = th.dataset.type === "num";
      const descending = !th.classList.contains("sorted-desc");
      table.querySelectorAll("th").forEach(function (h) { h.classList.remove("sorted-asc", "sorted-desc"); });
      th.classList.add(descending ? "sorted-desc" : "sorted-asc");
      const sorted = rows.slice().sort(function (a, b) {
        let x = a.dataset[key] || "", y = b.dataset[key] || "";
        let c;
        if (numeric) {
          const fx = x === "" ? -Infinity : parseFloat(x), fy = y === "" ? -Infinity : parseFloat(y);
          c = fx - fy;
        } else {
          c = x.localeCompare(y);
        }
        return descending ? -c : c;
      });
      sorted.forEach(function (row) { body.appendChild(row); });
    });
  });

  function picked() {
    return Array.from(table.querySelectorAll("input.pick:checked")).map(function (box) { return box.value; });
  }
  table.addEventListener("change", function () { compare.disabled = picked().length < 2; });
  compare.addEventListener("click", function () {
    const query = picked().map(function (p) { return "run=" + encodeURIComponent(p); }).join("&");
    window.location.href = "/compare?" + query;
  });
  apply();
})();
