"""Mixers: how value-decomposition learners combine the agents' utilities ``Q_i(o_i, a_i)`` into a joint ``Q_tot``.

* :class:`VDNMixer` — additive decomposition, ``Q_tot(s, a) = sum_i Q_i(o_i, a_i)`` (Sunehag et al. 2018,
  "Value-decomposition networks for cooperative multi-agent learning based on team reward", AAMAS, Eq. 1);
* :class:`QMixer` — monotonic decomposition (Rashid et al. 2018, "QMIX: Monotonic value function factorisation
  for deep multi-agent reinforcement learning", ICML, §4): a mixing network of one ELU hidden layer whose weights
  come from hypernetworks of the global state ``s`` passed through ``abs()``, so ``dQ_tot / dQ_i >= 0`` (their
  Eq. 5) and the greedy joint action is every agent's own greedy action. Biases are unconstrained; the final bias
  ``V(s)`` is a two-layer ReLU hypernetwork. The paper's hypernetworks are single linear layers; PyMARL's QMIX
  configuration (``hypernet_layers: 2``, ``hypernet_embed: 64``, ``mixing_embed_dim: 32``), EPyMARL and JaxMARL
  use a hidden ReLU layer of 64 units, the default here (``hypernet_hidden=None`` gives the paper's).

Both are flax modules called as ``mixer.apply(params, q [..., n], state [..., G]) -> q_tot [...]``.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

Array = jax.Array


class VDNMixer(nn.Module):
    """``Q_tot = sum_i Q_i`` (Sunehag et al. 2018, Eq. 1); the state is ignored and there are no parameters."""

    @nn.compact
    def __call__(self, q: Array, state: Array) -> Array:
        del state
        return q.sum(axis=-1)


class QMixer(nn.Module):
    """The QMIX mixing network (Rashid et al. 2018, §4): monotone in every ``Q_i`` for any state.

    ``Q_tot = w_2(s) . elu(q W_1(s) + b_1(s)) + V(s)`` with ``W_1 = |hyper_1(s)|`` ``[n, embed]`` and
    ``w_2 = |hyper_2(s)|`` ``[embed]``; ``b_1`` is linear in ``s`` and ``V`` a ReLU network of one hidden layer.
    """

    embed: int = 32
    hypernet_hidden: int | None = 64

    def _hyper(self, state: Array, out: int, name: str) -> Array:
        if self.hypernet_hidden is None:
            return nn.Dense(out, name=name)(state)
        hidden = nn.relu(nn.Dense(self.hypernet_hidden, name=f"{name}_hidden")(state))
        return nn.Dense(out, name=name)(hidden)

    @nn.compact
    def __call__(self, q: Array, state: Array) -> Array:
        n = q.shape[-1]
        w1 = jnp.abs(self._hyper(state, n * self.embed, "hyper_w1")).reshape(*q.shape[:-1], n, self.embed)
        b1 = nn.Dense(self.embed, name="hyper_b1")(state)
        hidden = nn.elu(jnp.einsum("...n,...ne->...e", q, w1) + b1)
        w2 = jnp.abs(self._hyper(state, self.embed, "hyper_w2"))
        value = nn.Dense(1, name="value_out")(nn.relu(nn.Dense(self.embed, name="value_hidden")(state)))
        return jnp.sum(hidden * w2, axis=-1) + value[..., 0]


__all__ = ["QMixer", "VDNMixer"]
