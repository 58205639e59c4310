"""Exact game models (NumPy, float64): normal-form, stochastic, partially observable and constrained
games; uncertainty sets (:mod:`.uncertainty`) wrap a game for robust MARL.

:mod:`.views` gives every view of a game (a normal-form game as a one-state stochastic game, a repeated game,
the stage game of a state, the state count and the reward / mask tensors).
"""

from marlkit.games.io import game_from_dict, game_to_dict, load_game, save_game
from marlkit.games.normal_form import MixedProfile, NormalFormGame
from marlkit.games.observation import ObservationModel
from marlkit.games.stochastic import StochasticGame, policy_from_profile
from marlkit.games.uncertainty import (
    ModelUncertainty,
    ObservationBall,
    StateUncertainty,
    load_uncertainty,
    save_uncertainty,
)
from marlkit.games.views import (
    Game,
    action_mask,
    as_stochastic,
    is_one_shot,
    live_joint_actions,
    num_states,
    repeated_game,
    stage_game,
    stage_rewards,
    terminal_states,
)

__all__ = [
    "Game",
    "MixedProfile",
    "ModelUncertainty",
    "NormalFormGame",
    "ObservationBall",
    "ObservationModel",
    "StateUncertainty",
    "StochasticGame",
    "action_mask",
    "as_stochastic",
    "game_from_dict",
    "game_to_dict",
    "is_one_shot",
    "live_joint_actions",
    "load_game",
    "load_uncertainty",
    "num_states",
    "policy_from_profile",
    "repeated_game",
    "save_game",
    "save_uncertainty",
    "stage_game",
    "stage_rewards",
    "terminal_states",
]
