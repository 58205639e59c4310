"""Symmetries of a stochastic game: relabellings of states and of every player's actions that leave it unchanged.

A symmetry ``φ = (ψ, σ)`` of a fully observed stochastic game ``(S, A_1..A_n, T, R, γ, μ_0)`` is a permutation ψ of
the states and, for every non-terminal state s and player i, a bijection ``σ_i^s`` from i's legal actions at s onto
its legal actions at ψ(s), such that for every non-terminal s, legal joint action a and state s',

    R_j(ψ(s), σ^s(a)) = R_j(s, a)  (every player j),   T(ψ(s') | ψ(s), σ^s(a)) = T(s' | s, a),
    μ_0(ψ(s)) = μ_0(s),   ψ(s) terminal iff s terminal,

(``σ^s(a) = (σ_1^s(a_1), ..., σ_n^s(a_n))``; the players are not permuted). These are the Dec-POMDP symmetries of
Hu, Lerer, Peysakhovich & Foerster (2020, "Other-Play for zero-shot coordination", ICML, §4) for a game whose
observation is the state. They form a group Φ: ``(φ'∘φ)`` maps s to ψ'(ψ(s)) and a to ``σ'^{ψ(s)}(σ^s(a))``.
Illegal actions are mapped order-preserving onto the illegal actions of ψ(s), and actions at terminal states
(which never matter) are left in place, so Φ is the group of relabellings that matter and composition stays in it.
A normal-form game is its one-state game (:func:`marlkit.games.views.as_stochastic`), where Φ is the group of
:mod:`.action_symmetry`.

**Comparing numbers.** Rewards are grouped into classes of values within the payoff tolerance of each other
(:func:`~marlkit.games.properties.utility.payoff_tolerance`; a sorted scan that starts a new class at a gap larger
than the tolerance), transition probabilities likewise within ``1e-9``, and every comparison is between class
labels. Equality within a tolerance is not transitive, so "invariant within tolerance" would not be closed under
composition; equality of labels is, and Φ is a group.

**How Φ is found, exactly.** Φ is described by a stabiliser chain (Sims 1970; Seress 2003, "Permutation Group
Algorithms", §4): the points are the states and the (state, player, legal action) slots; with the base
``ω_0, ω_1, ...`` (all states, then all slots) and ``G_k`` the elements fixing ``ω_0..ω_{k-1}``, each level keeps
the orbit ``Δ_k`` of ``ω_k`` under ``G_k`` and one element ``u_{k,y}`` mapping ω_k to each y in it. Then

    |Φ| = Π_k |Δ_k|,   and every φ in Φ is uniquely u_{0,y_0} ∘ u_{1,y_1} ∘ ...   (y_k ∈ Δ_k),

which gives the order, membership (sifting), uniform sampling and enumeration. The levels are filled from the last
to the first; at level k a candidate y already reachable from ω_k by the elements found so far (all in G_k) is in
Δ_k without a search, and otherwise a backtracking search decides whether some element of G_k maps ω_k to y. At a
slot level every state is fixed, so the search is one stage search at the slot's state. Otherwise the search
assigns ψ state by state, pruned by an equitable colour refinement of the states (initial mass, terminal,
legal-action counts, reward and transition classes, the colours of successors and predecessors; automorphisms
preserve it) and by the multiset of (reward, transition) classes of every assigned pair of states; once a state and
all its successors are placed, the bijections σ^s are found by a backtracking over each player's actions pruned by
the multiset of entries of each action's slice (as :mod:`.action_symmetry`). Every search is exact; a node budget
(:data:`MAX_NODES`) stops it on games too large to decide, with a clear error rather than a wrong answer.
Enumerating the elements (:meth:`SymmetryGroup.elements`) stops with an error past :data:`MAX_ELEMENTS`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games.properties.disjoint_sets import root, union
from marlkit.games.properties.utility import payoff_tolerance
from marlkit.games.stochastic import StochasticGame
from marlkit.games.views import as_stochastic

MAX_NODES = 2_000_000
"""Search nodes allowed per question "does some symmetry of G_k map ω_k to y?" before giving up."""

MAX_ELEMENTS = 100_000
"""The most group elements (or relabelled policies) that are ever listed one by one."""

TRANSITION_TOLERANCE = 1e-9
"""Transition probabilities within this of each other are equal (docs/architecture.md: tolerance 1e-9)."""


@dataclass(frozen=True)
class GameSymmetry:
    """One relabelling ``φ = (ψ, σ)`` of a stochastic game (module docstring).

    Attributes:
        states: ``ψ`` as a tuple, ``states[s] = ψ(s)``.
        actions: ``actions[i][s]`` is ``σ_i^s`` as a permutation of ``range(num_actions[i])``: action a of player
            i at state s is relabelled ``actions[i][s][a]`` at state ψ(s).
    """

    states: tuple[int, ...]
    actions: tuple[tuple[tuple[int, ...], ...], ...]

    @classmethod
    def identity(cls, num_states: int, num_actions: Sequence[int]) -> GameSymmetry:
        ident = tuple(range(num_states))
        return cls(ident, tuple(tuple(tuple(range(m)) for _ in ident) for m in num_actions))

    def compose(self, first: GameSymmetry) -> GameSymmetry:
        """``self ∘ first``: relabel by ``first``, then by ``self``."""
        states = tuple(self.states[t] for t in first.states)
        actions = tuple(
            tuple(tuple(mine[first.states[s]][b] for b in theirs[s]) for s in range(len(first.states)))
            for mine, theirs in zip(self.actions, first.actions, strict=True)
        )
        return GameSymmetry(states, actions)

    def inverse(self) -> GameSymmetry:
        back = [0] * len(self.states)
        for s, t in enumerate(self.states):
            back[t] = s
        actions = []
        for per_state in self.actions:
            rows = []
            for t in range(len(self.states)):
                sigma = per_state[back[t]]
                inv = [0] * len(sigma)
                for a, b in enumerate(sigma):
                    inv[b] = a
                rows.append(tuple(inv))
            actions.append(tuple(rows))
        return GameSymmetry(tuple(back), tuple(actions))

    @property
    def is_identity(self) -> bool:
        return all(t == s for s, t in enumerate(self.states)) and all(
            all(b == a for a, b in enumerate(sigma)) for per_state in self.actions for sigma in per_state
        )

    def relabel_policy(self, policy: np.ndarray, players: Sequence[int] | None = None) -> np.ndarray:
        """``φ(π)``: the policy that plays ``σ_i^s(a)`` at ψ(s) with the probability π_i plays a at s (Hu et al.
        2020, §4: ``φ(π)(φ(a) | φ(s)) = π(a | s)``), for the rows of ``players`` (default: every player); the other
        players' rows are copied. ``policy`` is per-agent ``[n, S, A_max]``."""
        policy = np.asarray(policy, dtype=np.float64)
        out = policy.copy()
        psi = np.asarray(self.states)
        for i in range(len(self.actions)) if players is None else players:
            sigma = np.asarray(self.actions[i])  # [S, A_i]
            out[i] = 0.0
            out[i][psi[:, None], sigma] = policy[i][:, : sigma.shape[1]]
        return out

    def to_json(self) -> dict[str, object]:
        return {"states": list(self.states), "actions": [[list(sigma) for sigma in rows] for rows in self.actions]}


