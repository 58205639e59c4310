"""Exact game models (NumPy, float64): normal-form, stochastic, partially observable and constrained games."""

from marlkit.games.normal_form import MixedProfile, NormalFormGame
from marlkit.games.observation import ObservationModel
from marlkit.games.stochastic import StochasticGame, policy_from_profile, repeated_game

__all__ = [
    "MixedProfile",
    "NormalFormGame",
    "ObservationModel",
    "StochasticGame",
    "policy_from_profile",
    "repeated_game",
]
