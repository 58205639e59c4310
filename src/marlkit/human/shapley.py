"""Per-agent Shapley credit of a team's return (Shapley 1953), exact for small teams, Monte Carlo beyond.

A **characteristic function** ``v`` gives every coalition ``C ⊆ N = {0..n-1}`` a worth. For a trained team,
``v(C)`` is the team return (the mean over agents of the per-agent returns, marlkit's convention) when the agents in
``C`` act with their trained policy and the others with a **baseline** policy:

* ``"uniform"``: uniformly random over the legal actions;
* ``"noop"``: action 0 (MPE's no-op; on other envs and games simply the first action) where it is legal, uniform
  over the legal actions where it is not;
* a given default policy (tabular games: an ``[n, S, A_max]`` array).

The credit **depends on the baseline**: it answers "how much of the gap between the baseline team and the trained
team does each agent's training account for", and a different baseline asks a different question.

The Shapley value of agent ``i`` (Shapley 1953, "A value for n-person games", Contributions to the Theory of Games
II, Eq. 1 in the coalition form) is

    φ_i = Σ_{C ⊆ N \\ {i}} |C|! (n - |C| - 1)! / n! · (v(C ∪ {i}) - v(C)),

the average over all n! orders of the agents of ``i``'s marginal contribution to those before it. It is the one
credit rule with efficiency (``Σ_i φ_i = v(N) - v(∅)``), symmetry (interchangeable agents get equal credit), the
null player / dummy property (an agent that adds nothing to any coalition gets 0) and additivity (``φ(v + w) =
φ(v) + φ(w)``).

* :func:`shapley_exact`: the formula over all ``2^n`` coalitions (``n <= EXACT_MAX`` by default).
* :func:`shapley_monte_carlo`: ``K`` uniformly random orders; ``φ_i`` is the mean of ``i``'s marginal contributions
  and its standard error the sample standard deviation over ``√K`` (Castro, Gómez & Tejada 2009, "Polynomial
  calculation of the Shapley value based on sampling", Computers & OR 36). Efficiency holds exactly for every
  sample (each order's contributions telescope to ``v(N) - v(∅)``).

``v`` is evaluated in batches (``values(masks [K] int) -> [K]``; bit ``i`` of a mask = agent ``i`` in ``C``), so a
deep team evaluates every coalition it needs in one compiled call:

* exact games with tabular policies: :func:`game_coalition_values`, ``v(C)`` exactly by policy evaluation
  (:meth:`~marlkit.games.StochasticGame.expected_return` of the mixed policy);
* tasks with a deep team: :func:`task_coalition_values`, ``v(C)`` by the compiled evaluation
  (:func:`marlkit.train.evaluate.evaluate`) of :class:`CoalitionLearner` (the trained learner with the agents
  outside ``C`` replaced by the baseline), every coalition and seed on the same episodes (common random numbers).
  There ``v`` is itself an estimate (finite episodes): the Monte Carlo standard error covers the sampling of
  orders only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError

BASELINES = ("uniform", "noop")
EXACT_MAX = 12
"""Largest team for which :func:`shapley` uses the exact formula by default (4,096 coalitions)."""
DEFAULT_SAMPLES = 200

CoalitionValues = Callable[[np.ndarray], np.ndarray]
"""``values(masks [K] int64) -> [K] float64``: the characteristic function on a batch of coalitions (bitmasks)."""


def check_baseline(baseline: str) -> str:
    """``baseline`` normalised, or :class:`InvalidGameError` (one line)."""
    name = str(baseline).strip().lower()
    if name not in BASELINES:
        raise InvalidGameError(f"baseline: expected one of {list(BASELINES)}, got {baseline!r}")
    return name


def check_team_size(n: int) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise InvalidGameError(f"shapley: the number of agents must be an integer >= 1, got {n!r}")
    return int(n)


def members(mask: int, n: int) -> np.ndarray:
    """``[n]`` bool: which agents the bitmask ``mask`` holds."""
    return ((int(mask) >> np.arange(n)) & 1).astype(bool)


def coalition_weights(n: int) -> np.ndarray:
    """``w[c] = c! (n - c - 1)! / n!`` for ``c = 0..n-1`` (the Shapley weight of a coalition of size c)."""
    return np.array([math.factorial(c) * math.factorial(n - c - 1) / math.factorial(n) for c in range(n)])


def table_values(table: np.ndarray) -> CoalitionValues:
    """A characteristic function given as a table ``v [2^n]`` indexed by bitmask, as a batch function."""
    v = np.asarray(table, dtype=np.float64).reshape(-1)
    if v.size < 2 or v.size & (v.size - 1) or not np.all(np.isfinite(v)):
        raise InvalidGameError(f"shapley: a characteristic table needs 2^n finite entries, got {v.size}")
    return lambda masks: v[np.asarray(masks, dtype=np.int64)]


def _evaluate(values: CoalitionValues, masks: np.ndarray) -> np.ndarray:
    out = np.asarray(values(masks), dtype=np.float64).reshape(-1)
    if out.shape != masks.shape or not np.all(np.isfinite(out)):
        raise InvalidGameError("shapley: the characteristic function must give one finite value per coalition")
    return out


def shapley_exact(values: CoalitionValues, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact Shapley values ``φ [n]`` (module docstring) and the table ``v [2^n]`` they were computed from."""
    n = check_team_size(n)
    masks = np.arange(2**n, dtype=np.int64)
    v = _evaluate(values, masks)
    weights = coalition_weights(n)
    sizes = np.array([bin(int(m)).count("1") for m in masks])
    phi = np.zeros(n)
    for i in range(n):
        bit = 1 << i
        without = masks[(masks & bit) == 0]
        phi[i] = float(np.sum(weights[sizes[without]] * (v[without | bit] - v[without])))
    return phi, v


