// A run page: learning curves (live while the run trains: polls /api/curves/PATH?offset=N), the six criteria,
// policy trajectories.
(function () {
  "use strict";
  const run = JSON.parse(document.getElementById("run-data").textContent);
  const titles = JSON.parse(document.getElementById("criteria-titles").textContent);
  const RETURN = "episode return (mean over agents)";
  let offset = -1;
  let status = run.status;
  let metricCells = {};

  function drawCurves(data) {
    const empty = document.getElementById("curves-empty");
    const main = data.series.find(function (s) { return s.name === RETURN; });
    empty.hidden = data.steps.length > 0;
    if (main) {
      const n = data.seeds.length;
      Plotly.react("curve-return", MK.bandTraces(data.steps, main, MK.PALETTE[0], "IQM of " + n + " seed" + (n === 1 ? "" : "s"), true),
        MK.layout("Episode return across seeds", "env steps per seed", "episode return"), MK.CONFIG);
    }
    const grid = document.getElementById("metric-grid");
    data.series.filter(function (s) { return s.name !== RETURN; }).slice(0, 9).forEach(function (s, k) {
      let cell = metricCells[s.name];
      if (!cell) {
        cell = document.createElement("div");
        cell.className = "cell";
        grid.appendChild(cell);
        metricCells[s.name] = cell;
      }
      Plotly.react(cell, MK.bandTraces(data.steps, s, MK.PALETTE[(k + 2) % MK.PALETTE.length], "IQM", false),
        MK.layout(s.name, "env steps", "", { showlegend: false, margin: { l: 50, r: 8, t: 32, b: 36 } }), MK.CONFIG);
    });
    const points = document.getElementById("points");
    if (points) points.textContent = data.points + " logging point" + (data.points === 1 ? "" : "s") + " so far";
  }

  function setStatus(state) {
    const badge = document.getElementById("status");
    badge.textContent = state.status;
    badge.className = "badge st-" + state.status;
    if (state.progress) document.getElementById("progress").textContent = state.progress[0] + " / " + state.progress[1];
    document.getElementById("live-note").hidden = state.status !== "running";
  }

  function poll() {
    fetch("/api/curves/" + MK.encodePath(run.path) + "?offset=" + offset, { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        setStatus(data);
        if (!data.unchanged) { offset = data.offset; drawCurves(data); }
        const was = status;
        status = data.status;
        if (was === "running" && status === "finished") { window.location.reload(); return; }
        if (status === "running" || status === "killed") window.setTimeout(poll, run.poll_ms);
      })
      .catch(function () { window.setTimeout(poll, 4 * run.poll_ms); });
  }
  poll();

  // ------------------------------------------------------------------------------------------ the six criteria
  const criteria = JSON.parse(document.getElementById("criteria-data").textContent);
  if (criteria) {
    const grid = document.getElementById("criteria-grid");
    const colours = { "converged": "#1a9850", "not converged": "#d73027", "inconclusive": "#8c8c8c", "not applicable": "#cccccc" };
    titles.forEach(function (pair) {
      const key = pair[0];
      const result = criteria.results[key];
      if (!result) return;
      const cell = document.createElement("div");
      cell.className = "cell";
      grid.appendChild(cell);
      const z = result.z;
      const traces = [];
      const seen = {};
      result.metric.forEach(function (row, i) {
        const v = result.verdicts[i];
        const colour = colours[v.verdict] || "#555";
        traces.push({ x: z, y: row, mode: "lines", line: { color: colour, width: 1.3 }, opacity: 0.85,
                      name: v.verdict, legendgroup: v.verdict, showlegend: !seen[v.verdict],
                      hovertemplate: "seed " + i + ": %{y:.3g} at %{x}<br>" + v.verdict + "<extra></extra>" });
        seen[v.verdict] = true;
        if (v.z0 !== null && v.z0 !== undefined) {
          const k = z.indexOf(v.z0);
          traces.push({ x: [v.z0], y: [k >= 0 ? row[k] : result.eps], mode: "markers", marker: { symbol: "diamond", size: 8, color: colour,
                        line: { color: "#fff", width: 1 } }, showlegend: false, hovertemplate: "seed " + i + ": z0 = %{x}<extra></extra>" });
        }
      });
      const lay = MK.layout(pair[1] + "  (eps " + Number(result.eps).toPrecision(3) + ")<br><sub>" + result.metric_name + "</sub>", "env steps (z)", "",
        { margin: { l: 46, r: 8, t: 52, b: 38 }, showlegend: false,
          shapes: [{ type: "rect", xref: "paper", x0: 0, x1: 1, yref: "y", y0: 0, y1: result.eps, fillcolor: "rgba(26,152,80,0.12)", line: { width: 0 } },
                   { type: "line", xref: "paper", x0: 0, x1: 1, yref: "y", y0: result.eps, y1: result.eps, line: { color: "#1a9850", width: 1, dash: "dash" } }] });
      Plotly.newPlot(cell, traces, lay, MK.CONFIG);
    });
  }

  // ------------------------------------------------------------------------------------ policy trajectories
  const traj = JSON.parse(document.getElementById("trajectory-data").textContent);
  if (traj) {
    const box = document.getElementById("trajectories");
    const caption = document.getElementById("trajectory-caption");
    const steps = traj.steps;
    const colourbar = { title: { text: "env steps", side: "right" }, thickness: 12, len: 0.8 };
    function seedTrace(x, y, s, extra) {
      return Object.assign({ x: x, y: y, mode: "lines+markers", name: "seed " + traj.seeds[s],
        line: { color: "rgba(90,90,90,0.35)", width: 1 },
        marker: { size: 5, color: steps, colorscale: "Viridis", showscale: s === 0, colorbar: colourbar } }, extra || {});
    }
    if (traj.layout === "square") {
      caption.textContent = "Each seed's current policy over time: P(" + traj.actions[0][0] + ") of " + traj.players[0] +
        " against P(" + traj.actions[1][0] + ") of " + traj.players[1] + "; colour is time, stars are the Nash equilibria.";
      const traces = traj.policy.map(function (seed, s) { return seedTrace(seed[0][0], seed[1][0], s); });
      if (traj.equilibria.length) traces.push({ x: traj.equilibria.map(function (e) { return e[0][0]; }), y: traj.equilibria.map(function (e) { return e[1][0]; }),
        mode: "markers", name: "Nash equilibria", marker: { symbol: "star", size: 16, color: "#d62728", line: { color: "#000", width: 1 } } });
      const div = document.createElement("div"); box.appendChild(div);
      Plotly.newPlot(div, traces, MK.layout("Policy trajectories", "P(" + traj.players[0] + " plays " + traj.actions[0][0] + ")",
        "P(" + traj.players[1] + " plays " + traj.actions[1][0] + ")", { xaxis: { range: [-0.02, 1.02], title: { text: "P(" + traj.players[0] + " plays " + traj.actions[0][0] + ")" } },
        yaxis: { range: [-0.02, 1.02], scaleanchor: "x", title: { text: "P(" + traj.players[1] + " plays " + traj.actions[1][0] + ")" } }, showlegend: false }), MK.CONFIG);
    } else if (traj.layout === "simplex") {
      caption.textContent = "Each seed's current policy over time on each player's simplex of three actions; colour is time, stars are the Nash equilibria.";
      traj.players.forEach(function (player, i) {
        const names = traj.actions[i];
        const traces = traj.policy.map(function (seed, s) {
          return { type: "scatterternary", a: seed[i][0], b: seed[i][1], c: seed[i][2], mode: "lines+markers", name: "seed " + traj.seeds[s],
                   line: { color: "rgba(90,90,90,0.35)", width: 1 }, marker: { size: 4, color: steps, colorscale: "Viridis", showscale: s === 0 && i === traj.players.length - 1, colorbar: colourbar } };
        });
        if (traj.equilibria.length) traces.push({ type: "scatterternary", a: traj.equilibria.map(function (e) { return e[i][0]; }), b: traj.equilibria.map(function (e) { return e[i][1]; }),
          c: traj.equilibria.map(function (e) { return e[i][2]; }), mode: "markers", name: "Nash equilibria", marker: { symbol: "star", size: 14, color: "#d62728" } });
        const div = document.createElement("div"); box.appendChild(div);
        Plotly.newPlot(div, traces, { title: { text: player, font: { size: 14 } }, showlegend: false, margin: { l: 40, r: 40, t: 50, b: 30 },
          ternary: { aaxis: { title: { text: names[0] } }, baxis: { title: { text: names[1] } }, caxis: { title: { text: names[2] } } } }, MK.CONFIG);
      });
    } else {
      caption.textContent = "Each agent's current policy in the first state over time (" + traj.policy.length + " seeds shown, thin lines; " + traj.states + " state(s) in all).";
      traj.players.forEach(function (player, i) {
        const traces = [];
        traj.actions[i].forEach(function (action, a) {
          traj.policy.forEach(function (seed, s) {
            traces.push({ x: steps, y: seed[i][a], mode: "lines", name: action, legendgroup: action, showlegend: s === 0,
                          line: { color: MK.PALETTE[a % MK.PALETTE.length], width: 1.2 }, opacity: 0.7 });
          });
        });
        const div = document.createElement("div"); box.appendChild(div);
        Plotly.newPlot(div, traces, MK.layout(player, "env steps", "P(action)", { yaxis: { range: [0, 1], title: { text: "P(action)" } } }), MK.CONFIG);
      });
    }
  }
})();
