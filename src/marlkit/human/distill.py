"""Decision-tree distillation of trained policies: VIPER with DAgger (Bastani, Pu & Solar-Lezama 2018).

**Deep teams on tasks** (:func:`distill_deep`). The teacher is the trained policy's greedy action
``a*(o) = argmax_a π(a | o)`` (over the legal actions; for a Q-learner ``argmax_a Q(o, a)``, its policy without
exploration). VIPER (Bastani et al. 2018, NeurIPS, Algorithm 1) runs
DAgger (Ross, Gordon & Bagnell 2011, AISTATS, Algorithm 3.1):

1. round 0 rolls out the teacher; every later round rolls out the previous round's trees;
2. every visited observation is labelled with the teacher's action and added to one aggregated dataset ``D``;
3. per agent, a ``sklearn.tree.DecisionTreeClassifier(max_depth=d)`` is fitted on ``D`` with VIPER's sample weights
   ``ℓ(o) = V(o) - min_a Q(o, a)`` (the loss of acting worst instead of best: states where the choice matters weigh
   more; with a greedy teacher ``V = max_a Q``) where the learner has per-agent Q-values (IDQN, VDN, QMIX), and
   **uniform weights otherwise** (actor-critic learners such as IPPO/MAPPO have a state-value critic ``V`` but no
   ``Q``, so VIPER's weights are undefined for them);
4. the round's trees are rolled out: their return, and their **fidelity** — the share of (step, agent) pairs on
   the trees' own state distribution where the tree's action equals the teacher's greedy action.

The best round is kept — by fidelity (ties: by return; the default: the trees are an *explanation* of the teacher,
and a round's return on ``episodes`` episodes is a noisy score) or, with ``select="return"``, by return (ties: by
fidelity), as VIPER's Algorithm 1 selects by the reward of each round's policy — and it and the greedy teacher are
then evaluated on the same ``episodes`` fresh episodes (common random numbers).

Trees are NumPy/scikit-learn, not JAX, so every rollout here is a **host-side rollout**: ``env.reset`` /
``env.step`` jitted and vmapped over the episodes, one call per step from Python, the policy (tree or teacher)
queried between steps — not :func:`marlkit.train.evaluate.evaluate`.
A tree's prediction is its most probable *legal* class, so it never plays an illegal action.

**Tabular policies** (:func:`distill_tabular`): a tree per agent on the binary digits of the state index
(``b = ceil(log2 S)`` features ``s_bit0..``), fitted to the greedy action of every non-terminal state. A tree never
splits twice on one bit along a path (the bit is constant below the first split) and CART keeps splitting an impure
node while some feature varies, so depth ``b`` reproduces *any* deterministic policy exactly — which one ordinal
state-index feature would not guarantee (greedy CART finds no gain on an alternating policy). Fidelity is the share
of the non-terminal states where the tree agrees; the returns of the tree policy and of the teacher's greedy policy
are exact (policy evaluation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.agents.deep.base import Observation
from marlkit.errors import InvalidGameError, NotApplicableError

WEIGHTS = ("q-gap", "uniform")
SELECTIONS = ("fidelity", "return")
DECISIVE_MARGIN = 0.1
"""A state is *decisive* for an agent when the teacher's greedy action beats the runner-up by this much probability;
fidelity there is reported apart (near-ties make plain fidelity a coin flip between equally good actions). For an
ε-greedy Q teacher the margin is that of its ε-greedy distribution, ``1 - ε`` at every state (none while ε = 1)."""


def check_depth(depth: int) -> int:
    """``depth`` as an int, or :class:`InvalidGameError` (one line) unless it is an integer >= 1."""
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
        raise InvalidGameError(f"depth: a tree depth must be an integer >= 1, got {depth!r}")
    return int(depth)


def fit_tree(features: np.ndarray, labels: np.ndarray, depth: int, weights: np.ndarray | None = None) -> Any:
    """A ``DecisionTreeClassifier(max_depth=depth, random_state=0)`` fitted on ``(features [B, d], labels [B])``."""
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(max_depth=check_depth(depth), random_state=0)
    tree.fit(features, labels, sample_weight=weights)
    return tree


def tree_actions(tree: Any, features: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``[B]`` the tree's most probable legal action at ``features [B, d]`` (``mask [B, A]`` legal actions)."""
    proba = tree.predict_proba(features)  # [B, classes]
    full = np.zeros(mask.shape)
    full[:, np.asarray(tree.classes_, dtype=np.int64)] = proba
    full = np.where(mask, full + 1e-9, -1.0)  # a legal action the tree never saw still beats an illegal one
    return np.argmax(full, axis=1)


