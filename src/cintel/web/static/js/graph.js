/* The entity graph: Cytoscape.js canvas plus an accessible list of the same nodes.
   Data comes from GET /api/v1/network/expand; a click (or Enter on a list item) expands a node,
   a double-click on an entity opens its page, the checkboxes and dates re-query every expanded node. */
(function () {
  "use strict";

  // Colour and line style per tie kind: colour is never the only signal (style and the list say it too).
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

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }

  function init(root) {
    var canvas = root.querySelector("#graph-canvas");
    var list = root.querySelector("#graph-list");
    var status = root.querySelector("#graph-status");
    var asOf = root.querySelector("#graph-as-of");
    var count = root.querySelector("#graph-count");
    var edgeCount = root.querySelector("#graph-edge-count");
    var form = root.querySelector("#graph-filters");
    var start = root.getAttribute("data-start");
    var limit = root.getAttribute("data-limit") || "50";
    var purpose = root.getAttribute("data-purpose") || "link analysis";
    var expanded = [];
    var styles = [
      { selector: "node", style: { "label": "data(short)", "font-size": 10, "text-valign": "bottom",
        "text-margin-y": 3, "background-color": "#6b7b8c", "shape": function (n) {
          return NODE_SHAPE[n.data("kind")] || "ellipse"; }, "width": 22, "height": 22, "color": "#111" } },
      { selector: "node[?listed]", style: { "border-width": 4, "border-color": "#8b0000" } },
      { selector: "node[?caught]", style: { "background-color": "#8b0000" } },
      { selector: "node.expanded", style: { "background-color": "#0b4f8a" } },
      { selector: "node.start", style: { "width": 32, "height": 32 } },
      { selector: "edge", style: { "width": 2, "curve-style": "bezier", "target-arrow-shape": "triangle",
        "arrow-scale": 0.7, "line-color": function (e) { return (EDGE_STYLE[e.data("kind")] || ["#777"])[0]; },
        "target-arrow-color": function (e) { return (EDGE_STYLE[e.data("kind")] || ["#777"])[0]; },
        "line-style": function (e) { return (EDGE_STYLE[e.data("kind")] || ["", "solid"])[1]; } } }
    ];
    var cy = window.cytoscape({ container: canvas, elements: [], style: styles, wheelSensitivity: 0.3,
      minZoom: 0.1, maxZoom: 4 });

    function filters() {
      var params = new URLSearchParams();
      var boxes = form.querySelectorAll("input[name=kinds]");
      var all = true;
      boxes.forEach(function (b) { if (!b.checked) { all = false; } });
      if (!all) { boxes.forEach(function (b) { if (b.checked) { params.append("kinds", b.value); } }); }
      ["since", "until"].forEach(function (name) {
        var v = form.querySelector("input[name=" + name + "]").value;
        if (v) { params.set(name, v); }
      });
      return { params: params, none: !all && !params.has("kinds") };
    }

    function renderList() {
      list.textContent = "";
      var nodes = cy.nodes().sort(function (a, b) {
        return (a.data("label") || "").localeCompare(b.data("label") || ""); });
      nodes.forEach(function (n) {
        var d = n.data();
        var li = el("li");
        var button = el("button", d.label, "node-button");
        button.type = "button";
        button.setAttribute("data-node", d.id);
        button.setAttribute("aria-label", "Expand " + d.label + " (" + d.kind + ")");
        button.addEventListener("click", function () { expand(d.id, true); });
        li.appendChild(button);
        li.appendChild(el("span", " " + d.kind, "meta"));
        if (d.listed) { li.appendChild(el("span", "listed", "flag flag-listed")); }
        if (d.caught) { li.appendChild(el("span", "caught", "flag flag-caught")); }
        if (n.hasClass("expanded")) { li.appendChild(el("span", "expanded", "flag")); }
        if (d.more) { li.appendChild(el("span", "+" + d.more + " more not shown", "meta")); }
        if (d.entity_id) {
          var a = el("a", "open");
          a.href = "/entities/" + encodeURIComponent(d.entity_id);
          li.appendChild(document.createTextNode(" "));
          li.appendChild(a);
        }
        list.appendChild(li);
      });
      count.textContent = String(cy.nodes().length);
      edgeCount.textContent = String(cy.edges().length);
    }

    function add(data) {
      var elements = [];
      data.nodes.forEach(function (n) {
        var d = n.data;
        d.short = d.label.length > 24 ? d.label.slice(0, 23) + "…" : d.label;
        if (cy.getElementById(d.id).empty()) { elements.push({ group: "nodes", data: d }); }
      });
      data.edges.forEach(function (e) {
        if (cy.getElementById(e.data.id).empty()) { elements.push({ group: "edges", data: e.data }); }
      });
      cy.add(elements);
      var centre = cy.getElementById(data.node);
      centre.addClass("expanded");
      centre.data("more", data.more);
    }

    function layout() {
      cy.layout({ name: "cose", animate: false, randomize: false, nodeRepulsion: 8000, idealEdgeLength: 70 }).run();
    }

    function fetchNode(id) {
      var f = filters();
      if (f.none) { return Promise.resolve({ node: id, nodes: [], edges: [], more: 0, shown: 0, total: 0 }); }
      f.params.set("node", id);
      f.params.set("limit", limit);
      f.params.set("purpose", purpose);
      return fetch("/api/v1/network/expand?" + f.params.toString(), { credentials: "same-origin",
        headers: { "Accept": "application/json" } }).then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) { throw new Error(body.detail || ("error " + r.status)); }
          return body;
        });
      });
    }

    function expand(id, announce) {
      status.textContent = "Loading ties…";
      return fetchNode(id).then(function (data) {
        if (expanded.indexOf(id) < 0) { expanded.push(id); }
        if (data.nodes.length === 0) {  // every kind unchecked: keep the node itself
          var node = cy.getElementById(id);
          if (!node.empty()) { node.addClass("expanded"); }
        } else {
          add(data);
        }
        layout();
        renderList();
        if (announce) {
          status.textContent = (data.nodes.length ? data.nodes[0].data.label : id) + ": " + data.shown +
            " tie" + (data.shown === 1 ? "" : "s") + " shown" + (data.more ? ", " + data.more + " more not shown" : "") + ".";
        } else { status.textContent = ""; }
        if (asOf && data.graph && data.graph.as_of) {  // the server answers the graph it holds while it rebuilds
          asOf.textContent = "Ties as of " + data.graph.as_of.replace("T", " ").replace("+00:00", " UTC") +
            (data.graph.refreshing ? "; the store changed since, newer ties are being loaded." : ".");
        }
      }).catch(function (err) { status.textContent = "Could not load the ties: " + err.message; });
    }

    function reload() {
      var nodes = expanded.slice();
      var keep = {};
      cy.nodes().forEach(function (n) { keep[n.id()] = n.data(); });
      cy.elements().remove();
      expanded = [];
      // The start node stays even when the filters leave it no ties.
      if (keep[start]) { cy.add({ group: "nodes", data: keep[start] }); }
      var chain = Promise.resolve();
      nodes.forEach(function (id) { chain = chain.then(function () { return expand(id, false); }); });
      return chain.then(function () { renderList(); status.textContent = "Filters applied: " + cy.edges().length + " ties shown."; });
    }

    cy.on("tap", "node", function (evt) { expand(evt.target.id(), true); });
    cy.on("dbltap", "node", function (evt) {
      var d = evt.target.data();
      if (d.entity_id) { window.location.href = "/entities/" + encodeURIComponent(d.entity_id); }
    });
    form.addEventListener("submit", function (evt) { evt.preventDefault(); reload(); });
    form.querySelectorAll("input[name=kinds]").forEach(function (box) {
      box.addEventListener("change", function () { reload(); });
    });
    // The legend swatches take their colour from EDGE_STYLE (no inline styles under the CSP: classes only).
    expand(start, true);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("graph");
    if (root && window.cytoscape) { init(root); }
  });
}());
