"""Hand-over of control between a human model and an AI, evaluated exactly on tabular tasks (issue 21, item 5).

A **shared-control policy** on a one-agent game: in each state either the human's action or the AI's is executed,
as a *rule* decides. Every rule below gives, per state s, the executed action distribution ``π(·|s)`` and the
probability ``t(s)`` that the AI chooses the action (the *takeover* probability):

* ``value-margin`` (the blocker of Saunders et al. 2018, "Trial without error: towards safe reinforcement learning
  via human intervention", AAMAS; arXiv:1707.05173, 2017; here the AI blocks the human): the human proposes
  ``a ~ π_H(·|s)``; if ``Q(s, a) < V(s) - m`` the AI takes over with its greedy action (uniform over the
  maximisers of Q(s, ·)), so
  ``π(a|s) = π_H(a|s) 1[Q(s,a) >= V(s) - m] + g(a|s) Σ_b π_H(b|s) 1[Q(s,b) < V(s) - m]`` and ``t(s)`` is that sum.
* ``novelty`` (hand-over in unforeseen circumstances): the AI drives (greedily on its Q) in states it saw at least
  ``k`` times in training and hands control to the human elsewhere: ``t(s) = 1[N(s) >= k]``.
* ``defer`` (deferral when unsure): the AI drives unless its action-value gap ``Q_(1)(s) - Q_(2)(s)`` (best minus
  second-best legal action; +inf with one legal action) is below ``δ``, where it defers to the human:
  ``t(s) = 1[gap(s) >= δ]``.

**Exact metrics** (the Markov chain ``P_π(s'|s) = Σ_a π(a|s) T(s'|s, a)`` of the shared policy):

* ``return``: the discounted expected return ``μ_0 · V^π``, ``V^π = (I - γ P_π)^{-1} r_π`` (Puterman 1994, Thm.
  6.1.1; :meth:`marlkit.games.StochasticGame.evaluate`) — the objective the AI's Q-values are computed for;
* ``catastrophes``, ``steps``, ``takeovers``, ``total_reward``: *undiscounted* expected totals until a terminal state,
  ``ν = μ_0,T (I - P_TT)^{-1}`` (expected visits of the absorbing chain's transient states; Kemeny & Snell 1960,
  Thm. 3.2.4), then ``ν · c_π``, ``ν · 1``, ``ν · t`` and ``ν · r_π`` with ``c_π(s) = Σ_a π(a|s) C(s, a)``, the
  catastrophe indicator carried as the game's cost (``costs[0, 0]``);
* ``takeover_rate = takeovers / steps``: the expected fraction of steps at which the AI's action is executed
  (a ratio of expected totals).

The chain must reach a terminal state with probability 1 from every state it can reach (else the totals are
infinite): :class:`NotApplicableError` says so.

**The task**, :func:`cliff_walking`: Sutton & Barto 2018, *Reinforcement Learning: An Introduction* (2nd ed.),
Example 6.6 — a 4 x 12 grid, start bottom-left, goal bottom-right (terminal), the cliff the cells between them;
reward -1 per move, -100 for stepping into the cliff, which sends the agent back to the start (one catastrophe).
Moves into the outer wall leave the agent in place. The book's task is undiscounted; here γ = 0.99 by default
(a StochasticGame is discounted), and the totals above are the undiscounted ones.

With the value-margin rule and the exact optimal Q* of the task, every cliff step from the start has the largest
gap: ``V*(start) - Q*(start, right) = 99 + γ^13`` (V*(start) = -(1 - γ^13)/(1 - γ), Q* = -100 + γ V*(start)), and
the cliff steps from the row above have larger gaps (``100 - (1 - γ^d)/(1 - γ) + γ(1 - γ^13)/(1 - γ)`` with
``d = 12 - c <= 11``). So for every margin ``m < 99 + γ^13`` the shared policy never steps into the cliff:
catastrophes are exactly 0 (for a human with full support they are > 0 at every larger margin).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games.stochastic import StochasticGame
from marlkit.human.boltzmann import boltzmann_policy, check_beta
from marlkit.human.models import check_nonnegative
from marlkit.solve.best_response import PolicyBestResponse, best_response

RULES = ("value-margin", "novelty", "defer")
"""The hand-over rules (module docstring)."""

MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))
"""Cliff-walking's actions up, right, down, left as (row, column) steps."""


