"""COMA (Foerster et al. 2018): the learner contract, the counterfactual baseline (Eq. 4) on hand-made critic
outputs, the TD(lambda) critic targets against a forward-view oracle, and learning with the compiled trainer."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.agents.deep.base import DeepLearner, Observation, Rollout
from marlkit.agents.deep.coma import COMA, bounded_softmax, counterfactual_advantage, critic_input
from marlkit.agents.deep.registry import make_deep_learner
from marlkit.envs import make
from marlkit.errors import LearnerConfigError
from marlkit.games.catalog import make as make_game
from marlkit.solve.best_response import nash_conv
from marlkit.train.deep import train

N_AGENTS, NIGHTS, NUM_ENVS = 3, 4, 6


def _spec():
    """A small homogeneous env spec: 3 agents, 4 actions, observation 7, global state 4."""
    return make("bar_problem", n_agents=N_AGENTS, num_nights=NIGHTS, capacity=1.0).spec


def _init(learner: COMA, key: jax.Array, num_envs: int):
    """``learner.init`` compiled (one compilation is far cheaper than running flax's init op by op)."""
    return jax.jit(learner.init, static_argnums=(1, 2))(key, _spec(), num_envs)


def _mask(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """A random action mask ``[..., n, A]`` with action 0 always legal (so every agent has a legal action)."""
    mask = jax.random.bernoulli(key, 0.5, (*shape, N_AGENTS, NIGHTS))
    return mask.at[..., 0].set(True)


def _observation(key: jax.Array, batch: tuple[int, ...], first: bool = False) -> Observation:
    k_obs, k_mask, k_state = jax.random.split(key, 3)
    obs = jax.random.uniform(k_obs, (*batch, N_AGENTS, N_AGENTS + NIGHTS))
    state = jax.random.uniform(k_state, (*batch, NIGHTS))
    return Observation(obs, _mask(k_mask, batch), state, jnp.full(batch, first))


def _rollout(
    key: jax.Array, T: int, reward: jax.Array, done: jax.Array, terminated: jax.Array, memory: object = ()
) -> Rollout:
    """A hand-made rollout ``[T, E]`` with legal random actions, the given rewards and episode ends, and the
    recurrent ``memory`` before step 0."""
    k_obs, k_final, k_act, k_next = jax.random.split(key, 4)
    E = reward.shape[1]
    observation = _observation(k_obs, (T, E))
    final = _observation(k_final, (T, E))
    logits = jnp.where(observation.action_mask, 0.0, -jnp.inf)
    actions = jax.random.categorical(k_act, logits).astype(jnp.int32)
    return Rollout(
        observation=observation,
        actions=actions,
        aux=None,
        reward=reward,
        env_reward=reward,
        done=done,
        terminated=terminated,
        final_obs=final.obs,
        final_action_mask=final.action_mask,
        final_global_state=final.global_state,
        next=_observation(k_next, (E,)),
        memory=memory,
        next_memory=memory,
    )


# ------------------------------------------------------------------------------------------------ contract


@pytest.mark.parametrize(("recurrent", "sharing"), [(False, "full"), (False, "none"), (True, "full")])
def test_act_and_policy_follow_the_contract(recurrent: bool, sharing: str) -> None:
    spec = _spec()
    learner = COMA(recurrent=recurrent, sharing=sharing, hidden=(16,), critic_hidden=(16,))
    assert isinstance(learner, DeepLearner) and learner.name == "coma"
    state = _init(learner, jax.random.key(0), NUM_ENVS)
    memory = learner.initial_memory(spec, NUM_ENVS)
    observation = _observation(jax.random.key(1), (NUM_ENVS,), first=True)
    actions, aux, new_memory = jax.jit(learner.act)(jax.random.key(2), state, observation, memory)
    probs = jax.jit(learner.policy)(state, observation, memory)

    assert actions.shape == (NUM_ENVS, N_AGENTS) and actions.dtype == jnp.int32
    assert probs.shape == (NUM_ENVS, N_AGENTS, NIGHTS)
    assert jax.tree_util.tree_structure(new_memory) == jax.tree_util.tree_structure(memory)
    mask = np.asarray(observation.action_mask)
    p = np.asarray(probs, np.float64)
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-6)
    assert np.all(p[~mask] == 0.0), "illegal actions must have probability exactly 0"
    # The bounded softmax puts at least eps / |legal| on every legal action (eps = epsilon_start = 0.5 at step 0).
    floor = learner.epsilon_start / mask.sum(-1, keepdims=True)
    assert np.all(p[mask] >= np.broadcast_to(floor, p.shape)[mask] - 1e-6)
    # act's recorded log-probability is the log of the policy at the sampled action.
    taken = np.take_along_axis(p, np.asarray(actions)[..., None], -1)[..., 0]
    np.testing.assert_allclose(np.asarray(aux.log_prob), np.log(taken), rtol=1e-5, atol=1e-6)


def test_act_never_samples_an_illegal_action_and_matches_the_policy() -> None:
    learner = COMA(hidden=(16,), critic_hidden=(16,))
    state = _init(learner, jax.random.key(3), NUM_ENVS)
    observation = _observation(jax.random.key(4), (NUM_ENVS,))
    draws = 4000
    sample = jax.jit(jax.vmap(lambda k: learner.act(k, state, observation, ())[0]))
    actions = sample(jax.random.split(jax.random.key(5), draws))
    mask = np.asarray(observation.action_mask)
    env, agent = np.meshgrid(np.arange(NUM_ENVS), np.arange(N_AGENTS), indexing="ij")
    assert np.all(mask[env[None], agent[None], np.asarray(actions)])
    freq = np.asarray(jax.nn.one_hot(actions, NIGHTS).mean(0))
    # 4000 draws: a frequency's standard error is at most 0.5 / sqrt(4000) = 0.008; 0.04 is five of them.
    np.testing.assert_allclose(freq, np.asarray(jax.jit(learner.policy)(state, observation, ())), atol=0.04)


def test_bounded_softmax_exact_values() -> None:
    logits = jnp.array([[0.0, np.log(3.0), 0.0], [0.0, 100.0, np.log(3.0)]])
    mask = jnp.array([[True, True, False], [True, False, True]])
    # Legal softmax [1/4, 3/4]; eps = 0.2 mixes in 0.1 per legal action: 0.8 * [0.25, 0.75] + 0.1 = [0.3, 0.7].
    expected = np.array([[0.3, 0.7, 0.0], [0.3, 0.0, 0.7]])
    np.testing.assert_allclose(np.asarray(bounded_softmax(logits, mask, 0.2)), expected, atol=1e-6)


def test_epsilon_is_annealed_linearly_over_env_steps() -> None:
    learner = COMA(epsilon_start=0.5, epsilon_finish=0.1, epsilon_anneal_steps=1000)
    got = [float(learner.epsilon(jnp.int32(t))) for t in (0, 250, 1000, 5000)]
    np.testing.assert_allclose(got, [0.5, 0.4, 0.1, 0.1], atol=1e-7)
    assert float(COMA(epsilon_anneal_steps=0, epsilon_finish=0.05).epsilon(jnp.int32(0))) == pytest.approx(0.05)


# ------------------------------------------------------------------------------------- counterfactual baseline


def test_counterfactual_advantage_on_a_hand_made_critic_output() -> None:
    # Q(s, (u_-i, u_i')) = [1, 2, 4], pi_i = [1/2, 1/4, 1/4]: baseline 1/2 + 2/4 + 4/4 = 2 (Eq. 4).
    q = jnp.array([1.0, 2.0, 4.0])
    pi = jnp.array([0.5, 0.25, 0.25])
    assert float(counterfactual_advantage(q, pi, jnp.int32(2))) == pytest.approx(2.0)
    assert float(counterfactual_advantage(q, pi, jnp.int32(0))) == pytest.approx(-1.0)
    # An illegal action (probability 0) does not enter the baseline, whatever the critic says about it.
    q_illegal = jnp.array([1.0, 2.0, 4.0, 1e9])
    pi_illegal = jnp.array([0.5, 0.25, 0.25, 0.0])
    assert float(counterfactual_advantage(q_illegal, pi_illegal, jnp.int32(1))) == pytest.approx(0.0)


def test_counterfactual_baseline_marginalises_only_the_agents_own_action() -> None:
    """On a 3-player payoff table R (a critic that is exact), A_i = R(u) - sum_a pi_i(a) R(u with u_i := a)."""
    rng = np.random.default_rng(np.random.SeedSequence(8))
    payoff = rng.normal(size=(3, 4, 2))  # players with 3, 4 and 2 actions (padded to 4 below)
    u = (2, 1, 0)
    pis = [rng.dirichlet(np.ones(k)) for k in payoff.shape]
    for i, k in enumerate(payoff.shape):
        rows = []
        for a in range(4):  # the critic's output for each of agent i's actions, others fixed at u_-i
            joint = list(u)
            joint[i] = a
            rows.append(payoff[tuple(joint)] if a < k else 1e6)  # padded action: never legal
        q = np.array(rows)
        pi = np.concatenate([pis[i], np.zeros(4 - k)])
        expected = payoff[u] - sum(pis[i][a] * payoff[(*u[:i], a, *u[i + 1 :])] for a in range(k))
        got = counterfactual_advantage(jnp.asarray(q, jnp.float32), jnp.asarray(pi, jnp.float32), jnp.int32(u[i]))
        assert float(got) == pytest.approx(expected, abs=1e-5)


def test_critic_input_zeroes_the_agents_own_action_and_appends_its_id() -> None:
    n, A = 3, 2
    observation = Observation(
        obs=jnp.arange(n * 2, dtype=jnp.float32).reshape(1, n, 2),
        action_mask=jnp.ones((1, n, A), bool),
        global_state=jnp.array([[7.0, 8.0]]),
        first=jnp.zeros(1, bool),
    )
    x = np.asarray(critic_input(observation, jnp.array([[1, 0, 1]])))[0]
    expected = np.array(
        [
            # state   obs       u_0     u_1     u_2     id
            [7, 8, 0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0],
            [7, 8, 2, 3, 0, 1, 0, 0, 0, 1, 0, 1, 0],
            [7, 8, 4, 5, 0, 1, 1, 0, 0, 0, 0, 0, 1],
        ],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(x, expected)


# ------------------------------------------------------------------------------------------------ critic


def _constant_critic(params: dict, value: float) -> dict:
    """Critic parameters whose output is ``value`` for every input and action (zero kernels, last bias)."""
    zeroed = jax.tree_util.tree_map(jnp.zeros_like, params)
    layers = sorted(zeroed["params"])
    last = layers[-1]
    zeroed["params"][last]["bias"] = jnp.full_like(zeroed["params"][last]["bias"], value)
    return zeroed


def _lambda_return_oracle(reward, done, terminated, value, gamma, lam):
    """Forward-view TD(lambda) (Sutton & Barto 2018, Eq. 12.3 with episode ends): G^lambda_t = (1 - lam) sum_{k <
    K} lam^{k-1} G^(k)_t + lam^{K-1} G^(K)_t, K steps to the end of the episode segment; every critic value is
    ``value`` and the segment's last bootstrap is 0 after a termination."""
    T, E = reward.shape
    out = np.zeros((T, E))
    for e in range(E):
        for t in range(T):
            end = t
            while not done[end, e] and end < T - 1:
                end += 1
            K = end - t + 1
            total, discounted = 0.0, 0.0
            for k in range(1, K + 1):
                discounted += gamma ** (k - 1) * reward[t + k - 1, e]
                last = k == K
                bootstrap = 0.0 if (last and terminated[end, e]) else value
                n_step = discounted + gamma**k * bootstrap
                total += (lam ** (K - 1) if last else (1 - lam) * lam ** (k - 1)) * n_step
            out[t, e] = total
    return out


def test_td_lambda_targets_match_the_forward_view_oracle() -> None:
    T, E, value, gamma, lam = 7, 3, 1.5, 0.9, 0.8
    learner = COMA(gamma=gamma, td_lambda=lam, hidden=(8,), critic_hidden=(8,))
    state = _init(learner, jax.random.key(0), E)
    state = state.replace(target_critic=_constant_critic(state.target_critic, value))
    rng = np.random.default_rng(np.random.SeedSequence(11))
    reward = rng.normal(size=(T, E, N_AGENTS)).astype(np.float32)  # agents' rewards differ: the team gets the mean
    done = np.zeros((T, E), bool)
    terminated = np.zeros((T, E), bool)
    done[2, 0] = terminated[2, 0] = True  # a true end: no bootstrap
    done[4, 1] = True  # a time limit: bootstrap from final_*
    done[6, 2] = terminated[6, 2] = True  # the rollout ends with a termination
    rollout = _rollout(jax.random.key(1), T, jnp.asarray(reward), jnp.asarray(done), jnp.asarray(terminated))
    targets = jax.jit(learner._td_lambda_targets)(jax.random.key(2), state, rollout, jnp.float32(0.1))
    expected = _lambda_return_oracle(reward.mean(-1), done, terminated, value, gamma, lam)
    np.testing.assert_allclose(np.asarray(targets), np.broadcast_to(expected[..., None], targets.shape), atol=1e-5)


@pytest.mark.parametrize("recurrent", [False, True])
def test_update_trains_both_networks_and_refreshes_the_target_on_schedule(recurrent: bool) -> None:
    T, E = 4, NUM_ENVS
    learner = COMA(rollout_length=T, target_update_interval=2 * T, hidden=(8,), critic_hidden=(8,), recurrent=recurrent)
    state = _init(learner, jax.random.key(0), E)
    reward = jax.random.normal(jax.random.key(1), (T, E, N_AGENTS))
    no_end = jnp.zeros((T, E), bool)
    rollout = _rollout(jax.random.key(2), T, reward, no_end, no_end, learner.initial_memory(_spec(), E))
    update = jax.jit(learner.update)
    first, metrics = update(jax.random.key(3), state, rollout)
    second, _ = update(jax.random.key(4), first, rollout)

    for name, value in metrics.items():
        assert value.shape in ((), (N_AGENTS,)), name
        assert np.all(np.isfinite(np.asarray(value))), name

    def same(a, b) -> bool:
        return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))

    assert not same(first.actor, state.actor) and not same(first.critic, state.critic)
    assert int(first.critic_steps) == T and int(first.env_steps) == T * E and int(first.updates) == 1
    assert same(first.target_critic, state.target_critic), "T < interval critic steps: the target must not move"
    assert int(second.critic_steps) == 2 * T
    assert same(second.target_critic, second.critic), "2 T critic steps reach the interval: the target is refreshed"


