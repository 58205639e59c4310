"""Kept only for the imports of modules outside this branch (``experiment/config.py``: ``as_stochastic``,
``make_env``; ``envs/pettingzoo.py``: ``NO_TIME_LIMIT``) until they switch at the merge of issue 13: the tabular
simulator is :class:`marlkit.envs.games.GameEnv` with ``observation="index"`` (:func:`marlkit.envs.games.make_env`)."""

from marlkit.envs.games import NO_TIME_LIMIT, as_stochastic, make_env

__all__ = ["NO_TIME_LIMIT", "as_stochastic", "make_env"]