# ----------------------------------------------------------------------------------------------- the task
def cliff_walking(*, rows: int = 4, cols: int = 12, gamma: float = 0.99) -> StochasticGame:
    """Sutton & Barto's cliff walking (Example 6.6) as a one-agent game (module docstring).

    States are the cells ``r * cols + c``; the cliff cells are unreachable terminal states (a step into one goes
    back to the start), the goal is terminal. ``costs[0, 0, s, a]`` is 1 for a step into the cliff (the
    catastrophe), ``limits`` 0. ``metadata["start"]`` is the start cell, ``metadata["cliff"]`` the cliff cells.
    """
    if not (isinstance(rows, int) and isinstance(cols, int) and rows >= 2 and cols >= 3):
        raise InvalidGameError(f"cliff_walking: need integer rows >= 2 and cols >= 3, got rows={rows!r}, cols={cols!r}")
    S, A = rows * cols, 4
    start, goal = (rows - 1) * cols, rows * cols - 1
    cliff = [(rows - 1) * cols + c for c in range(1, cols - 1)]
    T = np.zeros((S, A, S))
    R = np.zeros((S, A))
    C = np.zeros((S, A))
    for s in range(S):
        r, c = divmod(s, cols)
        for a, (dr, dc) in enumerate(MOVES):
            nr, nc = min(max(r + dr, 0), rows - 1), min(max(c + dc, 0), cols - 1)
            nxt = nr * cols + nc
            if nxt in cliff:
                T[s, a, start], R[s, a], C[s, a] = 1.0, -100.0, 1.0
            else:
                T[s, a, nxt], R[s, a] = 1.0, -1.0
    terminal = np.zeros(S, bool)
    terminal[[*cliff, goal]] = True
    initial = np.zeros(S)
    initial[start] = 1.0
    return StochasticGame(
        transitions=T,
        rewards=R[None],
        initial=initial,
        gamma=gamma,
        terminal=terminal,
        costs=C[None, None],
        limits=np.zeros((1, 1)),
        name="cliff-walking",
        player_names=("agent",),
        action_names=(("up", "right", "down", "left"),),
        state_names=tuple(f"r{s // cols}c{s % cols}" for s in range(S)),
        description="Cliff walking: -1 per move, -100 and back to the start for a step into the cliff.",
        citation="Sutton & Barto 2018, Reinforcement Learning: An Introduction (2nd ed.), Example 6.6",
        metadata={"start": start, "goal": goal, "cliff": cliff, "rows": rows, "cols": cols},
    )


def cliff_safe_margin(gamma: float = 0.99, rows: int = 4, cols: int = 12) -> float:
    """``99 + γ^d`` with ``d = cols + 1`` the start's distance to the goal: the smallest Q*-gap of a cliff step
    (module docstring); the value-margin blocker avoids every catastrophe exactly for margins below it."""
    return 99.0 + gamma ** (cols + 1)


# ------------------------------------------------------------------------------------------ applicability
def catastrophe_costs(game: StochasticGame) -> np.ndarray:
    """``C[S, A]``: the catastrophe indicator of a hand-over task (its first cost of agent 0)."""
    costs = require_handover_task(game).costs
    assert costs is not None
    return np.asarray(costs[0, 0])


def require_handover_task(game: object) -> StochasticGame:
    """``game`` if it is a one-agent stochastic game whose first cost marks catastrophes, else NotApplicableError."""
    if not isinstance(game, StochasticGame) or game.n_players != 1 or game.costs is None:
        label = getattr(game, "name", "") or type(game).__name__
        raise NotApplicableError(
            f"hand-over applies to one-agent stochastic games whose cost marks catastrophes (e.g. cliff-walking); "
            f"{label!r} is not one"
        )
    return game


