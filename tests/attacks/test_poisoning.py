"""Reward poisoning (Wu, McMahan, Zhu & Xie, AAAI 2023): closed forms, an independent LP, and end to end.

**Prisoner's dilemma, target (C, C) dominant** (catalog payoffs u_0: CC 3, CD 0, DC 5, DD 1; u_1 symmetric),
noise-free data with N_a samples of joint action a, radius ρ (box ρ/sqrt(N_a)), margin ι. Agent 0's rows:

    (R_0(CC) + x) - (R_0(DC) + y) >= ι + ρ(N_CC^-½ + N_DC^-½):  x - y >= d_1 = 2 + ι + ρ(N_CC^-½ + N_DC^-½)
    (R_0(CD) + x') - (R_0(DD) + y') >= ι + ρ(...):              x' - y' >= d_2 = 1 + ι + ρ(N_CD^-½ + N_DD^-½)

and agent 1's the same with CD and DC swapped (d_3 on CC/CD, d_4 on DC/DD). The four rows share no variable, and
for one row x - y >= d > 0 with weights N_a, N_b:

    L1: min N_a|x| + N_b|y| = d min(N_a, N_b);   L∞: min max(|x|, |y|) = d / 2;
    L2 (per sample): min N_a x² + N_b y² = d² / (1/N_a + 1/N_b)   (Lagrange: x = λ/2N_a, y = -λ/2N_b),

so the costs are Σ_k d_k min(N_a,k, N_b,k), max_k d_k / 2 and sqrt(Σ_k d_k² / (1/N_a,k + 1/N_b,k)).

**Rock-paper-scissors, target (rock, rock) the unique Nash equilibrium** (zero-sum, one reward stream
u_0: RR 0, PR 1, SR -1, RP -1, RS 1). With x the change at RR and c_a = ρ/sqrt(N_a), the saddle rows read

    x - Δ_PR >= 1 + ι + c_RR + c_PR,   x - Δ_SR >= ι - 1 + c_RR + c_SR,
    Δ_RP - x >= 1 + ι + c_RR + c_RP,   Δ_RS - x >= ι - 1 + c_RR + c_RS;

for fixed x each other entry pays N_a max(0, d_a ∓ x), so the L1 cost is the 1-D convex piecewise-linear
min_x N_RR|x| + N_PR(d_PR - x)^+ + N_SR(d_SR - x)^+ + N_RP(d_RP + x)^+ + N_RS(d_RS + x)^+, attained at a breakpoint
x in {0, d_PR, d_SR, -d_RP, -d_RS}. With equal counts N: x = 0 and cost N(2(1 + ι + 2ρ/√N) + 2(ι - 1 + 2ρ/√N)^+).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from marlkit.attacks.poisoning import poison
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame
from marlkit.games.catalog import make
from marlkit.offline.dataset import OfflineDataset
from marlkit.offline.dominance import gap_rows
from marlkit.offline.estimate import estimate
from marlkit.offline.learners import learn
from marlkit.offline.record import record, record_counts

PD_COUNTS = [(5, 5, 5, 5), (3, 7, 11, 2), (40, 9, 13, 25)]


def _pd_rows(N: dict[str, int], iota: float, rho: float) -> list[tuple[float, int, int]]:
    c = {a: rho / np.sqrt(n) for a, n in N.items()}
    return [
        (2 + iota + c["CC"] + c["DC"], N["CC"], N["DC"]),
        (1 + iota + c["CD"] + c["DD"], N["CD"], N["DD"]),
        (2 + iota + c["CC"] + c["CD"], N["CC"], N["CD"]),
        (1 + iota + c["DC"] + c["DD"], N["DC"], N["DD"]),
    ]


@pytest.mark.parametrize("counts", PD_COUNTS)
@pytest.mark.parametrize(("iota", "rho"), [(0.5, 0.0), (1.0, 1.0), (0.1, 3.0)])
def test_prisoners_dilemma_closed_forms(counts: tuple[int, ...], iota: float, rho: float) -> None:
    N = dict(zip(("CC", "CD", "DC", "DD"), counts, strict=True))
    data = record_counts(make("prisoners-dilemma"), np.array(counts).reshape(1, 2, 2))
    rows = _pd_rows(N, iota, rho)
    expected = {
        "l1": sum(d * min(a, b) for d, a, b in rows),
        "linf": max(d for d, _, _ in rows) / 2,
        "l2": np.sqrt(sum(d**2 / (1 / a + 1 / b) for d, a, b in rows)),
    }
    for norm, cost in expected.items():
        result = poison(data, [0, 0], iota=iota, rho=rho, norm=norm)
        assert result.feasible and result.concept == "dominant"
        assert result.cost == pytest.approx(cost, rel=1e-7, abs=1e-7), norm
        assert result.objective == pytest.approx(cost, rel=1e-7, abs=1e-7)
        assert result.certificate is not None and result.certificate.margin == pytest.approx(iota, abs=1e-7)
        assert result.succeeded


@pytest.mark.parametrize("counts", [(4, 4, 4, 4, 4), (2, 9, 3, 5, 7), (30, 1, 2, 8, 3)])
@pytest.mark.parametrize(("iota", "rho"), [(0.5, 0.0), (1.5, 0.0), (0.5, 1.0)])
def test_rock_paper_scissors_saddle_closed_form(counts: tuple[int, ...], iota: float, rho: float) -> None:
    N_RR, N_PR, N_SR, N_RP, N_RS = counts
    table = np.full((1, 3, 3), 5)
    table[0, 0, 0], table[0, 1, 0], table[0, 2, 0], table[0, 0, 1], table[0, 0, 2] = counts
    data = record_counts(make("rock-paper-scissors"), table)
    c = {k: rho / np.sqrt(n) for k, n in zip(("RR", "PR", "SR", "RP", "RS"), counts, strict=True)}
    d = {"PR": 1 + iota + c["RR"] + c["PR"], "SR": iota - 1 + c["RR"] + c["SR"],
         "RP": 1 + iota + c["RR"] + c["RP"], "RS": iota - 1 + c["RR"] + c["RS"]}  # fmt: skip

    def cost(x: float) -> float:
        return (N_RR * abs(x) + N_PR * max(0, d["PR"] - x) + N_SR * max(0, d["SR"] - x)
                + N_RP * max(0, d["RP"] + x) + N_RS * max(0, d["RS"] + x))  # fmt: skip

    expected = min(cost(x) for x in (0.0, d["PR"], d["SR"], -d["RP"], -d["RS"]))
    result = poison(data, [0, 0], iota=iota, rho=rho)
    assert result.concept == "saddle" and result.feasible
    assert result.cost == pytest.approx(expected, rel=1e-7, abs=1e-7)
    assert np.allclose(result.dataset.rewards.sum(axis=1), 0.0)  # type: ignore[union-attr]  # stays zero-sum
    if counts[0] == counts[1]:  # equal counts: the formula of the module docstring
        n, r = counts[0], rho / np.sqrt(counts[0])
        assert expected == pytest.approx(n * (2 * (1 + iota + 2 * r) + 2 * max(0.0, iota - 1 + 2 * r)))


def _dense_l1(data: OfflineDataset, target: np.ndarray, iota: float, rho: float, concept: str) -> float:
    """The per-sample LP written from the definitions of a one-shot game (no gap rows): a variable δ_{k,i} per
    logged step k and reward stream i, the means (1/N_a) Σ_{k in a} (r_k + δ_k), and each comparison's worst case
    over the box as mean(b) - ρ/√N_b - mean(c) - ρ/√N_c >= ι; minimise Σ |δ|."""
    K = data.num_steps
    shape = data.num_actions
    streams = 1 if concept == "saddle" else data.n_players
    cell = data.joint_index()
    N = np.bincount(cell, minlength=int(np.prod(shape)))
    A, b = [], []
    for i in range(data.n_players):
        for joint in np.ndindex(*shape):
            if joint[i] == target[i] or (
                concept == "saddle" and any(joint[k] != target[k] for k in range(2) if k != i)
            ):
                continue
            better = list(joint)
            better[i] = target[i]
            jb, jc = np.ravel_multi_index(better, shape), np.ravel_multi_index(joint, shape)
            sign = -1.0 if concept == "saddle" and i == 1 else 1.0
            stream = 0 if concept == "saddle" else i
            row = np.zeros(K * streams)
            row[np.flatnonzero(cell == jb) * streams + stream] += sign / N[jb]
            row[np.flatnonzero(cell == jc) * streams + stream] -= sign / N[jc]
            gap = sign * (data.rewards[cell == jb, stream].mean() - data.rewards[cell == jc, stream].mean())
            A.append(row)
            b.append(iota + rho / np.sqrt(N[jb]) + rho / np.sqrt(N[jc]) - gap)
    G = np.array(A)
    res = linprog(
        np.ones(2 * K * streams), A_ub=np.hstack([-G, G]), b_ub=-np.array(b), bounds=(0, None), method="highs"
    )
    assert res.status == 0
    return float(res.fun)


@pytest.mark.parametrize("seed", range(6))
def test_reduced_lp_equals_the_dense_per_sample_lp_on_random_games(seed: int) -> None:
    rng = np.random.default_rng(seed)
    zero_sum = seed % 2 == 1
    payoff = rng.normal(size=(3, 3))
    game = NormalFormGame(np.stack([payoff, -payoff]) if zero_sum else rng.normal(size=(2, 3, 3)))
    data = record_counts(game, rng.integers(1, 6, size=(1, 3, 3)), seed=seed, noise=0.5)
    target = rng.integers(0, 3, size=2)
    iota, rho = rng.uniform(0.1, 1.0), rng.uniform(0.0, 1.0)
    concept = "saddle" if zero_sum else "dominant"
    result = poison(data, target, iota=iota, rho=rho, concept=concept)
    assert result.cost == pytest.approx(_dense_l1(data, target, iota, rho, concept), abs=1e-7)


@pytest.mark.parametrize("seed", range(3))
def test_stochastic_attack_equals_the_per_sample_lp_over_the_gap_rows(seed: int) -> None:
    """On a stochastic game (two-step, γ = 0.99) the per-sample LP over the same gap rows (δ per step, means as
    sums) has the reduced LP's optimum: the equal-shift reduction is exact."""
    data = record(make("two-step"), episodes=60, seed=seed, noise=0.3)
    rho, iota = 0.5, 0.2
    target = np.array([[0, 0], [1, 1], [0, 0], [0, 0]])
    result = poison(data, target, iota=iota, rho=rho)
    model = estimate(data, rho)
    rows = gap_rows(model, target, "dominant", data.legal_joint_actions())
    S, J, K, n = data.num_states, data.num_joint_actions, data.num_steps, data.n_players
    cell = data.state * J + data.joint_index()
    N = model.counts.ravel()
    coef = rows.coef.toarray()
    G = np.zeros((rows.num_rows, K * n))
    for k in range(rows.num_rows):
        per_sample = coef[k, cell] / np.maximum(N[cell], 1)  # d mean / d r_k
        G[k, np.arange(K) * n + rows.stream[k]] = per_sample
    radius = model.radius.ravel()
    assert np.all(np.isfinite(radius[np.abs(coef).sum(axis=0) > 0]))  # only visited entries enter the rows
    center = (coef * model.means[rows.stream].reshape(rows.num_rows, -1)).sum(axis=1)
    h = iota - center + np.abs(coef) @ np.where(np.isfinite(radius), radius, 0.0)
    res = linprog(np.ones(2 * K * n), A_ub=np.hstack([-G, G]), b_ub=-h, bounds=(0, None), method="highs")
    assert result.feasible and res.status == 0 and result.cost == pytest.approx(res.fun, abs=1e-6)
    assert S == 4


