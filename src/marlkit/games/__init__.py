"""Exact game models (NumPy, float64): normal-form, stochastic, partially observable and constrained games."""

from marlkit.games.io import game_from_dict, game_to_dict, load_game, save_game
from marlkit.games.normal_form import MixedProfile, NormalFormGame
from marlkit.games.observation import ObservationModel
from marlkit.games.stochastic import StochasticGame, policy_from_profile, repeated_game

Game = NormalFormGame | StochasticGame
"""Any exact game model."""

__all__ = [
    "Game",
    "MixedProfile",
    "NormalFormGame",
    "ObservationModel",
    "StochasticGame",
    "game_from_dict",
    "game_to_dict",
    "load_game",
    "policy_from_profile",
    "repeated_game",
    "save_game",
]
