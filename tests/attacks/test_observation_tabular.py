"""Exact observation attacks on tabular policies (marlkit.attacks.tabular / observation): the optimal, targeted and
flipping-budget attacks equal brute force over every deterministic perception map on small random games (2-3
states); attacked return is exactly non-increasing in ε and in M; random perception hurts no more than the optimal
attack; the targeted attack raises the target's probability; bad input is one clear error."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from marlkit.attacks.observation import ObservationAttack, exact_observation_attack, plot_observation_attack
from marlkit.attacks.tabular import flip_budgets, forcing_attack, greedy_actions, worst_actions
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import StochasticGame
from marlkit.games.catalog import make
from marlkit.games.catalog.robust import random_stochastic
from marlkit.games.uncertainty import StateUncertainty, state_ball
from marlkit.solve.robust.state_adversary import worst_case_evaluation


def random_policy(game: StochasticGame, rng: np.random.Generator) -> np.ndarray:
    pi = rng.dirichlet(np.ones(game.max_actions), size=(game.n_players, game.num_states)) * game.action_mask
    return pi / pi.sum(axis=2, keepdims=True)


def maps(u: StateUncertainty, S: int):
    """Every deterministic perception map: shown[j, s] ∈ B^j(s) for the attacked agents (identity elsewhere)."""
    slots = [(j, s) for j in u.attacked for s in range(S)]
    for choice in itertools.product(*(u.perceivable(j, s) for j, s in slots)):
        shown = np.broadcast_to(np.arange(S), (u.n_agents, S)).copy()
        for (j, s), t in zip(slots, choice, strict=True):
            shown[j, s] = t
        yield shown


def value_of(game: StochasticGame, pi: np.ndarray, shown: np.ndarray) -> float:
    """An independent evaluation: agent i plays π_i(·|shown[i, s]) in state s, an ordinary per-agent policy."""
    effective = pi[np.arange(pi.shape[0])[:, None], shown]
    return float(np.mean(game.expected_return(effective)))


@pytest.mark.parametrize("seed", range(4))
def test_optimal_and_targeted_attacks_equal_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, S = (2, 3) if seed % 2 else (3, 2)
    game = random_stochastic(rng, states=S, actions=2, players=n, utility="common")
    pi = random_policy(game, rng)
    d = rng.uniform(0.1, 1.0, (S, S))
    np.fill_diagonal(d, 0)
    u = StateUncertainty.from_distance(n, d, 0.6, [0, n - 1])
    every = list(maps(u, S))
    brute_min = min(value_of(game, pi, m) for m in every)
    assert worst_case_evaluation(game, pi, u).value == pytest.approx(brute_min, abs=1e-9)
    targets = rng.integers(0, 2, (n, S))
    result = forcing_attack(game, pi, u, targets)
    # the forcing probability of every (attacked agent, state) is the best any perception map reaches there ...
    tau = targets
    forced = np.array([[[pi[j, m[j, s], tau[j, s]] for s in range(S)] for j in u.attacked] for m in every])
    np.testing.assert_allclose(result.forcing[list(u.attacked)], forced.max(axis=0), atol=1e-12)
    # ... reached by one map (the result's), whose team return is the reported one
    assert value_of(game, pi, result.shown) == pytest.approx(result.value, abs=1e-9)
    assert np.all(result.forcing >= result.clean_forcing - 1e-12)


def test_worst_actions_minimise_the_one_step_deviation_value() -> None:
    """Oracle: Q_j(s, a_j) summed by hand over every joint action with the clean values V."""
    rng = np.random.default_rng(7)
    game = random_stochastic(rng, states=2, actions=(2, 3), players=2, utility="common")
    pi = random_policy(game, rng)
    V = game.evaluate(pi).mean(axis=0)
    chosen = worst_actions(game, pi)
    for j in range(2):
        for s in range(2):
            q = []
            for a_j in range(game.num_actions[j]):
                total = 0.0
                for a in itertools.product(*(range(m) for m in game.num_actions)):
                    if a[j] != a_j:
                        continue
                    other = np.prod([pi[i, s, a[i]] for i in range(2) if i != j])
                    r = game.rewards[:, s][(slice(None), *a)].mean()
                    total += other * (r + game.gamma * game.transitions[(s, *a)] @ V)
                q.append(total)
            assert chosen[j, s] == int(np.argmin(q))


@pytest.mark.parametrize("seed", range(3))
def test_flip_budgets_equal_the_smallest_radius_that_flips(seed: int) -> None:
    """Oracle: grow the radius over the distinct distances; the first ball holding a state with another greedy
    action."""
    rng = np.random.default_rng(10 + seed)
    n, S = 2, 3
    pi = rng.dirichlet(np.ones(3), size=(n, S))
    d = rng.uniform(0.1, 1.0, (S, S))
    np.fill_diagonal(d, 0)
    budgets = flip_budgets(pi, d)
    greedy = greedy_actions(pi)
    for j in range(n):
        for s in range(S):
            radii = sorted(set(d[s].tolist()))
            first = next(
                (r for r in radii if any(greedy[j, t] != greedy[j, s] for t in range(S) if d[s, t] <= r)), None
            )
            assert budgets[j, s] == (np.inf if first is None else first)


def test_curves_are_monotone_random_hurts_less_and_json_round_trips(tmp_path) -> None:
    game = make("misled-corridor")
    rng = np.random.default_rng(0)
    policies = np.stack([random_policy(game, rng) for _ in range(3)])
    result = exact_observation_attack(game, policies, epsilons=[0, 1, 2, 3], victims=2, target="corridor")
    # attacked sets nested {V_1} ⊂ {V_1, V_2}: the adversary's action set only grows, in ε and in M (exactly)
    for agents in ({result.victim_order[0]}, set(result.victim_order)):
        eps, optimal = result.curve("optimal", sorted(agents))
        assert list(eps) == [0, 1, 2, 3] and np.all(np.diff(optimal) <= 1e-12)
        _, random = result.curve("random", sorted(agents))
        _, targeted = result.curve("targeted", sorted(agents))
        assert np.all(optimal <= random + 1e-12) and np.all(optimal <= targeted + 1e-12)  # optimal is the worst
        assert optimal[0] == pytest.approx(result.clean_mean)
    assert result.victim_values[1] <= result.victim_values[0] + 1e-12
    assert result.victim_values[0] == pytest.approx(min(result.victim_single))
    by_key = {(p.epsilon, p.attacked, p.method): p for p in result.points}
    for p in result.points:
        if p.method == "targeted":
            assert p.forcing >= p.forcing_clean - 1e-12
            if p.epsilon > 0:
                assert p.forcing > p.forcing_clean  # a random policy in this game can always be pushed
        small = by_key.get((p.epsilon, p.attacked[:1], p.method))
        if p.method == "optimal" and small is not None:
            assert p.mean <= small.mean + 1e-12
    data = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert ObservationAttack.from_json(data).to_json() == data
    assert "greedy victims" in "\n".join(result.lines())
    assert plot_observation_attack(result, tmp_path / "attack.png").stat().st_size > 0


def test_bad_input() -> None:
    game = make("misled-corridor")
    pi = game.uniform_policy()
    with pytest.raises(NotApplicableError, match="no gradient"):
        exact_observation_attack(game, pi, epsilons=[1], methods=["fgsm"])
    with pytest.raises(InvalidGameError, match="budget must be"):
        exact_observation_attack(game, pi, epsilons=[-1])
    with pytest.raises(InvalidGameError, match=r"agents in 0\.\.1"):
        exact_observation_attack(game, pi, epsilons=[1], attacked_sets=[[2]])
    with pytest.raises(InvalidGameError, match=r"M must be in 1\.\.2"):
        exact_observation_attack(game, pi, epsilons=[1], victims=3)
    with pytest.raises(InvalidGameError, match="targets"):
        forcing_attack(game, pi, state_ball(game, 1.0, [1]), np.array([0, 5]))


def test_recorded_float32_policies_are_accepted_as_a_history_gives_them() -> None:
    """A History's policies are float32 (rows sum to 1 only to ~1e-7): the exact attack reads them as the
    robustness curves do, and gives the float64 answer to float32 accuracy."""
    from marlkit.attacks.observation import exact_observation_attack
    from marlkit.games.catalog import make

    game = make("misled-corridor")
    policies = np.random.default_rng(3).dirichlet(np.ones(2), size=(2, 2, 5))
    exact = exact_observation_attack(game, policies, epsilons=[1.0], attacked_sets=[(0, 1)])
    recorded = exact_observation_attack(game, policies.astype(np.float32), epsilons=[1.0], attacked_sets=[(0, 1)])
    assert [p.method for p in recorded.points] == [p.method for p in exact.points]
    for a, b in zip(recorded.points, exact.points, strict=True):
        np.testing.assert_allclose(a.returns, b.returns, rtol=1e-5)
