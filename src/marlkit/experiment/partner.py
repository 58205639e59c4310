"""The ``partner`` section of a deep run: a frozen partner inside the env (human-aware training, docs/human.md).

``partner: {agents: [agent_1], policy: SOURCE}`` trains the run's learner on
:func:`marlkit.envs.partner.with_partner` ``(env, partner, agents)``: the partner's agents act by a frozen policy as
part of the env, the learner controls the other agents (Carroll et al. 2019, §5). ``SOURCE`` is one of

* a human model, ``human-model:SPEC`` or just ``SPEC`` (``boltzmann?beta=0.1``, ``level-k?k=2``,
  :func:`marlkit.human.models.parse_model`), on an exact matrix game (one state): agent ``i`` of the partner plays
  ``model.policy(stage_game, i)`` at every step (:class:`~marlkit.envs.partner.TablePartner`);
* a list of such specs: a population (:class:`marlkit.human.population.Population`, ``weights`` or uniform), whose
  person plays the mixture Σ_m w_m π_m at every step;
* a list of partner sources of which some is not a human model (on a task, e.g. ``[greedy-human?beta_goal=0.5,
  greedy-human?beta_goal=5]``): a **population drawn per episode** (:class:`marlkit.envs.partner.PopulationPartner`):
  each episode one member, drawn by ``weights`` (>= 0, summing to 1; default uniform) from the episode's reset key,
  plays the whole episode (Strouse et al. 2021's Fictitious Co-Play and Zhao et al. 2023's MEP train with such
  populations). A list of human models on a task is not a population of tables (they need a matrix game);
* ``greedy-human[?beta_goal=B&beta_action=B]``: the cooking task's greedy human
  (:class:`marlkit.envs.cooking.GreedyHuman`, overcooked-ai's GreedyHumanModel);
* ``fixed:NAME[?key=value]``: a fixed policy (``fixed:uniform``, ``fixed:action?index=2``);
* a policy file (``.mkp``) or a finished run directory (training seed index ``seed``): a trained memory-less policy
  (:class:`marlkit.policies.frozen.ActorPartner`).

On an exact game with a tabular partner (a human model or a population) the learners face an exact game of their
own (:func:`marlkit.envs.partner.partner_game`), so the run records policy tables and is diagnosed against it: a
best response to the partner is its Nash equilibrium. The resolved section (what the run's ``config.yaml`` keeps)
names agents by index and human models by their full spec.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from marlkit.errors import MarlkitError, NotApplicableError, UnknownNameError
from marlkit.schema import ConfigError

if TYPE_CHECKING:
    from marlkit.envs.base import MultiAgentEnv
    from marlkit.envs.partner import Partner, WithPartner
    from marlkit.experiment.config import PartnerConfig

GREEDY_HUMAN = "greedy-human"
HUMAN_PREFIX = "human-model:"
FIXED_PREFIX = "fixed:"


def human_table(model: Any, env: MultiAgentEnv, agents: Sequence[int], what: str) -> np.ndarray:
    """The policy table ``[n, S, A_max]`` (float32) whose rows for ``agents`` are ``model``'s policy in the stage
    game of ``env``'s exact matrix game (other rows zero).

    Raises:
        NotApplicableError: ``env`` is not a matrix game's env (one state).
    """
    from marlkit.envs.games import GameEnv
    from marlkit.games.views import num_states, stage_game

    game = env.game if isinstance(env, GameEnv) else None
    if game is None or num_states(game) != 1:
        kind = f"the task {env.spec.name}" if game is None else f"{game.name!r}, a game of several states,"
        raise NotApplicableError(
            f"{what}: human models act in matrix games (one state); {kind} is not one — use game: NAME of a matrix "
            f"game, or {GREEDY_HUMAN} on the cooking task, or a trained policy"
        )
    stage = stage_game(game)
    spec = env.spec
    table = np.zeros((spec.n_agents, spec.global_state_size, spec.max_actions), np.float32)
    for i in agents:
        table[i, :, : spec.num_actions[i]] = np.asarray(model.policy(stage, i), np.float32)
    return table


def is_human_spec(text: str) -> bool:
    """Whether ``text`` names a human model (``human-model:SPEC``, or a registered model's name before ``?``)."""
    from marlkit.human.models import HUMAN_MODELS

    if text.startswith(HUMAN_PREFIX):
        return True
    return text.partition("?")[0].strip() in HUMAN_MODELS


def human_model(source: str | Sequence[str], weights: Sequence[float] | None, what: str) -> tuple[Any, Any]:
    """``(model, resolved source)`` of a human-model spec or a list of them (a population)."""
    from marlkit.human.models import model_spec, parse_model
    from marlkit.human.population import Population

    try:
        if isinstance(source, str):
            model = parse_model(source)
            return model, HUMAN_PREFIX + model_spec(model)
        members = tuple(parse_model(s) for s in source)
        population = Population(members, None if weights is None else tuple(weights))
        return population, tuple(HUMAN_PREFIX + model_spec(m) for m in members)
    except MarlkitError as exc:
        raise type(exc)(f"{what}: {exc}") from None


def make_partner(
    config: PartnerConfig, env: MultiAgentEnv, base: Path | None = None
) -> tuple[Partner, tuple[int, ...], Any, str]:
    """``(partner, partner agents, resolved policy source, label)`` of a ``partner`` section on ``env`` (module
    docstring); ``base`` resolves relative paths (the config's folder).

    Raises:
        ConfigError / InvalidGameError / NotApplicableError / UnknownNameError / PolicyFileError: one line naming
        ``partner.agents`` or ``partner.policy``.
    """
    from marlkit.envs.partner import TablePartner
    from marlkit.policies.partners import parse_agents

    spec = env.spec
    agents = parse_agents(",".join(str(a) for a in config.agents), spec, "partner.agents")
    if len(agents) >= spec.n_agents:
        raise ConfigError(
            f"partner.agents: {list(config.agents)} takes every agent of {spec.name}; leave the learner at least one"
        )
    what = "partner.policy"
    source = config.policy
    if config.weights is not None and isinstance(source, str):
        raise ConfigError("partner.weights: weights go with a population (partner.policy: a list of partners)")
    if not isinstance(source, str) and not all(is_human_spec(s) for s in source):
        return _episode_population(config, source, env, agents, base)
    if not isinstance(source, str) or is_human_spec(source):
        model, resolved = human_model(source, config.weights, what)
        table = human_table(model, env, agents, what)
        label = resolved if isinstance(resolved, str) else "population(" + ", ".join(resolved) + ")"
        return TablePartner(table), agents, resolved, label
    text = source.strip()
    if text.split("?")[0].strip().lower() == GREEDY_HUMAN:
        return _greedy_human(text, env), agents, text, text
    if text.startswith(FIXED_PREFIX):
        from marlkit.policies.frozen import player_partner
        from marlkit.policies.partners import fixed_player

        try:
            player = fixed_player(text, spec, agents)
        except MarlkitError as exc:
            raise type(exc)(f"{what}: {exc}") from None
        return player_partner(player, env), agents, text, text
    return _trained_partner(text, config.seed, env, agents, base)


def population_weights(weights: Sequence[float] | None, count: int, path: str = "partner.weights") -> tuple[float, ...]:
    """A per-episode population's weights: ``count`` numbers >= 0 summing to 1 (1e-6), uniform when None.

    Raises:
        ConfigError: one line naming ``path``.
    """
    if weights is None:
        return tuple(1.0 / count for _ in range(count))
    w = np.asarray(weights, np.float64)
    if w.shape != (count,):
        raise ConfigError(f"{path}: expected {count} weights, one per member of partner.policy, got {len(weights)}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ConfigError(f"{path}: weights must be numbers >= 0, got {list(weights)}")
    if abs(w.sum() - 1.0) > 1e-6:
        raise ConfigError(f"{path}: weights must sum to 1, got {list(weights)} (sum {w.sum():.6g})")
    return tuple(float(x) for x in w)


def _episode_population(
    config: PartnerConfig, source: Sequence[str], env: MultiAgentEnv, agents: tuple[int, ...], base: Path | None
) -> tuple[Partner, tuple[int, ...], Any, str]:
    """A population drawn per episode (module docstring): every member resolved as a partner of its own."""
    from dataclasses import replace

    from marlkit.envs.partner import PopulationPartner

    weights = population_weights(config.weights, len(source))
    members, resolved, labels = [], [], []
    for k, text in enumerate(source):
        try:
            partner, _, member_source, label = make_partner(replace(config, policy=text, weights=None), env, base)
        except MarlkitError as exc:
            message = str(exc).removeprefix("partner.policy: ")
            raise type(exc)(f"partner.policy[{k}]: {message}") from None
        members.append(partner)
        resolved.append(member_source)
        labels.append(label)
    population = PopulationPartner(tuple(members), weights)
    label = "population(" + ", ".join(f"{w:.3g} {name}" for w, name in zip(weights, labels, strict=True)) + ")"
    return population, agents, tuple(resolved), label


def _greedy_human(text: str, env: MultiAgentEnv) -> Partner:
    from marlkit.envs.cooking import Cooking, GreedyHuman
    from marlkit.human.models import parse_spec

    if not isinstance(env, Cooking):
        raise NotApplicableError(
            f"partner.policy: {GREEDY_HUMAN} plays the cooking task (env: cooking), not {env.spec.name}"
        )
    _, params = parse_spec(text, f"partner.policy {text!r}", f"{GREEDY_HUMAN}?beta_goal=1&beta_action=3")
    unknown = sorted(set(params) - {"beta_goal", "beta_action"})
    if unknown:
        raise ConfigError(f"partner.policy: {GREEDY_HUMAN} takes beta_goal and beta_action, not {', '.join(unknown)}")
    try:
        return GreedyHuman(env, **params)  # type: ignore[arg-type]
    except MarlkitError as exc:
        raise type(exc)(f"partner.policy: {exc}") from None


def _trained_partner(
    text: str, seed: int, env: MultiAgentEnv, agents: tuple[int, ...], base: Path | None
) -> tuple[Partner, tuple[int, ...], str, str]:
    from marlkit.experiment.policies import load_source
    from marlkit.policies.frozen import player_partner
    from marlkit.policies.partners import check_policy_fits, player_of

    path = Path(text)
    if not path.is_absolute() and base is not None and not path.exists() and (base / path).exists():
        path = base / path
    if not path.exists():
        import difflib

        from marlkit.human.models import HUMAN_MODELS

        close = difflib.get_close_matches(text.partition("?")[0].strip(), [*HUMAN_MODELS.names(), GREEDY_HUMAN], 1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownNameError(
            f"partner.policy: {text!r}{hint} is no human model (e.g. boltzmann?beta=0.1), fixed policy "
            f"(fixed:uniform), {GREEDY_HUMAN}, policy file or run directory"
        )
    try:
        policies = load_source(path, seed=seed if path.is_dir() else None)
        policy = policies[0]
        check_policy_fits(policy, env)
        partner = player_partner(player_of(policy), env)
    except MarlkitError as exc:
        raise type(exc)(f"partner.policy: {exc}") from None
    return partner, agents, str(path.resolve()), policy.label


def partner_env(config: PartnerConfig, env: MultiAgentEnv, base: Path | None = None) -> WithPartner:
    """``env`` with the section's partner inside (:func:`marlkit.envs.partner.with_partner`)."""
    from marlkit.envs.partner import with_partner

    partner, agents, _, _ = make_partner(config, env, base)
    try:
        return with_partner(env, partner, agents)
    except MarlkitError as exc:
        raise type(exc)(f"partner: {exc}") from None


def resolve_partner(config: PartnerConfig, env: MultiAgentEnv, base: Path | None = None) -> PartnerConfig:
    """The section as the run's ``config.yaml`` keeps it: agents as indices, human models by their full spec,
    paths as found (module docstring); checked by building the partner on ``env``."""
    from dataclasses import replace

    from marlkit.envs.partner import with_partner

    partner, agents, resolved, _ = make_partner(config, env, base)
    try:
        with_partner(env, partner, agents)
    except MarlkitError as exc:
        raise type(exc)(f"partner: {exc}") from None
    return replace(config, agents=agents, policy=resolved)


def check_partner_agents(value: tuple[int | str, ...], path: str) -> tuple[int | str, ...]:
    """A non-empty list of distinct agent names or indices >= 0 (the schema check of ``partner.agents``)."""
    if not value or len(set(value)) != len(value) or any(isinstance(a, int) and a < 0 for a in value):
        raise ConfigError(
            f"{path}: expected a non-empty list of distinct agent names or indices >= 0, got {list(value)}"
        )
    return value


def check_partner_policy(value: str | tuple[str, ...], path: str) -> str | tuple[str, ...]:
    if isinstance(value, str) and not value.strip():
        raise ConfigError(f"{path}: empty; e.g. boltzmann?beta=0.1, greedy-human, fixed:uniform or a run directory")
    if isinstance(value, tuple) and not value:
        raise ConfigError(
            f"{path}: an empty population; list partners, e.g. [boltzmann?beta=0.1, qre?lam=1] on a matrix game or "
            "[greedy-human?beta_goal=0.5, greedy-human?beta_goal=5] on the cooking task"
        )
    return value


__all__ = [
    "GREEDY_HUMAN",
    "check_partner_agents",
    "check_partner_policy",
    "human_model",
    "human_table",
    "is_human_spec",
    "make_partner",
    "partner_env",
    "population_weights",
    "resolve_partner",
]
