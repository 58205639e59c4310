"""Parametric human behaviour models on normal-form games, and the registry that names them.

Each model is a frozen dataclass with one shape: ``policy(game, agent, partner_policies=None) -> [A_agent]`` (the
probability the modelled person, in the seat of ``agent``, picks each action), ``name``, ``params()`` and
``to_json()``. ``partner_policies`` is a list with one ``[A_j]`` distribution per player (the entry of ``agent``
itself is ignored); ``None`` means the model's own assumption (uniform partners for the Boltzmann and noisy models;
the hierarchy and QRE models derive what the others play themselves).

The models (equations in docs/human.md):

* :class:`Boltzmann` — π(a) ∝ exp(β U_i(a, σ_-i)) over the expected payoff against the partners (or over given
  values, e.g. Q-values), through :func:`marlkit.human.boltzmann.boltzmann_policy` (Luce 1959; McKelvey & Palfrey
  1995, GEB 10, Eq. 2).
* :class:`NoisyBestResponse` — π = ε/A + (1 - ε) BR, the best response splitting ties evenly (the "trembling"
  ε-greedy human).
* :class:`marlkit.human.hierarchy.LevelK`, :class:`marlkit.human.hierarchy.CognitiveHierarchy` (Nagel 1995;
  Camerer, Ho & Chong 2004, QJE 119).
* :class:`marlkit.human.qre.LogitQRE` (McKelvey & Palfrey 1995).
* :class:`marlkit.human.population.Population` — a finite mixture over any of the above.

Spec strings (:func:`parse_model`): ``NAME`` or ``NAME?key=value&key=value``, e.g. ``boltzmann?beta=2``,
``level-k?k=2&beta=inf``, ``cognitive-hierarchy?tau=1.5``, ``qre?lam=3``, ``noisy-best-response?epsilon=0.1``.
Values are read as JSON numbers (``inf`` allowed). Populations are built in Python (their members are models).

Normal-form games only; a stochastic game's per-state choice with given Q-values is :class:`Boltzmann` with
``values`` (one row of Q), which :func:`marlkit.human.fit.fit_beta` fits over many states at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol, runtime_checkable

import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games.normal_form import NormalFormGame
from marlkit.human.boltzmann import boltzmann_policy, check_beta
from marlkit.registry import Registry


@runtime_checkable
class HumanModel(Protocol):
    """What every human model offers (module docstring)."""

    @property
    def name(self) -> str: ...

    def policy(
        self, game: NormalFormGame, agent: int, partner_policies: Sequence[np.ndarray] | None = None
    ) -> np.ndarray: ...

    def params(self) -> dict[str, float]: ...

    def to_json(self) -> dict[str, Any]: ...


def check_game(game: object) -> NormalFormGame:
    """``game`` if it is a :class:`NormalFormGame`, else :class:`NotApplicableError` (one line)."""
    if not isinstance(game, NormalFormGame):
        raise NotApplicableError(
            f"human models here act in normal-form (matrix) games; got {type(game).__name__} — for a stochastic "
            "game use Boltzmann(values=Q[s]) per state"
        )
    return game


def check_agent(game: NormalFormGame, agent: int) -> int:
    """``agent`` as an int in ``0..n-1``, or :class:`InvalidGameError`."""
    if not isinstance(agent, int | np.integer) or not 0 <= int(agent) < game.n_players:
        raise InvalidGameError(f"agent must be a player index 0..{game.n_players - 1}, got {agent!r}")
    return int(agent)


def uniform_profile(game: NormalFormGame) -> list[np.ndarray]:
    """Every player uniform over its actions."""
    return [np.full(m, 1.0 / m) for m in game.num_actions]


def partners(game: NormalFormGame, partner_policies: Sequence[np.ndarray] | None) -> list[np.ndarray]:
    """``partner_policies`` checked (one distribution per player), or the uniform profile when ``None``."""
    if partner_policies is None:
        return uniform_profile(game)
    if len(partner_policies) != game.n_players:
        raise InvalidGameError(
            f"partner_policies: expected one distribution per player ({game.n_players}), got {len(partner_policies)}"
        )
    return game.check_profile([np.asarray(p, dtype=np.float64) for p in partner_policies])


def expected_payoffs(game: NormalFormGame, agent: int, profile: Sequence[np.ndarray]) -> np.ndarray:
    """``U_agent(a, σ_-agent) [A_agent]``: the agent's expected payoff of each action when every other player j
    plays ``profile[j]`` independently."""
    table = game.payoffs[agent]
    for j in reversed(range(game.n_players)):
        if j != agent:
            table = np.tensordot(table, np.asarray(profile[j], dtype=np.float64), axes=([j], [0]))
    return np.asarray(table, dtype=np.float64)


def best_response_uniform(values: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """The uniform distribution over the maximisers of ``values [A]`` (ties within ``tol`` of the scale split
    evenly)."""
    v = np.asarray(values, dtype=np.float64)
    best = v.max()
    ties = v >= best - tol * max(1.0, abs(best))
    return ties / ties.sum()


@dataclass(frozen=True)
class Boltzmann:
    """Boltzmann-rational (softmax) choice: π(a) ∝ exp(β v(a)), v the expected payoff against the partners or the
    given ``values`` (e.g. Q-values); β = 0 uniform, β = inf greedy (ties split)."""

    beta: float = 1.0
    values: tuple[float, ...] | None = None
    name: str = "boltzmann"

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta", check_beta(self.beta))
        if self.values is not None:
            object.__setattr__(self, "values", tuple(float(v) for v in self.values))

    def policy(
        self, game: NormalFormGame, agent: int, partner_policies: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        game = check_game(game)
        agent = check_agent(game, agent)
        if self.values is not None:
            values = np.asarray(self.values)
            if values.shape != (game.num_actions[agent],):
                raise InvalidGameError(f"values: expected {game.num_actions[agent]} entries, got {values.shape}")
        else:
            values = expected_payoffs(game, agent, partners(game, partner_policies))
        return boltzmann_policy(values, self.beta)

    def params(self) -> dict[str, float]:
        return {"beta": self.beta}

    def to_json(self) -> dict[str, Any]:
        return model_json(self)


@dataclass(frozen=True)
class NoisyBestResponse:
    """ε-noisy best response: π = ε · uniform + (1 - ε) · BR(σ_-i), BR uniform over the maximisers."""

    epsilon: float = 0.1
    name: str = "noisy-best-response"

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", check_probability(self.epsilon, "epsilon"))

    def policy(
        self, game: NormalFormGame, agent: int, partner_policies: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        game = check_game(game)
        agent = check_agent(game, agent)
        values = expected_payoffs(game, agent, partners(game, partner_policies))
        m = len(values)
        return self.epsilon / m + (1.0 - self.epsilon) * best_response_uniform(values)

    def params(self) -> dict[str, float]:
        return {"epsilon": self.epsilon}

    def to_json(self) -> dict[str, Any]:
        return model_json(self)


def check_probability(value: object, name: str) -> float:
    """``value`` as a float in [0, 1], or :class:`InvalidGameError` naming ``name``."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidGameError(f"{name} must be a number in [0, 1], got {value!r}") from None
    if not 0.0 <= x <= 1.0:
        raise InvalidGameError(f"{name} must lie in [0, 1], got {value!r}")
    return x


