// The declaration page: the route on a Leaflet map (country outlines from the bundled TopoJSON, no tile
// server) and the model's explanation as an ECharts bar chart. Both read JSON from data-* attributes; the
// same facts are in the lists and tables next to them, so without this script nothing is lost.
(function () {
  "use strict";
  const css = getComputedStyle(document.documentElement);
  const colour = function (name, fallback) { return (css.getPropertyValue(name) || fallback).trim(); };
  const ink = colour("--ink", "#111"), accent = colour("--accent", "#0b4f8a"), red = colour("--red", "#8b0000");
  const line = colour("--line", "#c4c4c4"), muted = colour("--muted", "#3d3d3d");

  function parse(el, name, fallback) {
    try { return JSON.parse(el.getAttribute(name)); } catch (e) { return fallback; }
  }

  function label(text) {
    // Tooltips get a text node, never HTML: names come from data.
    const span = document.createElement("span");
    span.textContent = text;
    return span;
  }

  function drawRoute(el) {
    if (typeof L === "undefined") return;
    const route = parse(el, "data-route", { countries: [], ports: [] });
    const map = L.map(el, { attributionControl: false, worldCopyJump: false, zoomSnap: 0.25 });
    map.setView([20, 0], 1);
    const points = [];
    // Consecutive longitudes are unwrapped so a route across the antimeridian takes the short way.
    let previous = null;
    function place(p) {
      let lon = p.lon;
      if (previous !== null) {
        while (lon - previous > 180) lon -= 360;
        while (previous - lon > 180) lon += 360;
      }
      previous = lon;
      return [p.lat, lon];
    }
    route.countries.forEach(function (c) {
      if (c.lat === null || c.lon === null) return;
      const at = [c.lat, c.lon];
      points.push(at);
      L.circleMarker(at, { radius: 7, color: muted, weight: 2, fillColor: "#fff", fillOpacity: 1, dashArray: "3 3" })
        .bindTooltip(label("Country of " + c.kind + ": " + c.code)).addTo(map);
    });
    const path = [];
    route.ports.forEach(function (p) {
      if (p.lat === null || p.lon === null) return;
      const at = place(p);
      path.push(at);
      points.push(at);
      L.circleMarker(at, { radius: p.kind === "transshipment" ? 5 : 8, color: ink, weight: 2,
                           fillColor: p.kind === "discharge" ? red : accent, fillOpacity: 0.9 })
        .bindTooltip(label("Port of " + p.kind + ": " + p.name + " (" + p.code + ")")).addTo(map);
    });
    if (path.length > 1) L.polyline(path, { color: accent, weight: 3 }).addTo(map);
    if (points.length > 1) map.fitBounds(points, { padding: [30, 30], maxZoom: 5 });
    else if (points.length === 1) map.setView(points[0], 4);
    const src = el.getAttribute("data-countries");
    if (src && typeof topojson !== "undefined") {
      fetch(src, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (topo) {
        const land = L.geoJSON(topojson.feature(topo, topo.objects.countries),
                               { style: { color: line, weight: 1, fillColor: "#eef1f4", fillOpacity: 1 },
                                 interactive: false });
        land.addTo(map);
        land.bringToBack();
      }).catch(function () { /* the outlines are decoration: the markers and the list carry the route */ });
    }
  }

  function drawExplanation(el) {
    if (typeof echarts === "undefined" || el.getAttribute("data-drawn")) return;
    el.setAttribute("data-drawn", "1");
    const reasons = parse(el, "data-reasons", []);
    const short = function (t) { return t.length > 48 ? t.slice(0, 47) + "…" : t; };
    const chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false, textStyle: { color: ink },
      grid: { left: 8, right: 56, top: 8, bottom: 24, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", name: "log-odds", nameLocation: "middle", nameGap: 22 },
      yAxis: { type: "category", inverse: true, data: reasons.map(function (r) { return short(r.text); }) },
      series: [{ type: "bar", data: reasons.map(function (r) {
        // Colour follows the sign, and the signed value is printed: colour is never the only signal.
        return { value: r.contribution, itemStyle: { color: r.contribution >= 0 ? red : accent } };
      }), label: { show: true, position: "right", color: ink,
                   formatter: function (p) { return (p.value >= 0 ? "+" : "") + p.value.toFixed(3); } } }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function explanations(root) {
    root.querySelectorAll(".explanation-chart").forEach(drawExplanation);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const map = document.getElementById("route-map");
    if (map) drawRoute(map);
    explanations(document);
  });
  document.body.addEventListener("htmx:afterSwap", function (event) { explanations(event.target); });
})();
