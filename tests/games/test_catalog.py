"""The game catalog: every entry builds and validates, and each game has the facts its source states."""

from __future__ import annotations

import itertools
import json

import nashpy
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marlkit.errors import InvalidGameError, UnknownNameError
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.games.catalog import (
    ALIASES,
    CATALOG,
    KINDS,
    make,
    names,
    random_common_payoff,
    random_general_sum,
    random_symmetric,
    random_zero_sum,
)

GAME_TYPES = {"normal-form": NormalFormGame, "random": NormalFormGame}


def pure_equilibria(game: NormalFormGame) -> list[tuple[int, ...]]:
    """Brute force: joint actions from which no player gains by a unilateral deviation."""
    u = game.payoffs
    found = []
    for a in itertools.product(*(range(m) for m in game.num_actions)):
        stable = True
        for i in range(game.n_players):
            deviations = u[(i, *a[:i], slice(None), *a[i + 1 :])]
            if deviations.max() > u[(i, *a)] + 1e-12:
                stable = False
                break
        if stable:
            found.append(a)
    return found


# ---------------------------------------------------------------------------------------------- registry
def test_catalog_has_at_least_20_entries_in_order() -> None:
    assert len(CATALOG) >= 20
    assert names() == list(CATALOG)
    assert names()[0] == "prisoners-dilemma"


@pytest.mark.parametrize("name", names())
def test_every_entry_builds_with_defaults_and_is_labelled(name: str) -> None:
    entry = CATALOG[name]
    assert entry.name == name and entry.name == entry.name.lower() and " " not in entry.name
    assert entry.extra["kind"] in KINDS
    assert entry.description.strip() and "\n" not in entry.description
    assert entry.citation.strip()
    game = entry.factory()
    assert isinstance(game, GAME_TYPES.get(entry.extra["kind"], StochasticGame))
    assert game.name == name
    assert game.description == entry.description and game.citation == entry.citation
    if isinstance(game, StochasticGame) and game.num_states > 1:
        assert game.state_names[1] != "s1"  # states are named, not left at the defaults
    # metadata records how to rebuild the game, and is JSON-friendly
    recorded = game.metadata["catalog"]
    assert recorded["name"] == name
    assert set(recorded["parameters"]) == set(entry.parameters)
    json.dumps(game.metadata)
    # building again with the recorded parameters gives the same game
    again = make(name, **recorded["parameters"])
    arrays = ("payoffs",) if isinstance(game, NormalFormGame) else ("transitions", "rewards", "initial")
    for field in arrays:
        assert np.array_equal(getattr(again, field), getattr(game, field))


def test_parameters_are_read_off_the_factory_signature() -> None:
    assert dict(CATALOG["penalty"].parameters) == {"k": -10.0}
    assert dict(CATALOG["soccer"].parameters) == {"gamma": 0.9, "after_goal": "terminal"}
    assert dict(CATALOG["random-general-sum"].parameters) == {"seed": 0, "actions": 3, "players": 2}
    with pytest.raises(TypeError):
        CATALOG["penalty"].parameters["k"] = 0  # read-only view


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("pd", "prisoners-dilemma"),
        ("rps", "rock-paper-scissors"),
        ("mp", "matching-pennies"),
        ("bos", "battle-of-the-sexes"),
    ],
)
def test_aliases_and_forgiving_spelling(alias: str, name: str) -> None:
    assert ALIASES[alias] == name
    assert make(alias).name == name
    assert make(name.upper().replace("-", "_")).name == name


def test_unknown_name_suggests_close_matches_and_the_cli() -> None:
    with pytest.raises(UnknownNameError) as info:
        make("prisoner-dilema")
    message = str(info.value)
    assert "prisoners-dilemma" in message and "marlkit games" in message
    with pytest.raises(UnknownNameError, match="marlkit games"):
        make("no-such-game-xyz")


