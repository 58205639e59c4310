"""Other-Play on two-player stochastic games (Hu, Lerer, Peysakhovich & Foerster 2020, ICML).

With Φ the symmetry group of the game (:mod:`marlkit.games.properties.game_symmetry`: relabellings φ = (ψ, σ) of
states and actions that leave transitions, rewards and the initial distribution unchanged), Other-Play trains
against the partner's policy relabelled by a uniformly random φ (Hu et al. 2020, eq. 2):

    J_OP(π¹, π²) = E_{φ ~ U(Φ)} J(π¹, φ(π²)),   φ(π²)(σ^s(a) | ψ(s)) = π²(a | s),

where J is the expected discounted return from μ_0 (:meth:`StochasticGame.expected_return`). For uniform φ,
φ(π²) is uniform on the orbit of π² (orbit-stabiliser theorem), so J_OP is the mean of J over that orbit
(:func:`other_play_return`; the orbit is found by closing π² under the group's generators and is often far
smaller than Φ). It is also the **cross-play** value: an independently trained partner that followed the same
recipe found π² up to a uniformly random symmetry.

**Invariance.** Relabelling both players by one φ leaves J unchanged (φ is an automorphism), so
``J(φπ¹, χπ²) = J(π¹, φ⁻¹χπ²)`` and ``J_OP(φπ¹, χπ²) = J_OP(π¹, π²)`` for all φ, χ in Φ: J_OP is constant on
orbit × orbit, which is why the mean self-play value over a set of OP optima (closed under these relabellings)
equals their cross-play value (as in :mod:`.other_play`).

**Optima** (:func:`stochastic_other_play`, common-payoff games). Self-play (SP) optima are the deterministic joint
policies greedy with respect to the team's Q* (optimal from every state: what an SP learner converges to); their
cross-play value is J_OP averaged over all of them (each joint relabelling orbit counted by its size). The OP
optimum is the best J_OP over deterministic stationary policy pairs, found by enumerating each player's
deterministic policies up to relabelling (J_OP is invariant under each player's own relabelling). It is the OP
optimum over all stationary policies when no state can be visited twice in an episode (the transition graph among
non-terminal states is acyclic) or γ = 0: each state's row then enters J(π¹, φπ²) at most once along a
trajectory, so J and J_OP are multilinear in the rows and a maximum sits at a vertex (a deterministic pair).
Otherwise the result says ``exact: false`` and is the best deterministic pair, a lower bound.

**Learner** (:func:`train_other_play`): exact policy-gradient ascent on softmax logits, with the gradient of
J(π¹, φπ²) from the policy-gradient theorem in occupancy form (Sutton et al. 2000; ∂J/∂π_i(a|s) = d(s) Q_i(s, a),
d = μ_0ᵀ(I - γP^π)⁻¹) pulled back through φ, and averaged over every φ in Φ (``sample=False``) or for one φ drawn
uniformly per step (``sample=True``: Hu et al.'s per-episode φ, a stochastic gradient of J_OP). Exact gradients
in float64 NumPy rather than a sampled learner: the OP effect is then a property of the objective, not of noise,
and runs are reproducible and fast; ``objective="self-play"`` trains on J for comparison.

**The corridor game** (:func:`corridor_game`), a two-stage version of Hu et al.'s lever game where the symmetry
moves states: at ``start`` both players pick one of ``rooms`` doors or the centre; the same door leads to that
room, both centre to ``centre``, anything else ends the episode with 0. In a room each picks one of ``levers``
levers: the same lever pays 1, different levers 0. In ``centre`` the one action pays ``c``. Then the episode ends.
Φ permutes the rooms (with their doors) and, independently in every room, the levers: |Φ| = rooms!·(levers!)^rooms.
By hand, with discount γ (rewards come at the second step):

* SP: every optimum picks a door and a lever: J = γ. Its cross-play: the relabelled partner takes the same door
  with probability 1/rooms and then the same lever with probability 1/levers: γ / (rooms · levers).
* OP: both centre gives J_OP = J = γ c; a door gives at most γ / (rooms · levers) (as above, and the partner's
  own choice of centre only lowers it). So J_OP* = γ · max(c, 1 / (rooms · levers)), at the centre when
  c > 1 / (rooms · levers). With rooms = levers = 2, c = 0.6, γ = 0.9: SP 0.9 with itself, 0.225 in cross-play;
  OP 0.54 with itself and in cross-play.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games.properties.descriptor import require_common_payoff, require_players
from marlkit.games.properties.game_symmetry import (
    MAX_ELEMENTS,
    GameSymmetry,
    SymmetryGroup,
    check_symmetry_group,
    game_symmetries,
)
from marlkit.games.stochastic import StochasticGame
from marlkit.games.views import as_stochastic


def corridor_game(rooms: int = 2, levers: int = 2, centre: float = 0.6, gamma: float = 0.9) -> StochasticGame:
    """The two-stage corridor game of the module docstring (states: start, room 0..rooms-1, centre, end)."""
    for name, value, low in (("rooms", rooms, 1), ("levers", levers, 1)):
        number = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        if not number or int(value) != value or value < low:
            raise InvalidGameError(f"corridor_game: {name} must be an integer >= {low}, got {value!r}")
    rooms, levers = int(rooms), int(levers)
    for name, share in (("centre", centre), ("gamma", gamma)):
        number = isinstance(share, numbers.Real) and not isinstance(share, bool)
        if not number or not 0 <= share <= 1:
            raise InvalidGameError(f"corridor_game: {name} must be a number in [0, 1], got {share!r}")
    S = rooms + 3
    start, middle, end = 0, rooms + 1, rooms + 2
    A = max(rooms + 1, levers)
    T = np.zeros((S, A, A, S))
    R = np.zeros((S, A, A))
    mask = np.zeros((2, S, A), dtype=bool)
    T[..., end] = 1.0
    mask[:, start, : rooms + 1] = True
    for k in range(rooms):
        T[start, k, k] = np.eye(S)[1 + k]
        mask[:, 1 + k, :levers] = True
        for lever in range(levers):
            R[1 + k, lever, lever] = 1.0
    T[start, rooms, rooms] = np.eye(S)[middle]
    mask[:, middle, 0] = True
    R[middle, 0, 0] = centre
    mask[:, end, 0] = True
    names = tuple(  # the same action is a door at start, a lever in a room, the pull in centre
        "/".join(
            ([f"door{a}"] if a < rooms else ["centre"] if a == rooms else [])
            + ([f"lever{a}"] if a < levers else [])
            + (["pull"] if a == 0 else [])
        )
        for a in range(A)
    )
    return StochasticGame(
        transitions=T,
        rewards=np.stack([R, R]),
        initial=np.eye(S)[start],
        gamma=gamma,
        terminal=np.eye(S, dtype=bool)[end],
        action_mask=mask,
        name=f"corridor({rooms}x{levers}, c={centre:g})",
        player_names=("A", "B"),
        action_names=(names, names),
        state_names=("start", *(f"room {k}" for k in range(rooms)), "centre", "end"),
        description="Two-stage lever game: pick the same door, then the same lever (Other-Play demo)",
        citation="after Hu, Lerer, Peysakhovich & Foerster 2020, Other-Play for zero-shot coordination, §3",
    )


def corridor_values(rooms: int = 2, levers: int = 2, centre: float = 0.6, gamma: float = 0.9) -> dict[str, float]:
    """The hand-derived values of :func:`corridor_game` (module docstring)."""
    chance = 1.0 / (rooms * levers)
    return {
        "self_play_value": gamma,
        "self_play_cross_play": gamma * chance,
        "other_play_cross_play": gamma * max(centre, chance),
    }


# ----------------------------------------------------------------------------------------------- J_OP
def _two_player(game: object, what: str) -> StochasticGame:
    sg = as_stochastic(game)
    require_players(sg, what, 2, instead="Other-Play is computed for two players (the symmetry group for any number).")
    return sg


def _group(sg: StochasticGame, group: SymmetryGroup | None) -> SymmetryGroup:
    return game_symmetries(sg) if group is None else check_symmetry_group(group, sg)


def policy_orbit(group: SymmetryGroup, policy: np.ndarray, player: int, limit: int = MAX_ELEMENTS) -> list[np.ndarray]:
    """The distinct ``φ(π)`` (``player``'s rows relabelled, the others' kept) over φ in Φ: the closure of π
    under the generators.

    Raises:
        NotApplicableError: more than ``limit`` distinct relabelled policies.
    """
    policy = np.asarray(policy, dtype=np.float64)
    seen = {policy[player].tobytes(): policy}
    frontier = [policy]
    while frontier:
        current = frontier.pop()
        for g in group.generators:
            moved = g.relabel_policy(current, [player])
            key = moved[player].tobytes()
            if key not in seen:
                if len(seen) >= limit:
                    raise NotApplicableError(
                        f"other-play: the partner's policy has more than {limit:,} distinct relabellings (the cap); "
                        "the game's symmetry group is too large to average over exactly"
                    )
                seen[key] = moved
                frontier.append(moved)
    return list(seen.values())


def other_play_return(
    game: object, policy: np.ndarray, *, group: SymmetryGroup | None = None, partner: int = 1
) -> np.ndarray:
    """``[2]``: J_OP for each player — the expected return when ``partner``'s rows of the per-agent policy
    ``[2, S, A_max]`` are relabelled by a uniformly random symmetry (module docstring); also the cross-play value.

    Raises:
        NotApplicableError: not a two-player game, or a partner orbit above :data:`MAX_ELEMENTS`.
    """
    sg = _two_player(game, "other_play_return")
    pi = sg.check_policy(policy)
    if partner not in (0, 1):
        raise InvalidGameError(f"partner: 0 or 1, got {partner!r}")
    orbit = policy_orbit(_group(sg, group), pi, partner)
    return np.mean([sg.expected_return(p) for p in orbit], axis=0)


# --------------------------------------------------------------------------------------- the optima
def is_acyclic(game: StochasticGame) -> bool:
    """Whether no state can be visited twice in an episode: the graph of live transitions among non-terminal
    states has no cycle (self-loops included)."""
    S = game.num_states
    live = game.legal_joint_actions() & ~game.terminal.reshape((S,) + (1,) * game.n_players)
    edges = ((game.transitions > 0) & live[..., None]).reshape(S, -1, S).any(axis=1) & ~game.terminal[None, :]
    indegree = edges.sum(axis=0)
    queue = [s for s in range(S) if indegree[s] == 0]
    removed = 0
    while queue:
        s = queue.pop()
        removed += 1
        for t in np.flatnonzero(edges[s]):
            indegree[t] -= 1
            if indegree[t] == 0:
                queue.append(int(t))
    return removed == S


def _joint_returns(sg: StochasticGame, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``[B]``: player 0's return of deterministic pairs (``first``/``second`` ``[B, S]`` actions), batched."""
    S = sg.num_states
    live = (~sg.terminal).astype(np.float64)
    states = np.arange(S)[None, :]
    P = sg.transitions[states, first, second] * live[None, :, None]
    r = sg.rewards[0][states, first, second] * live[None, :]
    values = np.linalg.solve(np.eye(S)[None] - sg.gamma * P, r[..., None])[..., 0]
    return values @ sg.initial