def shapley_monte_carlo(
    values: CoalitionValues, n: int, samples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, float, float, int]:
    """Monte Carlo Shapley values over ``samples`` random orders: ``(φ [n], standard errors [n], v(∅), v(N),
    distinct coalitions evaluated)``. Every coalition the orders need is evaluated in one batch."""
    n = check_team_size(n)
    if not isinstance(samples, (int, np.integer)) or samples < 2:
        raise InvalidGameError(f"shapley: Monte Carlo needs samples >= 2 orders (for a standard error), got {samples}")
    orders = np.stack([rng.permutation(n) for _ in range(int(samples))])  # [K, n]
    prefix = np.zeros((orders.shape[0], n + 1), dtype=np.int64)
    prefix[:, 1:] = np.cumsum(np.left_shift(1, orders).astype(np.int64), axis=1)  # the coalition after each step
    needed, index = np.unique(prefix, return_inverse=True)
    v = _evaluate(values, needed)[index.reshape(prefix.shape)]  # [K, n + 1]
    marginal = np.zeros((orders.shape[0], n))
    np.put_along_axis(marginal, orders, np.diff(v, axis=1), axis=1)
    se = marginal.std(axis=0, ddof=1) / math.sqrt(orders.shape[0])
    return marginal.mean(axis=0), se, float(v[0, 0]), float(v[0, -1]), int(needed.size)


