/* The entity page's declarations timeline (ECharts): declarations per week, inspected and found.
   The weeks come as JSON in <script type="application/json" id="timeline-data"> (never in an attribute). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("timeline");
    var source = document.getElementById("timeline-data");
    if (!box || !source || !window.echarts) { return; }
    var weeks = JSON.parse(source.textContent);
    var chart = window.echarts.init(box, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { data: ["Declarations", "Inspected", "Found"] },
      grid: { left: 40, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: weeks.map(function (w) { return w.week; }) },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "Declarations", type: "bar", data: weeks.map(function (w) { return w.declarations; }), itemStyle: { color: "#0b4f8a" } },
        { name: "Inspected", type: "bar", data: weeks.map(function (w) { return w.inspected; }), itemStyle: { color: "#9e9e9e" } },
        { name: "Found", type: "line", data: weeks.map(function (w) { return w.found; }), itemStyle: { color: "#8b0000" },
          symbol: "diamond", symbolSize: 10 }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
}());
