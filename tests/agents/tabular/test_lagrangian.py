"""The tabular primal-dual (Lagrangian) learner on constrained games (issue 18, item 2).

Oracles, derived by hand (no solver):

**resource-sharing** (catalog; one state, γ = 0.9, limit 4, cost 1 per step an agent plays high). A stationary
policy playing high with probability p costs J_c = p / (1 - γ) = 10 p, so the limit allows p <= 0.4. Against an
opponent playing high with probability q, high pays 3 (1 - q) + 1.5 q = 3 - 1.5 q per step and low pays 1: the
gain of high, 2 - 1.5 q, is positive for every q <= 1, so each agent's constrained best response fills its budget,
p = 0.4, whatever q — the constrained Nash equilibrium is (0.4, 0.4), unique. Its return per step is
1 + 0.4 · (2 - 1.5 · 0.4) = 1.56, J_r = 1.56 / (1 - γ) = 15.6. Multiplier: agent i's CMDP given q = 0.4 has
Lagrangian L(p, λ) = [1 + p (1.4 - λ)] / (1 - γ) + λ · 4; an interior optimum in p at the binding limit needs
∂L/∂p = 0, so λ* = 1.4 (the return per unit of discounted cost, 1.4 / (1 - γ) over 1 / (1 - γ)).

**two-state budget** (built below; each agent's reward and cost depend only on its own action, so the agents'
CMDPs are independent). States s0, s1; every transition goes to s0 or s1 with probability 1/2, start in s0,
γ = 0.9. Playing high pays g = 2 in s0 and 1 in s1 (low pays 0) and costs 1; limit 7. The discounted occupancy
does not depend on the policy: d(s0) = 1 + 0.5 γ / (1 - γ) = 5.5, d(s1) = 0.5 γ / (1 - γ) = 4.5, so
J_c = 5.5 p0 + 4.5 p1 and J_r = 11 p0 + 4.5 p1: a fractional knapsack. The best ratio (s0) is filled first,
p0 = 1 (cost 5.5), then s1 with the rest, p1 = 1.5 / 4.5 = 1/3: J_r* = 12.5 (unconstrained 15.5) and λ* = 1, the
gain per unit cost of the randomising state s1 (the optimum randomises in K = 1 state).

Soft fixed points (the Boltzmann IQL inner learner, τ = 0.5 with a 5% uniform floor): in both games every action
shares one continuation value (one state; action-independent transitions), so at a fixed point the Q-gap of high
over low is the stage gain minus λ and p = 0.95 σ((gain - λ) / τ) + 0.025; the dual drives the measured cost to
the limit, which fixes λ_τ (:func:`soft_multiplier`, bisection). The policy is then feasible, but λ_τ is shifted
from λ* (resource-sharing: λ_τ = 1.614) and the soft policy gives up some return where the optimum is
deterministic (two-state: 11.73 = 94% of 12.5).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from marlkit.agents.tabular import CQL, IQL, Constant, Lagrangian, WoLFPHC, make_learner
from marlkit.errors import LearnerConfigError, NotApplicableError
from marlkit.experiment.params import configure, learner_params
from marlkit.games import StochasticGame
from marlkit.games.catalog import make
from marlkit.train import prepare, train

SEEDS = 8
LIMIT_RS, RETURN_RS, LAMBDA_RS = 4.0, 15.6, 1.4  # resource-sharing (module docstring)
LIMIT_2S, RETURN_2S, LAMBDA_2S = 7.0, 12.5, 1.0  # two-state budget (module docstring)
OCCUPANCY_2S, GAIN_2S = np.array([5.5, 4.5]), np.array([2.0, 1.0])
TAU, FLOOR = 0.5, 0.05  # the inner Boltzmann IQL of lagrangian-iql


def two_state_budget() -> StochasticGame:
    """The two-state budget game of the module docstring."""
    transitions = np.full((2, 2, 2, 2), 0.5)
    own_high = np.zeros((2, 2, 2, 2))  # [agent, s, a1, a2]: 1 where the agent plays high
    own_high[0, :, 1, :] = 1.0
    own_high[1, :, :, 1] = 1.0
    rewards = own_high * GAIN_2S[None, :, None, None]
    return StochasticGame(
        transitions,
        rewards,
        initial=np.array([1.0, 0.0]),
        gamma=0.9,
        costs=own_high[:, None],
        limits=np.full((2, 1), LIMIT_2S),
        name="two-state budget",
    )


def soft_policy(gain: np.ndarray | float, lam: float) -> np.ndarray:
    """P(high) of the soft inner learner at a fixed point: (1 - ε) σ((gain - λ) / τ) + ε / 2."""
    return (1.0 - FLOOR) / (1.0 + np.exp(-(gain - lam) / TAU)) + FLOOR / 2.0


def soft_multiplier(cost_of: Callable[[float], float], limit: float) -> float:
    """λ_τ where the soft policy's discounted cost meets the limit (the cost falls as λ grows): bisection."""
    low, high = 0.0, 10.0
    for _ in range(60):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if cost_of(mid) > limit else (low, mid)
    return 0.5 * (low + high)