def _deterministic(sg: StochasticGame, player: int) -> Iterator[tuple[int, ...]]:
    choices = [
        np.flatnonzero(sg.action_mask[player, s, : sg.num_actions[player]]).tolist() if not sg.terminal[s] else [0]
        for s in range(sg.num_states)
    ]
    yield from itertools.product(*choices)


def _move(g: GameSymmetry, actions: Sequence[int], player: int, terminal: np.ndarray) -> tuple[int, ...]:
    out = list(actions)
    for s, a in enumerate(actions):
        if not terminal[s]:
            out[g.states[s]] = g.actions[player][s][a]
    return tuple(out)


def _orbit_tuples(group: SymmetryGroup, start: tuple[int, ...], players: Sequence[int], terminal: np.ndarray) -> set:
    """The orbit of a deterministic policy (one tuple of actions per player in ``players``, concatenated)."""
    S = len(terminal)
    seen = {start}
    frontier = [start]
    while frontier:
        current = frontier.pop()
        for g in group.generators:
            moved = tuple(x for k, i in enumerate(players) for x in _move(g, current[k * S : (k + 1) * S], i, terminal))
            if moved not in seen:
                if len(seen) >= MAX_ELEMENTS:
                    raise NotApplicableError(
                        f"other-play: a policy has more than {MAX_ELEMENTS:,} relabellings (the cap)"
                    )
                seen.add(moved)
                frontier.append(moved)
    return seen