def is_game_symmetry(game: object, symmetry: GameSymmetry, tol: float | None = None) -> bool:
    """Whether ``symmetry`` maps the game onto itself (module docstring), rewards within ``tol`` (default: the
    payoff tolerance) and transitions within :data:`TRANSITION_TOLERANCE`. A direct check of every condition."""
    sg = as_stochastic(game)
    tolerance = payoff_tolerance(sg) if tol is None else float(tol)
    psi = np.asarray(symmetry.states)
    S, n = sg.num_states, sg.n_players
    if sorted(symmetry.states) != list(range(S)) or len(symmetry.actions) != n:
        return False
    if np.any(sg.terminal[psi] != sg.terminal) or np.any(np.abs(sg.initial[psi] - sg.initial) > TRANSITION_TOLERANCE):
        return False
    sigmas = [np.asarray(symmetry.actions[i]) for i in range(n)]
    live_states = ~sg.terminal
    for i, sigma in enumerate(sigmas):
        m = sg.num_actions[i]
        if sigma.shape != (S, m) or np.any(np.sort(sigma, axis=1) != np.arange(m)):
            return False
        moved_mask = sg.action_mask[i][psi[:, None], sigma]
        if np.any((moved_mask != sg.action_mask[i, :, :m])[live_states]):
            return False
    live = sg.legal_joint_actions() & live_states.reshape((S,) + (1,) * n)
    # only states that move, relabel their actions or can step to a state that moves have anything to check
    moved = psi != np.arange(S)
    for sigma in sigmas:
        moved |= np.any(sigma != np.arange(sigma.shape[1]), axis=1) & live_states
    reaches = (sg.transitions[..., moved] > 0) & live[..., None]
    rows = np.flatnonzero(moved | reaches.reshape(S, -1).any(axis=1))
    if rows.size == 0:
        return True
    k = rows.size
    index: list[np.ndarray] = [psi[rows].reshape((k,) + (1,) * n)]
    for i, sigma in enumerate(sigmas):  # σ_i^s(a_i) broadcast over [rows, A_1, ..., A_n]
        shape = [k] + [1] * n
        shape[1 + i] = sigma.shape[1]
        index.append(sigma[rows].reshape(shape))
    live = live[rows]
    everyone: tuple[Any, ...] = (slice(None), *index)
    moved_rewards = sg.rewards[everyone]
    if np.any(np.abs(moved_rewards - sg.rewards[:, rows])[:, live] > tolerance):
        return False
    after = sg.transitions[tuple(index)][..., psi]  # T(ψ(s') | ψ(s), σ^s(a)) at [s, a, s']
    return not np.any(np.abs(after - sg.transitions[rows])[live] > TRANSITION_TOLERANCE)


