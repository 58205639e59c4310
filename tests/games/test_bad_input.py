"""Property tests: broken games always raise a clear InvalidGameError, never crash or answer wrongly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marlkit.errors import InvalidGameError
from marlkit.games import NormalFormGame, StochasticGame

shapes = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))


@st.composite
def valid_stochastic_fields(draw: st.DrawFn) -> dict:
    S, a1, a2 = draw(shapes)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return {
        "transitions": rng.dirichlet(np.ones(S), size=(S, a1, a2)),
        "rewards": rng.normal(size=(2, S, a1, a2)),
        "initial": rng.dirichlet(np.ones(S)),
        "gamma": float(draw(st.floats(0.0, 0.99))),
    }


@settings(max_examples=60, deadline=None)
@given(valid_stochastic_fields())
def test_valid_games_build_and_evaluate(fields: dict) -> None:
    game = StochasticGame(**fields)
    values = game.evaluate(game.uniform_policy())
    assert np.all(np.isfinite(values))
    bound = np.abs(game.rewards).max() / (1 - game.gamma)
    assert np.all(np.abs(values) <= bound + 1e-9)  # |V| <= max|R| / (1 - gamma)


BREAKERS = {
    "nan reward": lambda f, r: f["rewards"].__setitem__((0,) * f["rewards"].ndim, np.nan),
    "inf transition": lambda f, r: f["transitions"].__setitem__((0,) * f["transitions"].ndim, np.inf),
    "unnormalised transition": lambda f, r: f["transitions"].__setitem__(
        (0,) * f["transitions"].ndim, f["transitions"][(0,) * f["transitions"].ndim] + r.uniform(1e-6, 1.0)
    ),
    "unnormalised initial": lambda f, r: f.__setitem__("initial", f["initial"] * r.uniform(1.001, 2.0)),
    "negative probability": lambda f, r: f.__setitem__("initial", f["initial"] - 1.0),
    "gamma too large": lambda f, r: f.__setitem__("gamma", r.uniform(1.0, 5.0)),
    "gamma negative": lambda f, r: f.__setitem__("gamma", -r.uniform(0.01, 1.0)),
    "reward shape": lambda f, r: f.__setitem__("rewards", f["rewards"][:1]),
    "transition shape": lambda f, r: f.__setitem__("transitions", f["transitions"][..., :-1]),
}


@settings(max_examples=100, deadline=None)
@given(valid_stochastic_fields(), st.sampled_from(sorted(BREAKERS)), st.integers(0, 1000))
def test_broken_stochastic_games_raise_clear_errors(fields: dict, breaker: str, seed: int) -> None:
    fields = {k: np.array(v, dtype=float) if k != "gamma" else v for k, v in fields.items()}
    if breaker == "transition shape" and fields["transitions"].shape[-1] == 1:
        fields["transitions"] = fields["transitions"][..., :0]
    BREAKERS[breaker](fields, np.random.default_rng(seed))
    with pytest.raises(InvalidGameError) as info:
        StochasticGame(**fields)
    message = str(info.value)
    assert message and ":" in message  # names the field, then what was expected


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(0, 4), st.integers(0, 2**32 - 1))
def test_broken_normal_form_shapes(n_players: int, extra_dims: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ndim = n_players + 1
    bad_ndim = ndim + extra_dims if extra_dims else ndim - 1
    shape = (n_players, *rng.integers(1, 4, size=max(bad_ndim - 1, 0)))
    with pytest.raises(InvalidGameError, match="payoffs"):
        NormalFormGame(np.zeros(shape) if bad_ndim >= 1 else 0.0)
