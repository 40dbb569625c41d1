/* The entity graph: Cytoscape.js canvas plus an accessible list of the same nodes.
   Data comes from GET /api/v1/network/expand; a click (or Enter on a list item) expands a node,
   a double-click on an entity opens its page, the checkboxes and dates re-query every expanded node.
   The picture stays put as it grows: the nodes an expansion brings are placed around the node expanded
   (CintelGraph.placeAround), none already shown moves, and no label covers another. */
(function () {
  "use strict";

  var G = window.CintelGraph;  // static/js/graph_style.js
  var MAX_FIT_ZOOM = 1.5;

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
    var positions = {};  // where each node shown (or shown before a filter change) was placed
    var cy = window.cytoscape({ container: canvas, elements: [], style: G.styles(), wheelSensitivity: 0.3,
      minZoom: 0.1, maxZoom: 4 });
    root.cintelGraph = cy;  // for the browser tests, which read positions and label boxes

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

    // Adds the answer's nodes and edges; returns the nodes never placed before (the others go back where they were).
    function add(data) {
      var elements = [];
      data.nodes.forEach(function (n) {
        var d = n.data;
        d.short = G.short(d.label);
        if (cy.getElementById(d.id).empty()) {
          elements.push(positions[d.id] ? { group: "nodes", data: d, position: positions[d.id] }
                                        : { group: "nodes", data: d });
        }
      });
      data.edges.forEach(function (e) {
        if (cy.getElementById(e.data.id).empty()) { elements.push({ group: "edges", data: e.data }); }
      });
      var added = cy.add(elements).nodes();
      var centre = cy.getElementById(data.node);
      centre.addClass("expanded");
      centre.data("more", data.more);
      return added.filter(function (n) { return !positions[n.id()]; });
    }

    function place(centre, fresh) {
      var first = cy.nodes().length === fresh.length + (fresh.contains(centre) ? 0 : 1);
      if (fresh.contains(centre)) {  // the start node, or a node shown again after a filter change
        fresh = fresh.difference(centre);
        if (first) { centre.position({ x: 0, y: 0 }); } else { G.placeAround(cy, cy.nodes().difference(fresh).difference(centre)[0], centre); }
      }
      G.placeAround(cy, centre, fresh);
      cy.nodes().forEach(function (n) { positions[n.id()] = { x: n.position().x, y: n.position().y }; });
      var view = cy.extent();
      var outside = fresh.some(function (n) {
        var b = n.boundingBox({ includeLabels: true });
        return b.x1 < view.x1 || b.x2 > view.x2 || b.y1 < view.y1 || b.y2 > view.y2;
      });
      if (first || outside) {  // the view follows the graph; the graph itself does not move
        cy.fit(cy.nodes(), 30);
        if (cy.zoom() > MAX_FIT_ZOOM) { cy.zoom(MAX_FIT_ZOOM); cy.center(); }
      }
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
          var fresh = add(data);  // first: the centre is among the nodes it adds
          place(cy.getElementById(data.node), fresh);
        }
        renderList();
        if (announce) {
          status.textContent = (data.nodes.length ? data.nodes[0].data.label : id) + ": " + data.shown +
            " tie" + (data.shown === 1 ? "" : "s") + " shown" + (data.more ? ", " + data.more + " more not shown" : "") + ".";
        } else { status.textContent = ""; }
        if (asOf && data.graph && data.graph.as_of) {  // the server answers the graph it holds while it rebuilds
          asOf.textContent = "Ties as of " + data.graph.as_of.replace("T", " ").replace("+00:00", " UTC") +
            (data.graph.refreshing ? "; the store changed since, newer ties are being loaded." : ".");
        }
      }, function (err) {
        // Only a failed request is shown here: an error in drawing the answer stays a page error.
        status.textContent = "Could not load the ties: " + err.message;
      });
    }

    function reload() {
      var nodes = expanded.slice();
      var keep = {};
      cy.nodes().forEach(function (n) { keep[n.id()] = n.data(); });
      cy.elements().remove();
      expanded = [];
      // The start node stays even when the filters leave it no ties; every node comes back where it was.
      if (keep[start]) {
        cy.add(positions[start] ? { group: "nodes", data: keep[start], position: positions[start] }
                                : { group: "nodes", data: keep[start] });
      }
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
    // The legend swatches take their colour from static/css/graph.css (no inline styles under the CSP).
    expand(start, true);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("graph");
    if (root && window.cytoscape && window.CintelGraph) { init(root); }
  });
}());