@dataclass(frozen=True, eq=False)
class SymmetryGroup:
    """The symmetry group Φ of a stochastic game as a stabiliser chain (module docstring).

    Attributes:
        num_states: S.
        num_actions: actions per player.
        points: the points the group acts on: ``("state", s)`` or ``("action", s, i, a)``.
        base: the base points ``ω_k`` of the levels with an orbit of more than one point (indices into ``points``).
        transversals: per level, ``{y: u_{k,y}}`` (point index -> element mapping ω_k to y).
        generators: the elements the searches found (a strong generating set).
        tolerance: the payoff tolerance used.
    """

    num_states: int
    num_actions: tuple[int, ...]
    points: tuple[tuple[Any, ...], ...]
    base: tuple[int, ...]
    transversals: tuple[dict[int, GameSymmetry], ...]
    generators: tuple[GameSymmetry, ...]
    tolerance: float

    @property
    def order(self) -> int:
        """|Φ| = Π_k |Δ_k| (exact, a Python integer)."""
        order = 1
        for level in self.transversals:
            order *= len(level)
        return order

    @property
    def trivial(self) -> bool:
        return self.order == 1

    def identity(self) -> GameSymmetry:
        return GameSymmetry.identity(self.num_states, self.num_actions)

    def image(self, element: GameSymmetry, point: int) -> int:
        return _image(self._index, self.points, element, point)

    @cached_property
    def _index(self) -> dict[tuple[Any, ...], int]:
        return {p: k for k, p in enumerate(self.points)}

    def contains(self, element: GameSymmetry) -> bool:
        """Membership by sifting through the chain (Seress 2003, §4.1): exact."""
        index = self._index
        g = element
        for omega, level in zip(self.base, self.transversals, strict=True):
            y = _image(index, self.points, g, omega)
            if y not in level:
                return False
            g = level[y].inverse().compose(g)
        return g.is_identity

    def elements(self, limit: int = MAX_ELEMENTS) -> Iterator[GameSymmetry]:
        """Every element once (``u_{0,y_0} ∘ u_{1,y_1} ∘ ...``).

        Raises:
            NotApplicableError: the group has more than ``limit`` elements (nothing is listed silently cut).
        """
        if self.order > limit:
            raise NotApplicableError(
                f"symmetry group: {self.order:,} elements, more than the cap of {limit:,} that are listed one by one"
            )
        return self._walk(0, self.identity())

    def _walk(self, k: int, prefix: GameSymmetry) -> Iterator[GameSymmetry]:
        if k == len(self.transversals):
            yield prefix
            return
        for u in self.transversals[k].values():
            yield from self._walk(k + 1, prefix.compose(u))

    def random(self, rng: np.random.Generator) -> GameSymmetry:
        """A uniformly random element (one uniform transversal element per level)."""
        g = self.identity()
        for level in self.transversals:
            keys = list(level)
            g = g.compose(level[keys[int(rng.integers(len(keys)))]])
        return g

    def point_orbits(self) -> tuple[tuple[int, ...], ...]:
        """The orbits of Φ on the points (union along the generators), each sorted, in order of first point."""
        index = self._index
        parent = list(range(len(self.points)))
        for g in self.generators:
            for p in range(len(self.points)):
                union(parent, p, _image(index, self.points, g, p))
        groups: dict[int, list[int]] = {}
        for p in range(len(self.points)):
            groups.setdefault(root(parent, p), []).append(p)
        return tuple(tuple(g) for g in sorted(groups.values()))

    def state_orbits(self) -> tuple[tuple[int, ...], ...]:
        """The orbits of Φ on the states."""
        return tuple(
            tuple(self.points[p][1] for p in orbit)
            for orbit in self.point_orbits()
            if self.points[orbit[0]][0] == "state"
        )

    def action_orbits(self, state: int = 0) -> tuple[tuple[tuple[int, ...], ...], ...]:
        """Per player, the orbits of its legal actions at ``state`` under the stabiliser of ``state`` — what
        :func:`~marlkit.games.properties.action_symmetry.action_symmetries` gives on a normal-form game (state 0 of
        its one-state game). Under the whole Φ an action slot (s, i, a) may also move to other states
        (:meth:`point_orbits`); within a state the orbit of a slot is its orbit under the stabiliser of the
        state, since φ maps (s, i, a) to (s, i, b) only if ψ(s) = s."""
        orbits: list[list[tuple[int, ...]]] = [[] for _ in self.num_actions]
        for orbit in self.point_orbits():
            head = self.points[orbit[0]]
            if head[0] != "action":
                continue
            here = [self.points[p] for p in orbit if self.points[p][1] == state]
            if here:
                orbits[head[2]].append(tuple(sorted(p[3] for p in here)))
        return tuple(tuple(sorted(o)) for o in orbits)

    def to_json(self) -> dict[str, object]:
        return {
            "order": self.order,
            "generators": [g.to_json() for g in self.generators],
            "state_orbits": [list(o) for o in self.state_orbits()],
            "tolerance": self.tolerance,
        }

    def lines(self, game: StochasticGame | None = None) -> list[str]:
        names = game.state_names if game is not None else None
        parts = ["{" + ", ".join(names[s] if names else str(s) for s in o) + "}" for o in self.state_orbits()]
        return [
            f"symmetry group: {self.order:,} element{'s' if self.order != 1 else ''} "
            f"({len(self.generators)} generator{'s' if len(self.generators) != 1 else ''})",
            "state orbits: " + " ".join(parts),
        ]