def check_nonnegative(value: object, name: str, *, allow_inf: bool = True) -> float:
    """``value`` as a float >= 0 (``inf`` only if ``allow_inf``), or :class:`InvalidGameError` naming ``name``."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidGameError(f"{name} must be a number >= 0, got {value!r}") from None
    if not x >= 0 or (math.isinf(x) and not allow_inf):
        raise InvalidGameError(f"{name} must be a {'' if allow_inf else 'finite '}number >= 0, got {value!r}")
    return x


def model_json(model: Any) -> dict[str, Any]:
    """``{"model": name, "params": {...}}`` with non-finite numbers as strings (``"inf"``), so JSON stays strict."""
    params: dict[str, Any] = {}
    for key, value in model.params().items():
        params[key] = value if not isinstance(value, float) or math.isfinite(value) else str(value)
    return {"model": model.name, "params": params, "spec": model_spec(model)}


def model_spec(model: Any) -> str:
    """The spec string that :func:`parse_model` reads back (``boltzmann?beta=2``)."""
    items = "&".join(f"{k}={format_value(v)}" for k, v in model.params().items())
    return f"{model.name}?{items}" if items else model.name


def format_value(value: object) -> str:
    if isinstance(value, float):
        return "inf" if math.isinf(value) else repr(value)
    return str(value)


HUMAN_MODELS: Registry[HumanModel] = Registry(
    "human model", param_error=InvalidGameError, hint="Spec strings look like boltzmann?beta=2."
)
HUMAN_MODELS.add(
    "boltzmann",
    Boltzmann,
    description="softmax of β x expected payoff (β = 0 uniform, inf greedy)",
    citation="Luce 1959; McKelvey & Palfrey 1995, GEB 10, Eq. 2",
    aliases=("softmax", "noisily-rational"),
)
HUMAN_MODELS.add(
    "noisy-best-response",
    NoisyBestResponse,
    description="ε uniform + (1 - ε) best response (ties split)",
    aliases=("epsilon-best-response", "nbr"),
)
HUMAN_MODELS.add(
    "level-k",
    "marlkit.human.hierarchy:LevelK",
    description="level 0 uniform (or an anchor); level k responds to level k-1",
    citation="Nagel 1995, AER 85; Stahl & Wilson 1995, GEB 10",
)
HUMAN_MODELS.add(
    "cognitive-hierarchy",
    "marlkit.human.hierarchy:CognitiveHierarchy",
    description="Poisson(τ) levels; level k best-responds to the normalised mixture of lower levels",
    citation="Camerer, Ho & Chong 2004, QJE 119, Eq. 1-2",
    aliases=("ch", "poisson-ch"),
)
HUMAN_MODELS.add(
    "qre",
    "marlkit.human.qre:LogitQRE",
    description="logit quantal response equilibrium at precision λ (the principal branch)",
    citation="McKelvey & Palfrey 1995, GEB 10",
    aliases=("logit-qre",),
)
HUMAN_MODELS.add(
    "population",
    "marlkit.human.population:Population",
    description="a finite mixture of human models (the diversity of people)",
)


def parse_value(key: str, raw: str) -> object:
    """A spec value: ``inf``, a number, or the raw string."""
    text = raw.strip()
    if text.lower() in ("inf", "+inf", "infinity"):
        return math.inf
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if key in ("k", "max_level") and number.is_integer() else number


def parse_spec(text: str, what: str, example: str) -> tuple[str, dict[str, object]]:
    """``NAME?key=value&...`` -> ``(NAME, {key: value})`` (values read by :func:`parse_value`); ``what`` and
    ``example`` word the error.

    Raises:
        InvalidGameError: a malformed ``key=value``.
    """
    name, _, query = text.partition("?")
    params: dict[str, object] = {}
    for item in filter(None, query.split("&")):
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InvalidGameError(f"{what}: expected key=value after '?', e.g. {example}")
        params[key.strip()] = parse_value(key.strip(), raw)
    return name.strip(), params


def parse_model(spec: str) -> HumanModel:
    """A model from a spec string ``NAME?key=value&...`` (module docstring); ``human-model:`` prefix allowed.

    Raises:
        UnknownNameError: no model of that name (close matches suggested).
        InvalidGameError: a malformed ``key=value``, an unknown parameter, or a value out of range (β < 0, ...).
    """
    text = spec.strip()
    if text.startswith("human-model:"):
        text = text[len("human-model:") :]
    name, params = parse_spec(text, f"human model spec {spec!r}", "boltzmann?beta=2")
    if HUMAN_MODELS.resolve(name) == "population":
        raise InvalidGameError("a population is built in Python (Population(members, weights)), not from a spec")
    return HUMAN_MODELS.make(name, **params)


def dataclass_params(model: Any, skip: Sequence[str] = ("name",)) -> dict[str, Any]:
    """A model dataclass's scalar fields (for :meth:`params`)."""
    return {f.name: getattr(model, f.name) for f in fields(model) if f.name not in skip}


__all__ = [
    "HUMAN_MODELS",
    "Boltzmann",
    "HumanModel",
    "NoisyBestResponse",
    "best_response_uniform",
    "check_agent",
    "check_game",
    "check_nonnegative",
    "check_probability",
    "dataclass_params",
    "expected_payoffs",
    "model_json",
    "model_spec",
    "parse_model",
    "parse_spec",
    "partners",
    "uniform_profile",
]