def test_unknown_and_bad_parameters_name_the_parameter() -> None:
    with pytest.raises(InvalidGameError, match=r"'kk'.*did you mean 'k'.*allowed parameters: k=-10.0"):
        make("penalty", kk=-5)
    with pytest.raises(InvalidGameError, match="takes no parameters"):
        make("chicken", payoff=1)
    with pytest.raises(InvalidGameError, match=r"'k': expected a penalty k <= 0"):
        make("penalty", k=5)  # Claus & Boutilier 1998 restrict k <= 0
    with pytest.raises(InvalidGameError, match=r"'actions': expected an integer >= 1, got 0"):
        make("coordination", actions=0)
    with pytest.raises(InvalidGameError, match=r"'players'"):
        make("random-general-sum", players=0)
    with pytest.raises(InvalidGameError, match=r"'actions\[1\]'"):
        make("random-general-sum", actions=(2, 0))
    with pytest.raises(InvalidGameError, match=r"'actions': expected one action count per player"):
        make("random-general-sum", actions=(2, 3, 4))
    with pytest.raises(InvalidGameError, match=r"'actions': expected an integer"):
        make("random-symmetric", actions=2.5)
    with pytest.raises(InvalidGameError, match=r"'T, R, P, S': expected T > R > P > S"):
        make("pd", T=2, R=3)
    with pytest.raises(InvalidGameError, match=r"'after_goal': expected one of 'terminal', 'reset'"):
        make("soccer", after_goal="restart")
    with pytest.raises(InvalidGameError, match=r"'gamma': expected a discount in \[0, 1\)"):
        make("grid-game-1", gamma=1.0)
    with pytest.raises(InvalidGameError, match=r"'players': expected an odd number"):
        make("minority-game", players=4)
    with pytest.raises(InvalidGameError, match="at most 10,000,000"):
        make("random-general-sum", players=12, actions=4)
    with pytest.raises(InvalidGameError, match="keyword-only"):
        CATALOG["penalty"].factory(-5)


# ------------------------------------------------------------------------------------- 2-player matrix facts
def test_prisoners_dilemma_dominance_and_pareto() -> None:
    # Axelrod 1984, ch. 1, Fig. 1: R=3, S=0, T=5, P=1.
    g = make("prisoners-dilemma")
    A, B = g.payoffs
    assert A.tolist() == [[3, 0], [5, 1]] and np.array_equal(B, A.T)
    C, D = 0, 1
    assert np.all(A[D, :] > A[C, :])  # defect strictly dominates for the row player
    assert np.all(B[:, D] > B[:, C])  # ... and for the column player
    assert A[C, C] > A[D, D] and B[C, C] > B[D, D]  # (C,C) Pareto-dominates (D,D)
    assert pure_equilibria(g) == [(D, D)]


def test_stag_hunt_has_two_pure_equilibria() -> None:
    g = make("stag-hunt")  # (stag, stag) and (hare, hare); Skyrms 2004, ch. 1
    assert pure_equilibria(g) == [(0, 0), (1, 1)]
    ne = list(nashpy.Game(*g.payoffs).vertex_enumeration())
    assert len(ne) == 3  # plus one mixed equilibrium


def test_chicken_and_battle_of_the_sexes_have_two_asymmetric_pure_equilibria() -> None:
    chicken = make("chicken")  # Aumann 1974: (6,6) (2,7) (7,2) (0,0)
    assert chicken.payoffs[:, 0, 0].tolist() == [6, 6] and chicken.payoffs[:, 1, 0].tolist() == [7, 2]
    assert pure_equilibria(chicken) == [(0, 1), (1, 0)]
    # Aumann's correlated equilibrium: 1/3 on each cell except (straight, straight) gives 5 each.
    mu = np.array([[1, 1], [1, 0]]) / 3
    assert chicken.expected_utility_correlated(mu) == pytest.approx([5, 5], abs=1e-12)
    bos = make("battle-of-the-sexes")  # Osborne & Rubinstein 1994, Ex. 15.3
    assert pure_equilibria(bos) == [(0, 0), (1, 1)]
    assert bos.payoffs[:, 0, 0].tolist() == [2, 1] and bos.payoffs[:, 1, 1].tolist() == [1, 2]


