"""The learners floor: what learns in a game or an env, under one contract per kind of model.

* :mod:`marlkit.agents.tabular` — learners on exact games (tables over states and actions): independent and
  joint-action Q-learning, minimax-Q, Nash-Q, CE-Q, policy hill climbing, fictitious play, no-regret dynamics,
  gradient ascent and the replicator dynamics; pure ``(init, act, update, policy)`` functions over explicit state,
  compiled into the tabular loop.
* :mod:`marlkit.agents.deep` — deep learners on the env contract (IPPO, MAPPO, IDQN, VDN, QMIX, COMA; flax
  networks, optax optimisers), compiled into the deep trainer.
* :mod:`marlkit.agents.credit` — reward transforms for credit assignment (difference rewards) that a deep
  trainer applies between the env and the learner.

Both learner packages keep a registry of their learners by name, which configs and the CLI use. Nothing
is imported here: ``import marlkit.agents`` stays light.
"""
