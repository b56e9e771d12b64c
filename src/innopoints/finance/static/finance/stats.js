/* Finance statistics: default rate by band and year, amount by bank, drawn with ECharts when
   it is loaded; the tables on the page carry the same numbers. */
(function () {
  function draw() {
    var data = document.getElementById("finance-charts");
    if (!data || typeof window.echarts === "undefined") return;
    var charts = JSON.parse(data.textContent);
    var rateBox = document.getElementById("default-chart");
    if (rateBox && charts.bands.length) {
      rateBox.classList.add("ready");
      window.echarts.init(rateBox).setOption({
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
        legend: { bottom: 0 },
        xAxis: { type: "category", data: charts.bands },
        yAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
        series: charts.years.map(function (y) {
          return { type: "bar", name: String(y.year), data: y.rates };
        })
      });
    }
    var bankBox = document.getElementById("bank-chart");
    if (bankBox && charts.banks.length) {
      bankBox.classList.add("ready");
      window.echarts.init(bankBox).setOption({
        tooltip: {},
        xAxis: { type: "value" },
        yAxis: { type: "category", data: charts.banks, inverse: true },
        series: [{ type: "bar", data: charts.amounts }]
      });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