def test_hawk_dove_mixed_equilibrium_is_v_over_c() -> None:
    g = make("hawk-dove", V=2, C=6)  # Maynard Smith 1982, ch. 2: ESS hawk probability V/C
    p = 2 / 6
    u = g.payoffs[0] @ np.array([p, 1 - p])
    assert u[0] == pytest.approx(u[1], abs=1e-12)  # hawk and dove earn the same against the ESS mix


@pytest.mark.parametrize("name", ["matching-pennies", "rock-paper-scissors", "biased-rps", "random-zero-sum"])
def test_zero_sum_games_sum_to_zero(name: str) -> None:
    g = make(name)
    assert np.array_equal(g.payoffs.sum(axis=0), np.zeros(g.num_actions))


@pytest.mark.parametrize("name", ["matching-pennies", "rock-paper-scissors"])
def test_matching_pennies_and_rps_have_only_the_uniform_equilibrium(name: str) -> None:
    g = make(name)
    assert pure_equilibria(g) == []
    (ne,) = list(nashpy.Game(*g.payoffs).vertex_enumeration())
    m = g.num_actions[0]
    assert np.allclose(ne[0], np.full(m, 1 / m)) and np.allclose(ne[1], np.full(m, 1 / m))


def test_biased_rps_equilibrium() -> None:
    # Bošanský et al. 2016, Fig. 7 / OpenSpiel matrix_brps: unique equilibrium (1/16, 10/16, 5/16), value 0.
    g = make("biased-rps")
    assert g.payoffs[0].tolist() == [[0, -25, 50], [25, 0, -5], [-50, 5, 0]]
    (ne,) = list(nashpy.Game(*g.payoffs).vertex_enumeration())
    expected = np.array([1, 10, 5]) / 16
    assert np.allclose(ne[0], expected) and np.allclose(ne[1], expected)
    assert g.expected_utility([expected, expected]) == pytest.approx([0, 0], abs=1e-12)


def test_shapley_game_unique_uniform_equilibrium() -> None:
    # Shapley 1964: the unique equilibrium is uniform with payoff 1/3 to each player.
    g = make("shapley")
    (ne,) = list(nashpy.Game(*g.payoffs).vertex_enumeration())
    assert np.allclose(ne[0], 1 / 3) and np.allclose(ne[1], 1 / 3)
    uniform = np.full(3, 1 / 3)
    assert g.expected_utility([uniform, uniform]) == pytest.approx([1 / 3, 1 / 3], abs=1e-12)


@pytest.mark.parametrize(
    ("name", "params", "optimum", "argmax"),
    [
        ("climbing", {}, 11.0, [(0, 0)]),  # Claus & Boutilier 1998, §5
        ("penalty", {}, 10.0, [(0, 0), (2, 2)]),  # Claus & Boutilier 1998, §5, k = -10
        ("penalty", {"k": -100}, 10.0, [(0, 0), (2, 2)]),
        ("coordination", {"actions": 3, "players": 3}, 1.0, [(0, 0, 0), (1, 1, 1), (2, 2, 2)]),
    ],
)
def test_common_payoff_games(name: str, params: dict, optimum: float, argmax: list) -> None:
    g = make(name, **params)
    for i in range(1, g.n_players):
        assert np.array_equal(g.payoffs[i], g.payoffs[0])
    assert g.payoffs[0].max() == optimum
    assert [tuple(int(k) for k in a) for a in np.argwhere(g.payoffs[0] == optimum)] == argmax


