"""The Boltzmann choice rule: the softmax of β Q over legal actions (Luce 1959; McKelvey & Palfrey 1995, Eq. 2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import softmax

from marlkit.errors import InvalidGameError
from marlkit.human.boltzmann import boltzmann_policy


def test_equals_scipy_softmax_and_its_limits() -> None:
    rng = np.random.default_rng(0)
    q = rng.normal(size=(4, 5))
    for beta in (0.0, 0.3, 2.0, 50.0):
        np.testing.assert_allclose(boltzmann_policy(q, beta), softmax(beta * q, axis=-1), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(boltzmann_policy(q, 0.0), 0.2)
    greedy = boltzmann_policy(q, math.inf)
    np.testing.assert_array_equal(greedy.argmax(-1), q.argmax(-1))
    assert set(np.unique(greedy)) == {0.0, 1.0}
    tied = boltzmann_policy(np.array([1.0, 3.0, 3.0]), math.inf)
    np.testing.assert_allclose(tied, [0.0, 0.5, 0.5])


def test_masked_and_huge_values_stay_finite() -> None:
    q = np.array([1e300, -1e300, 5.0])
    p = boltzmann_policy(q, 1e6, np.array([False, True, True]))
    np.testing.assert_allclose(p, [0.0, 0.0, 1.0])
    p = boltzmann_policy(np.array([1.0, 2.0, 0.0]), 0.0, np.array([True, True, False]))
    np.testing.assert_allclose(p, [0.5, 0.5, 0.0])


@pytest.mark.parametrize("beta", [-1.0, float("nan"), "x"])
def test_bad_beta_is_one_clear_line(beta: object) -> None:
    with pytest.raises(InvalidGameError, match="beta"):
        boltzmann_policy(np.zeros(3), beta)  # type: ignore[arg-type]
