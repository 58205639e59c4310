"""Minimal-cost reward poisoning of an offline dataset (Wu, McMahan, Zhu & Xie, "Reward Poisoning Attacks on
Offline Multi-Agent Reinforcement Learning", AAAI 2023; the zero-sum variant: Wu, McMahan, Zhu & Xie, "Data
Poisoning to Fake a Nash Equilibrium in Markov Games", 2023).

**Threat model.** The attacker sees the whole dataset D = {(s_k, a_k, r_k, s'_k, done_k)} and may change the logged
rewards r_k (not states, actions or transitions) before the learners read it. It knows the learners' confidence
radius ρ (:mod:`marlkit.offline.estimate`: the box |R - R̂| <= ρ / sqrt(N(s, a))). It wants a deterministic target
π† to be

* ``dominant``: an ι-strict Markov perfect dominant strategy equilibrium of **every** game in the learners'
  confidence set (so certainty-equivalence and pessimistic learners alike adopt it, :mod:`marlkit.offline.learners`);
* ``saddle`` (two-player zero-sum data, the default there): an ι-strict saddle at every state of every game in the
  set, hence their unique Nash equilibrium (the dataset stays zero-sum: agent 1's reward moves by the negative of
  agent 0's, and costs count the game's one reward stream, agent 0's).

**The program.** Only the means R̂(s, a) enter the learners' set (the counts, hence the radii, do not change), and
each gap is linear in them (:mod:`marlkit.offline.dominance`): with Δ the change of the means,

    min_Δ  cost(Δ)   s.t.   w_k · (R̂ + Δ) - |w_k| · r >= ι      for every gap row k,

Δ = 0 at unvisited (s, a). **Per-sample costs.** To move the mean of N samples by Δ the cheapest change of the
samples δ_1..δ_N (Σ δ = N Δ) is the equal shift δ = Δ for every L_p, p >= 1: Σ|δ| >= |Σ δ| = N|Δ| (L1),
Σ δ² >= (Σ δ)²/N = N Δ² (L2, Cauchy–Schwarz), max|δ| >= |mean δ| = |Δ| (L∞), with equality for the equal shift.
So the cost of the whole dataset's change is

    L1: Σ N(s, a) |Δ(s, a)|  (an LP)      L∞: max |Δ(s, a)|  (an LP)      L2: sqrt(Σ N(s, a) Δ(s, a)²),

the L2 one a least-distance problem min ||y|| s.t. G y >= h (y = sqrt(N) Δ), solved exactly by Lawson & Hanson's
LDP algorithm (Solving Least Squares Problems, 1974, ch. 23: one non-negative least-squares problem,
``scipy.optimize.nnls``). The LPs run on HiGHS (``scipy.optimize.linprog(method="highs")``). The poisoned dataset
shifts every sample of (s, a) by Δ(s, a).

**Certificate.** The result's certificate is recomputed from the poisoned *samples* (not from the LP's Δ): the
target's worst-case margin over the learners' box (:func:`marlkit.offline.dominance.worst_margins`, center gaps by
direct policy evaluation); the attack succeeded when it is >= ι (to solver tolerance).

**Infeasible targets** are results, not errors: a target whose gaps need an (s, a) the data never saw is
infeasible (ρ > 0: the learners' interval there is unbounded; ρ = 0: the estimate there is 0 and cannot be moved).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.offline.dataset import OfflineDataset
from marlkit.offline.dominance import (
    GapRows,
    Margins,
    check_target,
    gap_rows,
    profiles_text,
    resolve_concept,
    worst_margins,
)
from marlkit.offline.estimate import EstimatedGame, check_radius, estimate

NORMS = ("l1", "linf", "l2")
"""Cost norms of the reward change (per sample; module docstring)."""

FEASIBILITY_TOL = 1e-7
"""A certificate >= ι - this (scaled by max(1, ι)) counts as success (HiGHS's feasibility tolerance is 1e-7)."""


@dataclass(frozen=True, eq=False)
class PoisoningProgram:
    """The reduced program in matrix form: ``G Δ >= h`` over the variable entries, with per-entry sample counts.

    ``columns [p]`` are flat indices ``stream * (S*J) + s*J + j`` of the entries Δ may change; ``missing`` the
    (stream, s, j) of rows that need an entry the learners know nothing of (an infeasibility witness).
    """

    G: Any  # scipy.sparse.csr_matrix [m, p]
    h: np.ndarray
    columns: np.ndarray
    counts: np.ndarray
    rows: GapRows
    streams: int
    missing: tuple[tuple[int, int, int], ...]
    blocked: np.ndarray  # rows with no variable that the data already violates


def build_program(model: EstimatedGame, rows: GapRows, iota: float) -> PoisoningProgram:
    """The program of the module docstring for ``rows`` (:func:`marlkit.offline.dominance.gap_rows`)."""
    from scipy import sparse

    S, J = model.num_states, model.num_joint_actions
    SJ = S * J
    streams = 1 if rows.concept == "saddle" else model.n_players
    coef = rows.coef.tocoo()
    full = sparse.csr_matrix((coef.data, (coef.row, coef.col + rows.stream[coef.row] * SJ)),
                             shape=(rows.num_rows, streams * SJ))  # fmt: skip
    radius = model.radius.ravel()
    unbounded = ~np.isfinite(radius)
    absw = abs(rows.coef)
    penalty = absw @ np.where(unbounded, 0.0, radius)
    means = model.means[:streams].reshape(-1)
    h = iota - full @ means + penalty
    counts = np.tile(model.counts.ravel(), streams)
    used = np.asarray(abs(full).sum(axis=0)).ravel() > 0
    columns = np.flatnonzero(used & (counts > 0))
    G = full[:, columns].tocsr()
    hits = (absw @ unbounded.astype(np.float64)) > 0
    missing: list[tuple[int, int, int]] = []
    for k in np.flatnonzero(hits)[:1]:
        cols = rows.coef[k].indices
        for col in cols[unbounded[cols]]:
            missing.append((int(rows.stream[k]), int(col // J), int(col % J)))
    empty = np.asarray(abs(G).sum(axis=1)).ravel() == 0
    blocked = np.flatnonzero(empty & (h > FEASIBILITY_TOL * max(1.0, iota)))
    if not missing and blocked.size:
        k = int(blocked[0])
        cols = rows.coef[k].indices
        missing = [(int(rows.stream[k]), int(col // J), int(col % J)) for col in cols if model.counts.ravel()[col] == 0]
    return PoisoningProgram(G, h, columns, counts[columns].astype(np.float64), rows, streams, tuple(missing),
                            blocked if not hits.any() else np.flatnonzero(hits))  # fmt: skip


def solve_program(program: PoisoningProgram, norm: str) -> tuple[np.ndarray | None, str]:
    """Δ over ``program.columns`` minimising the norm (module docstring), or (None, why) when infeasible."""
    from scipy import sparse
    from scipy.optimize import linprog, nnls

    G, h, w = program.G, program.h, program.counts
    m, p = G.shape
    if p == 0 or m == 0:
        return np.zeros(p), "optimal"
    if norm == "l1":
        A = sparse.hstack([-G, G]).tocsc()
        res = linprog(np.concatenate([w, w]), A_ub=A, b_ub=-h, bounds=(0, None), method="highs")
        if res.status != 0:
            return None, res.message
        return res.x[:p] - res.x[p:], "optimal"
    if norm == "linf":
        eye = sparse.identity(p, format="csr")
        ones = sparse.csr_matrix(np.ones((p, 1)))
        A = sparse.vstack([sparse.hstack([-G, sparse.csr_matrix((m, 1))]),
                           sparse.hstack([eye, -ones]), sparse.hstack([-eye, -ones])]).tocsc()  # fmt: skip
        c = np.zeros(p + 1)
        c[-1] = 1.0
        b = np.concatenate([-h, np.zeros(2 * p)])
        res = linprog(c, A_ub=A, b_ub=b, bounds=[(None, None)] * p + [(0, None)], method="highs")
        if res.status != 0:
            return None, res.message
        return res.x[:p], "optimal"
    # L2: least distance min ||y|| s.t. (G / sqrt(w)) y >= h, by Lawson & Hanson's LDP (one NNLS).
    scale = 1.0 / np.sqrt(w)
    Gs = (G @ sparse.diags(scale)).toarray()
    E = np.vstack([Gs.T, h[None, :]])
    f = np.zeros(p + 1)
    f[-1] = 1.0
    u, _ = nnls(E, f, maxiter=50 * max(m, 10))
    r = E @ u - f
    if np.linalg.norm(r) <= 1e-12 or abs(r[-1]) <= 1e-14:
        return None, "the constraints are inconsistent (the least-distance problem has no feasible point)"
    y = -r[:p] / r[-1]
    return y * scale, "optimal"


@dataclass(frozen=True, eq=False)
class PoisoningResult:
    """The attack's outcome (module docstring).

    Attributes:
        feasible: whether the target can be installed (then ``dataset`` is the poisoned data).
        reason: why not (empty when feasible).
        norm, concept, iota, rho: the attack's settings (``concept`` resolved from ``auto``).
        target: ``[S, n]`` the target's actions (read at the states the data visits, ``visited [S]``).
        delta: ``[n, S, A_1..A_n]`` the change of every agent's mean reward (0 where unchanged).
        cost: the norm of the per-sample change of the rewards (the stream(s) counted: every agent's, or agent 0's
            in the zero-sum variant); ``objective``: the program's optimum (equal to ``cost`` up to the solver's
            tolerance).
        per_sample: mean and max over logged steps of the absolute change (summed over counted streams).
        changed: the changed (agent, state, joint action, count, Δ) entries, largest |Δ| first.
        certificate: the target's worst-case margin over the learners' box, recomputed from the poisoned samples
            (None when infeasible); ``clean``: the same on the clean data.
        dataset: the poisoned dataset (None when infeasible).
        solve: program size and time (``rows``, ``variables``, ``seconds``, ``method``).
    """

    feasible: bool
    reason: str
    norm: str
    concept: str
    iota: float
    rho: float
    target: np.ndarray
    delta: np.ndarray
    cost: float
    objective: float
    per_sample: dict[str, float]
    changed: tuple[dict[str, Any], ...]
    certificate: Margins | None
    clean: Margins
    dataset: OfflineDataset | None
    solve: dict[str, Any] = field(default_factory=dict)
    action_names: tuple[tuple[str, ...], ...] = ()
    visited: np.ndarray | None = None

    @property
    def succeeded(self) -> bool:
        """Feasible and certified: the worst-case margin on the poisoned data is >= ι (to solver tolerance)."""
        return bool(
            self.certificate is not None
            and self.certificate.margin >= self.iota - FEASIBILITY_TOL * max(1.0, self.iota)
        )

    def _joint(self, joint: list[int]) -> str:
        if not self.action_names:
            return f"({', '.join(map(str, joint))})"
        return f"({', '.join(self.action_names[i][a] for i, a in enumerate(joint))})"

    def lines(self, limit: int = 12) -> list[str]:
        visited = np.ones(len(self.target), dtype=bool) if self.visited is None else self.visited
        head = (f"reward poisoning ({self.concept}, ι = {self.iota:g}, ρ = {self.rho:g}, {self.norm}): target "
                f"{profiles_text(self.target, visited, self.action_names)}")  # fmt: skip
        clean = "unbounded below" if not np.isfinite(self.clean.margin) else f"{self.clean.margin:.6g}"
        out = [head, f"clean data: the target's worst-case margin is {clean}"]
        if not self.feasible:
            return [*out, f"infeasible: {self.reason}"]
        assert self.certificate is not None
        stream = " of agent 0's rewards; agent 1's move by the negative" if self.concept == "saddle" else ""
        out.append(f"cost {self.cost:.6g} ({self.norm} over {self.solve.get('samples', 0)} logged steps{stream}; "
                   f"change per logged step, summed over agents: mean {self.per_sample['mean']:.6g}, max "
                   f"{self.per_sample['max']:.6g})")  # fmt: skip
        for entry in self.changed[:limit]:
            where = "" if len(self.target) == 1 else f" in state {entry['state']}"
            out.append(f"  agent {entry['agent']}{where} at {self._joint(entry['joint'])}: reward changed by "
                       f"{entry['delta']:+.6g} on each of {entry['count']} samples")  # fmt: skip
        if len(self.changed) > limit:
            out.append(f"  ... {len(self.changed) - limit} more changed entries (--json lists all)")
        verdict = "succeeds" if self.succeeded else "FAILS"
        out.append(f"certificate: worst-case margin {self.certificate.margin:.6g} >= ι = {self.iota:g}: the attack "
                   f"{verdict}" if self.succeeded else f"certificate: worst-case margin {self.certificate.margin:.6g}"
                   f" < ι = {self.iota:g}: the attack {verdict}")  # fmt: skip
        return out

    def to_json(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        return {
            "feasible": self.feasible,
            "succeeded": self.succeeded,
            "reason": self.reason,
            "norm": self.norm,
            "concept": self.concept,
            "iota": self.iota,
            "rho": self.rho,
            "target": self.target.tolist(),
            "visited_states": None if self.visited is None else np.flatnonzero(self.visited).tolist(),
            "cost": num(self.cost),
            "objective": num(self.objective),
            "per_sample": {k: num(v) for k, v in self.per_sample.items()},
            "changed": list(self.changed),
            "certificate": None if self.certificate is None else self.certificate.to_json(),
            "clean_margin": self.clean.to_json(),
            "solve": self.solve,
        }


def certify(
    dataset: OfflineDataset, target: object, *, rho: float, concept: str = "auto", bound: float | None = None
) -> Margins:
    """The target's worst-case margin over the box of learners with radius ``rho`` on ``dataset``, from its samples
    (means re-estimated, center gaps by direct policy evaluation, minus |w| · radius): the attack's certificate, and
    how an attack fares against learners of another radius."""
    model = estimate(dataset, check_radius(rho, "radius ρ"), bound=bound)
    legal = dataset.legal_joint_actions()
    t = check_target(target, dataset.num_states, dataset.num_actions, legal, model.visited_states())
    rows = gap_rows(model, t, resolve_concept(concept, model), legal)
    return worst_margins(model, rows, dataset.num_actions)


def check_norm(norm: str) -> str:
    if norm not in NORMS:
        raise InvalidGameError(f"norm: expected one of {list(NORMS)}, got {norm!r}")
    return norm


def norm_of(change: np.ndarray, norm: str) -> float:
    """The L1 / L∞ / L2 norm of the per-sample change ``[K, streams]``."""
    if change.size == 0:
        return 0.0
    if norm == "l1":
        return float(np.abs(change).sum())
    if norm == "linf":
        return float(np.abs(change).max())
    return float(np.sqrt((change**2).sum()))


def poison(
    dataset: OfflineDataset,
    target: object,
    *,
    iota: float = 1.0,
    rho: float = 0.0,
    norm: str = "l1",
    concept: str = "auto",
    bound: float | None = None,
    budget: float | None = None,
) -> PoisoningResult:
    """The minimal-cost reward poisoning of ``dataset`` that installs ``target`` (module docstring).

    Args:
        dataset: the clean dataset.
        target: the target's actions, ``[n]`` (every state) or ``[S, n]``.
        iota: the margin ι >= 0.
        rho: the learners' confidence radius ρ >= 0 (their box is ρ / sqrt(N(s, a))).
        norm: ``l1`` (default), ``linf`` or ``l2``.
        concept: ``auto`` (``saddle`` for two-player zero-sum data, else ``dominant``), ``dominant`` or ``saddle``.
        bound: a reward bound b making unvisited intervals [-b, b] instead of unbounded.
        budget: the attacker's budget (in the cost's norm); a minimal cost above it makes the result infeasible.

    Raises:
        InvalidGameError: a target that does not fit the game, ι, ρ or the budget < 0, an unknown norm or concept.
    """
    iota = check_radius(iota, "margin ι")
    rho = check_radius(rho, "radius ρ")
    norm = check_norm(norm)
    if budget is not None:
        budget = check_radius(budget, "budget")
    model = estimate(dataset, rho, bound=bound)
    legal = dataset.legal_joint_actions()
    t = check_target(target, dataset.num_states, dataset.num_actions, legal, model.visited_states())
    concept = resolve_concept(concept, model)
    rows = gap_rows(model, t, concept, legal)
    clean = worst_margins(model, rows, dataset.num_actions)
    started = time.perf_counter()
    program = build_program(model, rows, iota)
    names = tuple(tuple(a) for a in dataset.game.get("action_names", ()))
    shape = (dataset.n_players, dataset.num_states, *dataset.num_actions)
    solve_info: dict[str, Any] = {"rows": rows.num_rows, "variables": int(program.columns.size), "method":
                                  "highs" if norm != "l2" else "lawson-hanson ldp (nnls)",
                                  "samples": dataset.num_steps}  # fmt: skip

    def failed(reason: str) -> PoisoningResult:
        solve_info["seconds"] = time.perf_counter() - started
        return PoisoningResult(False, reason, norm, concept, iota, rho, t, np.zeros(shape), float("nan"),
                               float("nan"), {"mean": float("nan"), "max": float("nan")}, (), None, clean, None,
                               solve_info, names, model.visited_states())  # fmt: skip

    if program.missing:

        def joint(j: int) -> str:
            actions = [int(a) for a in np.unravel_index(j, dataset.num_actions)]
            return "(" + ", ".join(names[i][a] if names else str(a) for i, a in enumerate(actions)) + ")"

        described = ", ".join(f"state {s} joint action {joint(j)}" for _, s, j in program.missing[:3])
        why = (
            "the learners' interval there is unbounded (no data); give a reward bound or record more data"
            if rho > 0
            else "the learners read R̂ = 0 there and the attacker cannot change it"
        )
        return failed(f"the target needs (s, a) the data never visited: {described}; {why}")
    if np.all(program.h <= 0):
        x: np.ndarray | None = np.zeros(program.columns.size)
    else:
        x, message = solve_program(program, norm)
        if x is None:
            return failed(f"the program is infeasible ({message})")
    assert x is not None
    solve_info["seconds"] = time.perf_counter() - started
    S, J = dataset.num_states, dataset.num_joint_actions
    flat = np.zeros(program.streams * S * J)
    flat[program.columns] = x
    stream_delta = flat.reshape(program.streams, S, J)
    delta = np.zeros((dataset.n_players, S, J))
    delta[: program.streams] = stream_delta
    if concept == "saddle":
        delta[1] = -stream_delta[0]
    cell = dataset.state * J + dataset.joint_index()
    change = delta.reshape(dataset.n_players, -1)[:, cell].T  # [K, n]
    earlier = dataset.provenance.get("poisoned")  # a poisoned file poisoned again: the attacks chain
    chain = [] if earlier is None else list(earlier) if isinstance(earlier, list | tuple) else [earlier]
    attack = {
        "attack": "reward-poisoning",
        "concept": concept,
        "iota": iota,
        "rho": rho,
        "norm": norm,
        "target": t.tolist(),
        "game_digest": dataset.game["digest"],
        "input_rewards_sha256": hashlib.sha256(np.ascontiguousarray(dataset.rewards).tobytes()).hexdigest(),
    }
    poisoned = dataset.with_rewards(
        dataset.rewards + change, {**dict(dataset.provenance), "poisoned": [*chain, attack]}
    )
    counted = (poisoned.rewards - dataset.rewards)[:, : program.streams]
    cost = norm_of(counted, norm)
    w = program.counts
    objective = {"l1": float(np.sum(w * np.abs(x))), "linf": float(np.abs(x).max(initial=0.0)),
                 "l2": float(np.sqrt(np.sum(w * x**2)))}[norm]  # fmt: skip
    if budget is not None and objective > budget * (1 + 1e-9) + 1e-9:
        return failed(f"the minimal {norm} cost {objective:.6g} exceeds the budget {budget:g}")
    per_step = np.abs(counted).sum(axis=1)
    certificate = certify(poisoned, t, rho=rho, concept=concept, bound=bound)
    changed = []
    counts = model.counts
    for k in np.argsort(-np.abs(x), kind="stable"):
        if abs(x[k]) <= 1e-12:
            break
        col = int(program.columns[k])
        stream, rest = divmod(col, S * J)
        s, j = divmod(rest, J)
        entry = [int(a) for a in np.unravel_index(j, dataset.num_actions)]
        changed.append({"agent": stream, "state": s, "joint": entry, "count": int(counts[s, j]), "delta": float(x[k])})
    return PoisoningResult(
        True, "", norm, concept, iota, rho, t, delta.reshape(shape), cost, objective,
        {"mean": float(per_step.mean()) if per_step.size else 0.0, "max": float(per_step.max(initial=0.0))},
        tuple(changed), certificate, clean, poisoned, solve_info, names, model.visited_states(),
    )  # fmt: skip


__all__ = ["FEASIBILITY_TOL", "NORMS", "PoisoningProgram", "PoisoningResult", "build_program", "certify", "check_norm",
           "norm_of", "poison", "solve_program"]  # fmt: skip