def last_iterate(game: StochasticGame, history) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact discounted costs ``[N, n]``, returns ``[N, n]`` of the last policy snapshots, and the last λ ``[N, n]``."""
    policies = history.policy[:, -1].astype(np.float64)
    policies /= policies.sum(-1, keepdims=True)  # float32 rows -> exact distributions
    costs = np.array([game.expected_costs(p)[:, 0] for p in policies])
    returns = np.array([game.expected_return(p) for p in policies])
    return costs, returns, history.multipliers[:, -1, :, 0]


@pytest.fixture(scope="module")
def wolf_resource():
    game = make("resource-sharing")
    return game, train(game, make_learner("lagrangian"), 200_000, seeds=SEEDS, key=0, log_every=2_000)


@pytest.fixture(scope="module")
def iql_resource():
    game = make("resource-sharing")
    return game, train(game, make_learner("lagrangian-iql"), 100_000, seeds=SEEDS, key=0, log_every=1_000)


@pytest.fixture(scope="module")
def iql_two_state():
    game = two_state_budget()
    return game, train(game, make_learner("lagrangian-iql"), 100_000, seeds=SEEDS, key=0, log_every=1_000)


def test_wolf_lagrangian_reaches_the_constrained_equilibrium_and_its_multiplier(wolf_resource) -> None:
    """WoLF-PHC inside (the default): the last iterate of 8 seeds after 200,000 steps. Measured (keys 0-2): J in
    3.91-4.10, returns 15.44-15.74, λ 1.37-1.49 with seed means 1.43-1.44. Thresholds: 5% slack on the limit, 3%
    of the equilibrium return, λ within 0.15 of λ* per seed and 0.07 on average — a learner that ignored the
    constraint (p -> 1, J = 10) or a λ stuck at 0 or diverging fails every one."""
    game, history = wolf_resource
    costs, returns, lam = last_iterate(game, history)
    assert np.all(costs <= LIMIT_RS * 1.05), costs
    assert np.all(np.abs(returns - RETURN_RS) <= 0.03 * RETURN_RS), returns
    assert np.all(np.abs(lam - LAMBDA_RS) <= 0.15), lam
    assert abs(lam.mean() - LAMBDA_RS) <= 0.07
    assert history.has_average_policy.all()  # WoLF's average policy is recorded through the wrapper


def test_boltzmann_lagrangian_is_feasible_with_the_soft_multiplier(iql_resource) -> None:
    """Boltzmann IQL inside: feasible at the equilibrium return, λ at the soft fixed point λ_τ = 1.614 (not λ* =
    1.4; module docstring). Measured (keys 0-2): J 3.81-4.12, returns 15.32-15.78, λ 1.572-1.654."""
    game, history = iql_resource
    costs, returns, lam = last_iterate(game, history)
    lam_tau = soft_multiplier(lambda lam: float(10.0 * soft_policy(2.0 - 1.5 * 0.4, lam)), LIMIT_RS)
    assert abs(lam_tau - 1.614) < 1e-3  # 1.4 - τ logit(0.375 / 0.95)
    assert np.all(costs <= LIMIT_RS * 1.05), costs
    assert np.all(np.abs(returns - RETURN_RS) <= 0.03 * RETURN_RS), returns
    assert np.all(np.abs(lam - lam_tau) <= 0.08), lam
    assert not history.has_average_policy.any()


def test_boltzmann_lagrangian_on_two_states(iql_two_state) -> None:
    """The two-state budget: measured (keys 0-2) J 6.94-7.10, returns 11.65-11.87 (the soft fixed point: 11.73),
    λ 0.963-1.049. Thresholds: 3% slack on the limit, 92% of the constrained optimum (the soft policy's price is
    6%; the unconstrained policy would cost 10 > 7 and a learner stuck low returns 0), λ within 0.08 of λ_τ."""
    game, history = iql_two_state
    costs, returns, lam = last_iterate(game, history)

    def cost_of(lam: float) -> float:
        return float(OCCUPANCY_2S @ soft_policy(GAIN_2S, lam))

    lam_tau = soft_multiplier(cost_of, LIMIT_2S)
    soft_return = float(OCCUPANCY_2S @ (GAIN_2S * soft_policy(GAIN_2S, lam_tau)))
    assert abs(lam_tau - LAMBDA_2S) < 0.01 and 0.93 < soft_return / RETURN_2S < 0.95
    assert np.all(costs <= LIMIT_2S * 1.03), costs
    assert np.all(returns >= 0.92 * RETURN_2S), returns
    assert np.all(np.abs(returns - soft_return) <= 0.3), returns
    assert np.all(np.abs(lam - lam_tau) <= 0.08), lam


def test_recorded_costs_agree_with_the_exact_costs_of_the_snapshots(wolf_resource) -> None:
    """``cost_mean`` is the frequency of high play; over the last 10 windows (20,000 steps, per-seed standard error
    of J about 0.035) its discounted value 10 x cost_mean matches the exact J of the policy snapshots within 0.2
    (measured: 0.075). The learner's own estimate (``constraint_gap`` = Ĵ - c, window means of its expected-SARSA
    critic) is within 0.1 of it (measured: 0.01)."""
    game, history = wolf_resource
    n, windows = 2, 100
    for name in ("cost_mean", "episode_cost", "multipliers"):
        assert getattr(history, name).shape == (SEEDS, windows, n, 1)
    np.testing.assert_array_equal(history.episode_cost, history.cost_mean)  # one-step episodes
    policies = history.policy[:, -10:].astype(np.float64)
    policies /= policies.sum(-1, keepdims=True)
    exact = np.array([[game.expected_costs(p)[:, 0] for p in seed] for seed in policies]).mean(axis=1)  # [N, n]
    measured = history.cost_mean[:, -10:, :, 0].mean(axis=1) / (1.0 - game.gamma)
    assert np.all(np.abs(measured - exact) <= 0.2), (measured, exact)
    estimated = history.metrics["constraint_gap"][:, -10:].mean(axis=1) + LIMIT_RS
    assert np.all(np.abs(estimated - exact) <= 0.1), (estimated, exact)
    assert np.all(history.multipliers >= 0)


# ------------------------------------------------------------------------------------------------ bad input


def test_a_game_without_costs_is_refused_before_compiling() -> None:
    with pytest.raises(NotApplicableError, match=r"needs a constrained game.*'prisoners-dilemma' has no costs"):
        prepare(make("prisoners-dilemma"), make_learner("lagrangian-iql"), 100)


def test_bad_hyper_parameters_are_refused() -> None:
    with pytest.raises(LearnerConfigError, match=r"Lagrangian\.dual_step"):
        Lagrangian(dual_step=-0.1)
    with pytest.raises(LearnerConfigError, match=r"Lagrangian\.dual_step"):
        Lagrangian(dual_step=Constant(-0.1))
    with pytest.raises(LearnerConfigError, match="dual_step"):
        configure(make_learner("lagrangian"), {"dual_step": -1e-3}, "--hp", "lagrangian")
    with pytest.raises(LearnerConfigError, match="CQL does not learn from the sampled rewards"):
        Lagrangian(inner=CQL())
    with pytest.raises(LearnerConfigError, match="not a Lagrangian"):
        Lagrangian(inner=Lagrangian())


def test_registry_entries_and_hyper_parameters() -> None:
    """``lagrangian`` is WoLF-PHC inside; ``--hp`` / config ``params`` set the dual's settings by name."""
    assert make_learner("lagrangian") == Lagrangian() and isinstance(Lagrangian().inner, WoLFPHC)
    iql = make_learner("lagrangian-iql")
    assert isinstance(iql, Lagrangian) and isinstance(iql.inner, IQL)
    learner = configure(make_learner("lagrangian-iql"), {"dual_step": 0.002}, "--hp", "lagrangian-iql")
    assert learner.dual_step == Constant(0.002) and isinstance(learner.inner, IQL)
    assert learner_params(learner) == {"dual_step": 0.002, "cost_step_size": 0.1, "initial_multiplier": 0.0}