def tree_size(tree: Any) -> tuple[int, int, int]:
    """``(nodes, depth, leaves)`` of a fitted tree."""
    return int(tree.tree_.node_count), int(tree.get_depth()), int(tree.get_n_leaves())


def tree_rules(tree: Any, feature_names: list[str] | None = None) -> str:
    """The tree as text rules (``sklearn.tree.export_text``)."""
    from sklearn.tree import export_text

    return str(export_text(tree, feature_names=feature_names))


@dataclass(frozen=True)
class Distillation:
    """Per-agent decision trees distilled from a teacher policy.

    Attributes:
        depth: the maximum depth asked for. rounds: DAgger rounds run (0 for tabular). best_round: the kept round.
        fidelity: per agent, agreement with the teacher's greedy action on the kept trees' state distribution.
        nodes / tree_depth / leaves: per agent, the kept trees' size.
        tree_return / teacher_return: mean return per agent and episode of the tree policy and of the greedy
            teacher (exact on a game; on the same host-rollout episodes on a task).
        weights: ``"q-gap"`` or ``"uniform"`` (module docstring). evaluation: how returns were computed.
        episodes: evaluation episodes (0: exact). samples: the aggregated dataset's size.
        rules: per agent, the tree as text.
        decisive_fidelity: per agent, fidelity on the decisive states (teacher margin >= DECISIVE_MARGIN; None when
            there are none); decisive_share: their share of the (step, agent) pairs. Both 1.0 / exact-game: None.
        trees: the fitted scikit-learn trees (not serialised).
    """

    depth: int
    rounds: int
    best_round: int
    fidelity: tuple[float, ...]
    nodes: tuple[int, ...]
    tree_depth: tuple[int, ...]
    leaves: tuple[int, ...]
    tree_return: float
    teacher_return: float
    weights: str
    evaluation: str
    episodes: int
    samples: int
    rules: tuple[str, ...]
    decisive_fidelity: tuple[float | None, ...] | None = None
    decisive_share: float | None = None
    select: str = "fidelity"
    trees: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "rounds": self.rounds,
            "best_round": self.best_round,
            "fidelity": list(self.fidelity),
            "nodes": list(self.nodes),
            "tree_depth": list(self.tree_depth),
            "leaves": list(self.leaves),
            "tree_return": self.tree_return,
            "teacher_return": self.teacher_return,
            "weights": self.weights,
            "evaluation": self.evaluation,
            "episodes": self.episodes,
            "samples": self.samples,
            "rules": list(self.rules),
            "decisive_margin": DECISIVE_MARGIN,
            "decisive_fidelity": None if self.decisive_fidelity is None else list(self.decisive_fidelity),
            "decisive_share": self.decisive_share,
            "select": self.select,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Distillation:
        return cls(
            int(data["depth"]),
            int(data["rounds"]),
            int(data["best_round"]),
            tuple(float(x) for x in data["fidelity"]),
            tuple(int(x) for x in data["nodes"]),
            tuple(int(x) for x in data["tree_depth"]),
            tuple(int(x) for x in data["leaves"]),
            float(data["tree_return"]),
            float(data["teacher_return"]),
            str(data["weights"]),
            str(data["evaluation"]),
            int(data["episodes"]),
            int(data["samples"]),
            tuple(str(r) for r in data["rules"]),
            None if data.get("decisive_fidelity") is None else tuple(
                None if f is None else float(f) for f in data["decisive_fidelity"]
            ),
            None if data.get("decisive_share") is None else float(data["decisive_share"]),
            str(data.get("select", "fidelity")),
        )  # fmt: skip

    def lines(self) -> list[str]:
        how = "DAgger" if self.rounds else "fitted to the greedy actions"
        round_note = f", round {self.best_round} of {self.rounds} kept by {self.select}" if self.rounds else ""
        out = [
            f"decision trees of max depth {self.depth} (VIPER, {how}{round_note}; {self.weights} weights; "
            f"{self.samples} samples):",
            f"  return: tree {self.tree_return:.4g} vs teacher {self.teacher_return:.4g} ({self.evaluation})",
        ]
        if self.decisive_share is not None:
            out.append(
                f"  decisive states (teacher margin >= {DECISIVE_MARGIN}): {self.decisive_share:.0%} of the steps"
            )
        for i, fid in enumerate(self.fidelity):
            decisive = ""
            if self.decisive_fidelity is not None:
                d = self.decisive_fidelity[i]
                decisive = f" (decisive {d:.3f})" if d is not None else " (no decisive state)"
            out.append(
                f"  agent {i}: fidelity {fid:.3f}{decisive}   {self.nodes[i]} nodes, depth {self.tree_depth[i]}, "
                f"{self.leaves[i]} leaves"
            )
        return out


