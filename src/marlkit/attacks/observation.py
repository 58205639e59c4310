"""Observation attacks on trained policies: team return vs the budget ε and the number of attacked agents M.

Threat model (Lin, Dzeparoska, Zhang, Leon-Garcia & Papernot 2020, "On the robustness of cooperative multi-agent
reinforcement learning", IEEE S&P Workshops; the state-adversarial game of Zhang et al. 2020 / Han et al. 2024): an
attacker controls what M of the n agents perceive — within a budget ε at every step — but not the env, the rewards
or the other agents; the team keeps its trained policy. Two settings share one result (:class:`ObservationAttack`):

* **exact games, tabular policies** (:func:`exact_observation_attack`): the perturbation is a perceived state
  ``ŝ ∈ B(s) = {ŝ : d(s, ŝ) <= ε}`` (the game's state distance, :func:`~marlkit.games.uncertainty.state_ball`), and
  every number is exact — ``optimal`` is the optimal (untargeted) adversary
  (:func:`~marlkit.solve.robust.state_adversary.worst_case_evaluation`), ``targeted`` forces a target action per
  state (:func:`marlkit.attacks.tabular.forcing_attack`; default target: the action worst for the team's value),
  ``random`` shows a uniform state of ``B(s)`` (the same budget's noise); flipping budgets per (agent, state)
  (:func:`marlkit.attacks.tabular.flip_budgets`). A tabular policy has no gradient: FGSM / PGD do not apply.
* **tasks, deep policies** (:func:`deep_observation_attack`): the perturbation is ``δ`` with ``‖δ‖_p <= ε`` on the
  attacked agents' observation vectors, applied at every step inside the compiled evaluation
  (:func:`marlkit.train.evaluate.evaluate`, common random numbers across every attack and ε) — ``fgsm`` (one signed
  / normalised gradient step of size ε, :func:`~marlkit.agents.deep.attacks.fgsm_attack`), ``pgd`` (``steps``
  projected steps, :class:`~marlkit.agents.deep.attacks.GradientAttack`; both lower the probability of the clean
  greedy action, Huang et al. 2017), ``targeted`` (PGD raising ``log π(target | o + δ)``, Lin et al. 2020; the target
  a fixed action or the clean policy's least likely one, :class:`~marlkit.agents.deep.attacks.TargetedAttack`) and
  ``random`` (uniform noise in the ball); flipping budgets by bisection with PGD on observations met in play
  (:mod:`marlkit.attacks.flips`; upper bounds).

**Victims** (:mod:`marlkit.attacks.victims`): each agent attacked alone (at the largest ε, by ``optimal`` on games,
``pgd`` on tasks), then the M most harmful picked greedily as nested sets, so the curves vs M are over
``V_1 ⊂ V_2 ⊂ ...``. The **drop** of a point is ``clean - attacked`` (mean over seeds); returns are the mean over
agents (the team return of a common-payoff game) per episode, per seed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError

EXACT_METHODS = ("optimal", "targeted", "random")
"""Attacks on a tabular policy of an exact game (module docstring)."""
DEEP_METHODS = ("fgsm", "pgd", "targeted", "random")
"""Attacks on a deep policy of a task (module docstring)."""
ADVERSARIAL = "adversarial"
"""The targeted attack whose target is a trained adversarial policy's action (Lin et al. 2020;
:mod:`marlkit.attacks.adversary`): opt-in (it trains one policy per victim and seed), one attacked agent at a time."""
GRADIENT_METHODS = ("fgsm", "pgd", "targeted", ADVERSARIAL)
"""The attacks that need the policy's gradient in the observation."""

__all__ = [
    "DEEP_METHODS",
    "EXACT_METHODS",
    "AttackPoint",
    "ObservationAttack",
    "deep_observation_attack",
    "exact_observation_attack",
    "plot_observation_attack",
]