def test_penalty_game_layout() -> None:
    g = make("penalty", k=-7)  # Claus & Boutilier 1998: [[10, 0, k], [0, 2, 0], [k, 0, 10]]
    assert g.payoffs[0].tolist() == [[10, 0, -7], [0, 2, 0], [-7, 0, 10]]
    assert make("climbing").payoffs[0].tolist() == [[11, -30, 0], [-30, 7, 6], [0, 0, 5]]


# ---------------------------------------------------------------------------------------- n-player games
def test_public_goods_is_a_social_dilemma() -> None:
    n, r, e = 4, 1.6, 1.0  # Ledyard 1995: u_i = e(1 - c_i) + r e C / n, MPCR r/n = 0.4
    g = make("public-goods", players=n, multiplier=r, endowment=e)
    u = g.payoffs
    contribute, defect = 0, 1
    for i in range(n):
        own = np.moveaxis(u[i], i, 0)
        assert np.all(own[defect] > own[contribute])  # defecting strictly dominates: gain e(1 - r/n) = 0.6
        assert np.allclose(own[defect] - own[contribute], e * (1 - r / n))
    assert u[(slice(None), *([contribute] * n))] == pytest.approx([r * e] * n)  # all contribute: 1.6 each
    assert u[(slice(None), *([defect] * n))] == pytest.approx([e] * n)  # nobody contributes: 1.0 each
    assert pure_equilibria(g) == [(defect,) * n]


def test_minority_game_and_el_farol_payoffs() -> None:
    g = make("minority-game", players=3)  # Challet & Zhang 1997: the minority side scores 1
    assert g.pure_utility((0, 0, 1)).tolist() == [0, 0, 1]
    assert g.pure_utility((1, 1, 1)).tolist() == [0, 0, 0]
    assert len(pure_equilibria(g)) == 6  # every 2-vs-1 split
    bar = make("el-farol", players=5, capacity=3)  # go = 0: +1 if attendance <= 3 else -1; stay = 1: 0
    assert bar.pure_utility((0, 0, 0, 1, 1)).tolist() == [1, 1, 1, 0, 0]
    assert bar.pure_utility((0, 0, 0, 0, 1)).tolist() == [-1, -1, -1, -1, 0]


# ------------------------------------------------------------------------------------------------ soccer
@pytest.fixture(scope="module")
def soccer() -> StochasticGame:
    return make("soccer")


def state_of(game: StochasticGame, a: tuple[int, int], b: tuple[int, int], ball: str) -> int:
    return game.state_names.index(f"A({a[0]},{a[1]}) B({b[0]},{b[1]}) ball:{ball}")


def test_soccer_structure(soccer: StochasticGame) -> None:
    # Littman 1994, §6.1: 4x5 grid, distinct squares, ball with A or B: 20*19*2 = 760 states (+1 terminal).
    assert soccer.num_states == 761 and soccer.num_actions == (5, 5) and soccer.gamma == 0.9
    assert soccer.terminal.sum() == 1 and soccer.state_names[-1] == "goal"
    assert make("soccer", after_goal="reset").num_states == 760
    assert np.array_equal(soccer.rewards[0] + soccer.rewards[1], np.zeros_like(soccer.rewards[0]))
    live = ~soccer.terminal
    assert np.allclose(soccer.transitions[live].sum(axis=-1), 1.0, atol=1e-12)
    assert np.all(soccer.transitions >= 0)
    start = np.flatnonzero(soccer.initial)
    assert [soccer.state_names[s] for s in start] == ["A(1,3) B(2,1) ball:A", "A(1,3) B(2,1) ball:B"]
    assert soccer.initial[start].tolist() == [0.5, 0.5]


