"""Record an offline dataset from an exact game and a behaviour policy (NumPy; no JAX, no compile).

:func:`record` plays ``episodes`` episodes of a :class:`~marlkit.games.NormalFormGame` (as its one-shot view,
:func:`marlkit.games.views.as_stochastic`) or a :class:`~marlkit.games.StochasticGame` with a per-agent tabular
behaviour policy ``[n, S, A_max]`` (the house contract), all episodes side by side:

* s_0 ~ μ_0; each agent draws a_i ~ π_i(·|s) independently; s' ~ T(·|s, a); the step is ``done`` when s' is
  terminal; an episode also stops (truncated, not done) after ``max_steps`` steps;
* the logged reward is R_i(s, a) + σ ξ with ξ ~ N(0, 1) drawn per step and agent (``noise`` = σ); in a two-player
  zero-sum game agent 1 logs the negative of agent 0's noisy reward, so the data stay zero-sum.

The episode rule is :class:`marlkit.envs.games.GameEnv`'s: a one-state game without terminal states (a normal-form
game) is one step per episode; any other game runs to a terminal state or ``max_steps`` (default 100). The
randomness is a NumPy ``Generator`` from ``SeedSequence(seed)``: the same seed gives the same dataset. GameEnv is the
compiled JAX simulator of the same dynamics; this recorder is the float64 host-side one the offline floor needs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games import Game, as_stochastic
from marlkit.offline.dataset import OfflineDataset, game_header

DEFAULT_MAX_STEPS = 100
"""Episode limit of a game that is not one-shot when ``max_steps`` is not given."""


def _draw(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One draw per row of ``probabilities [E, K]`` (inverse CDF on float64 cumulative sums)."""
    cdf = np.cumsum(probabilities, axis=1)
    u = rng.random(probabilities.shape[0]) * cdf[:, -1]
    return np.minimum((u[:, None] >= cdf).sum(axis=1), probabilities.shape[1] - 1)


def record(
    game: Game,
    policy: np.ndarray | None = None,
    *,
    episodes: int = 100,
    seed: int = 0,
    noise: float = 0.0,
    max_steps: int | None = None,
    behaviour: str = "",
    provenance: dict[str, Any] | None = None,
) -> OfflineDataset:
    """Play ``episodes`` episodes of ``game`` with ``policy`` (default: uniform over legal actions) and log them.

    Args:
        game: an exact game.
        policy: per-agent tabular behaviour policy ``[n, S, A_max]``.
        episodes: number of episodes (>= 1).
        seed: seed of ``SeedSequence``.
        noise: σ >= 0 of the Gaussian reward noise.
        max_steps: episode limit (default 1 for a one-shot game, else :data:`DEFAULT_MAX_STEPS`).
        behaviour: a label for the header (default ``"uniform"`` or ``"given policy"``).
        provenance: extra header fields (e.g. the run directory the policy came from).
    """
    g = as_stochastic(game)
    if isinstance(episodes, bool) or not isinstance(episodes, int | np.integer) or episodes < 1:
        raise InvalidGameError(f"episodes: expected an integer >= 1, got {episodes!r}")
    if not (isinstance(noise, int | float) and np.isfinite(noise) and noise >= 0):
        raise InvalidGameError(f"noise: expected a finite σ >= 0, got {noise!r}")
    one_shot = g.num_states == 1 and not np.any(g.terminal)
    limit = (1 if one_shot else DEFAULT_MAX_STEPS) if max_steps is None else max_steps
    if isinstance(limit, bool) or not isinstance(limit, int | np.integer) or limit < 1:
        raise InvalidGameError(f"max_steps: expected an integer >= 1, got {max_steps!r}")
    label = behaviour or ("uniform" if policy is None else "given policy")
    pi = g.uniform_policy() if policy is None else g.check_policy(np.asarray(policy, dtype=np.float64))
    header = game_header(game)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    n, shape = g.n_players, g.num_actions
    E = int(episodes)
    s = _draw(rng, np.broadcast_to(g.initial, (E, g.num_states)))
    running = np.ones(E, dtype=bool)
    columns: dict[str, list[np.ndarray]] = {"state": [], "actions": [], "rewards": [], "next_state": [], "done": []}
    flat_T = g.transitions.reshape(g.num_states, -1, g.num_states)
    flat_R = g.rewards.reshape(n, g.num_states, -1)
    strides = np.array([int(np.prod(shape[i + 1 :])) for i in range(n)], dtype=np.int64)
    for _ in range(int(limit)):
        idx = np.flatnonzero(running)
        if idx.size == 0:
            break
        here = s[idx]
        a = np.stack([_draw(rng, pi[i, here, : shape[i]]) for i in range(n)], axis=1)
        j = a @ strides
        r = flat_R[:, here, j].T.copy()
        if noise > 0:
            xi = rng.standard_normal((idx.size, n)) * noise
            r += xi
            if header["zero_sum"]:
                r[:, 1] = -r[:, 0]
        nxt = _draw(rng, flat_T[here, j])
        done = g.terminal[nxt]
        for key, value in (("state", here), ("actions", a), ("rewards", r), ("next_state", nxt), ("done", done)):
            columns[key].append(value)
        s[idx] = nxt
        running[idx[done]] = False
    # order the steps episode by episode is not needed by any estimator; keep them in time-major blocks
    data: dict[str, Any] = {key: np.concatenate(value) for key, value in columns.items()}
    meta = {"source": "game", "behaviour": label, "episodes": E, "seed": int(seed), "noise": float(noise),
            "max_steps": int(limit), **(provenance or {})}  # fmt: skip
    return OfflineDataset(**data, game=header, provenance=meta)


