"""Robustness of trained policies and of games: return under attack as the threat grows (docs/robust.md).

Two threat models (:mod:`marlkit.games.uncertainty`):

* **state perturbations** — for M attacked agents, an adversary replaces the state (exact games) or observation
  (tasks) an agent perceives by one within radius ε. For each (ε, attacked set) a policy gets its *clean* return,
  its return when the perceived state is drawn uniformly from the set (*random* noise of the same budget), and its
  return against the *worst* adversary: on exact games the optimal state adversary, an MDP solved exactly
  (:func:`marlkit.solve.robust.state_adversary.worst_case_evaluation`; Zhang et al. 2020; Han et al. 2024), on
  tasks a gradient (PGD) attack on the observation (:mod:`marlkit.train.evaluate`). The **robustness gap** is clean
  − worst. On exact games the **robust value** max_π min_ν (the best worst case any policy can guarantee,
  :func:`marlkit.solve.robust.robust_policy.robust_agent_policy`, exact or as certified bounds) is reported beside
  it, and ``robust value − worst`` is the policy's distance to it.
* **model perturbations** — nature moves each transition row within an L1 / L∞ ball of radius δ and each reward
  within a box of ±ε_r ((s, a)-rectangular sets; Iyengar 2005; Nilim & El Ghaoui 2005; Zhang et al. 2020). A
  policy's robust return per agent (:func:`marlkit.solve.robust.model.robust_policy_evaluation`), beside the robust
  optimum of the game where one is defined (common-payoff: the robust team optimum; two-player zero-sum: player
  0's robust Shapley value).

Values are the weighted objective of the state adversary (the mean return over agents by default, the team return
of a common-payoff game) and are averaged over seeds; the per-seed worst-case values are kept in the JSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from marlkit.diagnose.distances import playable
from marlkit.diagnose.results import float_or_none
from marlkit.errors import NotApplicableError
from marlkit.games import StochasticGame, as_stochastic
from marlkit.games.uncertainty import ModelUncertainty, StateUncertainty, state_ball

__all__ = [
    "ModelPoint",
    "RobustnessReport",
    "StatePoint",
    "model_robustness",
    "state_robustness",
    "task_points",
]


@dataclass(frozen=True)
class StatePoint:
    """One point of a state-perturbation curve: radius ε, attacked agents, and the values under attack."""

    radius: float
    attacked: tuple[int, ...]
    attack: str  # "optimal" (exact adversary), "gradient" (PGD on a task) or "none" (a game without a policy)
    clean: float | None = None
    random: float | None = None
    worst: float | None = None
    worst_per_seed: tuple[float, ...] = ()
    adversary_per_seed: tuple[tuple[tuple[int, ...], ...], ...] = ()  # [seeds][attacked j][s]: the ŝ_j shown at s
    robust_lower: float | None = None
    robust_upper: float | None = None
    robust_exact: bool | None = None
    deterministic: float | None = None
    robust_method: str = ""  # "lp" (exact) or "bounds (upper: <source>)"

    @property
    def gap(self) -> float | None:
        """The robustness gap, clean − worst."""
        return None if self.clean is None or self.worst is None else self.clean - self.worst

    @property
    def distance_to_robust(self) -> float | None:
        """How far the policy's worst case is below the robust value (its lower bound where not exact)."""
        if self.worst is None or self.robust_lower is None:
            return None
        return max(0.0, self.robust_lower - self.worst)

    def to_json(self) -> dict[str, Any]:
        return {
            "radius": self.radius,
            "attacked": list(self.attacked),
            "attack": self.attack,
            "clean": float_or_none(self.clean),
            "random": float_or_none(self.random),
            "worst": float_or_none(self.worst),
            "worst_per_seed": [float_or_none(v) for v in self.worst_per_seed],
            "adversary_per_seed": [[list(row) for row in seed] for seed in self.adversary_per_seed],
            "gap": float_or_none(self.gap),
            "robust_value": None
            if self.robust_lower is None
            else {
                "lower": float_or_none(self.robust_lower),
                "upper": float_or_none(self.robust_upper),
                "exact": self.robust_exact,
                "method": self.robust_method,
            },
            "distance_to_robust": float_or_none(self.distance_to_robust),
            "best_deterministic": float_or_none(self.deterministic),
        }