def test_soccer_rules(soccer: StochasticGame) -> None:
    E, W, stand = 2, 3, 4  # actions N, S, E, W, stand
    goal = soccer.num_states - 1
    # A carrying the ball steps into the left goal from a goal row: +1 for A whatever B does.
    s = state_of(soccer, (1, 0), (3, 4), "A")
    assert np.all(soccer.rewards[0, s, W, :] == 1.0) and np.all(soccer.transitions[s, W, :, goal] == 1.0)
    # ... but not from row 0 (outside the goal) nor without the ball.
    assert soccer.rewards[0, state_of(soccer, (0, 0), (3, 4), "A"), W, stand] == 0.0
    assert soccer.rewards[0, state_of(soccer, (1, 0), (3, 4), "B"), W, stand] == 0.0
    # A carrier bumping into a standing player loses the ball and does not move.
    s = state_of(soccer, (1, 1), (1, 2), "A")
    assert soccer.transitions[s, E, stand, state_of(soccer, (1, 1), (1, 2), "B")] == 1.0
    # Both run for the same square: the order decides (1/2 each).
    s = state_of(soccer, (1, 1), (1, 3), "A")
    row = soccer.transitions[s, E, W]
    assert row[state_of(soccer, (1, 2), (1, 3), "A")] == 0.5  # A first; B bumps into A
    assert row[state_of(soccer, (1, 1), (1, 2), "B")] == 0.5  # B first; A bumps into B, ball to B


def test_soccer_policy_evaluation(soccer: StochasticGame) -> None:
    """A always runs west, B always stands (B stays in row 2, off A's path along row 1).

    If A starts with the ball (prob 1/2) it walks (1,3) -> (1,2) -> (1,1) -> (1,0) and scores on the 4th step:
    discounted +γ^3 = 0.729. If B has the ball nobody ever scores. So V_A = 0.5 * 0.9^3 = 0.3645, V_B = -V_A.
    With the paper's reset the game repeats: V = 0.5 (γ^3 + γ^4 V)  =>  V = 0.5 γ^3 / (1 - 0.5 γ^4).
    """
    W, stand = 3, 4
    policy = np.zeros((2, soccer.num_states, 5))
    policy[0, :, W] = 1.0
    policy[1, :, stand] = 1.0
    assert soccer.expected_return(policy) == pytest.approx([0.3645, -0.3645], abs=1e-12)
    reset = make("soccer", after_goal="reset")
    value = 0.5 * 0.9**3 / (1 - 0.5 * 0.9**4)
    assert reset.expected_return(policy[:, :760]) == pytest.approx([value, -value], abs=1e-12)


# ------------------------------------------------------------------------------------ Hu-Wellman grid games
def grid_policy(game: StochasticGame, moves: dict[tuple[int, int], tuple[str, str]]) -> np.ndarray:
    """Per-agent deterministic policy from ``{(l1, l2): (action1, action2)}``; 'up' in unlisted states."""
    actions = game.action_names[0]
    policy = np.zeros((2, game.num_states, 4))
    policy[:, :, actions.index("up")] = 1.0
    for (l1, l2), pair in moves.items():
        s = game.state_names.index(f"({l1},{l2})")
        policy[:, s] = 0.0
        for i, a in enumerate(pair):
            policy[i, s, actions.index(a)] = 1.0
    return policy


def test_grid_games_structure() -> None:
    # Hu & Wellman 2003, §5: 3x3 grid, start (0,2), +100 for reaching the goal, -1 on collision, γ = 0.99.
    g1, g2 = make("grid-game-1"), make("grid-game-2")
    for g in (g1, g2):
        assert g.gamma == 0.99 and g.num_actions == (4, 4)
        assert g.state_names[int(np.argmax(g.initial))] == "(0,2)"
        assert g.rewards.max() == 100.0
        assert np.allclose(g.transitions[~g.terminal].sum(axis=-1), 1.0, atol=1e-12)
    assert g1.num_states == 74 and g2.num_states == 73
    up, down, left, right = range(4)
    # Grid game 1: agent 1 steps into its goal (cell 8) from cell 5; agent 2 from cell 7 into cell 6.
    s = g1.state_names.index("(5,7)")
    assert g1.rewards[:, s, up, left].tolist() == [100.0, 100.0]
    assert g1.terminal[g1.state_names.index("(8,6)")]
    # Collision: both move into cell 4 -> bounce back, -1 each.
    s = g1.state_names.index("(3,5)")
    assert g1.rewards[:, s, right, left].tolist() == [-1.0, -1.0] and g1.transitions[s, right, left, s] == 1.0
    # Grid game 2: the barrier above the start cells is crossed with probability 0.5.
    s0 = g2.state_names.index("(0,2)")
    assert g2.transitions[s0, up, down, g2.state_names.index("(3,2)")] == 0.5
    assert g2.transitions[s0, up, down, s0] == 0.5
    # Both may enter the shared goal together, and both collect 100.
    s = g2.state_names.index("(6,8)")
    assert g2.rewards[:, s, right, left].tolist() == [100.0, 100.0]


