// The play page's board: renders a session's view (JSON from /play/<id>/state) and sends the person's moves.
// Mouse: click an action (a row of the payoff table, or a button). Keyboard: 1..9 pick action 1..9; on grid
// games the arrow keys move and space stands still (matched by the actions' names).
(function () {
  "use strict";
  let view = JSON.parse(document.getElementById("play-view").textContent);
  let busy = false;
  const $ = (id) => document.getElementById(id);
  const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];
  const ARROWS = {
    ArrowUp: ["up", "n", "north"], ArrowDown: ["down", "s", "south"],
    ArrowLeft: ["left", "w", "west"], ArrowRight: ["right", "e", "east"],
    " ": ["interact", "stand", "stay", "noop", "wait", "none"],
  };
  const fmt = (x, d = 2) => (x === null || x === undefined ? "—" : Number(x).toFixed(d));
  const el = (tag, attrs = {}, text) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };

  function showError(text) {
    const box = $("play-error");
    box.textContent = text || "";
    box.classList.toggle("hidden", !text);
  }

  async function play(action) {
    if (busy) return;
    if (!view.legal_actions.includes(action)) {
      showError("action " + (action + 1) + " is not legal here");
      return;
    }
    busy = true;
    document.body.classList.add("busy");
    try {
      const response = await fetch("/play/" + view.id + "/act", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ action }),
      });
      const data = await response.json();
      if (!response.ok) { showError(data.error || response.statusText); return; }
      showError("");
      view = data;
      render();
    } catch (err) {
      showError("the server did not answer (" + err + ")");
    } finally {
      busy = false;
      document.body.classList.remove("busy");
    }
  }

  function scoreboard() {
    const box = $("scoreboard");
    box.innerHTML = "";
    const add = (label, value) => {
      const d = el("div", { class: "score" });
      d.appendChild(el("span", { class: "label" }, label));
      d.appendChild(el("span", { class: "value" }, value));
      box.appendChild(d);
    };
    add("rounds", String(view.rounds));
    add("your score", fmt(view.scores[view.seat], 1));
    const partner = view.partner_seats.reduce((s, j) => s + view.scores[j], 0) / view.partner_seats.length;
    add(view.partner_seats.length > 1 ? "partners' mean" : "partner's score", fmt(partner, 1));
    add("your mean / round", fmt(view.mean_scores[view.seat], 2));
    if (view.kind !== "matrix") add("episode", view.episode + " · step " + view.step + "/" + view.episode_steps);
    if (view.kind === "task") add("soups served", String(view.soups));
  }

  function actions() {
    const box = $("actions");
    box.innerHTML = "";
    const names = view.action_names[view.seat];
    const table = view.payoff_table;
    if (table && view.kind === "matrix") {
      const t = el("table", { class: "payoffs" });
      const head = el("tr");
      head.appendChild(el("th", { class: "corner" }, "you \\ partner"));
      table.columns.forEach((c) => head.appendChild(el("th", {}, c)));
      head.appendChild(el("th", { class: "expect" }, "expected now"));
      t.appendChild(head);
      table.rows.forEach((r, a) => {
        const tr = el("tr", { class: "action-row", "data-action": a, tabindex: 0, title: "play " + r + " (key " + (a + 1) + ")" });
        const th = el("th", {});
        th.appendChild(el("kbd", {}, String(a + 1)));
        th.appendChild(document.createTextNode(" " + r));
        tr.appendChild(th);
        table.cells[a].forEach((cell, b) => {
          const td = el("td", {});
          td.appendChild(el("span", { class: "mine" }, fmt(cell[0], 3).replace(/\.?0+$/, "")));
          td.appendChild(document.createTextNode(", "));
          td.appendChild(el("span", { class: "theirs" }, fmt(cell[1], 3).replace(/\.?0+$/, "")));
          if (view.last && view.last.actions[view.seat] === a && view.last.actions[view.partner_seats[0]] === b) td.classList.add("played");
          tr.appendChild(td);
        });
        tr.appendChild(el("td", { class: "expect" }, fmt(view.expected_payoffs[a], 2)));
        tr.addEventListener("click", () => play(a));
        tr.addEventListener("keydown", (e) => { if (e.key === "Enter") play(a); });
        t.appendChild(tr);
      });
      box.appendChild(t);
    } else {
      const row = el("div", { class: "buttons" });
      names.forEach((name, a) => {
        const b = el("button", { class: "button action", "data-action": a, type: "button" });
        b.appendChild(el("kbd", {}, String(a + 1)));
        b.appendChild(document.createTextNode(" " + name));
        if (view.expected_payoffs) b.appendChild(el("small", {}, "expected reward " + fmt(view.expected_payoffs[a], 2)));
        b.disabled = !view.legal_actions.includes(a);
        b.addEventListener("click", () => play(a));
        row.appendChild(b);
      });
      box.appendChild(row);
    }
    const frame = $("frame");
    if (view.kind !== "matrix") {
      frame.src = "/play/" + view.id + "/frame.png?r=" + view.rounds;
      frame.classList.remove("hidden");
    }
    const arrows = Object.keys(ARROWS).some((k) => arrowAction(k) !== null);
    $("keys").textContent = (view.disc ? "You are " + view.disc + " in the picture. " : "") +
      "Click an action or press 1–" + Math.min(names.length, 9) + (arrows ? "; arrow keys move" + (arrowAction(" ") !== null ? ", space " + (view.action_names[view.seat][arrowAction(" ")] === "interact" ? "interacts." : "stands still.") : ".") : ".");
    const last = view.last;
    if (last) {
      const order = [view.seat, ...view.partner_seats];
      const parts = order.map((i) => (i === view.seat ? "you" : view.player_names[i]) + ": " + view.action_names[i][last.actions[i]]);
      let text = "Last round: " + parts.join(" · ") + " → you " + fmt(last.rewards[view.seat], 2) +
        ", partner " + view.partner_seats.map((j) => fmt(last.rewards[j], 2)).join(", ");
      if (last.terminated) text += " (episode over)";
      $("last").textContent = text;
    }
  }

  function partnerPolicy() {
    const box = $("partner-policy");
    box.innerHTML = "";
    view.partner_policy.forEach((p) => {
      if (view.partner_policy.length > 1) box.appendChild(el("h3", {}, view.player_names[p.seat]));
      p.probabilities.forEach((x, a) => {
        const row = el("div", { class: "bar-row" });
        row.appendChild(el("span", { class: "bar-label" }, view.action_names[p.seat][a]));
        const bar = el("span", { class: "prob-bar" });
        const fill = el("span", { class: "fill", style: "width:" + (100 * x).toFixed(1) + "%" });
        bar.appendChild(fill);
        row.appendChild(bar);
        row.appendChild(el("span", { class: "bar-value" }, (100 * x).toFixed(1) + "%"));
        box.appendChild(row);
      });
    });
  }

  function picture() {
    if (typeof Plotly === "undefined") return;
    const layout = (title, ytitle, yrange) => ({
      title: { text: title, font: { size: 14 } }, margin: { l: 55, r: 10, t: 36, b: 30 }, height: 320,
      xaxis: { dtick: Math.max(1, Math.ceil(view.rounds / 10)) }, yaxis: { title: { text: ytitle }, range: yrange },
      legend: { orientation: "h", y: -0.12 }, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fafafa",
    });
    const config = { displayModeBar: false, responsive: true };
    if (view.kind === "matrix") {
      const pic = view.picture;
      const traces = [];
      [view.seat, ...view.partner_seats.slice(0, 1)].forEach((i, k) => {
        view.action_names[i].forEach((name, a) => {
          traces.push({
            x: pic.round, y: pic.frequencies.map((f) => f[i][a]), mode: "lines",
            name: (i === view.seat ? "you" : view.player_names[i]) + ": " + name,
            line: { color: COLOURS[a % COLOURS.length], dash: k === 0 ? "solid" : "dot", width: 2 },
          });
        });
      });
      Plotly.react("plot-frequencies", traces, layout("Empirical action frequencies, by round", "frequency", [0, 1.02]), config);
      const nash = [
        { x: pic.round, y: pic.nash_conv, mode: "lines+markers", name: "NashConv of the empirical profile", line: { color: "#d62728" }, marker: { size: 4 } },
        { x: pic.round, y: pic.nash_distance, mode: "lines+markers", name: "distance to the nearest Nash equilibrium (TV)", line: { color: "#1f77b4" }, marker: { size: 4 }, yaxis: "y2" },
      ];
      const l = layout("Distance to equilibrium, by round", "NashConv");
      l.xaxis = { anchor: "y2", dtick: Math.max(1, Math.ceil(view.rounds / 10)) };
      l.yaxis = { title: { text: "NashConv" }, domain: [0.55, 1], rangemode: "tozero" };
      l.yaxis2 = { title: { text: "TV distance" }, domain: [0, 0.45], range: [0, 1.02], anchor: "x" };
      Plotly.react("plot-nash", nash, l, config);
      const eqs = pic.equilibria.length;
      $("picture-note").textContent = "Dotted: your partner. NashConv = Σᵢ (best-response payoff − payoff) at the players' empirical frequencies; 0 at a Nash equilibrium. " +
        eqs + " Nash equilibri" + (eqs === 1 ? "um" : "a") + (pic.equilibria_complete ? " (all of them)" : " listed (the list may be incomplete)") + ".";
    } else {
      $("picture-title").textContent = "Episode returns";
      const eps = view.returns.map((_, k) => view.episodes_finished - view.returns.length + k + 1);
      const traces = view.player_names.map((name, i) => ({
        x: eps, y: view.returns.map((r) => r[i]), mode: "lines+markers", name: i === view.seat ? "you" : name,
        line: { color: COLOURS[i % COLOURS.length] },
      }));
      $("plot-frequencies").classList.toggle("hidden", view.returns.length === 0);
      if (view.returns.length) Plotly.react("plot-frequencies", traces, layout("Returns of the last episodes, by episode", "return"), config);
      $("plot-nash").classList.add("hidden");
      $("picture-note").textContent = view.episodes_finished ? view.episodes_finished + " episodes finished." :
        "No episode finished yet: an episode ends " + (view.kind === "task" ? "" : "at a goal (a terminal state) or ") + "after " + view.episode_steps + " steps.";
    }
  }

  function arrowAction(key) {
    const wanted = ARROWS[key];
    if (!wanted) return null;
    const names = view.action_names[view.seat].map((n) => n.toLowerCase());
    for (const w of wanted) {  // in the order of preference (space: interact before stay)
      const a = names.indexOf(w);
      if (a >= 0) return a;
    }
    return null;
  }

  document.addEventListener("keydown", (e) => {
    if (e.target && ["INPUT", "SELECT", "TEXTAREA"].includes(e.target.tagName)) return;
    if (e.key >= "1" && e.key <= "9") {
      const a = Number(e.key) - 1;
      if (a < view.action_names[view.seat].length) { e.preventDefault(); play(a); }
      return;
    }
    const a = arrowAction(e.key);
    if (a !== null) { e.preventDefault(); play(a); }
  });

  function render() {
    scoreboard();
    actions();
    partnerPolicy();
    picture();
    document.body.dataset.rounds = String(view.rounds);
  }
  render();
})();