def optimal_q(game: StochasticGame) -> np.ndarray:
    """``Q*[S, A]`` of a one-agent game (exact, by policy iteration): ``-inf`` at illegal actions, 0 at terminals."""
    solved = best_response(game, game.uniform_policy(), 0)
    assert isinstance(solved, PolicyBestResponse)
    V = solved.state_values
    A = game.num_actions[0]
    live = (~game.terminal).astype(np.float64)
    q = (game.rewards[0] + game.gamma * game.transitions @ V) * live[:, None]
    return np.where(game.action_mask[0, :, :A], q, -np.inf)


def _greedy(q: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return boltzmann_policy(np.where(mask, q, 0.0), math.inf, mask)


# ------------------------------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class SharedControl:
    """A shared-control mechanism: the human proposes ``a ~ human[s]``; with probability ``override[s, a]`` the AI
    replaces it by a draw from ``ai[s]`` (all ``[S, A]``)."""

    human: np.ndarray
    ai: np.ndarray
    override: np.ndarray

    @property
    def takeover(self) -> np.ndarray:
        """``t(s) = Σ_a π_H(a|s) override(s, a)``: the probability that the AI chooses the action in state s."""
        return np.asarray((self.human * self.override).sum(axis=1))

    @property
    def policy(self) -> np.ndarray:
        """The executed action distribution ``π(a|s) = π_H(a|s)(1 - override(s, a)) + t(s) π_AI(a|s)``."""
        return np.asarray(self.human * (1.0 - self.override) + self.takeover[:, None] * self.ai)


def human_alone(human: np.ndarray) -> SharedControl:
    """No hand-over: the human always acts."""
    return SharedControl(human, human, np.zeros_like(human))


def value_margin_control(q: np.ndarray, human: np.ndarray, margin: float, mask: np.ndarray) -> SharedControl:
    """The value-margin blocker (module docstring): block ``a`` where ``Q(s, a) < V(s) - margin``."""
    margin = check_nonnegative(margin, "margin")
    legal_q = np.where(mask, q, -np.inf)
    best = legal_q.max(axis=1, keepdims=True)
    blocked = mask & (legal_q < best - margin)
    return SharedControl(human, _greedy(q, mask), blocked.astype(np.float64))


def action_gaps(q: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``[S]``: best minus second-best legal action value (+inf where only one action is legal)."""
    legal_q = np.sort(np.where(mask, q, -np.inf), axis=1)
    with np.errstate(invalid="ignore"):
        gaps = legal_q[:, -1] - legal_q[:, -2]
    return np.where(mask.sum(axis=1) >= 2, gaps, np.inf)


def defer_control(q: np.ndarray, human: np.ndarray, threshold: float, mask: np.ndarray) -> SharedControl:
    """The AI acts greedily unless its action-value gap is below ``threshold``; then the human acts."""
    threshold = check_nonnegative(threshold, "threshold")
    sure = (action_gaps(q, mask) >= threshold).astype(np.float64)
    return SharedControl(human, _greedy(q, mask), np.broadcast_to(sure[:, None], human.shape).copy())


def novelty_control(
    q: np.ndarray, human: np.ndarray, counts: np.ndarray, min_count: float, mask: np.ndarray
) -> SharedControl:
    """The AI acts greedily where it saw the state at least ``min_count`` times in training, the human elsewhere."""
    min_count = check_nonnegative(min_count, "min_count")
    counts = np.asarray(counts, dtype=np.float64)
    if counts.shape != (q.shape[0],) or np.any(counts < 0):
        raise InvalidGameError(f"counts: expected [S={q.shape[0]}] visit counts >= 0, got shape {counts.shape}")
    seen = (counts >= min_count).astype(np.float64)
    return SharedControl(human, _greedy(q, mask), np.broadcast_to(seen[:, None], human.shape).copy())


def margin_breakpoints(q: np.ndarray, mask: np.ndarray, live: np.ndarray) -> np.ndarray:
    """Every distinct gap ``V(s) - Q(s, a)`` over legal actions of live states, sorted: the value-margin policy is
    the same for all margins in ``[g_k, g_{k+1})``, so evaluating at 0 and at these points covers every m >= 0.

    Gaps within a relative 1e-9 of each other are one gap computed two ways (e.g. γ^13 from two states); each
    cluster is represented by its largest member, so no breakpoint blocks one copy of a gap but not the other.
    """
    legal_q = np.where(mask, q, -np.inf)
    gaps = np.unique((legal_q.max(axis=1, keepdims=True) - legal_q)[mask & live[:, None]])
    if gaps.size == 0:
        return gaps
    new_cluster = np.diff(gaps) > 1e-9 * np.maximum(1.0, np.abs(gaps[1:]))
    last_of_cluster = np.append(new_cluster, True)
    return np.asarray(gaps[last_of_cluster])


def every_threshold(rule: str, q: np.ndarray, counts: np.ndarray, mask: np.ndarray, live: np.ndarray) -> np.ndarray:
    """Thresholds that give every distinct shared policy of ``rule`` once (sorted), so a curve over them is exact
    for all thresholds >= 0: the value-margin policy is constant on ``[g_k, g_{k+1})`` between distinct gaps (0 and
    :func:`margin_breakpoints`); the defer policy (AI acts iff gap >= δ) on ``(g_{k-1}, g_k]`` between distinct
    finite action gaps, and the novelty policy (AI acts iff N(s) >= k) on ``(c_{k-1}, c_k]`` between distinct counts
    (each list with 0 and one point above the largest value, where the human acts wherever the rule can say so)."""
    if rule == "value-margin":
        values = margin_breakpoints(q, mask, live)
    elif rule == "defer":
        gaps = action_gaps(q, mask)[live]
        values = np.unique(gaps[np.isfinite(gaps)])
    else:
        values = np.unique(np.asarray(counts, dtype=np.float64)[live])
    top = values.max() + 1.0 if values.size else 1.0
    extra = [top] if rule != "value-margin" else []
    return np.unique(np.concatenate([[0.0], values, extra]))


# ----------------------------------------------------------------------------------------------- metrics
@dataclass(frozen=True)
class HandoverMetrics:
    """Exact metrics of a shared-control policy from one initial distribution (module docstring)."""

    discounted_return: float
    total_reward: float
    catastrophes: float
    steps: float
    takeovers: float

    @property
    def takeover_rate(self) -> float:
        """``takeovers / steps`` in [0, 1] (takeovers <= steps exactly; the clip removes rounding only)."""
        return min(1.0, max(0.0, self.takeovers / self.steps)) if self.steps > 0 else 0.0

    def to_json(self) -> dict:
        return {
            "return": self.discounted_return,
            "total_reward": self.total_reward,
            "catastrophes": self.catastrophes,
            "steps": self.steps,
            "takeovers": self.takeovers,
            "takeover_rate": self.takeover_rate,
        }


def evaluate_control(
    game: StochasticGame, control: SharedControl, initial: np.ndarray | None = None
) -> HandoverMetrics:
    """Exact metrics of ``control`` on ``game`` from ``initial [S]`` (default the game's μ_0): module docstring."""
    game = require_handover_task(game)
    mu = game.initial if initial is None else np.asarray(initial, dtype=np.float64)
    policy = game.check_policy(control.policy[None])
    S = game.num_states
    live = ~game.terminal
    P = np.einsum("sa,sat->st", policy[0], game.transitions) * live[:, None]
    reachable = _reachable(P, mu > 0)
    escapes = _reachable(P.T, game.terminal)
    if np.any(reachable & live & ~escapes):
        s = int(np.flatnonzero(reachable & live & ~escapes)[0])
        raise NotApplicableError(
            f"hand-over: from state {game.state_names[s]!r} the shared policy never reaches a terminal state, so the "
            "expected totals are infinite; use a human model with full support (beta < inf) or another rule"
        )
    idx = np.flatnonzero(live & reachable)
    visits = np.zeros(S)
    visits[idx] = np.linalg.solve((np.eye(idx.size) - P[np.ix_(idx, idx)]).T, mu[idx])
    r = (policy[0] * game.rewards[0]).sum(axis=1)
    c = (policy[0] * catastrophe_costs(game)).sum(axis=1)
    V = game.evaluate(policy)[0]
    return HandoverMetrics(
        discounted_return=float(mu @ V),
        total_reward=float(visits @ r),
        catastrophes=float(visits @ c),
        steps=float(visits[live].sum()),
        takeovers=float(visits @ (control.takeover * live)),
    )


def _reachable(P: np.ndarray, start: np.ndarray) -> np.ndarray:
    seen = start.copy()
    frontier = start.copy()
    while frontier.any():
        nxt = (P[frontier] > 0).any(axis=0) & ~seen
        seen |= nxt
        frontier = nxt
    return seen


# -------------------------------------------------------------------------------------------- simulation
@dataclass(frozen=True)
class SimulatedMetrics:
    """Monte Carlo means and standard errors of the per-episode totals (``return`` discounted)."""

    episodes: int
    means: dict[str, float]
    standard_errors: dict[str, float]


def simulate_control(
    game: StochasticGame,
    control: SharedControl,
    *,
    episodes: int,
    seed: int = 0,
    initial: np.ndarray | None = None,
    max_steps: int = 100_000,
) -> SimulatedMetrics:
    """Simulate ``episodes`` episodes of ``control``'s mechanism (the human proposes, the AI overrides with
    probability ``override``; vectorised over episodes, NumPy's PCG64 with ``seed``): an independent check of
    :func:`evaluate_control`, which works on the marginal policy and takeover probability instead.

    Raises :class:`NotApplicableError` if an episode runs past ``max_steps`` (the exact totals are then suspect).
    """
    game = require_handover_task(game)
    rng = np.random.default_rng(seed)
    mu = game.initial if initial is None else np.asarray(initial, dtype=np.float64)
    S = game.num_states
    state = rng.choice(S, size=episodes, p=mu / mu.sum())
    costs = catastrophe_costs(game)
    human_cdf = np.cumsum(control.human, axis=1)
    ai_cdf = np.cumsum(control.ai, axis=1)
    trans_cdf = np.cumsum(game.transitions, axis=2)
    totals = {k: np.zeros(episodes) for k in ("return", "total_reward", "catastrophes", "steps", "takeovers")}
    discount = np.ones(episodes)
    alive = ~game.terminal[state]
    for _ in range(max_steps):
        if not alive.any():
            break
        k = np.flatnonzero(alive)
        s = state[k]
        proposed = _draw(human_cdf[s], rng)
        took = rng.random(k.size) < control.override[s, proposed]
        a = np.where(took, _draw(ai_cdf[s], rng), proposed)
        reward = game.rewards[0, s, a]
        totals["return"][k] += discount[k] * reward
        totals["total_reward"][k] += reward
        totals["catastrophes"][k] += costs[s, a]
        totals["steps"][k] += 1
        totals["takeovers"][k] += took
        discount[k] *= game.gamma
        state[k] = _draw(trans_cdf[s, a], rng)
        alive[k] = ~game.terminal[state[k]]
    else:
        raise NotApplicableError(f"simulate_control: an episode ran past max_steps={max_steps}")
    n = float(episodes)
    return SimulatedMetrics(
        episodes,
        {k: float(v.mean()) for k, v in totals.items()},
        {k: float(v.std(ddof=1) / math.sqrt(n)) for k, v in totals.items()},
    )


def _draw(cdf: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    u = rng.random(cdf.shape[0]) * cdf[:, -1]
    return np.minimum((cdf <= u[:, None]).sum(axis=1), cdf.shape[1] - 1)


# ------------------------------------------------------------------------------------------ the trade-off
def visit_counts(game: StochasticGame, policy: np.ndarray, *, episodes: int, seed: int = 0) -> np.ndarray:
    """``N [S]``: state visit counts of ``episodes`` simulated episodes of ``policy [S, A]`` from μ_0 (a
    "training run" whose coverage the novelty rule reads)."""
    game = require_handover_task(game)
    rng = np.random.default_rng(seed)
    counts = np.zeros(game.num_states)
    policy_cdf = np.cumsum(policy, axis=1)
    trans_cdf = np.cumsum(game.transitions, axis=2)
    state = rng.choice(game.num_states, size=episodes, p=game.initial)
    alive = ~game.terminal[state]
    while alive.any():
        k = np.flatnonzero(alive)
        np.add.at(counts, state[k], 1.0)
        a = _draw(policy_cdf[state[k]], rng)
        state[k] = _draw(trans_cdf[state[k], a], rng)
        alive[k] = ~game.terminal[state[k]]
    return counts


@dataclass(frozen=True)
class HandoverPoint:
    """One threshold of the trade-off curve: metrics from the training start and from the unforeseen start."""

    threshold: float
    trained: HandoverMetrics
    unforeseen: HandoverMetrics


@dataclass(frozen=True)
class HandoverCurve:
    """The trade-off over a rule's threshold, with the human alone as the reference; ``ai_values`` says whether the
    AI read the exact Q* or what it learned in training (Q* on visited states, 0 elsewhere)."""

    game: str
    rule: str
    beta: float
    ai_values: str
    unforeseen_state: str
    points: tuple[HandoverPoint, ...]
    human_alone: HandoverPoint
    unseen_states: int

    def to_json(self) -> dict:
        def point(p: HandoverPoint) -> dict:
            threshold = p.threshold if math.isfinite(p.threshold) else None
            return {"threshold": threshold, "trained": p.trained.to_json(), "unforeseen": p.unforeseen.to_json()}

        return {
            "game": self.game,
            "rule": self.rule,
            "beta": self.beta if math.isfinite(self.beta) else None,
            "ai_values": self.ai_values,
            "unforeseen_state": self.unforeseen_state,
            "unseen_states": self.unseen_states,
            "human_alone": point(self.human_alone),
            "points": [point(p) for p in self.points],
        }

    def lines(self) -> list[str]:
        name = {"value-margin": "margin", "novelty": "min count", "defer": "gap below"}[self.rule]
        out = [
            f"{self.game}: {self.rule} rule, {self.ai_values} AI values, Boltzmann human beta = {self.beta:g}",
            "  exact: return discounted; catastrophes per episode; takeover rate = AI-chosen steps / steps",
            f"  unforeseen start: {self.unforeseen_state} ({self.unseen_states} states never visited in training)",
            f"  {name:>10}  {'return':>9}  {'catastr.':>8}  {'takeover':>8}  |  unforeseen: {'return':>9}  "
            f"{'catastr.':>8}  {'takeover':>8}",
        ]
        rows = [("human", self.human_alone), *((f"{p.threshold:g}", p) for p in self.points)]
        for label, p in rows:
            t, u = p.trained, p.unforeseen
            out.append(
                f"  {label:>10}  {t.discounted_return:9.3f}  {t.catastrophes:8.4f}  {t.takeover_rate:8.4f}  |  "
                f"{'':>11}{u.discounted_return:9.3f}  {u.catastrophes:8.4f}  {u.takeover_rate:8.4f}"
            )
        return out


def handover_curve(
    game: StochasticGame,
    *,
    rule: str = "value-margin",
    beta: float = 0.05,
    thresholds: Sequence[float] | str = (0.0, 1.0, 2.0, 10.0, 50.0, 99.0, 100.0, 150.0),
    unforeseen_state: int | None = None,
    training_episodes: int = 20,
    train_beta: float = 2.0,
    ai_values: str = "auto",
    seed: int = 0,
) -> HandoverCurve:
    """The exact trade-off curve of ``rule`` over ``thresholds`` on a hand-over task (``"all"``: every distinct
    shared policy, :func:`every_threshold`).

    The human is Boltzmann-rational (β) over the task's exact Q*. The AI's Q-values (``ai_values``): ``"exact"``,
    the exact Q* (a planner that knows the task, as the blocker's rule reads it; the default for ``value-margin``),
    or ``"trained"`` (the default for ``novelty`` and ``defer``), what a tabular learner knows after training on
    ``training_episodes`` episodes (``seed``) of a Boltzmann policy at ``train_beta`` over Q* (its own near-greedy
    exploration): Q* in the states it visited, 0 (its initial value) in the others — so it acts uniformly at random
    and sees no gap (never blocks, always defers) where it never was.
    ``unforeseen_state`` (default: the first live state with the fewest training visits — on cliff-walking the
    top-left cell, never visited) starts the second evaluation.
    """
    game = require_handover_task(game)
    if rule not in RULES:
        raise InvalidGameError(f"rule {rule!r}: expected one of {', '.join(RULES)}")
    beta = check_beta(beta)
    mask = game.action_mask[0, :, : game.num_actions[0]]
    q_star = optimal_q(game)
    human = boltzmann_policy(np.where(mask, q_star, 0.0), beta, mask)
    train_beta = check_beta(train_beta, "train_beta")
    if not (isinstance(training_episodes, int) and training_episodes >= 1):
        raise InvalidGameError(f"training_episodes must be an integer >= 1, got {training_episodes!r}")
    explorer = boltzmann_policy(np.where(mask, q_star, 0.0), train_beta, mask)
    counts = visit_counts(game, explorer, episodes=training_episodes, seed=seed)
    live = ~game.terminal
    if ai_values == "auto":
        ai_values = "exact" if rule == "value-margin" else "trained"
    if ai_values not in ("exact", "trained"):
        raise InvalidGameError(f"ai_values {ai_values!r}: expected exact, trained or auto")
    q_ai = (
        q_star if ai_values == "exact" else np.where((counts > 0)[:, None] & mask, q_star, np.where(mask, 0.0, -np.inf))
    )
    if unforeseen_state is None:
        unforeseen_state = int(np.argmin(np.where(live, counts, np.inf)))
    if not (isinstance(unforeseen_state, int | np.integer) and 0 <= unforeseen_state < game.num_states) or bool(
        game.terminal[int(unforeseen_state)]
    ):
        raise InvalidGameError(
            f"unforeseen_state (--unforeseen): expected the index of a non-terminal state, got {unforeseen_state!r}"
        )
    start = np.zeros(game.num_states)
    start[int(unforeseen_state)] = 1.0

    def at(control: SharedControl, threshold: float) -> HandoverPoint:
        return HandoverPoint(threshold, evaluate_control(game, control), evaluate_control(game, control, start))

    points = []
    if isinstance(thresholds, str):
        if thresholds != "all":
            raise InvalidGameError(f"thresholds {thresholds!r}: expected numbers >= 0 or 'all'")
        values: list[float] = every_threshold(rule, q_ai, counts, mask, live).tolist()
    else:
        values = list(thresholds)
    for x in values:
        if rule == "value-margin":
            control = value_margin_control(q_ai, human, x, mask)
        elif rule == "defer":
            control = defer_control(q_ai, human, x, mask)
        else:
            control = novelty_control(q_ai, human, counts, x, mask)
        points.append(at(control, float(x)))
    alone = at(human_alone(human), math.nan)
    return HandoverCurve(
        game=game.name or "game",
        rule=rule,
        beta=beta,
        ai_values=ai_values,
        unforeseen_state=game.state_names[int(unforeseen_state)],
        points=tuple(points),
        human_alone=alone,
        unseen_states=int(np.sum(live & (counts == 0))),
    )


__all__ = [
    "MOVES",
    "RULES",
    "HandoverCurve",
    "HandoverMetrics",
    "HandoverPoint",
    "SharedControl",
    "SimulatedMetrics",
    "action_gaps",
    "catastrophe_costs",
    "cliff_safe_margin",
    "cliff_walking",
    "defer_control",
    "evaluate_control",
    "every_threshold",
    "handover_curve",
    "human_alone",
    "margin_breakpoints",
    "novelty_control",
    "optimal_q",
    "require_handover_task",
    "simulate_control",
    "value_margin_control",
    "visit_counts",
]