def _num(x: Any) -> float | None:
    """A finite float for JSON, ``None`` for ±∞ / NaN / None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _float(x: Any) -> float:
    return math.inf if x is None else float(x)


@dataclass(frozen=True)
class AttackPoint:
    """One point: the return per seed with the agents ``attacked`` under ``method`` at radius ``epsilon``;
    ``forcing``/``forcing_clean``: for ``targeted``, how often the attacked agents play the target with / without the
    attack (exact: the forcing probability averaged over live states; deep: the fraction of sampled observations
    whose greedy action is the target)."""

    epsilon: float
    attacked: tuple[int, ...]
    method: str
    returns: tuple[float, ...]
    forcing: float | None = None
    forcing_clean: float | None = None

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    def to_json(self, clean: float) -> dict[str, Any]:
        return {
            "epsilon": self.epsilon,
            "attacked": list(self.attacked),
            "m": len(self.attacked),
            "method": self.method,
            "returns": [_num(v) for v in self.returns],
            "mean": _num(self.mean),
            "drop": _num(clean - self.mean),
            "forcing": _num(self.forcing),
            "forcing_clean": _num(self.forcing_clean),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AttackPoint:
        return cls(
            float(data["epsilon"]),
            tuple(int(a) for a in data["attacked"]),
            str(data["method"]),
            tuple(_float(v) for v in data["returns"]),
            data.get("forcing"),
            data.get("forcing_clean"),
        )


@dataclass(frozen=True)
class ObservationAttack:
    """Observation attacks on a trained team (module docstring).

    Attributes:
        target: what was attacked (a run directory). kind: ``"exact"`` or ``"deep"``. norm: the ball's norm
            (``"state"`` on exact games: the game's state distance).
        clean: the clean return per seed. points: every (ε, attacked set, method).
        victim_single / victim_order / victim_values / victim_epsilon / victim_method: victim selection (empty
            when not asked for): per agent the return attacked alone, the greedy order, the return of each prefix.
        flips: agent -> its flipping budgets (per seed and state on games, per sampled observation on tasks;
            ``inf`` where no flip exists / was found). flip_max: the search's upper end (tasks).
        episodes / mode: the evaluation's (tasks). notes: what a reader must know.
    """

    target: str
    kind: str
    norm: str
    clean: tuple[float, ...]
    points: tuple[AttackPoint, ...]
    victim_single: tuple[float, ...] = ()
    victim_order: tuple[int, ...] = ()
    victim_values: tuple[float, ...] = ()
    victim_epsilon: float | None = None
    victim_method: str = ""
    flips: dict[int, tuple[float, ...]] = field(default_factory=dict)
    flip_max: float | None = None
    episodes: int | None = None
    mode: str = ""
    notes: tuple[str, ...] = ()

    @property
    def clean_mean(self) -> float:
        return float(np.mean(self.clean))

    def curve(self, method: str, attacked: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """``(ε [K], mean return [K])`` of ``method`` on one attacked set, in increasing ε."""
        key = tuple(sorted(int(a) for a in attacked))
        pts = sorted((p for p in self.points if p.method == method and p.attacked == key), key=lambda p: p.epsilon)
        return np.array([p.epsilon for p in pts]), np.array([p.mean for p in pts])

    def to_json(self) -> dict[str, Any]:
        clean = self.clean_mean
        return {
            "target": self.target,
            "kind": self.kind,
            "norm": self.norm,
            "episodes": self.episodes,
            "mode": self.mode,
            "clean": [_num(v) for v in self.clean],
            "clean_mean": _num(clean),
            "points": [p.to_json(clean) for p in self.points],
            "victims": None
            if not self.victim_order
            else {
                "epsilon": _num(self.victim_epsilon),
                "method": self.victim_method,
                "single": [_num(v) for v in self.victim_single],
                "order": list(self.victim_order),
                "returns": [_num(v) for v in self.victim_values],
            },
            "flip_budgets": {
                "max_epsilon": _num(self.flip_max),
                "agents": {
                    str(j): {
                        "budgets": [_num(v) for v in values],
                        "flippable": float(np.mean(np.isfinite(values))) if values else None,
                        "median": _num(np.median(values)) if values else None,
                        "min": _num(np.min(values)) if values else None,
                    }
                    for j, values in self.flips.items()
                },
            },
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObservationAttack:
        """Inverse of :meth:`to_json` (``null`` budgets read back as ``inf``)."""
        try:
            victims = data.get("victims") or {}
            flips = data.get("flip_budgets") or {}
            return cls(
                target=str(data["target"]),
                kind=str(data["kind"]),
                norm=str(data["norm"]),
                clean=tuple(_float(v) for v in data["clean"]),
                points=tuple(AttackPoint.from_json(p) for p in data["points"]),
                victim_single=tuple(_float(v) for v in victims.get("single", ())),
                victim_order=tuple(int(j) for j in victims.get("order", ())),
                victim_values=tuple(_float(v) for v in victims.get("returns", ())),
                victim_epsilon=victims.get("epsilon"),
                victim_method=str(victims.get("method", "")),
                flips={int(j): tuple(_float(v) for v in a["budgets"]) for j, a in (flips.get("agents") or {}).items()},
                flip_max=flips.get("max_epsilon"),
                episodes=data.get("episodes"),
                mode=str(data.get("mode") or ""),
                notes=tuple(data.get("notes", ())),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidGameError(f"observation attack: not an attack-observation result ({exc})") from None

    def lines(self) -> list[str]:
        """The table the CLI prints: ε / M / attacked / method / return / drop (and forcing for targeted)."""
        clean = self.clean_mean
        what = "exact tabular attacks" if self.kind == "exact" else f"attacks on the deep policy ({self.norm} ball)"
        where = f" on {self.target}" if self.target else ""
        out = [f"observation attacks{where}: {what}, {len(self.clean)} seed(s); clean return {clean:.4g}"]
        out.append(f"{'eps':>8} {'M':>2} {'attacked':>9} {'method':>9} {'return':>10} {'drop':>9}  forcing")
        for p in self.points:
            force = "" if p.forcing is None else f"  {p.forcing_clean or 0:.2f} -> {p.forcing:.2f}"
            out.append(
                f"{p.epsilon:>8.4g} {len(p.attacked):>2} {','.join(map(str, p.attacked)):>9} {p.method:>9} "
                f"{p.mean:>10.4g} {clean - p.mean:>9.4g}{force}"
            )
        if self.victim_order:
            single = ", ".join(f"{j}: {v:.4g}" for j, v in enumerate(self.victim_single))
            out.append(f"victims at eps {self.victim_epsilon:g} ({self.victim_method}): attacked alone {single}")
            prefix = ", ".join(f"M={m + 1} {{{','.join(map(str, sorted(self.victim_order[: m + 1])))}}} {v:.4g}"
                               for m, v in enumerate(self.victim_values))  # fmt: skip
            out.append(f"  greedy victims: {prefix}")
        for j, values in self.flips.items():
            v = np.asarray(values)
            finite = v[np.isfinite(v)]
            where = "(seed, state) pairs" if self.kind == "exact" else "sampled observations"
            if finite.size:
                out.append(
                    f"flip budget of agent {j}: flippable at {finite.size}/{v.size} {where}; min {finite.min():.4g}, "
                    f"median {np.median(finite):.4g}, max {finite.max():.4g}"
                )
            else:
                bound = "" if self.flip_max is None else f" within {self.flip_max:g}"
                out.append(f"flip budget of agent {j}: no flip{bound} at any of {v.size} {where}")
        out.extend(f"note: {n}" for n in self.notes)
        return out


# ---------------------------------------------------------------------------------------- helpers


def check_methods(methods: Sequence[str], kind: str) -> tuple[str, ...]:
    """Validate attack names for a tabular (``kind="exact"``) or deep policy; one clear error otherwise."""
    allowed = EXACT_METHODS if kind == "exact" else (*DEEP_METHODS, ADVERSARIAL)
    out = tuple(str(m).strip().lower() for m in methods)
    if not out:
        raise InvalidGameError(f"method: give at least one of {list(allowed)}")
    for m in out:
        if kind == "exact" and m in ("fgsm", "pgd"):
            raise NotApplicableError(
                f"method {m}: a tabular policy has no gradient in its (discrete) state; on an exact game use "
                f"{', '.join(EXACT_METHODS)} (optimal is the exact worst case)"
            )
        if kind == "value" and m in GRADIENT_METHODS:
            raise NotApplicableError(
                f"method {m}: the policy is epsilon-greedy over Q-values (piecewise constant, zero gradient in the "
                "observation); use --method random"
            )
        if m not in allowed and not (kind == "value" and m == "random"):
            raise InvalidGameError(f"method {m!r}: expected one of {list(allowed)}")
    return out


def _sets(attacked_sets: Sequence[Sequence[int]] | None, n: int) -> list[tuple[int, ...]]:
    sets: list[tuple[int, ...]] = [(0,)]
    if attacked_sets is not None:
        sets = [tuple(sorted(int(a) for a in s)) for s in attacked_sets]
    for s in sets:
        bad = [a for a in s if not 0 <= a < n]
        if not s or bad or len(set(s)) != len(s):
            raise InvalidGameError(f"attacked {list(s)}: expected distinct agents in 0..{n - 1}")
    return sets


def _radii(epsilons: Sequence[float]) -> list[float]:
    eps = [float(e) for e in epsilons]
    if not eps:
        raise InvalidGameError("epsilon: give at least one budget")
    bad = [e for e in eps if not (math.isfinite(e) and e >= 0)]
    if bad:
        raise InvalidGameError(f"epsilon {bad[0]}: a budget must be a finite number >= 0")
    return eps


# ------------------------------------------------------------------------------------------ exact games


def exact_observation_attack(
    game: Any,
    policies: Any,
    *,
    epsilons: Sequence[float],
    attacked_sets: Sequence[Sequence[int]] | None = None,
    victims: int | None = None,
    methods: Sequence[str] = EXACT_METHODS,
    targets: Any = None,
    weights: Any = None,
    target: str = "",
) -> ObservationAttack:
    """Exact attacks on tabular policies ``[N, n, S, A]`` (or one ``[n, S, A]``) of a fully observable game, for
    every radius and attacked set (or the greedy victim sets ``V_1..V_victims`` at the largest radius).

    Raises:
        InvalidGameError / NotApplicableError: bad budgets, agents, methods or targets; a POSG; gradient methods.
    """
    from marlkit.attacks.tabular import flip_budgets, forcing_attack
    from marlkit.attacks.victims import greedy_victims
    from marlkit.diagnose.distances import playable
    from marlkit.games import as_stochastic
    from marlkit.games.uncertainty import state_ball, state_distance
    from marlkit.solve.robust.state_adversary import (
        objective_weights,
        random_perception_evaluation,
        worst_case_evaluation,
    )

    chosen = check_methods(methods, "exact")
    game = as_stochastic(game)
    if game.observations is not None:
        raise NotApplicableError(
            "observation attack: the game is partially observable; a state attack needs full observability"
        )
    pis = np.asarray(policies, dtype=np.float64)
    pis = pis[None] if pis.ndim == 3 else pis
    pis = playable(game, pis)  # recorded float32 policies (a History's) as valid ones, as the robustness curves do
    n = game.n_players
    radii = _radii(epsilons)
    w = objective_weights(game, weights)
    clean = tuple(float(w @ game.expected_return(pi)) for pi in pis)

    def optimal(radius: float, agents: tuple[int, ...]) -> tuple[float, ...]:
        u = state_ball(game, radius, agents)
        return tuple(worst_case_evaluation(game, pi, u, weights).value for pi in pis)

    selection = None
    if victims is not None:
        top = max(radii)
        selection = greedy_victims(lambda s: float(np.mean(optimal(top, s))), n, int(victims))
        sets = selection.sets()
    else:
        sets = _sets(attacked_sets, n)
    points = []
    for radius in radii:
        for agents in sets:
            u = state_ball(game, radius, agents)
            for method in chosen:
                if method == "optimal":
                    points.append(AttackPoint(radius, agents, method, optimal(radius, agents)))
                elif method == "random":
                    values = tuple(random_perception_evaluation(game, pi, u, weights).value for pi in pis)
                    points.append(AttackPoint(radius, agents, method, values))
                else:
                    results = [forcing_attack(game, pi, u, targets, weights) for pi in pis]
                    live = ~game.terminal
                    rows = list(agents)
                    points.append(
                        AttackPoint(
                            radius,
                            agents,
                            method,
                            tuple(r.value for r in results),
                            float(np.mean([r.forcing[rows][:, live].mean() for r in results])),
                            float(np.mean([r.clean_forcing[rows][:, live].mean() for r in results])),
                        )
                    )
    d = state_distance(game)
    budgets = np.stack([flip_budgets(pi, d) for pi in pis])  # [N, n, S]
    live = ~game.terminal
    flips = {j: tuple(budgets[:, j, live].reshape(-1).tolist()) for j in range(n)}
    notes = []
    if "state_distance" not in game.metadata:
        notes.append("state distance: the discrete metric (eps < 1: no attack; eps >= 1: any state may be shown)")
    if "targeted" in chosen:
        notes.append(
            "targeted: " + ("the given target actions" if targets is not None else "target = each state's action "
                            "worst for the team's value (one-step deviation, clean policy)")
        )  # fmt: skip
    return ObservationAttack(
        target=target,
        kind="exact",
        norm="state",
        clean=clean,
        points=tuple(points),
        victim_single=() if selection is None else selection.single,
        victim_order=() if selection is None else selection.order,
        victim_values=() if selection is None else selection.values,
        victim_epsilon=None if selection is None else max(radii),
        victim_method="" if selection is None else "optimal",
        flips=flips,
        notes=tuple(notes),
    )


# ------------------------------------------------------------------------------------------ deep policies


def deep_observation_attack(
    env: Any,
    learner: Any,
    states: Any,
    *,
    epsilons: Sequence[float],
    attacked_sets: Sequence[Sequence[int]] | None = None,
    victims: int | None = None,
    methods: Sequence[str] | None = None,
    norm: str = "linf",
    episodes: int = 64,
    key: int = 0,
    steps: int = 10,
    target_action: int = -1,
    mode: str = "greedy",
    flip_samples: int = 8,
    flip_max: float | None = None,
    adversary_steps: int = 16_384,
    target: str = "",
) -> ObservationAttack:
    """Attacks on a trained deep team (``states`` stacked over seeds, as ``DeepResult.states`` or a run's
    ``state.carry.learner``) for every ε and attacked set (or the greedy victim sets ``V_1..V_victims`` chosen by
    PGD at the largest ε), on the same ``episodes`` per seed (common random numbers; module docstring).
    ``methods`` default: every deep method, or (an ε-greedy Q policy, which has no gradient) random noise alone.
    ``target_action``: the targeted attack's action (``-1``: the clean policy's least likely action).
    ``flip_samples``: greedy episodes per seed whose observations the flipping budgets are searched at (0: none);
    ``flip_max``: the search's upper end (default ``max(4 max ε, 1)``). ``adversary_steps``: env steps of each
    adversarial policy's training (method ``"adversarial"``, :mod:`marlkit.attacks.adversary`).

    Raises:
        InvalidGameError: bad budgets, agents, methods, norm or target; an env without vector observations.
        NotApplicableError: a gradient attack on an ε-greedy (value-based) policy.
    """
    import jax
    import jax.numpy as jnp

    from marlkit.agents.deep.attacks import Ball, GradientAttack, RandomAttack, TargetedAttack, fgsm_attack
    from marlkit.agents.deep.value_based import ValueBasedLearner
    from marlkit.attacks.adversary import AdversaryTargetedAttack, train_adversarial_policy
    from marlkit.attacks.flips import flip_search, sample_observations
    from marlkit.attacks.victims import greedy_victims
    from marlkit.games.uncertainty import OBSERVATION_NORMS, ObservationBall
    from marlkit.train.evaluate import check_vector_observations, deployed, evaluate

    team, team_states = deployed(learner, states)
    value_based = isinstance(team, ValueBasedLearner)
    defaulted = methods is None and value_based
    if methods is None:
        methods = ("random",) if value_based else DEEP_METHODS
    chosen = check_methods(methods, "value" if value_based else "deep")
    check_vector_observations(env)
    if norm not in OBSERVATION_NORMS:
        raise InvalidGameError(f"norm {norm!r}: expected one of {list(OBSERVATION_NORMS)}")
    spec = env.spec
    n = spec.n_agents
    radii = _radii(epsilons)
    actions = min(spec.num_actions)
    if isinstance(target_action, bool) or not -1 <= int(target_action) < actions:
        raise InvalidGameError(f"target action {target_action}: expected -1 (least likely) or 0..{actions - 1}")
    seeds = jax.tree_util.tree_leaves(states)[0].shape[0]

    adversaries: dict[int, tuple[Any, Any]] = {}

    def attack_of(method: str, ball: Ball, agents: tuple[int, ...]) -> Any:
        if method == ADVERSARIAL:
            victim = agents[0]
            if victim not in adversaries:
                adversaries[victim] = train_adversarial_policy(env, team, team_states, victim, steps=adversary_steps,
                                                               key=key)  # fmt: skip
            adv, adv_states = adversaries[victim]
            return AdversaryTargetedAttack(ball, adv_states, adv, victim, spec.global_state_size, steps, per_seed=True)
        if method == "fgsm":
            return fgsm_attack(ball)
        if method == "pgd":
            return GradientAttack(ball, steps=steps)
        if method == "targeted":
            return TargetedAttack(ball, jnp.full(n, int(target_action), jnp.int32), steps=steps)
        return RandomAttack(ball)

    def returns(method: str, radius: float, agents: tuple[int, ...]) -> tuple[float, ...]:
        ball = Ball.of(ObservationBall(radius, agents, norm), n)
        result = evaluate(env, learner, states, episodes=episodes, key=key, attack=attack_of(method, ball, agents),
                          mode=mode, stacked=True)  # fmt: skip
        return tuple(float(v) for v in result.mean)

    clean = tuple(
        float(v) for v in evaluate(env, learner, states, episodes=episodes, key=key, mode=mode, stacked=True).mean
    )
    selection = None
    if victims is not None:
        top = max(radii)
        method = "random" if value_based else "pgd"
        selection = greedy_victims(lambda s: float(np.mean(returns(method, top, s))), n, int(victims))
        sets = selection.sets()
    else:
        sets = _sets(attacked_sets, n)
    one = [jax.tree.map(lambda x, i=i: x[i], team_states) for i in range(seeds)]
    samples = (
        [sample_observations(env, team, s, count=max(int(flip_samples), 1), key=key) for s in one]
        if (flip_samples > 0 and not value_based) or "targeted" in chosen
        else []
    )
    points = []
    for radius in radii:
        for agents in sets:
            for method in chosen:
                if method == ADVERSARIAL and len(agents) > 1:
                    continue  # one victim per adversarial policy (Lin et al. 2020)
                forcing = forcing_clean = None
                if method == "targeted":
                    forcing, forcing_clean = _target_rates(team, one, samples, agents, radius, norm, steps,
                                                           int(target_action))  # fmt: skip
                points.append(AttackPoint(radius, agents, method, returns(method, radius, agents), forcing,
                                          forcing_clean))  # fmt: skip
    flips: dict[int, tuple[float, ...]] = {}
    top_flip = float(flip_max) if flip_max is not None else max(4.0 * max(radii), 1.0)
    if flip_samples > 0 and not value_based:
        for j in range(n):
            values = [flip_search(team, s, obs, j, norm=norm, max_epsilon=top_flip, steps=steps)
                      for s, obs in zip(one, samples, strict=True)]  # fmt: skip
            flips[j] = tuple(np.concatenate(values).tolist())
    notes = [
        f"{episodes} evaluation episodes per seed and point (key {key}, independent of training), {mode} actions; "
        f"pgd/targeted: {steps} steps of 2.5 eps/{steps}; fgsm: one step of eps",
    ]
    if defaulted:
        notes.append(
            "random noise only: the policy is epsilon-greedy over Q-values, piecewise constant in the observation, "
            "so gradient attacks through it are not offered"
        )
    if "targeted" in chosen:
        what = "the clean policy's least likely action" if target_action < 0 else f"action {target_action}"
        notes.append(f"targeted: target = {what}; forcing = share of sampled observations whose greedy action is it")
    if ADVERSARIAL in chosen:
        notes.append(
            f"adversarial: target = the greedy action of an adversarial policy trained ({adversary_steps} env steps "
            "per seed, IPPO) on minus the team reward in the victim's seat, teammates frozen (Lin et al. 2020); "
            "single-agent attacked sets only"
        )
    if flips:
        notes.append(
            f"flip budgets: bisection with {steps}-step PGD on observations of {flip_samples} greedy episode(s) per "
            f"seed, up to {top_flip:g} (upper bounds on the minimal budget; inf = no flip found)"
        )
    return ObservationAttack(
        target=target,
        kind="deep",
        norm=norm,
        clean=clean,
        points=tuple(points),
        victim_single=() if selection is None else selection.single,
        victim_order=() if selection is None else selection.order,
        victim_values=() if selection is None else selection.values,
        victim_epsilon=None if selection is None else max(radii),
        victim_method="" if selection is None else ("random" if value_based else "pgd"),
        flips=flips,
        flip_max=top_flip if flips else None,
        episodes=episodes,
        mode=mode,
        notes=tuple(notes),
    )


def _target_rates(
    team: Any, states: list[Any], samples: list[Any], agents: tuple[int, ...], radius: float, norm: str, steps: int,
    target_action: int,
) -> tuple[float, float]:  # fmt: skip
    """The share of sampled (observation, attacked agent) pairs whose greedy action is the target, attacked and
    clean (the target chosen at the clean observation)."""
    from marlkit.attacks.targets import target_rates

    rates = [
        target_rates(team, s, obs, agents, radius, norm, steps, target_action)
        for s, obs in zip(states, samples, strict=True)
    ]
    return float(np.mean([r[0] for r in rates])), float(np.mean([r[1] for r in rates]))


# ------------------------------------------------------------------------------------------------- plot


def plot_observation_attack(result: ObservationAttack, path: str | os.PathLike[str]) -> Path:
    """Team return vs ε (one line per method and attacked set) and vs M (each method at the largest ε, over the
    attacked sets by size), with the clean return dashed. Raises ``ValueError`` (:class:`NotApplicableError`) when the
    result has no points to draw."""
    if not result.points:
        raise NotApplicableError("plot_observation_attack: the result has no attack points to draw")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from marlkit.diagnose.plots import save_figure

    fig = Figure(figsize=(11.0, 4.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    methods = sorted({p.method for p in result.points})
    sets = sorted({p.attacked for p in result.points}, key=lambda s: (len(s), s))
    for method in methods:
        for agents in sets:
            eps, values = result.curve(method, agents)
            if eps.size:
                left.plot(eps, values, marker="o", label=f"{method} on {{{','.join(map(str, agents))}}}")
    left.axhline(result.clean_mean, ls="--", color="0.4", label="clean")
    left.set_xlabel("budget ε" if result.kind == "deep" else "state radius ε")
    left.set_ylabel("team return (mean over agents)")
    left.set_title("return vs budget")
    left.legend(fontsize=7)
    top = max(p.epsilon for p in result.points)
    for method in methods:
        pts = sorted(
            (p for p in result.points if p.method == method and p.epsilon == top), key=lambda p: len(p.attacked)
        )
        if pts:
            right.plot([len(p.attacked) for p in pts], [p.mean for p in pts], marker="o", label=method)
    right.axhline(result.clean_mean, ls="--", color="0.4", label="clean")
    right.set_xlabel("attacked agents M")
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_title(f"return vs M at ε = {top:g}")
    right.legend(fontsize=7)
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.suptitle(f"Observation attacks: {result.target}", fontsize=10)
    return save_figure(fig, path)