# ---------------------------------------------------------------------------------------------- tabular


def state_bits(states: np.ndarray, bits: int) -> np.ndarray:
    """``[len(states), bits]`` float: the binary digits of each state index, least significant first."""
    return ((np.asarray(states, np.int64)[:, None] >> np.arange(bits)) & 1).astype(np.float64)


def distill_tabular(game: Any, policy: np.ndarray, depth: int) -> Distillation:
    """Trees per agent on the state index of an exact game, fitted to the greedy actions of ``policy [n, S, A_max]``
    at the non-terminal states (module docstring); exact returns of the tree policy and of the greedy teacher."""
    from marlkit.games.views import as_stochastic

    depth = check_depth(depth)
    g = as_stochastic(game)
    pi = np.asarray(g.check_policy(np.asarray(policy, dtype=np.float64)))
    mask = np.asarray(g.action_mask, bool)
    live = np.flatnonzero(~np.asarray(g.terminal, bool))
    if live.size == 0:
        raise NotApplicableError("distill: the game has no non-terminal state to act in")
    n, S, _A = pi.shape
    bits = max(1, int(np.ceil(np.log2(S))))
    features = state_bits(live, bits)
    teacher = np.argmax(np.where(mask, pi, -1.0), axis=2)  # [n, S]
    tree_policy = np.zeros_like(pi)
    teacher_policy = np.zeros_like(pi)
    trees, fid, sizes, rules = [], [], [], []
    for i in range(n):
        tree = fit_tree(features, teacher[i, live], depth)
        chosen = np.zeros(S, np.int64)
        chosen[live] = tree_actions(tree, features, mask[i, live])
        fid.append(float(np.mean(chosen[live] == teacher[i, live])))
        tree_policy[i, np.arange(S), chosen] = 1.0
        teacher_policy[i, np.arange(S), teacher[i]] = 1.0
        trees.append(tree)
        sizes.append(tree_size(tree))
        rules.append(tree_rules(tree, [f"s_bit{k}" for k in range(bits)]))
    tree_policy = np.where(mask, tree_policy, 0.0)
    tree_policy[tree_policy.sum(axis=2) == 0] = np.asarray(g.uniform_policy())[tree_policy.sum(axis=2) == 0]
    return Distillation(
        depth, 0, 0, tuple(fid),
        tuple(s[0] for s in sizes), tuple(s[1] for s in sizes), tuple(s[2] for s in sizes),
        float(np.mean(g.expected_return(tree_policy))), float(np.mean(g.expected_return(teacher_policy))),
        "uniform", "exact policy evaluation", 0, int(live.size), tuple(rules), trees=tuple(trees),
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------- deep


@dataclass
class HostRollout:
    """What a host-side rollout saw: ``obs [T, E, n, d]``, ``mask [T, E, n, A]``, ``global_state [T, E, G]``,
    ``alive [T, E]`` (the step belongs to the episode's first run), ``actions [T, E, n]``, ``returns [E, n]``."""

    obs: np.ndarray
    mask: np.ndarray
    global_state: np.ndarray
    alive: np.ndarray
    actions: np.ndarray
    returns: np.ndarray


@partial(jax.jit, static_argnums=0)
def _reset(env: Any, keys: Any) -> Any:
    obs, state = jax.vmap(env.reset)(keys)
    return obs, state, jax.vmap(env.state_info)(state)


@partial(jax.jit, static_argnums=0)
def _step(env: Any, keys: Any, state: Any, actions: Any) -> Any:
    return jax.vmap(env.step)(keys, state, actions)


def host_rollout(env: Any, choose: Any, episodes: int, key: int) -> HostRollout:
    """Roll ``episodes`` episodes of ``env`` for ``max_episode_steps`` steps on the host (module docstring):
    ``choose(obs [E, n, d], mask [E, n, A], global_state [E, G]) -> actions [E, n]`` (NumPy) acts between jitted
    steps. The keys depend on ``key`` alone, so two policies rolled out with one key meet the same randomness."""
    T = env.spec.max_episode_steps
    k_reset, k_steps = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(int(key)), 0xD15711))
    obs, state, info = _reset(env, jax.random.split(k_reset, episodes))
    step_keys = jax.random.split(k_steps, T * episodes).reshape(T, episodes, -1)
    n = env.spec.n_agents
    seen_obs, seen_mask, seen_state, seen_alive, seen_actions = [], [], [], [], []
    alive = np.ones(episodes, bool)
    total = np.zeros((episodes, n))
    mask, gs = info["action_mask"], info["global_state"]
    for t in range(T):
        o, m, g = np.asarray(obs).reshape(episodes, n, -1), np.asarray(mask, bool), np.asarray(gs)
        actions = np.asarray(choose(o, m, g), dtype=np.int32)
        seen_obs.append(o)
        seen_mask.append(m)
        seen_state.append(g)
        seen_alive.append(alive.copy())
        seen_actions.append(actions)
        obs, state, reward, done, info = _step(env, step_keys[t], state, jnp.asarray(actions))
        total += np.where(alive[:, None], np.asarray(reward, np.float64), 0.0)
        alive &= ~np.asarray(done, bool)
        mask, gs = info["action_mask"], info["global_state"]
    return HostRollout(
        np.stack(seen_obs), np.stack(seen_mask), np.stack(seen_state), np.stack(seen_alive), np.stack(seen_actions),
        total,
    )  # fmt: skip