def _representatives(
    group: SymmetryGroup, policies: Iterator[tuple[int, ...]], players: Sequence[int], terminal: np.ndarray
) -> list[tuple[tuple[int, ...], int]]:
    """One policy per orbit with the orbit's size."""
    covered: set = set()
    out = []
    for count, policy in enumerate(policies):
        if count >= MAX_ELEMENTS:
            raise NotApplicableError(
                f"other-play: more than {MAX_ELEMENTS:,} deterministic policies to search (the cap); the game is "
                "too large for the exact Other-Play optimum"
            )
        if policy in covered:
            continue
        orbit = _orbit_tuples(group, policy, players, terminal)
        covered |= orbit
        out.append((policy, len(orbit)))
    return out


def _as_policy(sg: StochasticGame, first: Sequence[int], second: Sequence[int]) -> np.ndarray:
    pi = np.zeros((2, sg.num_states, sg.max_actions))
    for i, actions in enumerate((first, second)):
        for s, a in enumerate(actions):
            if sg.terminal[s]:
                pi[i, s] = sg.action_mask[i, s] / sg.action_mask[i, s].sum()
            else:
                pi[i, s, a] = 1.0
    return pi


def _op_values(
    sg: StochasticGame, group: SymmetryGroup, firsts: Sequence[tuple[int, ...]], second: tuple[int, ...]
) -> np.ndarray:
    """J_OP of each deterministic ``firsts[k]`` with the deterministic ``second``: the mean of J over the orbit of
    ``second`` (module docstring), batched."""
    orbit = np.array(sorted(_orbit_tuples(group, second, [1], sg.terminal)))
    a = np.repeat(np.array(firsts), len(orbit), axis=0)
    b = np.tile(orbit, (len(firsts), 1))
    return _joint_returns(sg, a, b).reshape(len(firsts), len(orbit)).mean(axis=1)