def test_grid_game_1_shortest_paths_value() -> None:
    """Both agents walk 4-step shortest paths that never meet (Hu & Wellman 2003, §5, grid game 1):
    agent 1: 0 -up-> 3 -up-> 6 -right-> 7 -right-> 8;  agent 2: 2 -up-> 5 -left-> 4 -left-> 3 -up-> 6.
    Joint states (0,2) -> (3,5) -> (6,4) -> (7,3) -> (8,6): both reach their goals on step 4, so each earns
    V = γ^3 · 100 = 0.99^3 · 100 = 97.0299."""
    g = make("grid-game-1")
    policy = grid_policy(
        g, {(0, 2): ("up", "up"), (3, 5): ("up", "left"), (6, 4): ("right", "left"), (7, 3): ("right", "up")}
    )
    assert g.expected_return(policy) == pytest.approx([97.0299, 97.0299], abs=1e-9)


def test_grid_game_2_barrier_value() -> None:
    """Agent 1 goes through the centre (0 -right-> 1 -up-> 4 -up-> 7, reaching the goal on step 3);
    agent 2 goes up through the barrier and along the top (2 -up-> 5 -up-> 8 -left-> 7). Agent 2 arrives on
    step 3 too only if the barrier lets it through on the first try (prob 1/2); otherwise the game ends when
    agent 1 arrives. V_1 = 0.99^2 · 100 = 98.01, V_2 = 0.5 · 0.99^2 · 100 = 49.005."""
    g = make("grid-game-2")
    policy = grid_policy(
        g,
        {
            (0, 2): ("right", "up"),
            (1, 5): ("up", "up"),
            (1, 2): ("up", "up"),
            (4, 8): ("up", "left"),
            (4, 5): ("up", "up"),
            (4, 2): ("up", "up"),
        },
    )
    assert g.expected_return(policy) == pytest.approx([98.01, 49.005], abs=1e-9)


# ----------------------------------------------------------------------------------------------- Dec-Tiger
def test_dec_tiger_model() -> None:
    g = make("dec-tiger")  # Nair et al. 2003, §2
    listen, open_left, open_right = range(3)
    tiger_left, tiger_right = 0, 1
    assert g.is_partially_observable and np.array_equal(g.rewards[0], g.rewards[1])
    R = g.rewards[0]
    assert R[tiger_left, listen, listen] == -2 and R[tiger_right, listen, listen] == -2
    assert R[tiger_left, open_right, open_right] == 20 and R[tiger_left, open_left, open_left] == -50
    assert R[tiger_left, open_left, open_right] == -100 and R[tiger_right, open_right, open_left] == -100
    assert R[tiger_left, listen, open_left] == -101 and R[tiger_left, open_right, listen] == 9
    assert R[tiger_right, listen, open_left] == 9 and R[tiger_right, open_right, listen] == -101
    assert np.array_equal(g.transitions[:, listen, listen], np.eye(2))
    assert np.all(g.transitions[:, open_left, listen] == 0.5)
    for i in range(2):
        assert g.observations.is_action_dependent(i)
        heard = g.observations.matrices[i]  # [s', a1, a2, o]
        assert heard[tiger_left, listen, listen] == pytest.approx([0.85, 0.15], abs=1e-15)
        assert heard[tiger_right, listen, listen] == pytest.approx([0.15, 0.85], abs=1e-15)
        assert np.all(heard[:, listen, open_right] == 0.5)
    # Always listening: -2 per step forever, V = -2 / (1 - 0.9) = -20.
    always_listen = np.zeros((2, 2, 3))
    always_listen[:, :, listen] = 1.0
    assert g.expected_return(always_listen) == pytest.approx([-20, -20], abs=1e-12)


