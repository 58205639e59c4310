"""Minimax-Q, Nash-Q and CE-Q: the update equation, the stage solvers on masked games, convergence to the exact
solutions (Shapley values, minimax strategies, Nash and correlated equilibria) over several seeds, and bad input.

Learned values of multi-state games are read from the learners' final state by :func:`run_joint`, a minimal copy
of the training loop's step (``train`` returns a History without the Q-tables); one-state games go through
``train`` and read the ``value`` metric (V_j(s) after each update, averaged over a logging window).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marlkit.agents.tabular.base import Constant, GroupSpec, LearnerConfigError, Transition
from marlkit.agents.tabular.ce_q import CEQ, CorrelatedStage
from marlkit.agents.tabular.joint_action import JointActionQ
from marlkit.agents.tabular.minimax_q import MinimaxQ, MinimaxStage
from marlkit.agents.tabular.nash_q import NashQ, NashStage
from marlkit.envs.games import make_env
from marlkit.errors import NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame, repeated_game
from marlkit.games.catalog import make
from marlkit.solve.correlated import correlated_equilibrium
from marlkit.solve.stage import zero_sum_value
from marlkit.solve.zero_sum import solve_matrix_game
from marlkit.train import train

SEEDS = 8


# --------------------------------------------------------------------------------------------- helpers


def run_joint(
    game: StochasticGame, learner: JointActionQ, steps: int, seeds: int, key: int = 0, windows: int = 10, **env_kw
):
    """Run ``learner`` on both agents of ``game`` for ``steps`` steps per seed (vmapped); returns the final states
    and V_1 of every state after each of ``windows`` equal windows ``[seeds, windows, S]``."""
    env = make_env(game, **env_kw)
    sp = env.spec
    spec = GroupSpec((0, 1), 2, env.num_states, sp.num_actions, sp.max_actions, env.gamma, env.action_masks)
    learner.check(game, (0, 1))
    width, block = 2 + env.num_uniforms, steps // windows

    def one(key):
        k_init, k_reset, k_loop = jax.random.split(key, 3)
        obs, env_state = env.reset(k_reset)

        def step(carry, u):
            state, obs, env_state = carry
            actions, _ = learner.act_uniform(u[:2], state, obs)
            next_obs, new_env, reward, _, info = env.step_uniform(u[2:], env_state, actions)
            s, s_next = env_state.inner.state, info["final_obs"][0]
            batch = Transition(
                obs=obs,
                actions=info["actions"],
                rewards=reward,
                next_obs=info["final_obs"],
                terminated=info["terminated"],
                truncated=info["truncated"],
                legal=env.action_masks[:, s],
                next_legal=env.action_masks[:, s_next],
                joint_actions=info["actions"],
                joint_rewards=reward,
                policies=None,
            )
            state, _ = learner.update(state, batch)
            return (state, next_obs, new_env), None

        def window(carry, k):
            carry, _ = jax.lax.scan(step, carry, jax.random.uniform(k, (block, width)))
            return carry, carry[0].values[0]

        start = (learner.init(k_init, spec), obs, env_state)
        (state, _, _), trace = jax.lax.scan(window, start, jax.random.split(k_loop, windows))
        return state, trace

    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(key), i))(jnp.arange(seeds))
    state, trace = jax.jit(jax.vmap(one))(keys)
    return state, np.asarray(trace)


def shapley_values(game: StochasticGame, tol: float = 1e-12) -> np.ndarray:
    """Shapley (1953) value iteration V ← val(R(s) + γ Σ_s' T(s'|s, ·) V(s')) with the exact HiGHS minimax LP."""
    live = ~game.terminal
    V = np.zeros(game.num_states)
    while True:
        M = game.rewards[0] + game.gamma * game.transitions @ V
        new = np.array([solve_matrix_game(M[s]).value if live[s] else 0.0 for s in range(game.num_states)])
        if np.max(np.abs(new - V)) < tol:
            return new
        V = new


def demix(policy: np.ndarray, epsilon: float) -> np.ndarray:
    """The stage solution's marginal from a behaviour policy (1 − ε) x + ε · uniform (all actions legal)."""
    return (policy - epsilon / policy.shape[-1]) / (1.0 - epsilon)


def small_zero_sum_game() -> StochasticGame:
    """A 3-state zero-sum stochastic game with 2 x 3 actions, dense random transitions, γ = 0.8 (seed 7)."""
    rng = np.random.default_rng(7)
    R = rng.uniform(-1.0, 1.0, (3, 2, 3))
    T = rng.dirichlet(np.ones(3), (3, 2, 3))
    return StochasticGame(T, np.stack([R, -R]), np.full(3, 1 / 3), 0.8, name="small zero-sum")


# ------------------------------------------------------------------------------------ the update equation


def test_update_follows_the_td_equation_and_stores_the_stage_solution() -> None:
    # Two states, 2 x 2 actions, γ = 0.5, α = 0.5: after Q(1) holds matching pennies with value 0 shifted by 1
    # (value 1), a step (s=0, a=(0, 1), r=(2, -2)) -> s'=1 must give Q_j(0, 0, 1) = 0.5 (r_j + 0.5 V_j(1)).
    learner = MinimaxQ(step_size=Constant(0.5), epsilon=0.0, gamma=0.5)
    spec = GroupSpec((0, 1), 2, 2, (2, 2), 2, 0.5, jnp.ones((2, 2, 2), bool))
    state = learner.init(jax.random.key(0), spec)
    pennies = jnp.asarray([[2.0, 0.0], [0.0, 2.0]])  # value 1, strategies (1/2, 1/2)
    state = state._replace(q=state.q.at[:, 1].set(jnp.stack([pennies, -pennies])))
    state = state._replace(values=state.values.at[:, 1].set(jnp.asarray([1.0, -1.0])))
    batch = Transition(
        obs=jnp.asarray([0, 0]),
        actions=jnp.asarray([0, 1]),
        rewards=jnp.asarray([2.0, -2.0]),
        next_obs=jnp.asarray([1, 1]),
        terminated=jnp.bool_(False),
        truncated=jnp.bool_(False),
        legal=jnp.ones((2, 2), bool),
        next_legal=jnp.ones((2, 2), bool),
        joint_actions=jnp.asarray([0, 1]),
        joint_rewards=jnp.asarray([2.0, -2.0]),
        policies=None,
    )
    update = jax.jit(learner.update)
    new, metrics = update(state, batch)
    np.testing.assert_allclose(new.q[:, 0, 0, 1], [0.5 * (2.0 + 0.5), 0.5 * (-2.0 - 0.5)], rtol=1e-6)
    np.testing.assert_allclose(metrics["td_error"], [2.5, 2.5], rtol=1e-6)
    # Q_1(0) = [[0, 1.25], [0, 0]]: value 0. Every row strategy guarantees 0, so the tie-break toward uniform gives
    # x = (1/2, 1/2); the column player must play column 0 (uniform would concede 0.625). Stored: σ(0) = x ⊗ y.
    np.testing.assert_allclose(new.values[:, 0], [0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(new.joint[0], [[0.5, 0.0], [0.5, 0.0]], atol=1e-6)
    np.testing.assert_allclose(new.joint[1], [[0.25, 0.25], [0.25, 0.25]])  # untouched: the initial uniform σ
    # A terminal s' bootstraps nothing: the target is the reward alone.
    new, _ = update(state, batch._replace(terminated=jnp.bool_(True)))
    np.testing.assert_allclose(new.q[:, 0, 0, 1], [1.0, -1.0], rtol=1e-6)


def test_policy_and_correlated_sampling() -> None:
    # CE-Q controlling both agents draws the joint action from (1 − ε) σ + ε · uniform with ONE random number.
    learner = CEQ(epsilon=0.0)
    spec = GroupSpec((0, 1), 2, 1, (2, 2), 2, 0.0, jnp.ones((2, 1, 2), bool))
    state = learner.init(jax.random.key(0), spec)
    sigma = jnp.asarray([[0.5, 0.0], [0.0, 0.5]])  # perfectly correlated
    state = state._replace(joint=state.joint.at[0].set(sigma))
    u = jnp.linspace(0.0, 1.0, 200, endpoint=False)
    act = jax.jit(jax.vmap(lambda x: learner.act_uniform(jnp.stack([x, 0.99]), state, jnp.zeros(2, jnp.int32))[0]))
    pairs = act(u)
    assert set(np.unique(pairs[:, 0]).tolist()) == {0, 1}
    assert np.all(pairs[:, 0] == pairs[:, 1])  # never (0, 1) or (1, 0): the draw is joint
    np.testing.assert_allclose(learner.policy(state, jnp.zeros(2, jnp.int32)), [[0.5, 0.5], [0.5, 0.5]])
    # Minimax-Q's policy is each agent's marginal mixed with ε; agents sample with their own numbers.
    minimax = MinimaxQ(epsilon=0.2)
    state = minimax.init(jax.random.key(0), spec)._replace(joint=jnp.asarray([[[1.0, 0.0], [0.0, 0.0]]]))
    np.testing.assert_allclose(minimax.policy(state, jnp.zeros(2, jnp.int32)), [[0.9, 0.1], [0.9, 0.1]], rtol=1e-6)


# ------------------------------------------------------------------------- stage solvers on masked games

_SOLVE = {
    "minimax": jax.jit(MinimaxStage()),
    "nash": jax.jit(NashStage("utilitarian")),
    "ce": jax.jit(CorrelatedStage("utilitarian")),
}


SCALE = 10.0  # payoff range of the random stage games; float32 solvers: tolerances 1e-4 of it (~sqrt(eps) accuracy)
MASKS = {
    "seed": st.integers(0, 2**31 - 1),
    "row_mask": st.lists(st.booleans(), min_size=3, max_size=3).filter(any),
    "col_mask": st.lists(st.booleans(), min_size=4, max_size=4).filter(any),
}


def masked_stage_game(seed: int, row_mask: list[bool], col_mask: list[bool]):
    rng = np.random.default_rng(seed)
    A, B = rng.uniform(-SCALE / 2, SCALE / 2, (2, 3, 4))
    return A, B, np.asarray(row_mask), np.asarray(col_mask)


def check_equilibrium(solution, A: np.ndarray, B: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> None:
    """σ lives on the legal actions, and no player gains by deviating from a recommendation within them (the CE
    incentive constraints; a Nash equilibrium's product satisfies them too); V_j = Σ σ Q_j."""
    sigma = np.asarray(solution.joint, np.float64)
    assert sigma[~rows].sum() + sigma[:, ~cols].sum() == 0.0
    assert sigma.sum() == pytest.approx(1.0, abs=1e-5)
    sub, sub_A, sub_B = sigma[np.ix_(rows, cols)], A[np.ix_(rows, cols)], B[np.ix_(rows, cols)]
    for i in range(sub.shape[0]):
        assert np.max(sub[i] @ (sub_A.T - sub_A[i][:, None])) <= 1e-4 * SCALE
    for j in range(sub.shape[1]):
        assert np.max(sub[:, j] @ (sub_B - sub_B[:, j][:, None])) <= 1e-4 * SCALE
    np.testing.assert_allclose(solution.values, [np.sum(sub * sub_A), np.sum(sub * sub_B)], atol=1e-4 * SCALE)


@settings(max_examples=25, deadline=None)
@given(**MASKS)
def test_minimax_and_nash_stages_restrict_to_legal_actions(seed: int, row_mask: list[bool], col_mask: list[bool]):
    A, B, rows, cols = masked_stage_game(seed, row_mask, col_mask)
    zero_sum = _SOLVE["minimax"](jnp.asarray(np.stack([A, -A]), jnp.float32), jnp.asarray(rows), jnp.asarray(cols))
    check_equilibrium(zero_sum, A, -A, rows, cols)
    exact = solve_matrix_game(A[np.ix_(rows, cols)]).value  # HiGHS LP on the legal sub-game
    np.testing.assert_allclose(zero_sum.values, [exact, -exact], atol=1e-4 * SCALE)
    nash = _SOLVE["nash"](jnp.asarray(np.stack([A, B]), jnp.float32), jnp.asarray(rows), jnp.asarray(cols))
    check_equilibrium(nash, A, B, rows, cols)


@pytest.mark.slow  # compiling the interior point CE solver alone takes ~20 s here
@settings(max_examples=15, deadline=None)
@given(**MASKS)
def test_ce_stage_restricts_to_legal_actions(seed: int, row_mask: list[bool], col_mask: list[bool]) -> None:
    A, B, rows, cols = masked_stage_game(seed, row_mask, col_mask)
    ce = _SOLVE["ce"](jnp.asarray(np.stack([A, B]), jnp.float32), jnp.asarray(rows), jnp.asarray(cols))
    check_equilibrium(ce, A, B, rows, cols)


# ----------------------------------------------------------------------------------------- Minimax-Q


def test_minimax_q_learns_the_minimax_strategy_of_biased_rps() -> None:
    # Biased RPS (catalog "biased-rps"), repeated with γ = 0.9: the stage game's unique minimax strategy is
    # (1/16, 10/16, 5/16) for both players and its value 0, so V(s) -> 0 / (1 − γ) = 0.
    game = repeated_game(make("biased-rps"), 0.9)
    history = train(game, MinimaxQ(epsilon=0.2), 10_000, seeds=SEEDS, key=0, log_every=1000)
    strategy = demix(history.policy[:, -1, :, 0], 0.2)  # [seeds, 2, 3]
    # Measured (8 seeds, key 0): max deviation 2.9e-4 (float32 support enumeration); every (a, o) is visited
    # within the first few hundred steps and the deterministic stage payoffs make Q(s) = R + γ V(s) up to entries
    # whose bootstraps differ slightly, which moves the minimax strategy little. 2e-3 is ~7x the measured deviation.
    np.testing.assert_allclose(strategy, np.broadcast_to([1 / 16, 10 / 16, 5 / 16], strategy.shape), atol=2e-3)
    # V(s) -> 0 as the bootstraps of the nine Q-entries equalise. Measured max |V| over seeds, per 1k-step window:
    # 2.37 in the first, 0.35 in the last (~t^-0.8); payoffs are ±50, values up to 500. Bounds: 2x and 4x margins.
    value = np.abs(history.metrics["value"][:, :, 0])
    assert value[:, -1].max() <= 0.7
    assert value[:, -1].mean() < value[:, 0].mean() / 4
    assert np.nanmax(history.metrics["stage_error"]) <= 1e-3


def test_minimax_q_values_approach_shapley_values() -> None:
    game = small_zero_sum_game()
    exact = shapley_values(game)  # ≈ (0.679, -0.057, 0.498)
    _, trace = run_joint(game, MinimaxQ(), 50_000, seeds=SEEDS, key=0)
    error = np.abs(trace - exact)  # [seeds, windows, S]
    # Measured (8 seeds, key 0, defaults α = n(s,a,o)^-0.7, ε = 0.2): max error over seeds and states 0.066 after
    # 2k steps, 0.032 after 20k and 0.023 after 100k; mean 0.010 at 20k. The rewards' scale is 1 and values reach
    # 1/(1 − γ) = 5, so 0.05 is 1% of the value range; the noise of the stochastic transitions sets the floor.
    assert error[:, -1].max() <= 0.05
    assert error[:, -1].mean() <= 0.02
    assert error[:, -1].mean() < error[:, 0].mean()


# ------------------------------------------------------------------------------------------- Nash-Q


def test_nash_q_learns_the_nash_values_of_the_repeated_prisoners_dilemma() -> None:
    # PD (T, R, P, S) = (5, 3, 1, 0), repeated with γ = 0.9: the stage game Q_j = R_j + γ V_j has the unique Nash
    # equilibrium (D, D) whenever V is common to all joint actions, so V_j -> 1 / (1 − γ) = 10 for both players.
    game = repeated_game(make("prisoners-dilemma"), 0.9)
    # Exploration ε = 0.5 keeps every joint action's Q-value tracking the common bootstrap γ V. With ε <= 0.2
    # (measured, 8 seeds, 20k steps, α = 0.2) 1-5 seeds instead circle V ≈ 20: stale Q(C, C) makes (C, C) a stage
    # equilibrium that selection picks, then stale Q(D, C) undoes it — Nash-Q's stage-game assumptions (Hu &
    # Wellman 2003, Assumption 3) fail along the way, so its convergence theorem does not apply.
    learner = NashQ(step_size=Constant(0.2), epsilon=0.5)
    history = train(game, learner, 4000, seeds=SEEDS, key=0, log_every=400)
    # Measured (8 seeds, key 0): |V − 10| < 1e-5 from the second window on; constant α = 0.2 contracts the error
    # by 1 − α(1 − γ) = 0.98 per visit of each joint action and rewards are deterministic.
    np.testing.assert_allclose(history.metrics["value"][:, -1], 10.0, atol=1e-3)
    strategy = demix(history.policy[:, -1, :, 0, :2], 0.5)
    np.testing.assert_allclose(strategy, np.broadcast_to([0.0, 1.0], strategy.shape), atol=1e-5)


# --------------------------------------------------------------------------------------------- CE-Q


def test_ce_q_learns_the_utilitarian_correlated_equilibrium_of_chicken() -> None:
    # Chicken (catalog): the utilitarian CE puts 1/2 on (C, C) and 1/4 on (C, D) and (D, C): welfare 10.5
    # (Greenwald & Hall 2003, §2; the exact LP of marlkit.solve.correlated is the oracle).
    game = make("chicken")
    exact = correlated_equilibrium(game, objective="utilitarian")
    assert exact.objective_value == pytest.approx(10.5)
    epsilon = 0.2
    history = train(game, CEQ(epsilon=epsilon), 4000, seeds=SEEDS, key=0, log_every=400)
    # γ = 0: Q_j -> R_j once each joint action is visited; V = (5.25, 5.25). Measured (8 seeds, key 0): within
    # 2e-4 at the last window (float32 interior point LP, tolerance 1e-6 relative).
    np.testing.assert_allclose(history.metrics["value"][:, -1], 5.25, atol=5e-3)
    # The joint action is drawn from (1 − ε) σ + ε/4 with one shared random number: the empirical distribution of
    # the second half must match it, (D, D) included, which independent sampling of the marginals (0.3 x 0.3 =
    # 0.09 on (D, D)) would miss. 2,000 plays per seed: binomial standard error <= 0.011; 0.04 is ~3.5 SE.
    played = history.empirical_joint(since=5)[:, -1, 0]  # [seeds, 2, 2]
    expected = (1 - epsilon) * exact.distribution + epsilon / 4
    np.testing.assert_allclose(played, np.broadcast_to(expected, played.shape), atol=0.04)
    assert played[:, 1, 1].mean() < 0.07
    assert np.nanmax(history.metrics["stage_error"]) <= 1e-3


# -------------------------------------------------------------------------------------------- bad input


def test_bad_input_is_rejected_before_compiling() -> None:
    chicken = make("chicken")
    with pytest.raises(NotApplicableError, match=r"zero-sum.*NashQ.*CEQ"):
        train(chicken, MinimaxQ(), 10)
    three = NormalFormGame(np.zeros((3, 2, 2, 2)), name="three players")
    with pytest.raises(NotApplicableError, match=r"two-player game.*3 players"):
        train(three, NashQ(), 10)
    with pytest.raises(NotApplicableError, match="two-player game"):
        train(three, CEQ(), 10)
    big = np.random.default_rng(0).normal(size=(6, 6))
    with pytest.raises(NotApplicableError, match="at most 5 actions"):
        train(NormalFormGame(np.stack([big, -big]), name="6x6"), MinimaxQ(), 10)
    uneven = NormalFormGame(np.zeros((2, 2, 3)), name="2x3")
    with pytest.raises(NotApplicableError, match="controlling only agent 0"):
        train(uneven, [NashQ(), NashQ()], 10)
    with pytest.raises(LearnerConfigError, match="selection rule"):
        NashQ(select="best")
    with pytest.raises(LearnerConfigError, match="objective"):
        CEQ(objective="fair")
    with pytest.raises(LearnerConfigError, match="gamma"):
        MinimaxQ(gamma=1.0)
    with pytest.raises(LearnerConfigError, match="step_size"):
        MinimaxQ(step_size="fast")


# ----------------------------------------------------------------------------------------- slow studies


def certified_shapley_values(game: StochasticGame, iterations: int = 100) -> np.ndarray:
    """Shapley value iteration with the batched float32 minimax solver, certified by one exact sweep: with
    r = ‖V − T V‖∞ for the exact (HiGHS) Shapley operator T, ‖V − V*‖∞ <= r / (1 − γ) (T is a γ-contraction)."""
    solve = jax.jit(lambda M: zero_sum_value(M).value)
    V = np.zeros(game.num_states)
    for _ in range(iterations):
        M = game.rewards[0] + game.gamma * game.transitions @ V
        V = np.where(game.terminal, 0.0, np.asarray(solve(jnp.asarray(M, jnp.float32)), np.float64))
    M = game.rewards[0] + game.gamma * game.transitions @ V
    exact = np.array([0.0 if game.terminal[s] else solve_matrix_game(M[s]).value for s in range(game.num_states)])
    bound = np.max(np.abs(exact - V)) / (1 - game.gamma)
    assert bound < 1e-4, f"Shapley value iteration not converged: error bound {bound:.2e}"
    return exact


@pytest.mark.slow
def test_per_agent_nash_q_learners_match_the_joint_learner() -> None:
    # Hu & Wellman's setting: each agent runs its own Nash-Q learner that keeps Q_j for both players j (groups of
    # one agent; both players have the same action count and no masks). Same settings as the PD test above.
    game = repeated_game(make("prisoners-dilemma"), 0.9)
    learner = NashQ(step_size=Constant(0.2), epsilon=0.5)
    history = train(game, [learner, learner], 4000, seeds=SEEDS, key=0, log_every=400)
    np.testing.assert_allclose(history.metrics["value"][:, -1], 10.0, atol=1e-3)


@pytest.mark.slow
def test_minimax_q_on_littman_soccer_approaches_shapley_values() -> None:
    game = make("soccer")  # Littman (1994) §6.1: 760 boards + a terminal state after a goal, γ = 0.9
    exact = certified_shapley_values(game)
    start = np.flatnonzero(game.initial)  # ball to A / ball to B: V* = ±0.2185
    _, trace = run_joint(game, MinimaxQ(), 200_000, seeds=2, key=0, windows=20)
    error = np.abs(trace[:, :, start] - exact[start])  # [seeds, windows, 2]
    # Measured (2 seeds, key 0, defaults α = n(s,a,o)^-0.7, ε = 0.2, no time limit): V at the start states stays 0
    # (error 0.218) for ~90k steps until goals propagate back, then falls to max 0.042 at 200k steps (0.005-0.042
    # per seed and state); ~130 s here at ~300 µs per step of both seeds (one 5x5 support enumeration per step).
    # 0.1 is under half the start states' value; early-window errors must be larger than late ones.
    assert error[:, -1].max() <= 0.1
    assert error[:, 0].min() > error[:, -1].max()
