// The dashboard's charts, drawn with ECharts from the JSON in each chart's data-* attributes. The same
// numbers are in tables next to each chart, so without this script (or ECharts) nothing is lost.
(function () {
  "use strict";
  if (typeof echarts === "undefined") return;
  const css = getComputedStyle(document.documentElement);
  const colour = function (name, fallback) { return (css.getPropertyValue(name) || fallback).trim(); };
  const ink = colour("--ink", "#111"), accent = colour("--accent", "#0b4f8a"), red = colour("--red", "#8b0000");
  const line = colour("--line", "#c4c4c4");
  const base = { textStyle: { color: ink }, animation: false, grid: { left: 56, right: 24, top: 40, bottom: 40 },
                 tooltip: { trigger: "axis" }, legend: { top: 0 } };

  function draw(el, option) {
    const chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(Object.assign({}, base, option));
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function parse(el, name) {
    try { return JSON.parse(el.getAttribute(name) || "[]"); } catch (e) { return []; }
  }

  const trend = document.querySelector("[data-chart=trend]");
  if (trend) {
    const s = parse(trend, "data-series");
    draw(trend, {
      xAxis: { type: "category", data: s.map(function (r) { return r.day.slice(5); }) },
      yAxis: [{ type: "value", name: "declarations" }, { type: "value", name: "inspections", splitLine: { show: false } }],
      series: [
        { name: "Declarations", type: "line", data: s.map(function (r) { return r.declarations; }),
          itemStyle: { color: accent }, symbol: "circle" },
        { name: "Inspections", type: "line", yAxisIndex: 1, data: s.map(function (r) { return r.inspections; }),
          itemStyle: { color: ink }, lineStyle: { type: "dashed" }, symbol: "triangle" },
        { name: "Hits", type: "line", yAxisIndex: 1, data: s.map(function (r) { return r.hits; }),
          itemStyle: { color: red }, lineStyle: { type: "dotted", width: 3 }, symbol: "diamond" }
      ]
    });
  }

  const channels = document.querySelector("[data-chart=channels]");
  if (channels) {
    const rows = parse(channels, "data-rows");
    draw(channels, {
      xAxis: { type: "category", data: rows.map(function (r) { return r.channel; }) },
      yAxis: { type: "value", name: "declarations" },
      series: [
        { name: "Declarations", type: "bar", data: rows.map(function (r) { return r.count; }),
          itemStyle: { color: accent }, label: { show: true, position: "top" } },
        { name: "Capacity", type: "bar", data: rows.map(function (r) { return r.capacity; }),
          itemStyle: { color: "#fff", borderColor: ink, borderWidth: 2, borderType: "dashed" },
          label: { show: true, position: "top" } }
      ]
    });
  }

  const reasons = document.querySelector("[data-chart=reasons]");
  if (reasons) {
    const rows = parse(reasons, "data-rows");
    draw(reasons, {
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "–" : v + " %"; } },
      xAxis: { type: "category", data: rows.map(function (r) { return r.label || r.reason; }) },
      yAxis: { type: "value", name: "hit rate %", splitLine: { lineStyle: { color: line } } },
      series: [{ name: "Hit rate", type: "bar", itemStyle: { color: red }, label: { show: true, position: "top" },
                 data: rows.map(function (r) { return r.hit_rate == null ? null : Math.round(r.hit_rate * 1000) / 10; }) }]
    });
  }
})();