# ------------------------------------------------------------------------------------------- constrained
def test_resource_sharing_constraints() -> None:
    g = make("resource-sharing")  # marlkit's illustrative game: high costs 1/step, limit 4, γ = 0.9
    assert g.is_constrained and np.all(g.costs >= 0) and g.limits.tolist() == [[4.0], [4.0]]
    high = np.zeros((2, 1, 2))
    high[:, :, 1] = 1.0
    assert g.expected_costs(high).ravel() == pytest.approx([10.0, 10.0])  # 1 / (1 - 0.9)
    assert g.constraint_violations(high).ravel() == pytest.approx([6.0, 6.0])
    p = 0.4
    mixed = np.tile([1 - p, p], (2, 1, 1))
    assert g.constraint_violations(mixed).ravel() == pytest.approx([0.0, 0.0], abs=1e-12)
    assert g.expected_return(mixed) == pytest.approx([15.6, 15.6])  # 1.56 per step / (1 - 0.9)
    assert g.expected_return(high) == pytest.approx([15.0, 15.0])


# ---------------------------------------------------------------------------------------- random games
GENERATORS = [
    ("random-zero-sum", {"actions": (2, 4)}),
    ("random-common-payoff", {"actions": 3, "players": 3}),
    ("random-general-sum", {"actions": (2, 3, 2), "players": 3}),
    ("random-symmetric", {"actions": 3, "players": 3}),
]


@pytest.mark.parametrize(("name", "params"), GENERATORS)
def test_random_games_are_seeded(name: str, params: dict) -> None:
    a, b = make(name, seed=7, **params), make(name, seed=7, **params)
    assert np.array_equal(a.payoffs, b.payoffs)
    assert not np.array_equal(a.payoffs, make(name, seed=8, **params).payoffs)
    assert a.metadata["catalog"]["parameters"]["seed"] == 7
    assert np.all(np.abs(a.payoffs) <= 1.0)


def test_random_generator_functions_take_a_generator() -> None:
    g = random_zero_sum(np.random.default_rng(3), actions=(2, 5))
    assert g.num_actions == (2, 5) and np.array_equal(g.payoffs[0], -g.payoffs[1])
    team = random_common_payoff(np.random.default_rng(3), actions=2, players=4)
    assert all(np.array_equal(team.payoffs[i], team.payoffs[0]) for i in range(4))
    assert random_general_sum(np.random.default_rng(3), players=1, actions=4).num_actions == (4,)
    with pytest.raises(InvalidGameError, match=r"numpy\.random\.Generator"):
        random_zero_sum(7)  # a seed, not a Generator


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), players=st.integers(1, 4), actions=st.integers(1, 4))
def test_random_symmetric_is_invariant_under_player_permutations(seed: int, players: int, actions: int) -> None:
    """u_i(a) = u_j(a with a_i and a_j swapped) for every pair i, j: transpositions generate all permutations."""
    P = random_symmetric(np.random.default_rng(seed), actions=actions, players=players).payoffs
    for i, j in itertools.combinations(range(players), 2):
        assert np.array_equal(np.swapaxes(P[j], i, j), P[i])
    # and player 0's payoff depends on the others only through the multiset of their actions
    for i, j in itertools.combinations(range(1, players), 2):
        assert np.array_equal(np.swapaxes(P[0], i, j), P[0])
