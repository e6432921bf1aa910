// Screening: score-trend charts for the student archive (data in data-screening-trend, no inline script).
document.addEventListener("DOMContentLoaded", () => {
  if (typeof window.echarts === "undefined") return;
  document.querySelectorAll("[data-screening-trend]").forEach((el) => {
    let data;
    try {
      data = JSON.parse(el.dataset.screeningTrend);
    } catch (e) {
      return;
    }
    if (!data.series || !data.series.length) return;
    el.classList.add("screening-trend-chart");
    const chart = window.echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: data.series.map((s) => s.name) },
      xAxis: { type: "category", data: data.dates },
      yAxis: { type: "value" },
      series: data.series.map((s) => ({ name: s.name, type: "line", data: s.data, connectNulls: true })),
    });
    window.addEventListener("resize", () => chart.resize());
  });
});