@pytest.mark.parametrize("seed", range(3))
def test_end_to_end_learners_and_the_radius(seed: int) -> None:
    """Learners adopt the clean solution on clean data and the target on poisoned data; an attack sized for ρ = 0
    fails against a pessimistic learner: its binding rows lose ρ'(N_b^-½ + N_c^-½) of margin (with ~100 samples per
    cell and ρ' = 2 about 0.4 > ι = 0.1), so the target is no longer dominant in every game of the learner's set and
    the learner does not adopt it as such (what its fallback then plays is its own rule; module docstring of
    marlkit.offline.learners). An attack sized for ρ' succeeds."""
    data = record(make("prisoners-dilemma"), episodes=400, seed=seed, noise=0.5)
    assert learn(data, 0.0).adopts([1, 1]) and learn(data, 2.0).adopts([1, 1])
    naive = poison(data, [0, 0], iota=0.1, rho=0.0)
    assert naive.succeeded and learn(naive.dataset, 0.0).adopts([0, 0])  # type: ignore[arg-type]
    against = learn(naive.dataset, 2.0)  # type: ignore[arg-type]
    assert against.case != "dominant"
    recheck = poison(naive.dataset, [0, 0], iota=0.1, rho=2.0)  # type: ignore[arg-type]
    assert recheck.clean.margin < 0 and recheck.cost > 0  # the naive data leaves the target unguaranteed at ρ' = 2
    sized = poison(data, [0, 0], iota=0.1, rho=2.0)
    assert sized.succeeded and sized.cost > naive.cost
    for rho in (0.0, 2.0):
        assert learn(sized.dataset, rho).adopts([0, 0])  # type: ignore[arg-type]
    # a stochastic game, per-state targets, the saddle of a zero-sum game
    two = record(make("two-step"), episodes=200, seed=seed, noise=0.2)
    target = np.array([[1, 1], [0, 0], [1, 0], [0, 0]])
    attack = poison(two, target, iota=0.5, rho=0.5)
    assert attack.succeeded and learn(attack.dataset, 0.5).adopts(target)  # type: ignore[arg-type]
    assert not learn(two, 0.5).adopts(target)
    rps = record(make("rock-paper-scissors"), episodes=500, seed=seed, noise=0.3)
    saddle = poison(rps, [2, 1], iota=0.3, rho=0.5)
    adopted = learn(saddle.dataset, 0.5)  # type: ignore[arg-type]
    assert saddle.succeeded and adopted.adopts([2, 1]) and adopted.case in ("dominant", "unique-nash")
    assert learn(rps, 0.5).actions is None  # clean: the mixed minimax policy


