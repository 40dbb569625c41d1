/* The network page's suspected rings, each drawn as a small graph (Cytoscape.js): the ring's companies in a
   column on the left, what they share (directors, addresses, phones, accounts) in a column on the right, a
   tie from each company to each thing it shares. Names sit outside the columns (companies' to the left,
   the rest to the right), one row each, so no name covers another. The elements come as JSON in
   <script type="application/json" id="...-elements"> (server-side: network.rings.ring_elements); the lists
   beside each drawing say the same in words. A double-click on a company opens its entity page. */
(function () {
  "use strict";

  var ROW = 44;  // px between two rows
  var COLUMNS = 360;  // px between the two columns
  var MAX_ZOOM = 1.3;
  var LABEL_CHARS = 40;  // a ring has few nodes: names can be read whole

  function column(nodes, x, rows) {
    // Centred on the taller column, so the ties fan out evenly.
    var top = (rows - nodes.length) * ROW / 2;
    nodes.forEach(function (n, i) { n.position({ x: x, y: top + i * ROW }); });
  }

  function draw(box) {
    var G = window.CintelGraph;
    var source = document.getElementById(box.getAttribute("data-elements"));
    if (!source) { return; }
    var elements = JSON.parse(source.textContent);
    elements.nodes.forEach(function (n) { n.data.short = G.short(n.data.label, LABEL_CHARS); });
    var style = G.styles().concat([
      { selector: "node", style: { "font-size": 12, "min-zoomed-font-size": 0, "text-valign": "center",
        "text-margin-y": 0 } },
      { selector: "node[?member]", style: { "text-halign": "left", "text-margin-x": -6 } },
      { selector: "node[!member]", style: { "text-halign": "right", "text-margin-x": 6 } }
    ]);
    var cy = window.cytoscape({ container: box, elements: elements, style: style, wheelSensitivity: 0.3,
      minZoom: 0.3, maxZoom: 3, layout: { name: "preset" } });
    var byLabel = function (a, b) { return a.data("label").localeCompare(b.data("label")); };
    var members = cy.nodes("[?member]").sort(byLabel);
    var shared = cy.nodes("[!member]").sort(byLabel);
    var rows = Math.max(members.length, shared.length);
    column(members, 0, rows);
    column(shared, COLUMNS, rows);
    cy.fit(cy.nodes(), 16);
    if (cy.zoom() > MAX_ZOOM) { cy.zoom(MAX_ZOOM); cy.center(); }
    cy.on("dbltap", "node", function (evt) {
      var d = evt.target.data();
      if (d.entity_id) { window.location.href = "/entities/" + encodeURIComponent(d.entity_id); }
    });
    box.cintelGraph = cy;  // for the browser tests, which read label boxes
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.cytoscape || !window.CintelGraph) { return; }
    document.querySelectorAll(".ring-graph").forEach(draw);
  });
}());
