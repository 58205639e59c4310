"""Symmetric games and weakly homogeneous agents (Albrecht, Christianos & Schäfer 2024, §9.7).

**Definition.** For a permutation σ of the agents and a joint policy π, let π^σ be the joint policy in which agent
σ(i) plays agent i's policy (π^σ_σ(i) = π_i). The agents are *weakly homogeneous* (the game is *symmetric*;
Nash 1951, "Non-cooperative games", section "Symmetries of games") when, for every π and σ,

    U_σ(i)(π^σ) = U_i(π)        for every agent i: whoever receives i's policy receives i's utility.

*Index convention.* The book writes U_i(π) = U_σ(i)(⟨π_σ(1), ..., π_σ(N)⟩), which hands agent j the policy of
σ(j), i.e. uses σ^-1 on the policies but σ on the utilities. For a transposition the two readings agree; read
literally for every σ, the 3-cycle instance combined with the transposition instances forces U_σ(i) = U_σ^-1(i),
i.e. all agents' utilities equal (a common-payoff game), which is not what parameter sharing needs. We implement
the group-action form above, the standard notion of a symmetric game.

Actions are identified across agents by their index (agent j's action k is agent i's action k), as parameter
sharing requires; agents with different action counts are never weakly homogeneous (their policies cannot be
swapped).

**Normal-form games: exact.** U_i is multilinear in the mixed strategies, U_i(π) = Σ_a Π_j π_j(a_j) u_i(a), and
(π^σ) puts probability Π_j π_j(a_j) on the joint action a^σ (a^σ_σ(j) = a_j). So the identity holds for every
mixed profile iff it holds at every pure one (pure profiles are mixed ones; conversely, both sides are the same
linear combination of the pure identities), i.e. iff the payoff tensor is invariant under moving the player axis
by σ together with the action axes: u_σ(i)(a^σ) = u_i(a). The σ for which this holds form a subgroup of S_n
(it is the stabiliser of the tensor under a group action: σ·(τ·u) = (τσ)·u, the identity fixes everything, and
in a finite group closure under composition gives inverses), so it suffices to check the generators of S_n: the
transposition (0 1) and the n-cycle (0 1 ... n-1) (see :func:`._tabular.generators` for why they generate).

**Stochastic games** (agents act on the state with stationary policies π_i(a|s)). Invariance of the transition
tensor under permuting the joint-action axes, T(s'|s, a^σ) = T(s'|s, a), of the rewards, R_σ(i)(s, a^σ) = R_i(s, a),
and identical action masks across agents, at every non-terminal state *reachable* from the initial support
(under any joint action), is sufficient: π^σ then induces the same state chain as π on the reachable states, and
agent σ(i)'s expected reward there equals agent i's, so U_σ(i)(π^σ) = U_i(π). (The chain never leaves the
reachable set, so the other states do not matter; again the generators suffice.) It is not necessary: a reward
difference that is the same for every joint action of a state, offset at another state (e.g. R = (1, 0) in one
initial state and (0, 1) in another of equal weight), or any difference that the discounted sum cancels, leaves
every U_i unchanged. When the tensor test fails at a reachable state, or the game is too large for it (transition
tensor above ``max_exact_entries`` = 10^8 entries), we therefore **sample**: random joint policies (Dirichlet rows
with concentration 1, 0.2 and 0.05, and deterministic ones) under each generator σ, comparing U through
:meth:`StochasticGame.expected_return`. A difference above the tolerance is a definite counterexample
(``holds=False``); none found is evidence (``holds=True``, method ``"sampled"``, with the number of comparisons).
Different action masks at a reachable state make policies unswappable: not weakly homogeneous (exact).

A partially observable game is decided on its underlying state-based game (observations are ignored; agents
that act on their own observations may differ).

**Constrained games** (costs C_j^i and limits c_j^i; Altman 1999; Gu et al. 2021). Swapping policies must also
swap the agents' constraints, or parameter sharing would hand an agent a policy tuned to another agent's budget:
agents are weakly homogeneous only if, in addition to the above, every agent has the same limits (the limit rows
are invariant under every permutation, i.e. equal, since S_n moves any agent to any other) and each cost channel j
passes the same test as the rewards, J_j^σ(i)(π^σ) = J_j^i(π) — decided exactly as for rewards, with C_j in
place of R (the tensor condition, else sampling).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from marlkit.games.properties._tabular import (
    DEFAULT_TOLERANCE,
    Game,
    TabularView,
    generators,
    inverse,
    permute_action_axes,
    permute_joint_action,
    permute_players,
    tabular_view,
)
from marlkit.games.properties.verdict import Method, Verdict
from marlkit.games.stochastic import StochasticGame

MAX_EXACT_ENTRIES = 10**8
"""Above this many transition-tensor entries the tensor test is skipped and only sampling is used.