def test_infeasible_targets_are_results() -> None:
    data = record_counts(make("prisoners-dilemma"), np.array([[[50, 0], [50, 50]]]))
    result = poison(data, [0, 0], iota=1.0, rho=1.0)
    assert not result.feasible and not result.succeeded and "never visited" in result.reason
    assert result.dataset is None and "(cooperate, defect)" in result.reason
    assert poison(data, [0, 0], iota=1.0, rho=1.0, bound=10.0).succeeded  # a reward bound makes it feasible
    cost = poison(data, [0, 0], iota=1.0, rho=1.0, bound=10.0).cost
    over = poison(data, [0, 0], iota=1.0, rho=1.0, bound=10.0, budget=0.99 * cost)
    assert not over.feasible and "exceeds the budget" in over.reason and over.dataset is None
    assert poison(data, [0, 0], iota=1.0, rho=1.0, bound=10.0, budget=cost).succeeded
    json_ready = result.to_json()
    assert json_ready["cost"] is None and json_ready["feasible"] is False


def test_bad_input() -> None:
    data = record(make("prisoners-dilemma"), episodes=20, seed=0)
    with pytest.raises(InvalidGameError, match="target"):
        poison(data, [0, 2])
    with pytest.raises(InvalidGameError, match="target"):
        poison(data, [0, 0, 0])
    with pytest.raises(InvalidGameError, match="margin"):
        poison(data, [0, 0], iota=-1.0)
    with pytest.raises(InvalidGameError, match="radius"):
        poison(data, [0, 0], rho=-0.5)
    with pytest.raises(InvalidGameError, match="budget"):
        poison(data, [0, 0], budget=-1.0)
    with pytest.raises(InvalidGameError, match="norm"):
        poison(data, [0, 0], norm="l3")
    with pytest.raises(NotApplicableError, match="zero-sum"):
        poison(data, [0, 0], concept="saddle")