def record_counts(game: Game, counts: np.ndarray, *, seed: int = 0, noise: float = 0.0) -> OfflineDataset:
    """A designed dataset: exactly ``counts[s, a_1..a_n]`` steps of each (s, a) (a fixed coverage, as in the
    experiments of Wu et al. 2023), rewards R(s, a) (+ σ noise), next states drawn from T(·|s, a) with ``seed``."""
    g = as_stochastic(game)
    N = np.asarray(counts)
    if N.shape != (g.num_states, *g.num_actions) or N.dtype.kind not in "iu" or np.any(N < 0):
        raise InvalidGameError(
            f"counts: expected non-negative integers of shape [S, A_1..A_n] = {[g.num_states, *g.num_actions]}"
        )
    if not (isinstance(noise, int | float) and np.isfinite(noise) and noise >= 0):
        raise InvalidGameError(f"noise: expected a finite σ >= 0, got {noise!r}")
    header = game_header(game)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    S, J, n = g.num_states, int(np.prod(g.num_actions)), g.n_players
    cells = np.repeat(np.arange(S * J), N.reshape(-1))
    state, joint = np.divmod(cells, J)
    actions = np.array(np.unravel_index(joint, g.num_actions)).T.reshape(-1, n)
    rewards = g.rewards.reshape(n, S, J)[:, state, joint].T.copy()
    if noise > 0:
        rewards += rng.standard_normal(rewards.shape) * noise
        if header["zero_sum"]:
            rewards[:, 1] = -rewards[:, 0]
    flat_T = g.transitions.reshape(S, J, S)
    nxt = _draw(rng, flat_T[state, joint]) if cells.size else np.zeros(0, dtype=np.int64)
    meta = {"source": "designed", "counts": N.reshape(-1).tolist(), "seed": int(seed), "noise": float(noise)}
    return OfflineDataset(state=state, actions=actions, rewards=rewards, next_state=nxt, done=g.terminal[nxt],
                          game=header, provenance=meta)  # fmt: skip


__all__ = ["DEFAULT_MAX_STEPS", "record", "record_counts"]