@dataclass(frozen=True, eq=False)
class StochasticOtherPlay:
    """Self-play vs Other-Play on a two-player common-payoff stochastic game (module docstring).

    Attributes:
        group: the symmetry group Φ.
        exact: True when the OP optimum over deterministic pairs is the optimum over all stationary policies.
        self_play_value: J* (the team optimum).
        self_play_optima: the number of deterministic SP optima (greedy w.r.t. Q* at every live state).
        self_play_cross_play: J_OP averaged over the SP optima.
        self_play_policy: one SP optimum ``[2, S, A_max]``.
        other_play_value: the mean self-play value J over the OP-optimal pairs (equal to the OP value by the
            invariance of J_OP, module docstring; as the normal-form module's, where J_OP* is the mean of the game's
            payoff over the OP optima).
        other_play_cross_play: J_OP* (the OP value, also its cross-play value).
        other_play_policy: one OP-optimal pair ``[2, S, A_max]``.
        other_play_policy_value: J of ``other_play_policy`` with itself (that one pair; it may differ from the
            mean over the optima).
    """

    group: SymmetryGroup
    exact: bool
    self_play_value: float
    self_play_optima: int
    self_play_cross_play: float
    self_play_policy: np.ndarray
    other_play_value: float
    other_play_cross_play: float
    other_play_policy: np.ndarray
    other_play_policy_value: float
    game_name: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "game": self.game_name,
            "kind": "stochastic",
            "symmetries": self.group.to_json(),
            "exact": self.exact,
            "self_play": {
                "num_optima": self.self_play_optima,
                "value": self.self_play_value,
                "cross_play": self.self_play_cross_play,
                "policy": self.self_play_policy.tolist(),
            },
            "other_play": {
                "value": self.other_play_value,
                "cross_play": self.other_play_cross_play,
                "policy": self.other_play_policy.tolist(),
                "policy_value": self.other_play_policy_value,
            },
        }

    def lines(self, game: StochasticGame | None = None) -> list[str]:
        def plan(policy: np.ndarray) -> str:
            """The actions at the states the pair reaches from μ_0."""
            if game is None:
                return ""
            joint = game.joint_action_probabilities(policy).reshape(game.num_states, -1)
            step = np.einsum("sa,sat->st", joint, game.transitions.reshape(game.num_states, -1, game.num_states))
            reached, frontier = game.initial > 0, game.initial > 0
            while frontier.any():
                frontier = (step[frontier & ~game.terminal] > 0).any(axis=0) & ~reached
                reached |= frontier
            parts = []
            for s in np.flatnonzero(reached & ~game.terminal):
                acts = [game.action_names[i][int(policy[i, s].argmax())] for i in range(2)]
                parts.append(f"{game.state_names[s]}: ({', '.join(acts)})")
            return "; ".join(parts)

        out = [*self.group.lines(game)]
        out.append(
            f"self-play:  {self.self_play_optima} optim{'um' if self.self_play_optima == 1 else 'a'}, value "
            f"{self.self_play_value:.4g} with itself, {self.self_play_cross_play:.4g} in cross-play"
        )
        if game is not None:
            out.append(f"  e.g. {plan(self.self_play_policy)}")
        out.append(
            f"other-play: value {self.other_play_value:.4g} with itself (mean over its optima), "
            f"{self.other_play_cross_play:.4g} in "
            f"cross-play{'' if self.exact else ' (best deterministic pair: the game has cycles, a lower bound)'}"
        )
        if game is not None:
            own = self.other_play_policy_value
            differs = abs(own - self.other_play_value) > 1e-9 * max(1.0, abs(own))
            out.append(
                f"  e.g. {plan(self.other_play_policy)}" + (f" (this pair: {own:.4g} with itself)" if differs else "")
            )
        return out


