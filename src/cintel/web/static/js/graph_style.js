/* How the entity graph and the ring drawings look (Cytoscape.js), and where new nodes go.
   Shared by static/js/graph.js (the expandable graph) and static/js/rings.js (the network page's rings).
   Colours match static/css/graph.css; colour is never the only signal (line style and shape say it too). */
(function () {
  "use strict";

  var EDGE_STYLE = {
    importer_of: ["#0b4f8a", "solid"], exporter_of: ["#1b6e2a", "solid"], declared_by: ["#6a3d9a", "dashed"],
    director_of: ["#b15928", "solid"], has_address: ["#8b0000", "dotted"], has_phone: ["#c2185b", "dotted"],
    has_email: ["#00695c", "dotted"], has_account: ["#5d4037", "dotted"], paid: ["#e65100", "dashed"],
    carried_by: ["#37474f", "dashed"], in_container: ["#455a64", "solid"],
    mentioned_in_report: ["#4a148c", "dashed"], same_as: ["#000000", "solid"]
  };
  var NODE_SHAPE = {
    company: "round-rectangle", person: "ellipse", vessel: "diamond", address: "triangle", phone: "triangle",
    email: "triangle", account: "hexagon", container: "square", declaration: "rectangle"
  };
  var LABEL_CHARS = 24;
  var GAP = 6;  // px kept free between two nodes' label boxes

  function edgeStyle(e) { return EDGE_STYLE[e.data("kind")] || ["#777", "solid"]; }

  function short(label, chars) {
    label = label || "";
    chars = chars || LABEL_CHARS;
    return label.length > chars ? label.slice(0, chars - 1) + "…" : label;
  }

  function styles() {
    return [
      { selector: "node", style: { "label": "data(short)", "font-size": 11, "text-valign": "bottom",
        "text-margin-y": 3, "background-color": "#6b7b8c", "shape": function (n) {
          return NODE_SHAPE[n.data("kind")] || "ellipse"; }, "width": 22, "height": 22, "color": "#111",
        "text-background-color": "#fafafa", "text-background-opacity": 0.85, "text-background-padding": 1,
        "min-zoomed-font-size": 7 } },
      { selector: "node[?listed]", style: { "border-width": 4, "border-color": "#8b0000" } },
      { selector: "node[?caught]", style: { "background-color": "#8b0000" } },
      { selector: "node.expanded", style: { "background-color": "#0b4f8a" } },
      { selector: "node.start, node[?member]", style: { "width": 30, "height": 30, "font-weight": "bold" } },
      { selector: "edge", style: { "width": 2, "curve-style": "bezier", "target-arrow-shape": "triangle",
        "arrow-scale": 0.7, "line-color": function (e) { return edgeStyle(e)[0]; },
        "target-arrow-color": function (e) { return edgeStyle(e)[0]; },
        "line-style": function (e) { return edgeStyle(e)[1]; } } }
    ];
  }

  // A node's box with its label, relative to its position (so it can be tried at other positions).
  function extent(node) {
    var p = node.position();
    var b = node.boundingBox({ includeLabels: true, includeOverlays: false });
    return { x1: b.x1 - p.x - GAP / 2, y1: b.y1 - p.y - GAP / 2, x2: b.x2 - p.x + GAP / 2, y2: b.y2 - p.y + GAP / 2 };
  }

  function at(box, p) { return { x1: p.x + box.x1, y1: p.y + box.y1, x2: p.x + box.x2, y2: p.y + box.y2 }; }

  function overlaps(a, b) { return a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2; }

  /* Places ``fresh`` nodes around ``centre`` without moving any other node: each goes to the first free spot
     on rings of growing radius around the centre, trying first the side facing away from the rest of the
     graph, so that neither its label nor its shape covers another node's. Deterministic: the same graph and
     the same click give the same picture. */
  function placeAround(cy, centre, fresh) {
    if (!fresh.length) { return; }
    var c = centre.position();
    var placed = [];
    cy.nodes().difference(fresh).forEach(function (n) { placed.push(at(extent(n), n.position())); });
    var rest = cy.nodes().difference(fresh).difference(centre);
    var away = 0;
    if (rest.length) {
      var sx = 0, sy = 0;
      rest.forEach(function (n) { sx += n.position().x; sy += n.position().y; });
      away = Math.atan2(c.y - sy / rest.length, c.x - sx / rest.length);
    }
    var boxes = fresh.map(extent);
    var width = Math.max.apply(null, boxes.map(function (b) { return b.x2 - b.x1; }));
    var height = Math.max.apply(null, boxes.map(function (b) { return b.y2 - b.y1; }));
    var step = Math.max(height, 40);
    fresh.forEach(function (node, i) {
      var box = boxes[i];
      for (var ring = 1; ring < 400; ring++) {
        var radius = step * (ring + 1);
        var slots = Math.max(6, Math.floor(2 * Math.PI * radius / (Math.min(width, radius) * 0.5 + 10)));
        for (var k = 0; k < slots; k++) {
          // 0, +1, -1, +2, -2, ... slots from the direction facing away from the graph
          var offset = (k % 2 ? 1 : -1) * Math.ceil(k / 2);
          var angle = away + offset * 2 * Math.PI / slots;
          var p = { x: c.x + radius * Math.cos(angle), y: c.y + radius * Math.sin(angle) };
          var candidate = at(box, p);
          if (!placed.some(function (other) { return overlaps(candidate, other); })) {
            node.position(p);
            placed.push(candidate);
            return;
          }
        }
      }
    });
  }

  window.CintelGraph = { EDGE_STYLE: EDGE_STYLE, NODE_SHAPE: NODE_SHAPE, styles: styles, short: short,
    placeAround: placeAround, overlaps: overlaps };
}());