def game_symmetries(game: object, tol: float | None = None) -> SymmetryGroup:
    """The symmetry group Φ of a fully observed, unconstrained stochastic game (or of a normal-form game's one-state
    game), exactly (module docstring).

    Raises:
        InvalidGameError: not a game.
        NotApplicableError: a partially observable or constrained game (their symmetries must also relabel
            observations or costs), or a game too large to decide within :data:`MAX_NODES` search nodes.
    """
    sg = as_stochastic(game)
    if sg.is_partially_observable:
        raise NotApplicableError(
            "game symmetries are computed for fully observed games; a POSG's symmetries must also relabel its "
            "observations (not supported)"
        )
    if sg.is_constrained:
        raise NotApplicableError("game symmetries are computed for unconstrained games; this game has costs")
    tolerance = payoff_tolerance(sg) if tol is None else float(tol)
    search = _Search(sg, tolerance)
    return search.group()


# ---------------------------------------------------------------------------------------------- internals


def _image(index: dict[tuple[Any, ...], int], points: Sequence[tuple[Any, ...]], g: GameSymmetry, p: int) -> int:
    point = points[p]
    if point[0] == "state":
        return index[("state", g.states[point[1]])]
    _, s, i, a = point
    return index[("action", g.states[s], i, g.actions[i][s][a])]


def _classes(values: np.ndarray, tol: float) -> np.ndarray:
    """Integer labels: sorted values, a new label at every gap larger than ``tol``."""
    flat = values.ravel()
    order = np.argsort(flat, kind="stable")
    gaps = np.diff(flat[order]) > tol
    labels = np.empty(flat.size, dtype=np.int64)
    labels[order] = np.concatenate([[0], np.cumsum(gaps)]) if flat.size else []
    return labels.reshape(values.shape)


def _ids(rows: list[Any]) -> list[int]:
    table: dict[Any, int] = {}
    return [table.setdefault(r, len(table)) for r in rows]