@pytest.mark.parametrize("seed", range(3))
def test_zero_sum_markov_saddle_is_what_shapley_finds(seed: int) -> None:
    """Independent oracle for the zero-sum Markov variant: on the poisoned data the point-estimate game (P̂, R̂ + Δ)
    solved by Shapley value iteration (marlkit.solve, no gap rows) plays the target at every state, and its values
    are the target's own (V* = V^{π†}); on the clean data it does not."""
    from marlkit.games.catalog.robust import random_stochastic
    from marlkit.offline.learners import estimated_game
    from marlkit.solve.shapley import shapley_value_iteration

    rng = np.random.default_rng(seed)
    game = random_stochastic(rng, states=3, actions=3, utility="zero-sum", terminal=True, gamma=0.9)
    counts = rng.integers(2, 9, size=(3, 3, 3))
    counts[2] = 0  # the terminal state is never logged
    data = record_counts(game, counts, seed=seed, noise=0.2)
    target = rng.integers(0, 3, size=(3, 2))
    attack = poison(data, target, iota=0.3, rho=0.5)
    assert attack.concept == "saddle" and attack.succeeded
    poisoned = attack.dataset
    assert poisoned is not None
    solution = shapley_value_iteration(estimated_game(estimate(poisoned), poisoned), tol=1e-10)
    for s in range(2):
        for i in range(2):
            assert solution.policy[i, s, target[s, i]] == pytest.approx(1.0, abs=1e-6)
    clean = shapley_value_iteration(estimated_game(estimate(data), data), tol=1e-10)
    assert not all(clean.policy[i, s, target[s, i]] > 1 - 1e-6 for s in range(2) for i in range(2))
    adopted = learn(poisoned, 0.5)
    assert adopted.adopts(target) and adopted.case in ("dominant", "unique-nash")


