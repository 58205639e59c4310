// Plotly helpers shared by the run and compare pages (Plotly is served from the installed package: /vendor/plotly.min.js).
window.MK = (function () {
  "use strict";
  const PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4"];
  const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  function rgba(hex, alpha) {
    const n = parseInt(hex.slice(1), 16);
    return "rgba(" + ((n >> 16) & 255) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function layout(title, xTitle, yTitle, extra) {
    return Object.assign({
      title: { text: title, font: { size: 14 }, x: 0.01, xanchor: "left" },
      margin: { l: 56, r: 12, t: 36, b: 42 },
      xaxis: { title: { text: xTitle, font: { size: 12 } }, zeroline: false, gridcolor: "#eceff2" },
      yaxis: { title: { text: yTitle, font: { size: 12 } }, zeroline: false, gridcolor: "#eceff2" },
      legend: { orientation: "h", y: -0.22, font: { size: 11 } },
      paper_bgcolor: "#fff", plot_bgcolor: "#fff", font: { family: "system-ui, sans-serif", size: 12 },
      uirevision: "keep",
    }, extra || {});
  }

  // One series across seeds: a thin line per seed (optional), the 95% band and the IQM line.
  function bandTraces(steps, series, colour, name, withSeeds) {
    const traces = [];
    if (withSeeds) {
      series.per_seed.forEach(function (row, i) {
        traces.push({ x: steps, y: row, mode: "lines", line: { color: "rgba(120,120,120,0.45)", width: 1 },
                      hoverinfo: "skip", showlegend: i === 0, name: "each seed", legendgroup: "seeds" });
      });
    }
    traces.push({ x: steps, y: series.low, mode: "lines", line: { width: 0 }, hoverinfo: "skip", showlegend: false,
                  legendgroup: name, connectgaps: false });
    traces.push({ x: steps, y: series.high, mode: "lines", line: { width: 0 }, fill: "tonexty",
                  fillcolor: rgba(colour, 0.2), name: "95% bootstrap band", hoverinfo: "skip", legendgroup: name,
                  showlegend: withSeeds });
    traces.push({ x: steps, y: series.iqm, mode: "lines+markers", marker: { size: 3 }, line: { color: colour, width: 2.4 },
                  name: name, legendgroup: name });
    return traces;
  }

  function encodePath(path) { return path.split("/").map(encodeURIComponent).join("/"); }

  return { PALETTE: PALETTE, CONFIG: CONFIG, layout: layout, bandTraces: bandTraces, rgba: rgba, encodePath: encodePath };
})();