class _Search:
    """The stabiliser chain of Φ, built level by level from the last (module docstring)."""

    def __init__(self, game: StochasticGame, tolerance: float) -> None:
        self.game, self.tolerance = game, tolerance
        S, n = game.num_states, game.n_players
        self.S, self.n = S, n
        self.live_states = [int(s) for s in np.flatnonzero(~game.terminal)]
        self.legal = [
            [np.flatnonzero(game.action_mask[i, s, : game.num_actions[i]]) for i in range(n)] for s in range(S)
        ]
        # labels: one reward class per (s, a) over all players, one transition class per (s, a, s')
        per_player = np.stack([_classes(game.rewards[i], tolerance) for i in range(n)])  # [n, S, A..]
        flat = per_player.reshape(n, -1).T
        self.reward = np.asarray(_ids([tuple(r) for r in flat.tolist()]), dtype=np.int64).reshape(
            game.rewards.shape[1:]
        )
        self.trans = _classes(game.transitions, TRANSITION_TOLERANCE)
        self.zero = int(_classes(np.append(game.transitions.ravel(), 0.0), TRANSITION_TOLERANCE)[-1])
        self.live = game.legal_joint_actions()
        self.successors: list[tuple[int, ...]] = []
        for s in range(S):
            if game.terminal[s]:
                self.successors.append(())
            else:
                reach = (self.trans[s][self.live[s]] != self.zero).any(axis=0)
                self.successors.append(tuple(int(t) for t in np.flatnonzero(reach)))
        self.predecessors: list[list[int]] = [[] for _ in range(S)]
        for s in self.live_states:
            for t in self.successors[s]:
                self.predecessors[t].append(s)
        self.colour = self._refine()
        self.pair = self._pair_signatures()
        self.points: list[tuple[Any, ...]] = [("state", s) for s in range(S)]
        for s in self.live_states:
            for i in range(n):
                self.points += [("action", s, i, int(a)) for a in self.legal[s][i]]
        self.index = {p: k for k, p in enumerate(self.points)}
        self.slots_of: dict[tuple[int, int], list[int]] = {}
        for k, p in enumerate(self.points):
            if p[0] == "action":
                self.slots_of.setdefault((p[1], p[2]), []).append(k)
        self.sigma: dict[int, list[np.ndarray]] = {}
        self.fixed_actions: dict[tuple[int, int], dict[int, int]] = {}
        self.slot_signature = self._slot_signatures()
        self.nodes = 0

    # ------------------------------------------------------------------------------------ invariants
    def _refine(self) -> list[int]:
        g = self.game
        initial = _classes(g.initial, TRANSITION_TOLERANCE)
        colour = _ids(
            [
                (int(initial[s]), bool(g.terminal[s]), tuple(len(x) for x in self.legal[s]))
                if g.terminal[s]
                else (
                    int(initial[s]),
                    False,
                    tuple(len(x) for x in self.legal[s]),
                    tuple(sorted(self.reward[s][self.live[s]].tolist())),
                )
                for s in range(self.S)
            ]
        )
        incoming: list[list[tuple[int, int, int]]] = [[] for _ in range(self.S)]
        for s in self.live_states:
            for t in self.successors[s]:
                for c, r in zip(
                    self.trans[s][..., t][self.live[s]].tolist(), self.reward[s][self.live[s]].tolist(), strict=True
                ):
                    if c != self.zero:
                        incoming[t].append((s, c, r))
        while True:
            rows = []
            for s in range(self.S):
                out: tuple[Any, ...] = ()
                if s in self.live_states:
                    succ = self.successors[s]
                    actions = [
                        (r, tuple(sorted((int(c[k]), colour[t]) for k, t in enumerate(succ))))
                        for r, c in zip(
                            self.reward[s][self.live[s]].tolist(),
                            self.trans[s][self.live[s]][:, list(succ)].tolist(),
                            strict=True,
                        )
                    ]
                    out = tuple(sorted(actions))
                into = tuple(sorted((colour[p], c, r) for p, c, r in incoming[s]))
                rows.append((colour[s], out, into))
            new = _ids(rows)
            if len(set(new)) == len(set(colour)):
                return new
            colour = new

    def _pair_signatures(self) -> np.ndarray:
        """``pair[s, t]``: id of the sorted multiset of (reward class, class of T(t | s, a)) over live a."""
        scale = int(self.trans.max(initial=0)) + 1
        rows: list[Any] = []
        for s in range(self.S):
            if self.game.terminal[s]:
                rows += [b""] * self.S
                continue
            live = self.live[s]
            combined = np.sort(self.reward[s][live][:, None] * scale + self.trans[s][live], axis=0)  # [L, S']
            rows += [column.tobytes() for column in combined.T]
        return np.asarray(_ids(rows), dtype=np.int64).reshape(self.S, self.S)

    def _slot_signatures(self) -> dict[int, tuple[Any, ...]]:
        """With every state fixed, a slot can only map to a slot of the same state and player whose slice holds
        the same multiset of (reward, transition classes) entries."""
        signature: dict[int, tuple[Any, ...]] = {}
        for s in self.live_states:
            keys = self._keys(s, s, np.arange(self.S))[0]
            for i in range(self.n):
                for x, a in enumerate(self.legal[s][i]):
                    signature[self.index[("action", s, i, int(a))]] = tuple(
                        sorted(np.take(keys, x, axis=i).ravel().tolist())
                    )
        return signature

    def _keys(self, s: int, t: int, psi: np.ndarray) -> np.ndarray:
        """Integer tensors over the legal joint actions of s and of t: equal ids iff equal reward class and equal
        transition classes to the successors of s (and their images under ψ at t). Returns ``[2, L_1..L_n]``."""
        succ = list(self.successors[s])
        image = [int(psi[x]) for x in succ]
        here = np.ix_(*self.legal[s])
        there = np.ix_(*self.legal[t])
        a = np.concatenate([self.reward[s][here][..., None], self.trans[s][here][..., succ]], axis=-1)
        b = np.concatenate([self.reward[t][there][..., None], self.trans[t][there][..., image]], axis=-1)
        shape = a.shape[:-1]
        both = np.concatenate([a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])])
        _, inverse = np.unique(both, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        return np.stack([inverse[: int(np.prod(shape))].reshape(shape), inverse[int(np.prod(shape)) :].reshape(shape)])

    # ------------------------------------------------------------------------------------ the chain
    def group(self) -> SymmetryGroup:
        found: list[GameSymmetry] = []
        self.moving: dict[int, list[GameSymmetry]] = {s: [] for s in range(self.S)}
        levels: list[tuple[int, dict[int, GameSymmetry]]] = []
        identity = GameSymmetry.identity(self.S, self.game.num_actions)
        for k in range(len(self.points) - 1, -1, -1):
            orbit = {k: identity}
            excluded: set[int] = set()
            self._close(orbit)
            for y in self._candidates(k):
                if y in orbit or y in excluded:
                    continue
                element = self._find_element({**{p: p for p in range(k)}, k: y}) if k < self.S else self._slot(k, y)
                if element is None:
                    lost = {y: identity}
                    self._close(lost)
                    excluded |= set(lost)
                else:
                    found.append(element)
                    for s in range(self.S):  # the states where the element moves a point
                        if element.states[s] != s or any(
                            rows[s] != tuple(range(len(rows[s]))) for rows in element.actions
                        ):
                            self.moving[s].append(element)
                    self._close(orbit)
            if len(orbit) > 1:
                levels.append((k, orbit))
        levels.reverse()
        return SymmetryGroup(
            num_states=self.S,
            num_actions=self.game.num_actions,
            points=tuple(self.points),
            base=tuple(k for k, _ in levels),
            transversals=tuple(orbit for _, orbit in levels),
            generators=tuple(found),
            tolerance=self.tolerance,
        )

    def _close(self, orbit: dict[int, GameSymmetry]) -> None:
        """Extend ``orbit`` (point -> element mapping the root there) to its closure under the elements found so
        far (only those that move a point of x's state can move x)."""
        frontier = list(orbit)
        while frontier:
            x = frontier.pop()
            for g in self.moving[self.points[x][1]]:
                y = _image(self.index, self.points, g, x)
                if y not in orbit:
                    orbit[y] = g.compose(orbit[x])
                    frontier.append(y)

    def _candidates(self, k: int) -> list[int]:
        point = self.points[k]
        if point[0] == "state":
            return [q for q in range(self.S) if q > k and self.colour[q] == self.colour[k]]
        _, s, i, _ = point
        return [q for q in self.slots_of[(s, i)] if q > k and self.slot_signature[q] == self.slot_signature[k]]

    # ------------------------------------------------------------------------------------ one search
    def _slot(self, k: int, y: int) -> GameSymmetry | None:
        """At a slot level every state and every earlier slot is fixed: the only freedom is σ^s at the slot's
        state s (the identity elsewhere), found by one stage search with the earlier slots of s pinned."""
        _, s, i, a = self.points[k]
        pinned: dict[tuple[int, int], dict[int, int]] = {}
        for p in range(self.S, k):
            if self.points[p][1] == s:
                _, _, j, b = self.points[p]
                pinned.setdefault((s, j), {})[b] = b
        pinned.setdefault((s, i), {})[a] = self.points[y][3]
        self.nodes = 0
        self.fixed_actions = pinned
        self.sigma = {}
        psi = np.arange(self.S)
        if not self._stage(psi, s):
            return None
        return self._element(psi, [s])

    def _find_element(self, constraints: dict[int, int]) -> GameSymmetry | None:
        """A symmetry mapping every point ``p`` of ``constraints`` to ``constraints[p]``, or None.

        A constraint on a slot (the base's slot levels, where every state and every earlier slot is fixed) adds
        the fixed states and the earlier slots of its own state; slots of other states are then free to stay in
        place (the identity is a valid σ at a state that ψ fixes with its successors).
        """
        psi = np.full(self.S, -1, dtype=np.int64)
        fixed_actions: dict[tuple[int, int], dict[int, int]] = {}
        slots = [p for p in constraints if self.points[p][0] == "action"]
        if slots:
            k = max(slots)
            state = self.points[k][1]
            constraints = {**{x: x for x in range(self.S)}, **constraints}
            constraints.update({p: p for p in range(self.S, k) if self.points[p][1] == state and p not in constraints})
        for p, q in constraints.items():
            source, target = self.points[p], self.points[q]
            s, t = source[1], target[1]
            if psi[s] not in (-1, t):
                return None
            psi[s] = t
            if source[0] == "action":
                fixed_actions.setdefault((s, source[2]), {})[source[3]] = target[3]
        if len(set(psi[psi >= 0].tolist())) != int((psi >= 0).sum()):
            return None
        if any(self.colour[s] != self.colour[int(t)] for s, t in enumerate(psi) if t >= 0):
            return None
        self.nodes = 0
        self.fixed_actions = fixed_actions
        self.sigma = {}
        assigned = [s for s in range(self.S) if psi[s] >= 0]
        for s in assigned:
            if psi[s] != s and not self._pairs_agree(psi, s, assigned):
                return None
        for s in self.live_states:
            if all(psi[x] >= 0 for x in (s, *self.successors[s])) and not self._stage(psi, s):
                return None
        order = [s for s in range(self.S) if psi[s] < 0]
        if not self._extend(psi, order, 0):
            return None
        return self._element(psi)

    def _count(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise NotApplicableError(
                f"game symmetries: the search passed {MAX_NODES:,} nodes; the game is too large to decide its "
                "symmetries exactly"
            )

    def _pairs_agree(self, psi: np.ndarray, s: int, assigned: list[int]) -> bool:
        t = int(psi[s])
        return all(
            self.pair[s, x] == self.pair[t, psi[x]] and self.pair[x, s] == self.pair[psi[x], t] for x in assigned
        )

    def _extend(self, psi: np.ndarray, order: list[int], k: int) -> bool:
        if k == len(order):
            return True
        self._count()
        s = order[k]
        used = set(psi[psi >= 0].tolist())
        assigned = [x for x in range(self.S) if psi[x] >= 0]
        for t in range(self.S):
            if t in used or self.colour[t] != self.colour[s]:
                continue
            psi[s] = t
            ready = [
                x
                for x in {s, *self.predecessors[s]}
                if not self.game.terminal[x] and all(psi[y] >= 0 for y in (x, *self.successors[x]))
            ]
            if (
                self._pairs_agree(psi, s, [*assigned, s])
                and all(self._stage(psi, x) for x in ready)
                and self._extend(psi, order, k + 1)
            ):
                return True
            psi[s] = -1
        return False

    def _stage(self, psi: np.ndarray, s: int) -> bool:
        """Find bijections σ^s of the legal actions at s onto those at ψ(s) under the fixed action constraints;
        store them in ``self.sigma[s]``."""
        t = int(psi[s])
        if t == s and all(psi[x] == x for x in self.successors[s]):
            pinned = [self.fixed_actions.get((s, i), {}) for i in range(self.n)]
            if all(a == b for fixed in pinned for a, b in fixed.items()):
                self.sigma[s] = [np.arange(len(self.legal[s][i])) for i in range(self.n)]
                return True
        keys = self._keys(s, t, psi)
        source, target = keys[0], keys[1]
        sizes = source.shape
        if target.shape != sizes:
            return False
        sigma = [np.full(m, -1, dtype=np.int64) for m in sizes]
        used = [np.zeros(m, dtype=bool) for m in sizes]
        for i in range(self.n):
            for a, b in self.fixed_actions.get((s, i), {}).items():
                x = int(np.searchsorted(self.legal[s][i], a))
                y = int(np.searchsorted(self.legal[t][i], b))
                sigma[i][x], used[i][y] = y, True
        signature = [
            [
                (
                    tuple(sorted(np.take(source, x, axis=i).ravel().tolist())),
                    tuple(sorted(np.take(target, x, axis=i).ravel().tolist())),
                )
                for x in range(m)
            ]
            for i, m in enumerate(sizes)
        ]
        for i in range(self.n):
            for x in range(sizes[i]):
                if sigma[i][x] >= 0 and signature[i][x][0] != signature[i][sigma[i][x]][1]:
                    return False
                if sigma[i][x] >= 0 and not self._consistent(source, target, sigma, i, x):
                    return False
        order = [(i, x) for x in range(max(sizes)) for i in range(self.n) if x < sizes[i] and sigma[i][x] < 0]
        if not self._assign(source, target, sigma, used, signature, order, 0):
            return False
        self.sigma[s] = sigma
        return True

    def _assign(
        self,
        source: np.ndarray,
        target: np.ndarray,
        sigma: list[np.ndarray],
        used: list[np.ndarray],
        signature: list[list[tuple[Any, Any]]],
        order: list[tuple[int, int]],
        k: int,
    ) -> bool:
        if k == len(order):
            return True
        self._count()
        i, x = order[k]
        for y in range(len(sigma[i])):
            if used[i][y] or signature[i][x][0] != signature[i][y][1]:
                continue
            sigma[i][x], used[i][y] = y, True
            if self._consistent(source, target, sigma, i, x) and self._assign(
                source, target, sigma, used, signature, order, k + 1
            ):
                return True
            sigma[i][x], used[i][y] = -1, False
        return False

    def _consistent(self, source: np.ndarray, target: np.ndarray, sigma: list[np.ndarray], player: int, x: int) -> bool:
        """Every entry whose joint action has ``a_player = x`` and every other coordinate assigned."""
        domains, images = [], []
        for i in range(self.n):
            if i == player:
                domains.append(np.array([x]))
                images.append(np.array([sigma[i][x]]))
            else:
                assigned = np.flatnonzero(sigma[i] >= 0)
                if assigned.size == 0:
                    return True
                domains.append(assigned)
                images.append(sigma[i][assigned])
        return bool(np.array_equal(source[np.ix_(*domains)], target[np.ix_(*images)]))

    def _element(self, psi: np.ndarray, states: Sequence[int] | None = None) -> GameSymmetry:
        """The element of ψ and the σ^s found (``states``: only these states' σ; ψ fixes the others, whose σ is
        the identity), checked directly against the game."""
        identity = GameSymmetry.identity(self.S, self.game.num_actions)
        actions = [list(rows) for rows in identity.actions]
        for s in self.live_states if states is None else states:
            t = int(psi[s])
            for i, m in enumerate(self.game.num_actions):
                perm = [0] * m
                here, there = self.legal[s][i].tolist(), self.legal[t][i].tolist()
                for x, a in enumerate(here):
                    perm[a] = there[int(self.sigma[s][i][x])]
                illegal_here = [a for a in range(m) if a not in set(here)]
                illegal_there = [b for b in range(m) if b not in set(there)]
                for c, d in zip(illegal_here, illegal_there, strict=True):
                    perm[c] = d
                actions[i][s] = tuple(perm)
        element = GameSymmetry(tuple(int(t) for t in psi), tuple(tuple(rows) for rows in actions))
        if not is_game_symmetry(self.game, element, self.tolerance):  # labels within tolerance chained too far
            raise InvalidGameError(
                "game symmetries: payoffs or probabilities closer than the tolerance chain into classes wider than "
                "it; round the game's numbers (or pass a smaller tol)"
            )
        return element


def check_symmetry_group(group: SymmetryGroup, game: StochasticGame) -> SymmetryGroup:
    """``group`` if it was computed for a game of this shape, else a clear error."""
    if group.num_states != game.num_states or group.num_actions != game.num_actions:
        raise InvalidGameError(
            f"symmetry group: computed for {group.num_states} states and actions {group.num_actions}, but the game "
            f"has {game.num_states} states and actions {game.num_actions}"
        )
    return group


__all__ = [
    "MAX_ELEMENTS",
    "MAX_NODES",
    "TRANSITION_TOLERANCE",
    "GameSymmetry",
    "SymmetryGroup",
    "check_symmetry_group",
    "game_symmetries",
    "is_game_symmetry",
]
