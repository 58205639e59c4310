"""Simulators under one functional JAX contract (DESIGN.md, "Env"); any exact game as an env."""

from marlkit.envs.tabular import EnvSpec, EnvState, TabularEnv, as_stochastic, check_actions, make_env

__all__ = ["EnvSpec", "EnvState", "TabularEnv", "as_stochastic", "check_actions", "make_env"]
