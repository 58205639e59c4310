"""Deep MARL learners under the contract of :mod:`marlkit.agents.deep.base` (flax networks, optax optimisers)."""
