/* Draw the portrait's radar and trend charts with ECharts when it is loaded; the tables
   beside them carry the same numbers, so the page works without JavaScript. */
(function () {
  function draw() {
    var data = document.getElementById("portrait-charts");
    if (!data || typeof window.echarts === "undefined") return;
    var charts = JSON.parse(data.textContent);
    var radarBox = document.getElementById("radar-chart");
    if (radarBox && charts.radar.indicators.length) {
      radarBox.classList.add("ready");
      window.echarts.init(radarBox).setOption({
        tooltip: {}, legend: { bottom: 0 },
        radar: { indicator: charts.radar.indicators },
        series: [{ type: "radar", data: [
          { value: charts.radar.firm, name: radarBox.dataset.firm || "●" },
          { value: charts.radar.peer, name: radarBox.dataset.peer || "○" }
        ] }]
      });
    }
    var trendBox = document.getElementById("trend-chart");
    if (trendBox && charts.trend.years.length) {
      trendBox.classList.add("ready");
      window.echarts.init(trendBox).setOption({
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: charts.trend.years },
        yAxis: [{ type: "value" }, { type: "value", inverse: true }],
        series: [
          { type: "line", data: charts.trend.total, name: "points" },
          { type: "line", data: charts.trend.rank, name: "rank", yAxisIndex: 1 }
        ]
      });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
