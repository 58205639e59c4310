"""Human-aware deep training (Carroll et al. 2019, §5) on a small game, against the exact values.

IPPO trained by self-play on the Carroll coordination game (AI {stag, safe} x human {stag, hare}, payoffs
[[4, 0], [3, 3]]) learns the team plan (stag); IPPO trained with the frozen Boltzmann human (β = 0.1, which plays
stag with probability σ(0.4) ≈ 0.599) as part of its env (:class:`marlkit.envs.partner.WithPartner`) learns the
best response (safe). Paired with the human, the exact values are 2.394751 (the plan) and 3 (the best response):
the Carroll gap 0.605249 of ``marlkit human respond carroll-coordination --beta 0.1`` (tests/human/
test_best_response.py). The learned policies must come within 0.1 of those values on each of 3 seeds: at 60 PPO
updates the policies are 94–99.99% deterministic here (a seed at 94% on safe scores 2.96), so 0.1 leaves room for
a slower seed while any seed that learned the other action would miss by 0.6.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.agents.deep import IPPO
from marlkit.agents.deep.base import Observation
from marlkit.envs.games import GameEnv
from marlkit.envs.partner import TablePartner, with_partner
from marlkit.human.best_response import carroll_game, carroll_gap, plan_human_policy
from marlkit.train.deep import train


def test_ippo_with_a_frozen_human_partner_learns_the_best_response() -> None:
    game = carroll_game()
    exact = carroll_gap(game, 0.1)
    assert exact.self_play == pytest.approx(2.394751, abs=1e-6) and exact.best_response == pytest.approx(3.0)
    env = GameEnv(game)
    human = plan_human_policy(game, 0.1, ai=0)[0]  # the human's stage policy [A_H]
    table = np.zeros((2, 1, 2), np.float32)
    table[1, 0] = human
    learner = IPPO(rollout_length=8, hidden=(16,), lr=3e-3)
    steps = 16 * 8 * 60  # 60 PPO updates of 16 envs x 8 one-step episodes
    self_play = train(env, learner, steps, seeds=3, num_envs=16)
    partnered = with_partner(env, TablePartner(table), [1])
    human_aware = train(partnered, learner, steps, seeds=3, num_envs=16)

    payoff = game.payoffs[0]
    ai_self_play = np.asarray(self_play.history.policy[:, -1, 0, 0], np.float64)  # [seeds, A]: agent 0, state 0
    obs, state = partnered.reset(jax.random.key(0))
    info = partnered.state_info(state)
    observation = Observation(obs[None], info["action_mask"][None], info["global_state"][None], jnp.ones(1, bool))
    ai_aware = np.asarray(jax.vmap(lambda s: learner.policy(s, observation, ()))(human_aware.states), np.float64)
    ai_aware = ai_aware[:, 0, 0]  # [seeds, A]: env 0, the one learning agent
    with_human_self_play = ai_self_play @ payoff @ human
    with_human_aware = ai_aware @ payoff @ human
    assert np.all(np.abs(with_human_self_play - exact.self_play) < 0.1), with_human_self_play
    assert np.all(np.abs(with_human_aware - exact.best_response) < 0.1), with_human_aware
    # and the trainer's own record of the human-aware run: its return is the AI's payoff with the human
    last = np.asarray(human_aware.history.episode_return)[:, -1, 0]
    assert np.all(last > exact.self_play + 0.3), last
