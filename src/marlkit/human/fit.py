"""Maximum-likelihood fits of human models to recorded choices, with profile-likelihood confidence intervals, and
behaviour cloning of a tabular policy.

Every fit maximises a one-parameter log-likelihood ℓ(θ) = Σ_choices log P_θ(choice) (the data enter as action
counts; fractional counts, e.g. frequencies x sample size, are allowed):

* Boltzmann β (:func:`fit_beta`, :func:`fit_boltzmann`): ℓ(β) = Σ_k Σ_a c_ka (β v_ka - log Σ_b exp(β v_kb)) over
  choice situations k (a matrix game against the partner's empirical or given play is one situation; a stochastic
  game gives one per state, with Q-values). ℓ is **concave** in β: log-sum-exp of an affine function of β is convex,
  so ℓ is linear minus convex; explicitly ℓ''(β) = -Σ_k n_k Var_{π_k}(v_k) <= 0. So the maximiser is unique
  (or at β = 0 / β -> ∞) and the profile-likelihood interval is an interval.
* logit QRE λ (:func:`fit_qre`): ℓ(λ) = Σ_i Σ_a c_ia log σ_i^λ(a), σ^λ the principal-branch QRE
  (:mod:`marlkit.human.qre`), all players jointly — McKelvey & Palfrey 1995 (GEB 10, §4), as Gambit's
  ``logit_estimate``.
* Poisson cognitive hierarchy τ (:func:`fit_cognitive_hierarchy`): ℓ(τ) over the players' CH choice probabilities
  (Camerer, Ho & Chong 2004, §III's maximum-likelihood estimation). With best responses, ℓ can jump where a
  level's best response switches (the estimate and an interval end can then sit on a jump); the grid finds the
  basin, and ``beta`` (Boltzmann levels) makes ℓ smooth.
* ε-noisy best response (:func:`fit_noisy_best_response`): ℓ(ε) = Σ_a c_a log(ε/A + (1 - ε) BR(a)), concave in ε.

The optimiser: ℓ on a grid (to find the basin), then :func:`scipy.optimize.minimize_scalar` (bounded) between the
grid neighbours of the best grid point. The 95% interval is the profile-likelihood (likelihood-ratio) set
{θ : ℓ(θ) >= ℓ(θ̂) - χ²_1(0.95)/2}, χ²_1(0.95)/2 = 1.9207, with its ends found by :func:`scipy.optimize.brentq`.
**Too little data**: when the interval reaches an artificial search bound (β, λ, τ -> ∞: the data are consistent
with arbitrarily sharp play), or covers the whole range of ε, or there are no decisions, the parameter is not
identified: the fit raises :class:`NotApplicableError` (``strict=True``, the default) or returns a result with
``identified = False`` and the reason — never a silent wild estimate.

Behaviour cloning (:func:`behaviour_clone`): π(a | s) = (c_sa + α) / (n_s + α A), the posterior mean under a
symmetric Dirichlet(α) prior (α = 1: Laplace smoothing); unvisited states get the uniform prior.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games.normal_form import NormalFormGame
from marlkit.human.boltzmann import boltzmann_policy
from marlkit.human.models import best_response_uniform, check_agent, check_game, expected_payoffs

LR_DROP = 1.920729410347062
"""χ²_1(0.95) / 2: the drop in log-likelihood that bounds the 95% profile-likelihood interval."""
SHARP = 50.0
"""The search cap of β and λ is SHARP / (payoff spread): at β Δ = 50 choice odds are e^50, indistinguishable from
greedy play in any feasible data set."""
TAU_MAX = 10.0
"""The search cap of τ (Camerer, Ho & Chong 2004 report τ between 0 and about 5)."""
_VERY_LOW = -1e100


@dataclass(frozen=True)
class FitResult:
    """A one-parameter maximum-likelihood fit.

    Attributes:
        model, parameter: e.g. ``"boltzmann"``, ``"beta"``.
        estimate: θ̂ (``None`` when not identified).
        ci_low, ci_high: the 95% profile-likelihood interval (``None`` on a side that is unbounded).
        log_likelihood: ℓ(θ̂) (at the best point searched when not identified).
        n: decisions (sum of counts) used.
        identified: False when the data cannot pin θ down (module docstring); ``message`` says why.
        standard_error: 1 / sqrt(-ℓ''(θ̂)) (the observed Fisher information; ``None`` where ℓ'' >= 0 or at a bound).
        search: ``[low, high]`` of θ searched.
        extra: model-specific details (the fitted choice probabilities, the agent).
    """

    model: str
    parameter: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    log_likelihood: float
    n: float
    identified: bool = True
    message: str = ""
    standard_error: float | None = None
    search: tuple[float, float] = (0.0, math.inf)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def aic(self) -> float:
        """Akaike's information criterion 2k - 2ℓ (k = 1 parameter)."""
        return 2.0 - 2.0 * self.log_likelihood

    def to_json(self) -> dict[str, Any]:
        def num(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else float(x)

        return {
            "model": self.model,
            "parameter": self.parameter,
            "estimate": num(self.estimate),
            "ci95": [num(self.ci_low), num(self.ci_high)],
            "standard_error": num(self.standard_error),
            "log_likelihood": num(self.log_likelihood),
            "aic": num(self.aic),
            "n_decisions": int(self.n) if float(self.n).is_integer() else float(self.n),
            "identified": self.identified,
            "message": self.message,
            "search": [num(self.search[0]), num(self.search[1])],
            **{k: v for k, v in self.extra.items()},
        }

    def lines(self) -> list[str]:
        if not self.identified:
            return [f"{self.model}: {self.parameter} not identified — {self.message}"]

        def fmt(x: float | None) -> str:
            return "unbounded" if x is None else f"{x:.4g}"

        se = "" if self.standard_error is None else f", s.e. {self.standard_error:.3g}"
        return [
            f"{self.model}: {self.parameter} = {self.estimate:.4g} (95% CI {fmt(self.ci_low)} .. {fmt(self.ci_high)}"
            f"{se}); log-likelihood {self.log_likelihood:.4f}, AIC {self.aic:.3f}, {self.n:g} decisions"
        ]


def check_counts(counts: Any, shape: tuple[int, ...], name: str = "counts") -> np.ndarray:
    """``counts`` as float64 of ``shape``, finite and >= 0, or :class:`InvalidGameError`."""
    c = np.asarray(counts, dtype=np.float64)
    if c.shape != shape:
        raise InvalidGameError(f"{name}: expected shape {shape}, got {c.shape}")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise InvalidGameError(f"{name}: action counts must be finite numbers >= 0")
    return c


def profile_fit(
    loglik: Callable[[float], float],
    grid: np.ndarray,
    *,
    model: str,
    parameter: str,
    n: float,
    soft_low: bool,
    soft_high: bool,
    strict: bool,
    extra: Callable[[float], dict[str, Any]] | None = None,
) -> FitResult:
    """Maximise ``loglik`` over ``[grid[0], grid[-1]]`` and bound its 95% profile-likelihood interval (module
    docstring). ``soft_low`` / ``soft_high``: that end is an artificial cap (reaching it means not identified)."""
    from scipy.optimize import brentq, minimize_scalar

    grid = np.asarray(grid, dtype=np.float64)
    lo, hi = float(grid[0]), float(grid[-1])

    def ll(x: float) -> float:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            value = float(loglik(float(x)))
        return value if math.isfinite(value) else _VERY_LOW

    values = np.array([ll(x) for x in grid])
    best = int(np.argmax(values))
    theta, top = float(grid[best]), float(values[best])
    a, b = float(grid[max(best - 1, 0)]), float(grid[min(best + 1, len(grid) - 1)])
    if b > a:
        result = minimize_scalar(
            lambda x: -ll(x), bounds=(a, b), method="bounded", options={"xatol": 1e-10 * max(1.0, abs(theta))}
        )
        if -float(result.fun) > top:
            theta, top = float(result.x), -float(result.fun)
    threshold = top - LR_DROP

    def end(side: int) -> float | None:
        """The interval's end on the left (-1) or right (+1) of θ̂, or None if it reaches the search bound."""
        outer = lo if side < 0 else hi
        if ll(outer) >= threshold:
            return None
        points = grid[grid < theta] if side < 0 else grid[grid > theta]
        below = [x for x in (points[::-1] if side < 0 else points) if values[np.searchsorted(grid, x)] < threshold]
        far = float(below[0]) if below else outer
        return float(brentq(lambda x: ll(x) - threshold, *sorted((far, theta)), xtol=1e-12, rtol=1e-12))

    low_end, high_end = end(-1), end(+1)
    reasons = []
    if n <= 0:
        reasons.append("there are no decisions to fit")
    if low_end is None and high_end is None:
        reasons.append(
            f"the log-likelihood is flat within {LR_DROP:.2f} over the whole range searched [{lo:g}, {hi:g}]"
        )
    elif high_end is None and soft_high:
        reasons.append(
            f"the 95% interval reaches the search cap {parameter} = {hi:g}: the data are consistent with "
            "arbitrarily sharp (greedy) play"
        )
    elif low_end is None and soft_low:
        reasons.append(f"the 95% interval reaches the search bound {parameter} = {lo:g}")
    identified = not reasons
    message = ""
    if not identified:
        message = (
            f"too little data to identify {parameter}: {'; '.join(reasons)}; record more (or more varied) "
            "decisions, or fix the parameter"
        )
        if strict:
            raise NotApplicableError(f"{model}: {message}")
    se = None
    h = 1e-4 * max(1.0, abs(theta))
    if identified and lo < theta - h and theta + h < hi:
        curvature = (ll(theta + h) - 2 * top + ll(theta - h)) / h**2
        se = 1.0 / math.sqrt(-curvature) if curvature < 0 else None
    return FitResult(
        model=model,
        parameter=parameter,
        estimate=theta if identified else None,
        ci_low=(lo if low_end is None else low_end) if identified else low_end,
        ci_high=(hi if high_end is None else high_end) if identified and not soft_high else high_end,
        log_likelihood=top,
        n=float(n),
        identified=identified,
        message=message,
        standard_error=se,
        search=(lo, hi),
        extra=extra(theta) if extra is not None else {},
    )


def value_spread(values: np.ndarray) -> float:
    """The largest difference between two values in one choice situation (1 if all rows are constant)."""
    spread = float(np.max(np.ptp(values, axis=-1))) if values.size else 0.0
    return spread if spread > 0 else 1.0


def sharp_grid(spread: float, points: int = 80) -> np.ndarray:
    """0 and a geometric grid up to SHARP / spread (β or λ)."""
    cap = SHARP / spread
    return np.concatenate([[0.0], np.geomspace(cap * 1e-4, cap, points - 1)])


def beta_loglik(values: np.ndarray, counts: np.ndarray, beta: float) -> float:
    """ℓ(β) = Σ_k Σ_a c_ka log π_β(a | k), π_β = boltzmann_policy(values, β)."""
    pi = boltzmann_policy(values, beta)
    return float(np.sum(np.where(counts > 0, counts * np.log(pi), 0.0)))


def fit_beta(values: Any, counts: Any, *, strict: bool = True, model: str = "boltzmann") -> FitResult:
    """Fit β of a Boltzmann chooser from ``values [K, A]`` (e.g. Q-values of the K states visited, or one row of
    expected payoffs) and the action ``counts [K, A]`` chosen there (module docstring; ℓ concave in β)."""
    v = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if not np.all(np.isfinite(v)):
        raise InvalidGameError("values: must be finite")
    c = check_counts(np.atleast_2d(counts), v.shape)
    return profile_fit(
        lambda beta: beta_loglik(v, c, beta),
        sharp_grid(value_spread(v[c.sum(axis=1) > 0] if c.sum() > 0 else v)),
        model=model,
        parameter="beta",
        n=float(c.sum()),
        soft_low=False,
        soft_high=True,
        strict=strict,
        extra=lambda beta: {"probabilities": boltzmann_policy(v, beta).tolist()},
    )


def empirical_profile(counts: Sequence[Any], game: NormalFormGame) -> list[np.ndarray]:
    """Each player's empirical mixed strategy (uniform for a player with no recorded decision)."""
    profile = []
    for i, m in enumerate(game.num_actions):
        c = check_counts(counts[i], (m,), f"counts[{i}]")
        profile.append(c / c.sum() if c.sum() > 0 else np.full(m, 1.0 / m))
    return profile


def partner_profile(
    game: NormalFormGame, counts: Sequence[Any], partner_policies: Sequence[Any] | None
) -> list[np.ndarray]:
    """The partners' play the fitted agent responds to: ``partner_policies`` if given, else their empirical play
    (for n > 2, the product of the others' empirical marginals)."""
    if partner_policies is not None:
        return game.check_profile([np.asarray(p, dtype=np.float64) for p in partner_policies])
    return empirical_profile(counts, game)


def fit_boltzmann(
    game: NormalFormGame,
    counts: Sequence[Any],
    agent: int,
    partner_policies: Sequence[Any] | None = None,
    *,
    strict: bool = True,
) -> FitResult:
    """β of ``agent``'s Boltzmann response to the partners' empirical play (or ``partner_policies``), from every
    player's action ``counts`` (list of ``[A_i]``)."""
    game = check_game(game)
    agent = check_agent(game, agent)
    profile = partner_profile(game, counts, partner_policies)
    values = expected_payoffs(game, agent, profile)
    result = fit_beta(values[None], np.asarray(counts[agent], dtype=np.float64)[None], strict=strict)
    return with_extra(result, agent=agent, expected_payoffs=values.tolist())


def with_extra(result: FitResult, **extra: Any) -> FitResult:
    """``result`` with more ``extra`` entries."""
    from dataclasses import replace

    return replace(result, extra={**result.extra, **extra})


def fit_noisy_best_response(
    game: NormalFormGame,
    counts: Sequence[Any],
    agent: int,
    partner_policies: Sequence[Any] | None = None,
    *,
    strict: bool = True,
) -> FitResult:
    """ε of ``agent``'s ε-noisy best response to the partners' empirical play (or ``partner_policies``)."""
    game = check_game(game)
    agent = check_agent(game, agent)
    profile = partner_profile(game, counts, partner_policies)
    c = check_counts(counts[agent], (game.num_actions[agent],), f"counts[{agent}]")
    values = expected_payoffs(game, agent, profile)
    br = best_response_uniform(values)
    m = len(values)

    def ll(eps: float) -> float:
        p = eps / m + (1 - eps) * br
        return float(np.sum(np.where(c > 0, c * np.log(p), 0.0)))

    result = profile_fit(
        ll,
        np.linspace(0.0, 1.0, 201),
        model="noisy-best-response",
        parameter="epsilon",
        n=float(c.sum()),
        soft_low=False,
        soft_high=False,
        strict=strict,
        extra=lambda eps: {"probabilities": (eps / m + (1 - eps) * br).tolist()},
    )
    return with_extra(result, agent=agent, expected_payoffs=values.tolist())


def joint_counts(game: NormalFormGame, counts: Sequence[Any], agents: Sequence[int] | None) -> list[np.ndarray]:
    """Every player's counts checked; players not in ``agents`` get zero counts (they do not enter ℓ)."""
    checked = [check_counts(counts[i], (m,), f"counts[{i}]") for i, m in enumerate(game.num_actions)]
    if len(counts) != game.n_players:
        raise InvalidGameError(f"counts: expected one array per player ({game.n_players}), got {len(counts)}")
    if agents is None:
        return checked
    keep = {check_agent(game, a) for a in agents}
    return [c if i in keep else np.zeros_like(c) for i, c in enumerate(checked)]


def profile_loglik(profile: Sequence[np.ndarray], counts: Sequence[np.ndarray]) -> float:
    """Σ_i Σ_a c_ia log σ_i(a)."""
    return float(sum(np.sum(np.where(c > 0, c * np.log(p), 0.0)) for p, c in zip(profile, counts, strict=True)))


def fit_qre(
    game: NormalFormGame, counts: Sequence[Any], *, agents: Sequence[int] | None = None, strict: bool = True
) -> FitResult:
    """λ of the logit QRE from every player's action counts jointly (module docstring)."""
    from marlkit.human.qre import QRESolver

    game = check_game(game)
    c = joint_counts(game, counts, agents)
    solver = QRESolver(game)
    spread = value_spread(game.payoffs.reshape(game.n_players, -1))
    return profile_fit(
        lambda lam: profile_loglik(solver.at(lam), c),
        sharp_grid(spread, 60),
        model="qre",
        parameter="lambda",
        n=float(sum(x.sum() for x in c)),
        soft_low=False,
        soft_high=True,
        strict=strict,
        extra=lambda lam: {"profile": [p.tolist() for p in solver.at(lam)]},
    )


def fit_cognitive_hierarchy(
    game: NormalFormGame,
    counts: Sequence[Any],
    *,
    agents: Sequence[int] | None = None,
    beta: float = math.inf,
    strict: bool = True,
) -> FitResult:
    """τ of the Poisson cognitive hierarchy (best responses, or Boltzmann responses at ``beta``) from the action
    counts of ``agents`` (default: every player, jointly)."""
    from marlkit.human.hierarchy import CognitiveHierarchy

    game = check_game(game)
    c = joint_counts(game, counts, agents)
    grid = np.concatenate([[0.0], np.geomspace(1e-3, TAU_MAX, 79)])
    return profile_fit(
        lambda tau: profile_loglik(CognitiveHierarchy(tau, beta=beta).profile(game), c),
        grid,
        model="cognitive-hierarchy",
        parameter="tau",
        n=float(sum(x.sum() for x in c)),
        soft_low=False,
        soft_high=True,
        strict=strict,
        extra=lambda tau: {"profile": [p.tolist() for p in CognitiveHierarchy(tau, beta=beta).profile(game)]},
    )


FITTERS = ("boltzmann", "qre", "cognitive-hierarchy", "noisy-best-response")
"""The models :func:`fit_model` fits by name."""


def fit_model(
    name: str,
    game: NormalFormGame,
    counts: Sequence[Any],
    *,
    agent: int | None = None,
    partner_policies: Sequence[Any] | None = None,
    strict: bool = True,
) -> FitResult:
    """Fit the model ``name`` (one of :data:`FITTERS`). ``agent``: whose choices the Boltzmann and noisy-best-
    response models fit (default 0); for QRE and CH, restricts the likelihood to that player (default: all)."""
    from marlkit.registry import normalise, unknown_name

    key = normalise(name)
    if key == "boltzmann":
        return fit_boltzmann(game, counts, 0 if agent is None else agent, partner_policies, strict=strict)
    if key == "noisy-best-response":
        return fit_noisy_best_response(game, counts, 0 if agent is None else agent, partner_policies, strict=strict)
    agents = None if agent is None else [agent]
    if key == "qre":
        return fit_qre(game, counts, agents=agents, strict=strict)
    if key == "cognitive-hierarchy":
        return fit_cognitive_hierarchy(game, counts, agents=agents, strict=strict)
    raise InvalidGameError(unknown_name("fittable model", name, [*FITTERS, "all"]))


@dataclass(frozen=True)
class ModelComparison:
    """Several models fitted to the same play log, compared by log-likelihood and AIC (lower AIC is better).

    The log-likelihoods are comparable only over the same decisions: Boltzmann and noisy best response score one
    agent's choices, QRE and CH score every player's unless ``agent`` restricts them (then all score that agent).
    """

    fits: tuple[FitResult, ...]
    agent: int | None

    def best(self) -> list[str]:
        """The identified models with the lowest AIC (several when they tie within 1e-6: e.g. any one-parameter
        model reproduces the frequencies of a two-action choice exactly, so such data cannot tell them apart)."""
        ranked = sorted((f for f in self.fits if f.identified), key=lambda f: f.aic)
        return [f.model for f in ranked if f.aic <= ranked[0].aic + 1e-6] if ranked else []

    def to_json(self) -> dict[str, Any]:
        best = self.best()
        return {
            "agent": self.agent,
            "fits": [f.to_json() for f in self.fits],
            "best_by_aic": best[0] if len(best) == 1 else None,
            "tied_by_aic": best if len(best) > 1 else [],
        }

    def lines(self) -> list[str]:
        out = [f"{'model':<22} {'param':<8} {'estimate':>9} {'95% CI':>21} {'log-lik':>10} {'AIC':>9}"]
        for f in self.fits:
            if not f.identified:
                out.append(
                    f"{f.model:<22} {f.parameter:<8} {'—':>9} {'not identified':>21} {f.log_likelihood:>10.3f} {'—':>9}"
                )
                continue
            hi = "inf" if f.ci_high is None else f"{f.ci_high:.4g}"
            ci = f"[{f.ci_low:.4g}, {hi}]"
            out.append(
                f"{f.model:<22} {f.parameter:<8} {f.estimate:>9.4g} {ci:>21} {f.log_likelihood:>10.3f} {f.aic:>9.3f}"
            )
        best = self.best()
        if len(best) == 1:
            out.append(f"best by AIC: {best[0]}")
        elif best:
            out.append(
                f"tied by AIC: {', '.join(best)} (the same maximum likelihood: these data do not tell them apart; "
                "more actions or more choice situations may)"
            )
        else:
            out.append("no model is identified by these data")
        return out


def compare_models(
    game: NormalFormGame, counts: Sequence[Any], *, agent: int | None = None, models: Sequence[str] = FITTERS
) -> ModelComparison:
    """Fit every model in ``models`` (non-strict: an unidentified one is listed as such)."""
    scored_agent = agent
    if scored_agent is None and game.n_players > 1:
        scored_agent = 0  # every model scores the same decisions (see ModelComparison)
    return ModelComparison(
        tuple(fit_model(m, game, counts, agent=scored_agent, strict=False) for m in models), scored_agent
    )


def behaviour_clone(
    states: Any, actions: Any, num_states: int, num_actions: int, *, alpha: float = 1.0, mask: Any | None = None
) -> np.ndarray:
    """``π [S, A]``: the tabular policy (c_sa + α) / (n_s + α A_s) from visited ``states [N]`` and chosen
    ``actions [N]`` (module docstring); ``mask [S, A]`` restricts each state to its legal actions."""
    from marlkit.human.models import check_nonnegative

    alpha = check_nonnegative(alpha, "alpha", allow_inf=False)
    s = np.asarray(states, dtype=np.int64).reshape(-1)
    a = np.asarray(actions, dtype=np.int64).reshape(-1)
    if s.shape != a.shape:
        raise InvalidGameError(f"states and actions must have the same length, got {s.size} and {a.size}")
    if s.size and (s.min() < 0 or s.max() >= num_states or a.min() < 0 or a.max() >= num_actions):
        raise InvalidGameError(f"states must lie in 0..{num_states - 1} and actions in 0..{num_actions - 1}")
    legal = np.ones((num_states, num_actions), bool) if mask is None else np.asarray(mask, bool)
    counts = np.zeros((num_states, num_actions))
    np.add.at(counts, (s, a), 1.0)
    if np.any(counts[~legal] > 0):
        raise InvalidGameError("actions: a recorded action is illegal in its state (mask)")
    weights = np.where(legal, counts + alpha, 0.0)
    totals = weights.sum(axis=1, keepdims=True)
    uniform = legal / legal.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, weights / np.where(totals > 0, totals, 1.0), uniform)


def clone_from_log(log: Any, agent: int, *, alpha: float = 1.0, mask: Any | None = None) -> np.ndarray:
    """``π [S, A_agent]``: :func:`behaviour_clone` of ``agent``'s recorded choices in a
    :class:`~marlkit.human.playlog.PlayLog` (states and action counts from its header)."""
    header = log.header["game"]
    n = int(header["n_players"])
    if isinstance(agent, bool) or not isinstance(agent, int) or not 0 <= agent < n:
        raise InvalidGameError(f"agent must be a player index 0..{n - 1}, got {agent!r}")
    num_states, num_actions = int(header.get("num_states", 1)), int(header["num_actions"][agent])
    return behaviour_clone(log.states, log.actions[:, agent], num_states, num_actions, alpha=alpha, mask=mask)


__all__ = [
    "FITTERS",
    "LR_DROP",
    "FitResult",
    "ModelComparison",
    "behaviour_clone",
    "beta_loglik",
    "clone_from_log",
    "compare_models",
    "empirical_profile",
    "fit_beta",
    "fit_boltzmann",
    "fit_cognitive_hierarchy",
    "fit_model",
    "fit_noisy_best_response",
    "fit_qre",
    "profile_fit",
]