@partial(jax.jit, static_argnums=(0, 1))
def _teacher(learner: Any, obs_shape: tuple[int, ...], state: Any, obs: Any, mask: Any, gs: Any) -> Any:
    """``(greedy actions [B, n], VIPER weights [B, n], margins [B, n])`` of a feed-forward learner at flat
    observations ``obs [B, n, d]`` (weights 1 without Q-values; margin: the greedy action's probability minus the
    runner-up's)."""
    obs = obs.reshape(*obs.shape[:2], *obs_shape)
    observation = Observation(obs, mask, gs, jnp.zeros(obs.shape[0], bool))
    probs = learner.policy(state, observation, ())
    greedy = jnp.argmax(jnp.where(mask, probs, -1.0), axis=-1).astype(jnp.int32)
    top2 = jax.lax.top_k(jnp.where(mask, probs, -1.0), 2)[0] if probs.shape[-1] > 1 else None
    margin = jnp.ones(greedy.shape) if top2 is None else top2[..., 0] - jnp.maximum(top2[..., 1], 0.0)
    if has_q_values(learner):  # the greedy Q action: the ε-greedy distribution's argmax is arbitrary while ε = 1
        q = learner.q_values(state.static, state.params.agent, obs)
        greedy = jnp.argmax(jnp.where(mask, q, -jnp.inf), axis=-1).astype(jnp.int32)
        gap = jnp.where(mask, q, -jnp.inf).max(-1) - jnp.where(mask, q, jnp.inf).min(-1)
        return greedy, gap, margin
    return greedy, jnp.ones(greedy.shape, jnp.float32), margin


def has_q_values(learner: Any) -> bool:
    """Whether a deep learner has per-agent Q-values (the value-based learners: IDQN, VDN, QMIX)."""
    return callable(getattr(learner, "q_values", None)) and callable(getattr(learner, "greedy", None))


def greedy_chooser(env: Any, learner: Any, state: Any) -> Any:
    """A :func:`host_rollout` chooser that plays a feed-forward deep learner's greedy legal action."""

    def choose(o: np.ndarray, m: np.ndarray, g: np.ndarray) -> np.ndarray:
        greedy, _, _ = _teacher(learner, tuple(env.spec.obs_shape), state, o, m, g)
        return np.asarray(greedy)

    return choose


