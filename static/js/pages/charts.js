// Chart.js (vendored, loaded as a classic script before the page's modules) set up the same
// way on every page: no animation, so charts update at once when new epochs arrive.
const Chart = window.Chart;
export const COLORS = ["#3b5bdb", "#e8590c", "#2b8a3e", "#ae3ec9", "#c92a2a", "#1098ad", "#5c940d", "#f08c00"];

export function barChart(canvas, labels, values, label) {
  return new Chart(canvas, {
    type: "bar",
    data: { labels, datasets: [{ label, data: values, backgroundColor: COLORS[0] }] },
    options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

// One line chart: series is [{label, data: [[x, y], ...], dashed}].
export function lineChart(canvas, title, series) {
  return new Chart(canvas, {
    type: "line",
    data: { datasets: series.map((s, i) => lineSeries(s, i)) },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
      plugins: { title: { display: Boolean(title), text: title } },
      scales: { x: { type: "linear", title: { display: true, text: "epoch" }, ticks: { precision: 0 } } },
    },
  });
}

export function lineSeries(s, i) {
  const color = s.color || COLORS[i % COLORS.length];
  return { label: s.label, data: s.data.map(([x, y]) => ({ x, y })), borderColor: color, backgroundColor: color,
    borderDash: s.dashed ? [6, 4] : [], pointRadius: 2, tension: 0 };
}

export function scatterChart(canvas, points, xLabel, yLabel) {
  return new Chart(canvas, {
    type: "scatter",
    data: { datasets: [{ label: yLabel, data: points, backgroundColor: COLORS[0] }] },
    options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } },
      scales: { x: { title: { display: true, text: xLabel } }, y: { title: { display: true, text: yLabel } } } },
  });
}
