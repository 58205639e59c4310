// The compare page: each run's IQM return curve with its band, one colour per run (live for running runs).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("compare-data").textContent);
  const RETURN = "episode return (mean over agents)";
  const curves = {};
  document.querySelectorAll(".swatch").forEach(function (el) { el.style.background = MK.PALETTE[+el.dataset.index % MK.PALETTE.length]; });

  function draw() {
    let traces = [];
    data.runs.forEach(function (path, k) {
      const c = curves[path];
      if (!c) return;
      const main = c.series.find(function (s) { return s.name === RETURN; });
      if (main) traces = traces.concat(MK.bandTraces(c.steps, main, MK.PALETTE[k % MK.PALETTE.length], path, false));
    });
    Plotly.react("compare-curve", traces, MK.layout("Episode return (IQM across seeds, 95% band)", "env steps per seed", "episode return",
      { legend: { orientation: "h", y: -0.2, font: { size: 11 } } }), MK.CONFIG);
  }

  function load(path) {
    const offset = curves[path] ? curves[path].offset : -1;
    fetch("/api/curves/" + MK.encodePath(path) + "?offset=" + offset, { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (c) {
        if (!c.unchanged) { curves[path] = c; draw(); }
        if (c.status === "running") window.setTimeout(function () { load(path); }, data.poll_ms);
      })
      .catch(function () {});
  }
  data.runs.forEach(load);
})();