The test reads each entry a few times (about 1 s per 10^8 entries here), in blocks of ``CHUNK_ENTRIES`` so memory
stays small; note that one sampled evaluation touches every entry too, so sampling is no cheaper per draw."""
CHUNK_ENTRIES = 2**21
"""Transition entries compared per block in the tensor test (about 16 MiB of float64)."""
DEFAULT_SAMPLES = 32
"""Sampled joint policies per generator (8 when the game has more than ``LARGE_STATE_COUNT`` states)."""
LARGE_STATE_COUNT = 200
"""Each sample costs an S x S linear solve per permutation; above this many states fewer samples are drawn."""
CONCENTRATIONS = (1.0, 0.2, 0.05, 0.0)
"""Dirichlet concentrations of the sampled policy rows, in rotation; 0.0 stands for a deterministic policy."""


def _mismatch(original: np.ndarray, permuted: np.ndarray, where: np.ndarray, tol: float) -> tuple[int, ...] | None:
    """First index (in ``permuted``'s coordinates) where the two differ by more than ``tol`` inside ``where``."""
    bad = where & (np.abs(original - permuted) > tol)
    if not bad.any():
        return None
    return tuple(int(k) for k in np.argwhere(bad)[0])


def _reward_counterexample(
    view: TabularView, sigma: tuple[int, ...], index: tuple[int, ...], states: np.ndarray
) -> dict[str, Any]:
    """Spell out a reward mismatch R^σ[k, s, b] != R[k, s, b] as the pure-profile counterexample it is."""
    k, s, b = index[0], int(states[index[1]]), index[2:]
    i = inverse(sigma)[k]
    a = permute_joint_action(inverse(sigma), b)  # a^σ = b
    example: dict[str, Any] = {
        "permutation": list(sigma),
        "player": i,
        "joint_action": list(a),
        "permuted_joint_action": list(b),
        "utility": float(view.rewards[(i, s, *a)]),
        "permuted_utility": float(view.rewards[(k, s, *b)]),
    }
    if not view.is_normal_form:
        example["state"] = s
    return example


def _normal_form(view: TabularView, tol: float) -> Verdict:
    live = view.live
    for sigma in generators(view.n_players):
        index = _mismatch(view.rewards, permute_players(view.rewards, sigma), live[None], tol)
        if index is not None:
            example = _reward_counterexample(view, sigma, index, np.zeros(1, dtype=int))
            return Verdict(
                False,
                Method.EXACT,
                f"payoff tensor not invariant under the permutation {list(sigma)}: player {example['player']} "
                f"gets {example['utility']:g} at {example['joint_action']} but player {sigma[example['player']]} "
                f"gets {example['permuted_utility']:g} at {example['permuted_joint_action']} (pure profiles)",
                example,
            )
    return Verdict(
        True,
        Method.EXACT,
        "payoff tensor invariant under a transposition and the n-cycle, which generate all permutations",
    )


def _mask_counterexample(view: TabularView, states: np.ndarray) -> Verdict | None:
    masks = view.action_mask[:, states]  # [n, k, A_max]
    differs = np.any(masks != masks[:1], axis=2)  # [n, k]
    if not differs.any():
        return None
    j, k = (int(x) for x in np.argwhere(differs)[0])
    s = int(states[k])
    legal = [np.flatnonzero(view.action_mask[i, s]).tolist() for i in (0, j)]
    return Verdict(
        False,
        Method.EXACT,
        f"agents 0 and {j} have different legal actions in reachable state {s} ({legal[0]} vs {legal[1]}), so "
        "their policies cannot be swapped",
        {"state": s, "agents": [0, j], "legal_actions": legal},
    )


def _tensor_mismatch(view: TabularView, states: np.ndarray, tol: float) -> str | None:
    """Describe the first violation of the sufficient tensor condition at ``states``, or None if it holds.

    Works through blocks of about ``CHUNK_ENTRIES`` transition entries, so memory stays bounded.
    """
    assert view.transitions is not None  # a stochastic game's view
    per_state = view.transitions[0].size
    blocks = max(1, -(-states.size * per_state // CHUNK_ENTRIES))
    for block in np.array_split(states, blocks):
        found = _block_mismatch(view, block, tol)
        if found is not None:
            return found
    return None


def _block_mismatch(view: TabularView, states: np.ndarray, tol: float) -> str | None:
    assert view.transitions is not None  # a stochastic game's view
    R, T, live = view.rewards[:, states], view.transitions[states], view.live[states]
    for sigma in generators(view.n_players):
        index = _mismatch(R, permute_players(R, sigma), live[None], tol)
        if index is not None:
            ex = _reward_counterexample(view, sigma, index, states)
            return (
                f"rewards differ under {list(sigma)} at reachable state {ex['state']}: R_{ex['player']}"
                f"{tuple(ex['joint_action'])} = {ex['utility']:g} vs R_{sigma[ex['player']]}"
                f"{tuple(ex['permuted_joint_action'])} = {ex['permuted_utility']:g}"
            )
        index = _mismatch(T, permute_action_axes(T, sigma, first=1), live[..., None], tol)
        if index is not None:
            s, b = int(states[index[0]]), index[1:-1]
            return f"transitions differ under {list(sigma)} at reachable state {s}, joint action {list(b)}"
    return None


def sample_policy(rng: np.random.Generator, mask: np.ndarray, concentration: float) -> np.ndarray:
    """A random per-agent policy ``[n, S, A_max]`` over the legal actions of ``mask``.

    Rows are Dirichlet(``concentration``) over the legal actions, or deterministic (a uniformly random legal
    action) when ``concentration`` is 0. Small concentrations give near-deterministic rows.
    """
    if concentration == 0.0:
        choice = np.argmax(rng.random(mask.shape) * mask, axis=2)
        return np.eye(mask.shape[2])[choice] * mask
    weights = rng.gamma(concentration, size=mask.shape) * mask
    totals = weights.sum(axis=2, keepdims=True)
    uniform = mask / mask.sum(axis=2, keepdims=True)
    return np.where(totals > 0, weights / np.where(totals > 0, totals, 1.0), uniform)


def _swap_policies(policy: np.ndarray, sigma: Sequence[int], mask: np.ndarray) -> np.ndarray:
    """π^σ (agent σ(i) plays π_i); rows illegal for the receiver (unreachable states only) become uniform."""
    swapped = policy[list(inverse(sigma))]
    illegal = np.any((swapped > 0) & ~mask, axis=2, keepdims=True)
    return np.where(illegal, mask / mask.sum(axis=2, keepdims=True), swapped)


def _sampled(view: TabularView, why: str, samples: int, seed: int, tol: float) -> Verdict:
    game = view.game
    assert isinstance(game, StochasticGame)
    rng = np.random.default_rng(seed)
    scale = max(1.0, float(np.abs(view.rewards[:, view.live]).max(initial=0.0)) / (1.0 - game.gamma))
    compared = 0
    for draw in range(samples):
        concentration = CONCENTRATIONS[draw % len(CONCENTRATIONS)]
        policy = sample_policy(rng, view.action_mask, concentration)
        values = game.expected_return(policy)
        for sigma in generators(view.n_players):
            swapped = game.expected_return(_swap_policies(policy, sigma, view.action_mask))
            compared += 1
            gap = np.abs(swapped[list(sigma)] - values)
            if np.any(gap > tol * scale):
                i = int(np.argmax(gap))
                return Verdict(
                    False,
                    Method.SAMPLED,
                    f"{why}; a sampled joint policy (draw {draw}, seed {seed}) is a definite counterexample: "
                    f"U_{i}(π) = {values[i]:.6g} but agent {sigma[i]} playing π_{i} under the permutation "
                    f"{list(sigma)} gets {swapped[sigma[i]]:.6g}",
                    {
                        "permutation": list(sigma),
                        "player": i,
                        "utility": float(values[i]),
                        "permuted_utility": float(swapped[sigma[i]]),
                        "policy": policy,
                        "draw": draw,
                        "seed": seed,
                    },
                    samples=compared,
                )
    return Verdict(
        True,
        Method.SAMPLED,
        f"{why}; but no difference in U over {compared} sampled (joint policy, permutation) pairs (seed {seed}, "
        f"tolerance {tol * scale:.2g}): evidence, not proof",
        samples=compared,
    )


def _stochastic(view: TabularView, samples: int | None, seed: int, tol: float, max_exact_entries: int) -> Verdict:
    reachable = view.reachable() & ~view.terminal
    states = np.flatnonzero(reachable)
    unswappable = _mask_counterexample(view, states)
    if unswappable is not None:
        return unswappable
    if samples is None:
        samples = DEFAULT_SAMPLES if view.num_states <= LARGE_STATE_COUNT else DEFAULT_SAMPLES // 4
    assert view.transitions is not None  # a stochastic game's view
    if view.transitions.size > max_exact_entries:
        why = f"transition tensor too large for the exact test ({view.transitions.size} > {max_exact_entries} entries)"
        return _sampled(view, why, samples, seed, tol)
    mismatch = _tensor_mismatch(view, states, tol)
    if mismatch is None:
        return Verdict(
            True,
            Method.EXACT,
            f"transitions, rewards and action masks are invariant under permuting the agents at all {states.size} "
            "reachable non-terminal states (a sufficient condition)",
        )
    return _sampled(view, f"the sufficient tensor condition fails ({mismatch})", samples, seed, tol)


def weakly_homogeneous(
    game: Game,
    *,
    samples: int | None = None,
    seed: int = 0,
    tol: float = DEFAULT_TOLERANCE,
    max_exact_entries: int = MAX_EXACT_ENTRIES,
) -> Verdict:
    """Decide whether the agents of ``game`` are weakly homogeneous (the game is symmetric); see the module docstring.

    Args:
        game: a normal-form or stochastic game.
        samples: joint policies to sample per generator when a stochastic game needs sampling (default 32, or 8
            for games with more than 200 states).
        seed: seed of ``numpy.random.default_rng`` for the sampling (results are reproducible).
        tol: absolute tolerance on payoffs (1e-9); sampled utilities are compared within ``tol`` times
            ``max(1, max|R| / (1 - γ))``, the scale of a return.
        max_exact_entries: transition tensors with more entries skip the tensor test.

    Returns:
        A :class:`Verdict` (method ``"exact"`` or ``"sampled"``), with a counterexample when it fails.
    """
    view = tabular_view(game, "weakly_homogeneous")
    if view.n_players == 1:
        return Verdict(True, Method.EXACT, "one agent: the only permutation is the identity")
    if len(set(view.num_actions)) > 1:
        return Verdict(
            False,
            Method.EXACT,
            f"the agents have different action counts {list(view.num_actions)}, so their policies cannot be swapped",
            {"num_actions": list(view.num_actions)},
        )
    if view.is_normal_form:
        return _normal_form(view, tol)
    verdict = _stochastic(view, samples, seed, tol, max_exact_entries)
    if not verdict.holds or not isinstance(game, StochasticGame) or not game.is_constrained:
        return verdict
    return _with_constraints(game, verdict, samples, seed, tol, max_exact_entries)


def _with_constraints(
    game: StochasticGame, rewards: Verdict, samples: int | None, seed: int, tol: float, max_exact_entries: int
) -> Verdict:
    """The rewards' verdict ``rewards`` (which holds) extended to the costs and limits (module docstring)."""
    assert game.costs is not None and game.limits is not None  # a constrained game
    limits = np.asarray(game.limits)
    differ = np.flatnonzero(np.any(np.abs(limits - limits[0]) > tol, axis=1))
    if differ.size:
        k = int(differ[0])
        return Verdict(
            False,
            Method.EXACT,
            f"the agents' cost limits differ (agent 0: {limits[0].tolist()}, agent {k}: {limits[k].tolist()}), so "
            "their constrained problems cannot be swapped",
            {"limits": limits},
        )
    methods = [rewards.method]
    for j in range(game.num_constraints):
        channel = StochasticGame(
            transitions=game.transitions,
            rewards=game.costs[:, j],
            initial=game.initial,
            gamma=game.gamma,
            terminal=game.terminal,
            action_mask=game.action_mask,
        )
        verdict = _stochastic(tabular_view(channel, "weakly_homogeneous"), samples, seed, tol, max_exact_entries)
        if not verdict.holds:
            return Verdict(
                False, verdict.method, f"cost {j}: {verdict.reason}", verdict.counterexample, verdict.samples
            )
        methods.append(verdict.method)
    sampled = Method.SAMPLED in methods
    return Verdict(
        True,
        Method.SAMPLED if sampled else Method.EXACT,
        f"{rewards.reason}; the same holds for each of the {game.num_constraints} cost channel(s), and every agent "
        "has the same limits",
        samples=rewards.samples,
    )


def is_symmetric(game: Game, *, seed: int = 0, tol: float = DEFAULT_TOLERANCE) -> bool:
    """True when ``game`` is symmetric (its agents are weakly homogeneous); see :func:`weakly_homogeneous`.

    Exact for normal-form games; for a stochastic game that fails the tensor test the answer may rest on sampling
    (call :func:`weakly_homogeneous` to see the method).
    """
    return bool(weakly_homogeneous(game, seed=seed, tol=tol).holds)
