// Charts drawn with Chart.js (window.Chart, from the npm package the set-up installs). Each
// canvas carries the numbers it drew in data-series, so a test or a curious user can compare
// them with the API's answer.

import { el, note } from "./format.js";

// Canvas -> its Chart.js configuration, until drawCharts draws it (in the document: Chart.js measures its box).
const pending = new WeakMap();

const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];

export function chartsAvailable() {
  return typeof window.Chart === "function";
}

/** Destroys the charts inside a container before it is redrawn (each holds its canvas). */
export function destroyCharts(container) {
  for (const canvas of container.querySelectorAll("canvas")) {
    window.Chart.getChart(canvas)?.destroy();
  }
}

/**
 * A chart in a sized box, or a note when there is nothing to draw.
 * series: { labels: [...], datasets: [{ label, data: [...] }] }; options: Chart.js options.
 */
export function chart(name, title, type, series, { empty = "Nothing in this period.", options = {}, stacked = false } = {}) {
  const figure = el("figure", { class: "chart", dataset: { chart: name } }, el("figcaption", {}, title));
  if (series.labels.length === 0 || series.datasets.length === 0) {
    figure.append(note(empty));
    return figure;
  }
  const canvas = el("canvas", {
    id: `chart-${name}`,
    role: "img",
    "aria-label": title,
    dataset: {
      series: JSON.stringify({
        labels: series.labels,
        datasets: series.datasets.map(({ label, data }) => ({ label, data })),
      }),
    },
  });
  figure.append(el("div", { class: "chart-box" }, canvas));
  const datasets = series.datasets.map((dataset, index) => {
    const color = dataset.color ?? PALETTE[index % PALETTE.length];
    return {
      label: dataset.label,
      data: dataset.data,
      yAxisID: dataset.axis ?? "y",
      stack: dataset.stack,
      borderColor: color,
      backgroundColor: type === "line" ? color : `${color}cc`,
      spanGaps: true,
      tension: 0.2,
    };
  });
  const scales = {
    x: {
      stacked,
      // A bucket's "12-03 14:00" on two lines: dates and hours stay readable side by side.
      ticks: {
        maxRotation: 0,
        autoSkip: true,
        callback(value) {
          const label = String(this.getLabelForValue(value));
          return /^\d\d-\d\d \d\d:\d\d$/.test(label) ? label.split(" ") : label;
        },
      },
    },
    y: { stacked, beginAtZero: true },
    ...(options.scales ?? {}),
  };
  pending.set(canvas, {
    type,
    data: { labels: series.labels, datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom" } },
      ...options,
      scales,
    },
  });
  return figure;
}

/** Draws the charts made by chart() once their figures are in the document. */
export function drawCharts(container) {
  for (const canvas of container.querySelectorAll("canvas")) {
    const config = pending.get(canvas);
    if (config) {
      pending.delete(canvas);
      new window.Chart(canvas, config);
    }
  }
}