def stochastic_other_play(
    game: object, *, group: SymmetryGroup | None = None, tol: float = 1e-9
) -> StochasticOtherPlay:
    """The SP and OP optima of a two-player common-payoff stochastic game with their values with themselves and
    in cross-play (module docstring).

    Raises:
        NotApplicableError: not two players, not common-payoff, partially observable or constrained, or a search
            above the caps (:data:`~marlkit.games.properties.game_symmetry.MAX_ELEMENTS`).
    """
    from marlkit.human.best_response import team_plan

    sg = _two_player(game, "Other-Play")
    require_common_payoff(sg, "Other-Play")
    group = _group(sg, group)
    plan = team_plan(sg)
    live_states = np.flatnonzero(~sg.terminal)
    best = plan.q.reshape(sg.num_states, -1).max(axis=1)
    argmax = []
    for s in range(sg.num_states):
        if sg.terminal[s]:
            argmax.append([(0, 0)])
            continue
        q = plan.q[s]
        rows, cols = np.nonzero(q >= best[s] - tol * max(1.0, abs(best[s])))
        argmax.append(list(zip(rows.tolist(), cols.tolist(), strict=True)))
    count = int(np.prod([len(argmax[s]) for s in live_states], dtype=object))
    if count > MAX_ELEMENTS:
        raise NotApplicableError(
            f"other-play: {count:,} deterministic self-play optima, more than the cap of {MAX_ELEMENTS:,}"
        )
    S = sg.num_states
    joint = (tuple(a for a, _ in choice) + tuple(b for _, b in choice) for choice in itertools.product(*argmax))
    sp_reps = _representatives(group, joint, [0, 1], sg.terminal)
    sp_cross = sum(size * float(_op_values(sg, group, [rep[:S]], rep[S:])[0]) for rep, size in sp_reps) / count
    sp_rep = sp_reps[0][0]

    firsts = _representatives(group, _deterministic(sg, 0), [0], sg.terminal)
    seconds = _representatives(group, _deterministic(sg, 1), [1], sg.terminal)
    best_value, best_pair = -np.inf, (firsts[0][0], seconds[0][0])
    for second, _ in seconds:
        values = _op_values(sg, group, [first for first, _ in firsts], second)
        for (first, _), value in zip(firsts, values.tolist(), strict=True):
            if best_value == -np.inf or value > best_value + tol * max(1.0, abs(best_value)):
                best_value, best_pair = value, (first, second)
    return StochasticOtherPlay(
        group=group,
        exact=bool(is_acyclic(sg) or sg.gamma == 0),
        self_play_value=float(sg.initial @ plan.values),
        self_play_optima=count,
        self_play_cross_play=float(sp_cross),
        self_play_policy=_as_policy(sg, sp_rep[:S], sp_rep[S:]),
        other_play_value=float(best_value),
        other_play_cross_play=float(best_value),
        other_play_policy=_as_policy(sg, *best_pair),
        other_play_policy_value=float(_joint_returns(sg, np.array([best_pair[0]]), np.array([best_pair[1]]))[0]),
        game_name=sg.name,
    )