def teacher_labels(
    env: Any, learner: Any, state: Any, rollout: HostRollout
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The teacher's greedy actions, VIPER weights and probability margins (greedy minus runner-up) ``[T, E, n]``
    at every step of ``rollout``."""
    T, E = rollout.alive.shape
    shape = (T * E,)
    greedy, weights, margin = _teacher(
        learner, tuple(env.spec.obs_shape), state, rollout.obs.reshape(*shape, *rollout.obs.shape[2:]),
        rollout.mask.reshape(*shape, *rollout.mask.shape[2:]), rollout.global_state.reshape(*shape, -1),
    )  # fmt: skip
    return (
        np.asarray(greedy).reshape(T, E, -1),
        np.asarray(weights, np.float64).reshape(T, E, -1),
        np.asarray(margin, np.float64).reshape(T, E, -1),
    )


def distill_deep(
    env: Any,
    learner: Any,
    state: Any,
    depth: int,
    *,
    rounds: int = 4,
    episodes: int = 32,
    key: int = 0,
    select: str = "fidelity",
) -> Distillation:
    """VIPER with DAgger on a feed-forward deep team (module docstring): ``rounds`` rounds (round 0 rolls out the
    teacher) of ``episodes`` host-side episodes each; the kept trees and the greedy teacher are then evaluated on
    ``episodes`` more (the same for both). ``state`` is one seed's learner state.

    Raises:
        InvalidGameError: depth < 1, rounds < 1 or episodes < 1, ``select`` not "fidelity" or "return".
        NotApplicableError: a recurrent policy (its action is not a function of one observation).
    """
    from marlkit.train.evaluate import deployed

    depth = check_depth(depth)
    for name, value in (("rounds", rounds), ("episodes", episodes)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidGameError(f"distill: {name} must be an integer >= 1, got {value!r}")
    if select not in SELECTIONS:
        raise InvalidGameError(f"distill: select must be one of {list(SELECTIONS)}, got {select!r}")
    team, team_state = deployed(learner, state)
    if jax.tree_util.tree_leaves(team.initial_memory(env.spec, 1)):
        raise NotApplicableError("distill: the policy is recurrent; a tree maps one observation to an action")
    n = env.spec.n_agents
    weighting = "q-gap" if has_q_values(team) else "uniform"

    teacher_choose = greedy_chooser(env, team, team_state)

    def tree_choose(trees: list[Any]) -> Any:
        def choose(o: np.ndarray, m: np.ndarray, g: np.ndarray) -> np.ndarray:
            return np.stack([tree_actions(trees[i], o[:, i], m[:, i]) for i in range(n)], axis=1)

        return choose

    features: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    best: tuple[tuple[float, float], int, list[Any]] | None = None
    rollout = host_rollout(env, teacher_choose, episodes, key * 1009)
    for r in range(rounds):
        greedy, gap, _ = teacher_labels(env, team, team_state, rollout)
        keep = rollout.alive
        features.append(rollout.obs[keep])  # [B, n, d]
        labels.append(greedy[keep])
        weights.append(gap[keep])
        X, y, w = np.concatenate(features), np.concatenate(labels), np.concatenate(weights)
        trees = [fit_tree(X[:, i], y[:, i], depth, w[:, i] if weighting == "q-gap" else None) for i in range(n)]
        rollout = host_rollout(env, tree_choose(trees), episodes, key * 1009 + r + 1)
        own, _, _ = teacher_labels(env, team, team_state, rollout)
        fidelity = float(np.mean((rollout.actions == own)[rollout.alive]))
        ret = float(rollout.returns.mean())
        score = ((fidelity, ret) if select == "fidelity" else (ret, fidelity), r, trees)
        if best is None or score[0] > best[0]:
            best = score
    assert best is not None
    _, best_round, trees = best
    evaluation_key = key * 1009 + 0x7E57
    tree_run = host_rollout(env, tree_choose(trees), episodes, evaluation_key)
    teacher_run = host_rollout(env, teacher_choose, episodes, evaluation_key)
    own, _, margin = teacher_labels(env, team, team_state, tree_run)
    agree = (tree_run.actions == own) & tree_run.alive[..., None]
    fidelity_per_agent = agree.sum(axis=(0, 1)) / tree_run.alive.sum()
    decisive = (margin >= DECISIVE_MARGIN) & tree_run.alive[..., None]
    decisive_count = decisive.sum(axis=(0, 1))
    decisive_fidelity = tuple(
        float((agree & decisive)[..., i].sum() / decisive_count[i]) if decisive_count[i] else None for i in range(n)
    )
    decisive_share = float(decisive.sum() / (tree_run.alive.sum() * n))
    sizes = [tree_size(t) for t in trees]
    names = [f"o[{k}]" for k in range(int(np.prod(env.spec.obs_shape)))]
    return Distillation(
        depth, int(rounds), int(best_round), tuple(float(f) for f in fidelity_per_agent),
        tuple(s[0] for s in sizes), tuple(s[1] for s in sizes), tuple(s[2] for s in sizes),
        float(tree_run.returns.mean()), float(teacher_run.returns.mean()), weighting,
        "host-side rollout, common episodes", int(episodes), int(sum(len(x) for x in features)),
        tuple(tree_rules(t, names) for t in trees), decisive_fidelity, decisive_share, select, trees=tuple(trees),
    )  # fmt: skip


__all__ = [
    "DECISIVE_MARGIN",
    "SELECTIONS",
    "WEIGHTS",
    "Distillation",
    "HostRollout",
    "check_depth",
    "distill_deep",
    "distill_tabular",
    "fit_tree",
    "greedy_chooser",
    "has_q_values",
    "host_rollout",
    "state_bits",
    "teacher_labels",
    "tree_actions",
    "tree_rules",
    "tree_size",
]