@dataclass(frozen=True)
class ModelPoint:
    """One point of a model-perturbation curve: radii and the robust returns."""

    transition_radius: float
    reward_radius: float
    norm: str
    returns: tuple[float, ...] | None  # the policy's robust return per agent (mean over seeds); None: no policy
    nominal: tuple[float, ...] | None  # the policy's nominal return per agent
    optimum: float | None  # the game's robust optimum (team return, or player 0's robust value), where defined
    optimum_kind: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "transition_radius": self.transition_radius,
            "reward_radius": self.reward_radius,
            "norm": self.norm,
            "robust_returns": None if self.returns is None else [float_or_none(v) for v in self.returns],
            "nominal_returns": None if self.nominal is None else [float_or_none(v) for v in self.nominal],
            "robust_optimum": float_or_none(self.optimum),
            "robust_optimum_kind": self.optimum_kind,
        }


@dataclass(frozen=True)
class RobustnessReport:
    """Robustness curves of a run or a game (``to_json`` is the ``marlkit robust --json`` schema)."""

    target: str
    seeds: int
    state: tuple[StatePoint, ...] = ()
    model: tuple[ModelPoint, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "seeds": self.seeds,
            "state": [p.to_json() for p in self.state],
            "model": [p.to_json() for p in self.model],
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RobustnessReport:
        """Read back :meth:`to_json` (a run's ``robustness.json``)."""

        def number(x: Any) -> float | None:
            return None if x is None else float(x)

        state = []
        for p in data.get("state", []):
            robust = p.get("robust_value") or {}
            state.append(
                StatePoint(
                    radius=math.nan if p.get("radius") is None else float(p["radius"]),
                    attacked=tuple(int(a) for a in p.get("attacked", [])),
                    attack=str(p.get("attack", "")),
                    clean=number(p.get("clean")),
                    random=number(p.get("random")),
                    worst=number(p.get("worst")),
                    worst_per_seed=tuple(math.nan if v is None else float(v) for v in p.get("worst_per_seed", [])),
                    adversary_per_seed=tuple(
                        tuple(tuple(int(s) for s in row) for row in seed) for seed in p.get("adversary_per_seed", [])
                    ),
                    robust_lower=number(robust.get("lower")),
                    robust_upper=number(robust.get("upper")),
                    robust_exact=robust.get("exact"),
                    deterministic=number(p.get("best_deterministic")),
                    robust_method=str(robust.get("method", "")),
                )
            )
        model = [
            ModelPoint(
                transition_radius=float(m["transition_radius"]),
                reward_radius=float(m["reward_radius"]),
                norm=str(m["norm"]),
                returns=None if m.get("robust_returns") is None else tuple(map(float, m["robust_returns"])),
                nominal=None if m.get("nominal_returns") is None else tuple(map(float, m["nominal_returns"])),
                optimum=number(m.get("robust_optimum")),
                optimum_kind=m.get("robust_optimum_kind"),
            )
            for m in data.get("model", [])
        ]
        return cls(
            target=str(data.get("target", "")),
            seeds=int(data.get("seeds", 0)),
            state=tuple(state),
            model=tuple(model),
            notes=tuple(str(n) for n in data.get("notes", [])),
        )

    def lines(self) -> list[str]:
        """Plain-text tables (the CLI prints them; the report page shows them)."""
        out: list[str] = []
        policies = [p for p in self.state if p.attack != "none"]
        alone = [p for p in self.state if p.attack == "none"]
        if policies:
            out.append(
                f"state perturbations of the trained policies ({self.seeds} seeds; value = mean return over agents; "
                "worst = the strongest adversary):"
            )
            robust = any(p.robust_lower is not None for p in policies)
            out.append(
                f"  {'ε':>6} {'attacked':>9} {'attack':>8} {'clean':>9} {'random':>9} {'worst':>9} {'gap':>8}"
                + (f" {'robust value':>20} {'to robust':>9}" if robust else "")
            )
            for p in policies:
                extra = f" {_robust(p):>20} {_fmt(p.distance_to_robust):>9}" if robust else ""
                out.append(
                    f"  {_radius(p.radius):>6} {_agents(p.attacked):>9} {p.attack:>8} {_fmt(p.clean):>9} "
                    f"{_fmt(p.random):>9} {_fmt(p.worst):>9} {_fmt(p.gap):>8}{extra}"
                )
        if alone:
            out.append("robust values of the game (max over stochastic policies of the worst case over adversaries):")
            out.append(f"  {'ε':>6} {'attacked':>9} {'robust value':>20} {'method':>28} {'best deterministic':>19}")
            for p in alone:
                out.append(
                    f"  {_radius(p.radius):>6} {_agents(p.attacked):>9} {_robust(p):>20} {p.robust_method:>28} "
                    f"{_fmt(p.deterministic):>19}"
                )
        if self.model:
            out.append("model perturbations (robust return per agent; nature adversarial to each agent):")
            for m in self.model:
                parts = [] if m.returns is None else ["policy " + ", ".join(_fmt(v) for v in m.returns)]
                if m.optimum is not None:
                    parts.append(f"robust optimum ({m.optimum_kind}) {_fmt(m.optimum)}")
                elif m.returns is None:
                    parts.append(
                        "no robust optimum (defined for fully observable common-payoff and two-player zero-sum games)"
                    )
                out.append(f"  δ={m.transition_radius:g} ({m.norm}) ε_r={m.reward_radius:g}: {'; '.join(parts)}")
        out.extend(f"note: {n}" for n in self.notes)
        return out


def _radius(radius: float) -> str:
    return "file" if math.isnan(radius) else f"{radius:g}"


def _agents(attacked: tuple[int, ...]) -> str:
    return ",".join(map(str, attacked)) or "-"


def _robust(p: StatePoint) -> str:
    if p.robust_lower is None:
        return ""
    return _fmt(p.robust_lower) if p.robust_exact else f"[{_fmt(p.robust_lower)}, {_fmt(p.robust_upper)}]"


def _fmt(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.4g}"


# ----------------------------------------------------------------------------------------------- exact games


def state_robustness(
    game: Any,
    policies: np.ndarray | None,
    radii: Sequence[float],
    attacked_sets: Sequence[Sequence[int]],
    *,
    distance: np.ndarray | None = None,
    uncertainty: StateUncertainty | None = None,
    robust_value: bool = True,
) -> tuple[StatePoint, ...]:
    """State-perturbation points of ``policies [N, n, S, A_max]`` (one per seed; ``None`` for the game alone)
    for every radius and attacked set (or the one given ``uncertainty``)."""
    from marlkit.solve.robust.robust_policy import robust_agent_policy
    from marlkit.solve.robust.state_adversary import random_perception_evaluation, worst_case_evaluation

    game = as_stochastic(game)
    policies = None if policies is None else playable(game, policies)
    cases: list[tuple[float, tuple[int, ...], StateUncertainty]] = []
    if uncertainty is not None:
        uncertainty.check_against(game)
        cases.append((math.nan, uncertainty.attacked, uncertainty))
    else:
        for attacked in attacked_sets:
            for radius in radii:
                sets = (
                    state_ball(game, radius, attacked)
                    if distance is None
                    else StateUncertainty.from_distance(game.n_players, distance, radius, attacked)
                )
                cases.append((float(radius), tuple(int(a) for a in attacked), sets))
    points = []
    for radius, attacked, sets in cases:
        clean = random = worst = None
        per_seed: tuple[float, ...] = ()
        shown: tuple[tuple[tuple[int, ...], ...], ...] = ()
        if policies is not None:
            results = [worst_case_evaluation(game, p, sets) for p in policies]
            per_seed = tuple(float(r.value) for r in results)
            shown = tuple(  # the optimal adversary's choice: the state each attacked agent is shown in each state
                tuple(tuple(int(s) for s in np.argmax(r.adversary[j], axis=-1)) for j in attacked) for r in results
            )
            worst = float(np.mean(per_seed))
            clean = float(np.mean([r.clean_value for r in results]))
            random = float(np.mean([random_perception_evaluation(game, p, sets).value for p in policies]))
        lower = upper = deterministic = None
        exact = None
        method = ""
        if robust_value:
            robust = robust_agent_policy(game, sets)
            lower, upper, exact = float(robust.lower), float(robust.upper), bool(robust.exact)
            deterministic = float_or_none(robust.deterministic_value)
            method = (
                "lp"
                if robust.method == "lp"
                else ("search (bounds meet)" if robust.exact else f"bounds (upper: {robust.upper_source})")
            )
        points.append(
            StatePoint(
                radius=radius,
                attacked=attacked,
                attack="optimal" if policies is not None else "none",
                clean=clean,
                random=random,
                worst=worst,
                worst_per_seed=per_seed,
                adversary_per_seed=shown,
                robust_lower=lower,
                robust_upper=upper,
                robust_exact=exact,
                deterministic=deterministic,
                robust_method=method,
            )
        )
    return tuple(points)


def task_points(curve: dict[str, Any]) -> tuple[StatePoint, ...]:
    """State points of a task's robustness curve (``marlkit.train.evaluate.RobustnessCurve.to_json()`` of the
    trained policies of every seed, stacked): clean, uniform noise in the ball (``random``) and the gradient attack
    (PGD, the ``worst`` here: the strongest attack measured, not a proven worst case)."""
    clean = np.atleast_1d(np.asarray(curve["clean"], dtype=np.float64))
    attacks = curve["attacks"]
    points = []
    for k, eps in enumerate(curve["epsilons"]):
        for m, attacked in enumerate(curve["attacked_sets"]):
            random = np.atleast_1d(np.asarray(attacks["random"]["return"][k][m], dtype=np.float64))
            worst = np.atleast_1d(np.asarray(attacks["gradient"]["return"][k][m], dtype=np.float64))
            points.append(
                StatePoint(
                    radius=float(eps),
                    attacked=tuple(int(a) for a in attacked),
                    attack="gradient",
                    clean=float(clean.mean()),
                    random=float(random.mean()),
                    worst=float(worst.mean()),
                    worst_per_seed=tuple(float(v) for v in worst),
                )
            )
    return tuple(points)


def _robust_optimum(game: StochasticGame, uncertainty: ModelUncertainty) -> tuple[float | None, str | None]:
    from marlkit.solve.robust.model import robust_shapley, robust_team_optimum

    try:
        return float(robust_team_optimum(game, uncertainty).team_return), "team"
    except NotApplicableError:
        pass
    try:
        return float(robust_shapley(game, uncertainty, solver="auto").team_return), "zero-sum, player 0"
    except NotApplicableError:
        return None, None


def model_robustness(
    game: Any,
    policies: np.ndarray | None,
    transition_radii: Sequence[float],
    *,
    reward_radius: float = 0.0,
    norm: str = "l1",
    uncertainty: ModelUncertainty | None = None,
) -> tuple[ModelPoint, ...]:
    """Model-perturbation points of ``policies [N, n, S, A_max]`` (or the game alone) for every transition radius
    (or the one given ``uncertainty``)."""
    from marlkit.solve.robust.model import robust_policy_evaluation

    game = as_stochastic(game)
    policies = None if policies is None else playable(game, policies)
    sets = (
        [uncertainty]
        if uncertainty is not None
        else [ModelUncertainty(reward_radius, d, norm) for d in transition_radii]
    )
    points = []
    for u in sets:
        u.check_against(game)
        returns = nominal = None
        if policies is not None:
            returns = tuple(np.mean([robust_policy_evaluation(game, p, u).returns for p in policies], axis=0).tolist())
            nominal = tuple(np.mean([game.expected_return(p) for p in policies], axis=0).tolist())
        optimum, kind = _robust_optimum(game, u)
        points.append(
            ModelPoint(
                transition_radius=float(np.max(u.transition_radius)),
                reward_radius=float(np.max(u.reward_radius)),
                norm=u.norm,
                returns=returns,
                nominal=nominal,
                optimum=optimum,
                optimum_kind=kind,
            )
        )
    return tuple(points)