# ------------------------------------------------------------------------------------------- learner
def return_gradient(game: StochasticGame, policy: np.ndarray) -> tuple[float, np.ndarray]:
    """Player 0's return J and ``∂J/∂π_i(a|s) = d(s) Q_i(s, a)`` for both players ``[2, S, A_max]`` (module
    docstring); ``policy`` is a checked per-agent policy."""
    S = game.num_states
    live = (~game.terminal).astype(np.float64)
    joint = game.joint_action_probabilities(policy).reshape(S, -1)
    T = game.transitions.reshape(S, -1, S)
    P = np.einsum("sa,sat->st", joint, T) * live[:, None]
    r = np.einsum("sa,sa->s", joint, game.rewards[0].reshape(S, -1)) * live
    inverse = np.linalg.inv(np.eye(S) - game.gamma * P)
    values = inverse @ r
    occupancy = game.initial @ inverse
    q = (game.rewards[0] + game.gamma * game.transitions @ values) * live.reshape(S, 1, 1)  # [S, A0, A1]
    m0, m1 = game.num_actions
    grad = np.zeros((2, S, game.max_actions))
    grad[0, :, :m0] = occupancy[:, None] * np.einsum("sab,sb->sa", q, policy[1, :, :m1])
    grad[1, :, :m1] = occupancy[:, None] * np.einsum("sab,sa->sb", q, policy[0, :, :m0])
    return float(game.initial @ values), grad


def _pull_back(g: GameSymmetry, grad: np.ndarray, player: int) -> np.ndarray:
    """The gradient with respect to π's rows of a function of φ(π)'s rows: ``out[s, a] = grad[ψ(s), σ^s(a)]``."""
    sigma = np.asarray(g.actions[player])
    out = np.zeros_like(grad)
    out[:, : sigma.shape[1]] = grad[np.asarray(g.states)[:, None], sigma]
    return out


def other_play_gradient(
    game: StochasticGame, policy: np.ndarray, symmetries: Sequence[GameSymmetry], partner: int = 1
) -> tuple[float, np.ndarray]:
    """The mean over ``symmetries`` of J(π, with ``partner`` relabelled by φ) and its gradient with respect to
    the rows of π ``[2, S, A_max]``."""
    total, grad = 0.0, np.zeros_like(policy)
    for g in symmetries:
        value, inner = return_gradient(game, g.relabel_policy(policy, [partner]))
        total += value
        grad[1 - partner] += inner[1 - partner]
        grad[partner] += _pull_back(g, inner[partner], partner)
    return total / len(symmetries), grad / len(symmetries)


def _softmax(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    z = np.where(mask, logits, -np.inf)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True, eq=False)
class OtherPlayTraining:
    """A run of :func:`train_other_play`.

    Attributes:
        objective: ``"other-play"`` or ``"self-play"``.
        policy: the final per-agent policy ``[2, S, A_max]``.
        objective_curve: the trained objective at every step ``[steps]`` (J_OP, or J for self-play; with
            ``sample=True`` the value for the φ drawn at that step).
        self_play_value: J of the final policy (the pair with itself).
        cross_play_value: J_OP of the final policy (with an independently trained partner).
        restart_objectives: the final training objective of every restart (the best one is kept).
        cross_play_stderr: 0 when ``cross_play_value`` is exact; its standard error when Φ is above the cap and
            it is a Monte Carlo mean over :data:`MONTE_CARLO_DRAWS` uniform symmetries.
    """

    objective: str
    policy: np.ndarray
    objective_curve: np.ndarray
    self_play_value: float
    cross_play_value: float
    restart_objectives: tuple[float, ...] = ()
    cross_play_stderr: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "objective": self.objective,
            "cross_play_stderr": self.cross_play_stderr,
            "restart_objectives": list(self.restart_objectives),
            "self_play_value": self.self_play_value,
            "cross_play_value": self.cross_play_value,
            "policy": self.policy.tolist(),
        }