@dataclass(frozen=True)
class ShapleyCredit:
    """Per-agent Shapley credit of a team's return.

    Attributes:
        values: ``φ_i`` per agent. standard_errors: per agent (Monte Carlo), None when exact.
        method: ``"exact"`` or ``"monte-carlo"``. samples: random orders drawn (0 when exact).
        empty / full: ``v(∅)`` (the baseline team) and ``v(N)`` (the trained team); ``Σ φ = full - empty``.
        baseline: what the agents outside a coalition play. evaluations: distinct coalitions evaluated.
    """

    values: tuple[float, ...]
    standard_errors: tuple[float, ...] | None
    method: str
    samples: int
    empty: float
    full: float
    baseline: str
    evaluations: int

    def to_json(self) -> dict[str, Any]:
        return {
            "values": list(self.values),
            "standard_errors": None if self.standard_errors is None else list(self.standard_errors),
            "method": self.method,
            "samples": self.samples,
            "empty": self.empty,
            "full": self.full,
            "baseline": self.baseline,
            "evaluations": self.evaluations,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShapleyCredit:
        se = data.get("standard_errors")
        return cls(
            tuple(float(x) for x in data["values"]),
            None if se is None else tuple(float(x) for x in se),
            str(data["method"]),
            int(data["samples"]),
            float(data["empty"]),
            float(data["full"]),
            str(data["baseline"]),
            int(data["evaluations"]),
        )

    def lines(self) -> list[str]:
        how = "exact" if self.method == "exact" else f"Monte Carlo, {self.samples} orders, ± standard error"
        out = [
            f"Shapley credit of the team return ({how}; others play the {self.baseline} baseline): "
            f"v(all) {self.full:.4g} - v(none) {self.empty:.4g} = {self.full - self.empty:.4g}"
        ]
        for i, phi in enumerate(self.values):
            se = "" if self.standard_errors is None else f" ± {self.standard_errors[i]:.3g}"
            out.append(f"  agent {i}: {phi:.4g}{se}")
        return out


def shapley(
    values: CoalitionValues,
    n: int,
    *,
    samples: int | None = None,
    seed: int = 0,
    exact_max: int = EXACT_MAX,
    baseline: str = "given",
) -> ShapleyCredit:
    """Shapley credit of the characteristic function ``values`` over ``n`` agents: exact when ``samples`` is None
    and ``n <= exact_max``, else Monte Carlo over ``samples`` random orders (``DEFAULT_SAMPLES`` when None) drawn
    from ``numpy.random.default_rng(seed)``. ``baseline`` only labels the result.

    Raises:
        InvalidGameError: ``n < 1``, ``samples < 2``, a characteristic function with non-finite values.
    """
    n = check_team_size(n)
    if samples is None and n <= exact_max:
        phi, v = shapley_exact(values, n)
        return ShapleyCredit(tuple(map(float, phi)), None, "exact", 0, float(v[0]), float(v[-1]), baseline, v.size)
    k = DEFAULT_SAMPLES if samples is None else samples
    phi, se, empty, full, count = shapley_monte_carlo(values, n, k, np.random.default_rng(seed))
    return ShapleyCredit(
        tuple(map(float, phi)), tuple(map(float, se)), "monte-carlo", int(k), empty, full, baseline, count
    )


# ------------------------------------------------------------------------------------------- exact games


def baseline_policy(game: Any, baseline: str | np.ndarray) -> np.ndarray:
    """The baseline ``[n, S, A_max]`` tabular policy of a stochastic game: ``"uniform"`` over the legal actions,
    ``"noop"`` (action 0 where legal, else uniform over the legal actions) or a given policy (checked)."""
    if not isinstance(baseline, str):
        return np.asarray(game.check_policy(np.asarray(baseline, dtype=np.float64)))
    name = check_baseline(baseline)
    uniform = np.asarray(game.uniform_policy(), dtype=np.float64)
    if name == "uniform":
        return uniform
    mask = np.asarray(game.action_mask, bool)
    first = np.zeros_like(uniform)
    first[..., 0] = 1.0
    return np.where(mask[..., :1], first, uniform)


def game_coalition_values(game: Any, policy: np.ndarray, baseline: str | np.ndarray = "uniform") -> CoalitionValues:
    """``v(C)`` of a tabular team on an exact game (a normal-form or stochastic game): the mean over agents of the
    exact expected returns (:meth:`~marlkit.games.StochasticGame.expected_return`) of the policy that plays
    ``policy [n, S, A_max]`` for the agents in ``C`` and the baseline for the others."""
    from marlkit.games.views import as_stochastic

    g = as_stochastic(game)
    trained = np.asarray(g.check_policy(np.asarray(policy, dtype=np.float64)))
    base = baseline_policy(g, baseline)
    n = g.n_players

    def values(masks: np.ndarray) -> np.ndarray:
        out = []
        for m in np.asarray(masks).reshape(-1):
            inside = members(int(m), n)[:, None, None]
            out.append(float(np.mean(g.expected_return(np.where(inside, trained, base)))))
        return np.asarray(out)

    return values


# ------------------------------------------------------------------------------------------------ tasks


class CoalitionState(NamedTuple):
    """The state of a :class:`CoalitionLearner`: the trained learner's state and ``members [n]`` bool."""

    inner: Any
    members: Any


@dataclass(frozen=True)
class CoalitionLearner:
    """A trained deep learner whose agents outside a coalition act with a baseline (evaluation only: it has no
    training of its own). The coalition is an array in the state, so one compiled evaluation serves every
    coalition."""

    inner: Any
    baseline: str = "uniform"
    rollout_length: int = 1  # the contract's field; evaluation never rolls out for an update
    name: ClassVar[str] = "coalition"

    def init(self, key: Any, spec: Any, num_envs: int) -> Any:
        raise NotApplicableError("CoalitionLearner is for evaluation; train the inner learner instead")

    def update(self, key: Any, state: Any, rollout: Any) -> Any:
        raise NotApplicableError("CoalitionLearner is for evaluation; train the inner learner instead")

    def initial_memory(self, spec: Any, num_envs: int) -> Any:
        return self.inner.initial_memory(spec, num_envs)

    def baseline_probs(self, mask: Any) -> Any:
        """``[E, n, A]``: the baseline's distribution over the legal actions ``mask``."""
        import jax.numpy as jnp

        legal = mask.astype(jnp.float32)
        uniform = legal / legal.sum(axis=-1, keepdims=True)
        if self.baseline == "uniform":
            return uniform
        first = jnp.zeros_like(uniform).at[..., 0].set(1.0)
        return jnp.where(mask[..., :1], first, uniform)

    def act(self, key: Any, state: CoalitionState, observation: Any, memory: Any) -> tuple[Any, Any, Any]:
        import jax
        import jax.numpy as jnp

        k_inner, k_base = jax.random.split(key)
        actions, aux, memory = self.inner.act(k_inner, state.inner, observation, memory)
        logits = jnp.log(self.baseline_probs(observation.action_mask))
        base = jax.random.categorical(k_base, logits, axis=-1).astype(jnp.int32)
        return jnp.where(state.members[None, :], actions, base), aux, memory

    def policy(self, state: CoalitionState, observation: Any, memory: Any) -> Any:
        import jax.numpy as jnp

        probs = self.inner.policy(state.inner, observation, memory)
        return jnp.where(state.members[None, :, None], probs, self.baseline_probs(observation.action_mask))


class TaskCoalitionValues:
    """``v(C)`` of a deep team on a task (see :func:`task_coalition_values`), callable on a batch of coalitions;
    ``per_agent[mask]`` keeps the mean return per agent ``[n]`` of every coalition evaluated so far (the full
    coalition's is the trained team's per-agent return)."""

    def __init__(self, env: Any, learner: Any, states: Any, baseline: str, episodes: int, key: int, mode: str):
        import jax

        from marlkit.train.evaluate import deployed

        self.env, self.episodes, self.key, self.mode = env, int(episodes), key, mode
        team, self.states = deployed(learner, states)
        self.learner = CoalitionLearner(team, check_baseline(baseline), int(team.rollout_length))
        self.seeds = int(jax.tree_util.tree_leaves(self.states)[0].shape[0])
        self.per_agent: dict[int, np.ndarray] = {}

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        import jax
        import jax.numpy as jnp

        from marlkit.train.evaluate import evaluate

        n = self.env.spec.n_agents
        masks = np.asarray(masks, dtype=np.int64).reshape(-1)
        k = masks.size
        inside = np.repeat(np.stack([members(int(m), n) for m in masks]), self.seeds, axis=0)  # [k * N, n]
        inner = jax.tree.map(lambda x: jnp.tile(x, (k,) + (1,) * (x.ndim - 1)), self.states)
        learner: Any = self.learner
        result = evaluate(
            self.env, learner, CoalitionState(inner, jnp.asarray(inside)), episodes=self.episodes, key=self.key,
            mode=self.mode, stacked=True,
        )  # fmt: skip
        per_agent = result.returns.reshape(k, self.seeds, self.episodes, n).mean(axis=(1, 2)).astype(np.float64)
        for m, row in zip(masks, per_agent, strict=True):
            self.per_agent[int(m)] = row
        return per_agent.mean(axis=1)


def task_coalition_values(
    env: Any,
    learner: Any,
    states: Any,
    *,
    baseline: str = "uniform",
    episodes: int = 64,
    key: int = 0,
    mode: str = "stochastic",
) -> TaskCoalitionValues:
    """``v(C)`` of a deep team on a task: the mean team return over ``episodes`` evaluation episodes and every seed
    of ``states`` (stacked over seeds: ``DeepResult.states`` / ``TrainedRun.state.carry.learner``) of the team whose
    agents outside ``C`` play the baseline — one compiled :func:`~marlkit.train.evaluate.evaluate` for a whole
    batch of coalitions (coalitions x seeds on the evaluation's batch axis; the same episodes for all)."""
    return TaskCoalitionValues(env, learner, states, baseline, episodes, key, mode)


__all__ = [
    "BASELINES",
    "DEFAULT_SAMPLES",
    "EXACT_MAX",
    "CoalitionLearner",
    "CoalitionState",
    "CoalitionValues",
    "Explanation",
    "ShapleyCredit",
    "TaskCoalitionValues",
    "baseline_policy",
    "check_baseline",
    "coalition_weights",
    "game_coalition_values",
    "members",
    "shapley",
    "shapley_exact",
    "shapley_monte_carlo",
    "table_values",
    "task_coalition_values",
]


# --------------------------------------------------------------------------------- the run's explain.json


@dataclass(frozen=True)
class Explanation:
    """What ``marlkit explain RUN_DIR`` measured on a trained run (its ``explain.json``): the Shapley credit, the
    fairness of the final per-agent returns and, on task runs, the distilled trees and the saliency (of one seed).

    ``fairness``, ``distillation`` and ``saliency`` are plain JSON dicts here (read with
    :meth:`marlkit.human.fairness.Fairness.from_json`, :meth:`marlkit.human.distill.Distillation.from_json`,
    :meth:`marlkit.human.saliency.Saliency.from_json`), so this module imports none of them."""

    target: str
    kind: str
    returns: tuple[float, ...]
    shapley: ShapleyCredit
    fairness: dict[str, Any] | None = None
    distillation: dict[str, Any] | None = None
    saliency: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "kind": self.kind,
            "returns": list(self.returns),
            "shapley": self.shapley.to_json(),
            "fairness": self.fairness,
            "distillation": self.distillation,
            "saliency": self.saliency,
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Explanation:
        return cls(
            str(data["target"]),
            str(data["kind"]),
            tuple(float(x) for x in data["returns"]),
            ShapleyCredit.from_json(data["shapley"]),
            data.get("fairness"),
            data.get("distillation"),
            data.get("saliency"),
            tuple(str(x) for x in data.get("notes", ())),
        )

    def lines(self) -> list[str]:
        from marlkit.human.distill import Distillation
        from marlkit.human.fairness import Fairness
        from marlkit.human.saliency import Saliency

        out = [
            f"explain {self.target} ({self.kind}); final return per agent: "
            + ", ".join(f"{r:.4g}" for r in self.returns)
        ]
        out += self.shapley.lines()
        if self.fairness is not None:
            out += Fairness.from_json(self.fairness).lines()
        if self.distillation is not None:
            out += Distillation.from_json(self.distillation).lines()
        if self.saliency is not None:
            out += Saliency.from_json(self.saliency).lines()
        out += [f"note: {note}" for note in self.notes]
        return out