def test_config_is_validated_and_registered() -> None:
    for bad in ({"td_lambda": 1.5}, {"rollout_length": 0}, {"activation": "gelu"}, {"critic_hidden": ()}):
        with pytest.raises(LearnerConfigError):
            COMA(**bad)
    made = make_deep_learner("coma", td_lambda=0.5)
    assert isinstance(made, COMA) and made.td_lambda == 0.5


# ------------------------------------------------------------------------------------------------ learning


def test_coma_learns_an_equilibrium_of_the_penalty_game_with_independent_actors() -> None:
    """Penalty game (Claus & Boutilier 1998; k = -10): optima (a0, b0) and (a2, b2) pay 10, the safe (a1, b1) pays
    2, miscoordinating between the optima costs 10. No parameter sharing, so the actors must coordinate through the
    counterfactual gradient alone; exploration is annealed to 0 so the extracted policy can be an equilibrium.

    gamma = 0: an episode is one play of the stage game (the env marks it a time limit of a repeated game), so the
    critic should learn the stage payoff. Thresholds: NashConv < 0.2, 1% of the payoff range 20 (measured <= 0.09
    at 51,200 env steps on 5 seeds), and at least 3 of the 5 seeds at the team optimum 10 (measured 4; the fifth
    settles on the safe equilibrium, which a policy gradient from a uniform start favours: against a uniform
    partner a1 is worth 2/3, a0 and a2 0)."""
    env = make("game:penalty")
    game = make_game("penalty")
    learner = COMA(
        gamma=0.0, epsilon_anneal_steps=20_000, epsilon_finish=0.0, target_update_interval=32, sharing="none"
    )
    steps = 51_200
    history = train(env, learner, steps, seeds=5, key=0, log_every=steps // 2).history
    final = np.asarray(history.policy[:, -1, :, 0, :], np.float64)  # [seed, agent, action]
    nash_convs = [nash_conv(game, [p / p.sum() for p in profile]) for profile in final]
    assert max(nash_convs) < 0.2, nash_convs
    at_optimum = np.asarray(history.episode_return[:, -1, 0]) > 9.5
    assert at_optimum.sum() >= 3, history.episode_return[:, -1, 0]
