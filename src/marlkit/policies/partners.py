"""Players and line-ups: who plays which agents of an env in an evaluation (play-against, cross-play).

A :class:`Player` is an actor with its state and a label: a trained :class:`~marlkit.policies.files.Policy` (deep or
tabular; from a policy file or a run directory), a fixed scripted policy (``fixed:NAME``, the registry
:data:`~marlkit.policies.actors.FIXED_POLICIES`) or a human behaviour model (``human-model:SPEC``, parsed by
:func:`marlkit.human.models.parse_model`, e.g. ``human-model:boltzmann?beta=2``).

A human model acts in a normal-form game (an exact game's env of one state: a matrix game, one-shot or repeated
for the episode): the modelled person in agent ``i``'s seat plays ``model.policy(stage_game, i)`` — the model's
own assumption about its partners (uniform partners for the Boltzmann and noisy best-response models; the
level-k, cognitive hierarchy and QRE models derive what the others play), not the partners actually seated —
at every step.

A line-up (:func:`lineup`) seats players on agents: the ``--vs`` form is ``AGENTS=SOURCE`` with ``AGENTS`` a
comma-separated list of agent names, agent indices or agent-group names (e.g. ``agent_1=fixed:uniform``,
``adversary=runs/tag``), and the agents nobody claims are played by the main policy. A trained policy may take a
seat only on an env with its agents and spaces (:func:`marlkit.policies.files.check_interface`); a policy of an
exact game only on that game's env.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np

from marlkit.envs.base import MultiAgentEnv, MultiAgentSpec
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.policies.actors import FIXED_POLICIES, Constant, Table, Team
from marlkit.policies.files import Policy

FIXED_PREFIX = "fixed:"
HUMAN_PREFIX = "human-model:"


@dataclass(frozen=True)
class Player:
    """An actor, its state and a label (module docstring); ``policy`` is the trained policy it came from, if any."""

    label: str
    actor: Any
    state: Any = ()
    policy: Policy | None = None


def player_of(policy: Policy) -> Player:
    """The player of a trained policy (its actor and parameters)."""
    return Player(policy.label, policy.actor, policy.params, policy)


def _split_query(text: str) -> tuple[str, dict[str, object]]:
    from marlkit.human.models import parse_spec

    name, params = parse_spec(text, f"fixed policy {text!r}", "fixed:action?index=2")
    return name, {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in params.items()}


def fixed_player(text: str, spec: MultiAgentSpec, agents: Sequence[int]) -> Player:
    """The fixed policy ``fixed:NAME[?key=value&...]`` for ``agents`` of an env of ``spec``.

    Raises:
        UnknownNameError: no fixed policy of that name (close matches and every name listed).
        InvalidGameError: a bad parameter; an action index an agent does not have.
    """
    body = text[len(FIXED_PREFIX) :] if text.startswith(FIXED_PREFIX) else text
    name, params = _split_query(body)
    if spec.continuous:
        raise NotApplicableError(
            f"{FIXED_PREFIX}{body}: the fixed policies pick discrete actions; {spec.name} has continuous (Box) "
            "actions — seat another trained policy (--vs AGENTS=RUN_DIR|POLICY) instead"
        )
    actor = FIXED_POLICIES.make(name, **params)
    if isinstance(actor, Constant):
        actor.check_spec(spec, tuple(agents))
    return Player(f"{FIXED_PREFIX}{body}", actor)


def human_player(text: str, env: MultiAgentEnv, agents: Sequence[int]) -> Player:
    """The human model ``human-model:SPEC`` in the seats ``agents`` of an exact normal-form game's env: a
    :class:`~marlkit.policies.actors.Table` whose rows for those agents are the model's policy (module docstring).

    Raises:
        NotApplicableError: the env is not an exact game's, or its game is not a normal-form game.
        UnknownNameError / InvalidGameError: a bad model spec.
    """
    from marlkit.envs.games import GameEnv
    from marlkit.games.views import num_states, stage_game
    from marlkit.human.models import parse_model

    model = parse_model(text)
    game = env.game if isinstance(env, GameEnv) else None
    if game is None or num_states(game) != 1:
        what = f"task {env.spec.name}" if game is None else f"{game.name!r}, a stochastic game of several states,"
        raise NotApplicableError(
            f"{text}: human models act in normal-form (matrix) games, one-shot or repeated; {what} is not one "
            "(use an env game:<name> of a matrix game, e.g. game:stag-hunt)"
        )
    stage = stage_game(game)
    spec = env.spec
    table = np.zeros((spec.n_agents, spec.global_state_size, spec.max_actions), np.float32)
    for i in agents:
        table[i, :, : spec.num_actions[i]] = np.asarray(model.policy(stage, i), np.float32)
    body = text[len(HUMAN_PREFIX) :] if text.startswith(HUMAN_PREFIX) else text
    return Player(f"{HUMAN_PREFIX}{body}", Table(), jnp.asarray(table))


def check_policy_fits(policy: Policy, env: MultiAgentEnv) -> None:
    """Raise :class:`~marlkit.errors.PolicyFileError` (naming both) unless ``policy`` may act in ``env``: the same
    agents and spaces, and for a policy of an exact game an env of a game with the same rewards, transitions,
    initial distribution, terminal states, action masks and costs (names, discount and episode limit may differ)."""
    from marlkit.envs.games import GameEnv
    from marlkit.errors import PolicyFileError

    policy.check_env(env)
    if policy.env.game is None or not isinstance(env, GameEnv):
        return
    own = policy.make_env()
    assert isinstance(own, GameEnv)
    for name, mine, theirs in zip(own.tables._fields, own.tables, env.tables, strict=True):
        same = (mine is None and theirs is None) or (
            mine is not None and theirs is not None and mine.shape == theirs.shape and bool(np.all(mine == theirs))
        )
        if not same:
            raise PolicyFileError(
                f"policy {policy.label} was trained on the game {own.game.name!r}; the env's game {env.game.name!r} "
                f"has other {name} tables (same agents and actions)"
            )


def parse_agents(text: str, spec: MultiAgentSpec, option: str = "--vs") -> tuple[int, ...]:
    """``agent_1``, ``1``, ``adversary`` (a group) or a comma-separated mix -> sorted agent indices.

    Raises:
        InvalidGameError: an unknown agent or group (the known ones listed), an agent named twice.
    """
    found: list[int] = []
    groups = {g.name: g.agents for g in spec.groups}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if part in spec.agent_names:
            found.append(spec.agent_names.index(part))
        elif part.isdigit() and int(part) < spec.n_agents:
            found.append(int(part))
        elif part in groups:
            found.extend(groups[part])
        else:
            where = f"--vs {text}=..." if option == "--vs" else f"{option} {text}"
            raise InvalidGameError(
                f"{where}: {spec.name} has no agent or group {part!r}; agents: "
                f"{', '.join(spec.agent_names)} (or 0..{spec.n_agents - 1}); groups: {', '.join(groups)}"
            )
    if not found:
        raise InvalidGameError(f"{option} {text!r}: name the agents, e.g. {spec.agent_names[-1]}")
    if len(set(found)) != len(found):
        raise InvalidGameError(f"{option} {text}: an agent is named twice")
    return tuple(sorted(found))


def split_vs(text: str) -> tuple[str, str]:
    """``AGENTS=SOURCE`` -> ``(AGENTS, SOURCE)``.

    Raises:
        InvalidGameError: no ``AGENTS=`` part.
    """
    head, sep, tail = text.partition("=")
    if not sep or not head.strip() or any(c in head for c in ":?/\\") or not tail.strip():
        raise InvalidGameError(
            f"--vs {text!r}: expected AGENTS=SOURCE, e.g. --vs agent_1=fixed:uniform, --vs agent_1=runs/other, "
            "--vs agent_1=policy.mkp or --vs agent_1=human-model:boltzmann?beta=2"
        )
    return head.strip(), tail.strip()


def make_player(
    source: str, env: MultiAgentEnv, agents: Sequence[int], load: Callable[[str], Policy] | None = None
) -> Player:
    """The player ``source`` names for ``agents`` of ``env``: ``fixed:...``, ``human-model:...`` or (through
    ``load``, which reads a run directory or a policy file) a trained policy, checked against the env."""
    if source.startswith(FIXED_PREFIX):
        return fixed_player(source, env.spec, agents)
    if source.startswith(HUMAN_PREFIX):
        return human_player(source, env, agents)
    if load is None:
        raise InvalidGameError(f"--vs {source}: expected fixed:NAME or human-model:SPEC here")
    policy = load(source)
    check_policy_fits(policy, env)
    return player_of(policy)


@dataclass(frozen=True)
class Lineup:
    """Players and who plays which agent: agent ``i`` is played by ``players[seats[i]]``."""

    players: tuple[Player, ...]
    seats: tuple[int, ...]

    @property
    def team(self) -> Team:
        """The actor that evaluates the line-up (:class:`~marlkit.policies.actors.Team`)."""
        return Team(tuple(p.actor for p in self.players), self.seats)

    @property
    def state(self) -> tuple[Any, ...]:
        return tuple(p.state for p in self.players)

    def labels(self) -> tuple[str, ...]:
        """Who plays each agent."""
        return tuple(self.players[s].label for s in self.seats)


def lineup(n_agents: int, main: Player | None, seated: Sequence[tuple[Sequence[int], Player]]) -> Lineup:
    """``seated`` players on their agents, ``main`` on the rest.

    Raises:
        InvalidGameError: an agent seated twice; agents left without a player (no ``main``).
    """
    players: list[Player] = [] if main is None else [main]
    seats = [0 if main is not None else -1] * n_agents
    for agents, player in seated:
        players.append(player)
        for i in agents:
            if seats[i] != (0 if main is not None else -1):
                raise InvalidGameError(f"--vs: agent {i} is seated twice")
            seats[i] = len(players) - 1
    empty = [i for i, s in enumerate(seats) if s < 0]
    if empty:
        raise InvalidGameError(f"--vs: agents {empty} have no player")
    used = sorted(set(seats))
    if main is not None and 0 not in used:
        players, seats = players[1:], [s - 1 for s in seats]  # every agent taken by --vs: the main policy sits out
    return Lineup(tuple(players), tuple(seats))


__all__ = [
    "FIXED_PREFIX",
    "HUMAN_PREFIX",
    "Lineup",
    "Player",
    "check_policy_fits",
    "fixed_player",
    "human_player",
    "lineup",
    "make_player",
    "parse_agents",
    "player_of",
    "split_vs",
]
