// Rules editor: only the chosen effect's input is active (a rule has a weight or a fixed channel, never
// both), and the list of fields a rule can read is filtered as the officer types. The live check of the
// expression is htmx (hx-post on the textarea); nothing else runs here.
"use strict";
(function () {
  function sync(form) {
    var byWeight = form.querySelector("#effect-weight");
    var weight = form.querySelector("#weight");
    var channel = form.querySelector("#channel");
    if (!byWeight || !weight || !channel) { return; }
    weight.disabled = !byWeight.checked;
    channel.disabled = byWeight.checked;
  }
  function filter(input) {
    var table = document.querySelector(input.getAttribute("data-filter"));
    if (!table) { return; }
    var wanted = input.value.trim().toLowerCase();
    table.querySelectorAll("tbody tr").forEach(function (row) {
      row.hidden = wanted !== "" && row.textContent.toLowerCase().indexOf(wanted) === -1;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-filter]").forEach(function (input) {
      input.addEventListener("input", function () { filter(input); });
    });
    var form = document.getElementById("rule-editor");
    if (!form) { return; }
    form.querySelectorAll("input[name=effect]").forEach(function (radio) {
      radio.addEventListener("change", function () { sync(form); });
    });
    sync(form);
  });
}());