@pytest.mark.parametrize("seed", range(3))
def test_markov_dominance_checked_with_the_games_own_evaluation(seed: int) -> None:
    """Independent oracle for the MPDSE rows: on the poisoned data (ρ = 0) the point-estimate game's own policy
    evaluation (StochasticGame.evaluate, no gap rows) gives Q_i^{π†}(s, a) = R̂_i(s, a) + γ Σ P̂ V_i^{π†}, in which the
    target beats every deviation of every agent against every a_-i by at least ι, tightly (min = ι)."""
    from marlkit.games.catalog.robust import random_stochastic
    from marlkit.offline.learners import estimated_game

    rng = np.random.default_rng(seed)
    game = random_stochastic(rng, states=3, actions=2, terminal=True, gamma=0.8)
    counts = rng.integers(2, 9, size=(3, 2, 2))
    counts[2] = 0
    data = record_counts(game, counts, seed=seed, noise=0.2)
    target = rng.integers(0, 2, size=(3, 2))
    iota = 0.4
    poisoned = poison(data, target, iota=iota, rho=0.0).dataset
    assert poisoned is not None
    g = estimated_game(estimate(poisoned), poisoned)
    policy = np.zeros((2, 4, 2))
    for i in range(2):
        policy[i, np.arange(4), np.append(target[:, i], 0)] = 1.0
    V = g.evaluate(policy)
    Q = g.rewards + g.gamma * np.einsum("sabt,it->isab", g.transitions, V)
    gaps = []
    for s in range(2):
        a0, a1 = target[s]
        gaps += [Q[0, s, a0, b] - Q[0, s, 1 - a0, b] for b in range(2)]
        gaps += [Q[1, s, a, a1] - Q[1, s, a, 1 - a1] for a in range(2)]
    assert min(gaps) == pytest.approx(iota, abs=1e-7)


def test_a_poisoned_dataset_poisoned_again_keeps_the_chain_of_attacks() -> None:
    """Each attack is recorded in the provenance with a digest of the rewards it changed, so a file poisoned twice
    says so (and which rewards each attack saw)."""
    import hashlib

    data = record(make("prisoners-dilemma"), episodes=200, seed=1, noise=0.5)
    first = poison(data, [0, 0], iota=0.5, rho=0.0)
    second = poison(first.dataset, [1, 1], iota=0.5, rho=0.0)
    chain = second.dataset.provenance["poisoned"]
    assert [entry["target"] for entry in chain] == [[[0, 0]], [[1, 1]]]
    digests = [hashlib.sha256(np.ascontiguousarray(d.rewards).tobytes()).hexdigest() for d in (data, first.dataset)]
    assert [entry["input_rewards_sha256"] for entry in chain] == digests
    assert "poisoned" not in data.provenance
