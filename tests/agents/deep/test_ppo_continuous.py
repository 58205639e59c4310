"""Gaussian (Box-action) IPPO / MAPPO (marlkit.agents.deep.ppo, networks.gaussian_*): log-density and entropy
against SciPy, the head the learner picks from the spec, sampling statistics, parameter sharing, the trainer's
refusal of discrete-only learners, and a learning test on continuous simple spread against a random Gaussian."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.stats import norm
from scipy import stats

from marlkit.agents.credit import DifferenceRewards
from marlkit.agents.deep.base import Observation
from marlkit.agents.deep.networks import LOG_2PI, gaussian_entropy, gaussian_log_prob
from marlkit.agents.deep.ppo import IPPO, MAPPO, gaussian_parts
from marlkit.agents.deep.value_based import IDQN
from marlkit.envs.mpe import SimpleSpread, SpeakerListener
from marlkit.errors import NotApplicableError
from marlkit.train import deep


def test_gaussian_log_prob_and_entropy_match_scipy() -> None:
    """Summed over the masked dimensions: log N(x; mu, sigma^2) is jax.scipy's norm.logpdf, the entropy SciPy's
    norm.entropy (= log sigma + (1 + log 2 pi) / 2 per dimension, Cover & Thomas 2006, Eq. 8.7)."""
    rng = np.random.default_rng(3)
    x, mean = rng.normal(size=(2, 6, 4)).astype(np.float32)
    log_std = rng.uniform(-2, 1, size=(6, 4)).astype(np.float32)
    mask = rng.random((6, 4)) < 0.7
    expected = np.where(mask, norm.logpdf(x, mean, np.exp(log_std)), 0.0).sum(-1)
    np.testing.assert_allclose(gaussian_log_prob(x, mean, log_std, mask), expected, rtol=1e-5, atol=1e-5)
    scipy_entropy = np.where(mask, stats.norm(scale=np.exp(log_std.astype(np.float64))).entropy(), 0.0).sum(-1)
    np.testing.assert_allclose(gaussian_entropy(log_std, mask), scipy_entropy, rtol=1e-5, atol=1e-5)
    assert np.isclose(LOG_2PI, np.log(2 * np.pi))


@pytest.fixture(scope="module")
def speaker_listener():
    """Heterogeneous Box actions (speaker 3 dims, listener 5; group sharing): a batch of observations."""
    env = SpeakerListener(continuous_actions=True)
    E = 4096
    obs, state = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.key(0), E))
    info = jax.jit(jax.vmap(env.state_info))(state)
    return env, Observation(obs, info["action_mask"], info["global_state"], jnp.ones(E, bool))


def test_gaussian_head_act_and_policy(speaker_listener) -> None:
    """MAPPO on heterogeneous Box actions: group sharing (one parameter set per role), a Gaussian head per set."""
    learner = MAPPO(hidden=(16,))  # small: the head, not the torso, is under test
    env, observation = speaker_listener
    spec, E = env.spec, observation.first.shape[0]
    state = jax.jit(learner.init, static_argnums=(1, 2))(jax.random.key(1), spec, E)
    assert state.params["log_std"].shape == (2, 5)  # one learned log-std per parameter set, initialised to 0
    assert state.plan.set_of == (0, 1)
    # make the two sets' log-stds differ so the agent -> set map is visible in the samples
    params = {**state.params, "log_std": jnp.array([[-1.0, -0.5, 0.0, 0.3, 0.3], [0.2, 0.1, 0.0, -0.1, -0.2]])}
    state = state.replace(params=params)
    actions, aux, _ = jax.jit(learner.act)(jax.random.key(2), state, observation, ())
    policy = jax.jit(learner.policy)(state, observation, ())
    assert actions.shape == (E, 2, 5) and actions.dtype == jnp.float32
    assert policy.shape == (E, 2, 2, 5)
    mean, std = map(np.asarray, gaussian_parts(policy))
    actions = np.asarray(actions)
    assert np.all(actions[:, 0, 3:] == 0) and np.all(mean[:, 0, 3:] == 0) and np.all(std[:, 0, 3:] == 0)
    np.testing.assert_allclose(std[0], np.exp(np.asarray(params["log_std"])) * [[1, 1, 1, 0, 0], [1] * 5], rtol=1e-6)
    # samples: z = (a - mean) / std is standard normal on every real dimension (unclipped: the env clips)
    z = ((actions - mean) / np.where(std > 0, std, 1.0))[:, [0, 0, 0, 1, 1, 1, 1, 1], [0, 1, 2, 0, 1, 2, 3, 4]]
    assert np.all(np.abs(z.mean(0)) < 4 / np.sqrt(E)) and np.all(np.abs(z.std(0) - 1) < 0.05)
    assert (actions[:, 1] < 0).any() and (actions[:, 1] > 1).any()  # outside the box [0, 1]: unbounded samples
    # the behaviour log-probability is the density of the unclipped sample under (mean, std)
    real = np.asarray(observation.action_mask)
    density = np.where(real, stats.norm.logpdf(actions, mean, np.where(real, std, 1.0)), 0.0).sum(-1)
    np.testing.assert_allclose(np.asarray(aux.log_prob), density, rtol=1e-4, atol=1e-4)


def test_trainer_refuses_discrete_only_learners_on_box_tasks() -> None:
    env = SimpleSpread(n_agents=2, continuous_actions=True)
    with pytest.raises(NotApplicableError, match=r"idqn needs discrete actions.*use ippo or mappo"):
        deep.prepare(env, IDQN(), 1024, num_envs=8)
    for counterfactual in ("default", "expected"):  # counterfactual actions are discrete indices
        with pytest.raises(NotApplicableError, match="DifferenceRewards needs discrete actions"):
            deep.prepare(env, IPPO(), 16 * 128, num_envs=16, reward=DifferenceRewards(counterfactual=counterfactual))


# -------------------------------------------------------------------------------------------- learning test
# IPPO (Gaussian head, full parameter sharing) on continuous simple spread with 2 agents and 25-step episodes:
# 3 seeds vmapped in one compiled run of 64,000 env steps per seed (80 updates of 16 envs x 50 steps), lr 1e-3,
# no entropy bonus. Measured on this machine (/work/notes/continuous.md; the same run as the `marlkit run` example
# there): the mean per-agent episode return goes from -20.0 / -20.2 / -20.8 in the first window to -14.7 / -14.2 /
# -14.7 over the last three windows (seeds 0, 1, 2). The random baseline is measured here: actions ~ N(0, I) per
# dimension, clipped by the env (the untrained policy's distribution), 64 envs x 8 episodes: -20.4, standard error
# 0.33 (per-episode sd 7.5). The threshold asks every seed's return over the last 15% of training to beat that
# baseline by 4 (-16.4): two thirds of the gain observed (~5.9), 12 standard errors of the baseline, so a learner
# that did not learn cannot pass by chance, while the learned seeds clear it by 1.7 or more (their spread is 0.3).

SPREAD = SimpleSpread(n_agents=2, continuous_actions=True)
MARGIN = 4.0


def random_gaussian_return(env, envs: int = 64, episodes: int = 8) -> float:
    """Mean per-agent episode return of actions ~ N(0, I), clipped by the env."""
    spec, T = env.spec, env.spec.max_episode_steps * episodes

    def one(key):
        k_reset, k_run = jax.random.split(key)
        _, state = env.reset(k_reset)

        def step(state, k):
            k_act, k_env = jax.random.split(k)
            a = jax.random.normal(k_act, (spec.n_agents, spec.max_actions))
            _, state, reward, _, _ = env.step(k_env, state, a)
            return state, reward

        return jax.lax.scan(step, state, jax.random.split(k_run, T))[1].sum(0).mean() / episodes

    return float(jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(99), envs)).mean())


def test_ippo_learns_continuous_simple_spread() -> None:
    learner = IPPO(lr=1e-3, rollout_length=50, ent_coef=0.0)
    steps = 16 * 50 * 80
    result = deep.train(SPREAD, learner, steps, seeds=3, key=0, num_envs=16, log_every=16 * 50 * 4)
    returns = np.asarray(result.history.episode_return).mean(-1)  # [seeds, windows]: mean over agents
    late = returns[:, -3:].mean(1)  # the last 15% of training
    random = random_gaussian_return(SPREAD)
    assert -22.0 < random < -18.5, random  # the baseline itself (a sanity check of the measurement)
    assert np.all(late > random + MARGIN), (late, random)
    assert np.all(late > returns[:, 0] + MARGIN), (late, returns[:, 0])  # each seed improved on its own start
