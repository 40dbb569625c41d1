// Keyboard work on the risk queue: j/k move to the next/previous row (focusing its declaration link),
// x ticks the current row's checkbox, and "select all on this page" ticks every row. Without this script
// the queue still works: rows are links and checkboxes reached with Tab, and the forms submit as usual.
(function () {
  "use strict";
  const table = document.getElementById("queue-table");
  if (!table) return;
  const rows = Array.from(table.querySelectorAll("tbody tr.queue-row"));
  let current = -1;

  function typing(target) {
    const tag = target && target.tagName;
    return tag === "INPUT" && target.type !== "checkbox" || tag === "SELECT" || tag === "TEXTAREA";
  }

  function move(to) {
    if (!rows.length) return;
    if (current >= 0) rows[current].classList.remove("current");
    current = Math.max(0, Math.min(rows.length - 1, to));
    const row = rows[current];
    row.classList.add("current");
    const link = row.querySelector("a.decl");
    if (link) link.focus();
  }

  // A row reached with Tab becomes the current row, so j/k continue from there.
  rows.forEach(function (row, i) {
    row.addEventListener("focusin", function () {
      if (current >= 0 && current !== i) rows[current].classList.remove("current");
      current = i;
      row.classList.add("current");
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    if (event.key === "j") { move(current + 1); event.preventDefault(); }
    else if (event.key === "k") { move(current - 1); event.preventDefault(); }
    else if (event.key === "x" && current >= 0) {
      const box = rows[current].querySelector("input[type=checkbox]");
      if (box) { box.checked = !box.checked; event.preventDefault(); }
    }
  });

  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      rows.forEach(function (row) {
        const box = row.querySelector("input[type=checkbox]");
        if (box) box.checked = all.checked;
      });
    });
  }
})();
