// Rules editor: only the chosen effect's input is active (a rule has a weight or a fixed channel, never
// both). The live check of the expression is htmx (hx-post on the textarea); nothing else runs here.
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
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("rule-editor");
    if (!form) { return; }
    form.querySelectorAll("input[name=effect]").forEach(function (radio) {
      radio.addEventListener("change", function () { sync(form); });
    });
    sync(form);
  });
}());
