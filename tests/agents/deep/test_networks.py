"""Shared networks: the LAPACK-free orthogonal initialiser, and no batched LAPACK call in any compiled start.

A batched LAPACK call inside the compiled trainer (flax's QR-based orthogonal initialiser, vmapped over seeds and
parameter sets) deadlocked XLA's CPU thread pool at random in the CI dry run (all threads parked in
``jax::ParallelBatchMap``). The second test checks the lowered programs directly, so it fails deterministically
if a LAPACK custom call comes back, instead of hanging one run in many.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.agents.credit import DifferenceRewards
from marlkit.agents.deep.coma import COMA
from marlkit.agents.deep.networks import orthogonal
from marlkit.agents.deep.ppo import IPPO, MAPPO
from marlkit.agents.deep.value_based import QMIX
from marlkit.envs import make
from marlkit.train import deep


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (64, 64), (2, 3, 4)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape: tuple[int, ...]) -> None:
    w = np.asarray(orthogonal(2.0)(jax.random.key(0), shape), np.float64).reshape(-1, shape[-1]) / 2.0
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    np.testing.assert_allclose(gram, np.eye(min(w.shape)), atol=1e-5)


def test_orthogonal_draws_differ_by_key_and_are_unbiased() -> None:
    """Haar-random: the mean entry over many draws is near 0 (its standard error is 1 / sqrt(8 * 400 * 8) ~ 0.006;
    0.03 is five of those), and two keys give different matrices."""
    draws = jax.vmap(lambda k: orthogonal()(k, (8, 8)))(jax.random.split(jax.random.key(1), 400))
    assert abs(float(jnp.mean(draws))) < 0.03
    assert not np.allclose(draws[0], draws[1])


@pytest.mark.parametrize(
    ("learner", "reward"),
    [
        (IPPO(rollout_length=4, sharing="none"), None),
        (MAPPO(rollout_length=4, recurrent=True, num_minibatches=2), None),
        (COMA(rollout_length=4, recurrent=True), DifferenceRewards(source="critic")),
        (QMIX(), None),
    ],
    ids=["ippo", "mappo-gru", "coma-gru-critic", "qmix"],
)
def test_compiled_start_has_no_lapack_call(learner, reward) -> None:
    plan = deep.prepare(make("simple_spread"), learner, 4 * learner.rollout_length, seeds=2, num_envs=4, reward=reward)
    text = deep._start.lower(plan.program, plan.keys).as_text().lower()
    assert "lapack" not in text and "geqrf" not in text