def train_other_play(
    game: object,
    *,
    objective: str = "other-play",
    steps: int = 300,
    learning_rate: float = 5.0,
    seed: int = 0,
    restarts: int = 1,
    sample: bool = False,
    group: SymmetryGroup | None = None,
) -> OtherPlayTraining:
    """Exact softmax policy-gradient ascent on J_OP (``objective="other-play"``) or J (``"self-play"``) from
    random logits N(0, 1) (module docstring). ``sample=True`` uses one uniformly drawn φ per step instead of the
    average over Φ.

    J and J_OP are not concave: coordinated profiles are local maxima (a player who leaves a coordinated choice
    alone loses), so gradient ascent ends at the one whose basin holds its start. ``restarts`` runs that many
    starts (seeds ``(seed, r)``) and keeps the one with the best final training objective — the objective it
    trains, never a test partner.

    Raises:
        NotApplicableError: not a two-player common-payoff game; a group above the enumeration cap (use
            ``sample=True``).
        InvalidGameError: a bad objective, steps or restarts < 1, learning_rate <= 0.
    """
    sg = _two_player(game, "train_other_play")
    require_common_payoff(sg, "train_other_play")
    if objective not in ("other-play", "self-play"):
        raise InvalidGameError(f"objective: 'other-play' or 'self-play', got {objective!r}")
    for name, value in (("steps", steps), ("restarts", restarts)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise InvalidGameError(f"{name}: an integer >= 1, got {value!r}")
    if not np.isfinite(learning_rate) or not learning_rate > 0:
        raise InvalidGameError(f"learning_rate: a finite number > 0, got {learning_rate!r}")
    group = _group(sg, group)
    if objective == "other-play" and not sample and group.order > MAX_ELEMENTS:
        raise NotApplicableError(
            f"train_other_play: the symmetry group has {group.order:,} elements, more than the cap of "
            f"{MAX_ELEMENTS:,} averaged over each step; draw one per step instead (sample=True, CLI --sample)"
        )
    everything = [group.identity()] if objective == "self-play" else None if sample else list(group.elements())
    runs = []
    for restart in range(int(restarts)):
        rng = np.random.default_rng([seed, restart])
        policy, curve = _ascend(sg, group, everything, int(steps), float(learning_rate), rng)
        cross, stderr = _cross_play(sg, group, policy, rng)
        own = float(sg.expected_return(policy)[0])
        runs.append((cross if objective == "other-play" else own, own, cross, stderr, policy, curve))
    best = max(range(len(runs)), key=lambda r: runs[r][0])
    _, own, cross, stderr, policy, curve = runs[best]
    return OtherPlayTraining(
        objective=objective,
        policy=policy,
        objective_curve=curve,
        self_play_value=own,
        cross_play_value=cross,
        restart_objectives=tuple(run[0] for run in runs),
        cross_play_stderr=stderr,
    )


MONTE_CARLO_DRAWS = 1000
"""Uniform draws of φ for the cross-play value of a learned (stochastic) policy when |Φ| > MAX_ELEMENTS."""


def _cross_play(
    sg: StochasticGame, group: SymmetryGroup, policy: np.ndarray, rng: np.random.Generator
) -> tuple[float, float]:
    """J_OP of a learned policy and its standard error: exact (0) when Φ can be listed, else the mean over
    :data:`MONTE_CARLO_DRAWS` uniform draws (a softmax policy's orbit is about as large as Φ)."""
    if group.order <= MAX_ELEMENTS:
        return float(other_play_return(sg, policy, group=group)[0]), 0.0
    draws = np.array(
        [sg.expected_return(group.random(rng).relabel_policy(policy, [1]))[0] for _ in range(MONTE_CARLO_DRAWS)]
    )
    return float(draws.mean()), float(draws.std(ddof=1) / np.sqrt(draws.size))


def _ascend(
    sg: StochasticGame,
    group: SymmetryGroup,
    symmetries: list[GameSymmetry] | None,
    steps: int,
    learning_rate: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """One run of gradient ascent; ``symmetries=None`` draws one φ per step."""
    mask = sg.action_mask
    logits = np.where(mask, rng.normal(size=mask.shape), 0.0)
    curve = np.empty(steps)
    for step in range(steps):
        pi = _softmax(logits, mask)
        value, grad = other_play_gradient(sg, pi, symmetries if symmetries is not None else [group.random(rng)])
        curve[step] = value
        logits = logits + learning_rate * np.where(mask, pi * (grad - (pi * grad).sum(axis=-1, keepdims=True)), 0.0)
    return _softmax(logits, mask), curve


__all__ = [
    "MONTE_CARLO_DRAWS",
    "OtherPlayTraining",
    "StochasticOtherPlay",
    "corridor_game",
    "corridor_values",
    "is_acyclic",
    "other_play_gradient",
    "other_play_return",
    "policy_orbit",
    "return_gradient",
    "stochastic_other_play",
    "train_other_play",
]
