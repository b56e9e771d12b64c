// Draws the dashboard's charts with the project's own copy of Apache ECharts.
// Each chart is a <div data-chart="key"> whose numbers are in <script id="chart-data">
// (the same rows as the table under it). The locale follows the page language.
document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("chart-data");
  if (!source || typeof echarts === "undefined") return;
  const charts = JSON.parse(source.textContent);
  const locale = (document.documentElement.lang || "").startsWith("en") ? "EN" : "ZH";
  const drawn = [];
  document.querySelectorAll("[data-chart]").forEach((el) => {
    const spec = charts[el.dataset.chart];
    if (!spec || !spec.categories.length) return;
    const chart = echarts.init(el, null, { locale, renderer: "canvas" });
    const tooltip = { trigger: spec.type === "pie" ? "item" : "axis" };
    let option;
    if (spec.type === "pie") {
      option = {
        tooltip,
        legend: { bottom: 0 },
        series: [{
          name: spec.name, type: "pie", radius: ["35%", "65%"],
          data: spec.categories.map((name, i) => ({ name, value: spec.values[i] })),
        }],
      };
    } else {
      const horizontal = spec.type === "hbar";
      const categoryAxis = { type: "category", data: spec.categories, axisLabel: { width: 160, overflow: "truncate" } };
      const valueAxis = { type: "value", minInterval: 1 };
      option = {
        tooltip,
        grid: { left: horizontal ? 170 : 50, right: 20, top: 20, bottom: 40 },
        xAxis: horizontal ? valueAxis : categoryAxis,
        yAxis: horizontal ? { ...categoryAxis, inverse: true } : valueAxis,
        series: [{ name: spec.name, type: "bar", data: spec.values, itemStyle: { color: "#0b5cad" } }],
      };
    }
    chart.setOption(option);
    drawn.push(chart);
  });
  window.addEventListener("resize", () => drawn.forEach((c) => c.resize()));
});
