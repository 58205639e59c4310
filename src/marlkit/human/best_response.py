"""The exact best response to a fixed human model, and the Carroll effect (issue 21, item 3; docs/human.md).

With the human's policy π_H fixed, the AI faces a Markov decision process (Filar & Vrieze 1997, §3.1): its best
response is that MDP's optimal policy, found exactly by policy iteration in :func:`marlkit.solve.best_response`
(float64 linear solves). This module supplies the human side and the comparison of Carroll et al. (2019), "On the
utility of learning about humans for human-AI coordination" (NeurIPS): an agent trained by *self-play* plays its
part of the team optimum, which is the wrong thing to do with a partner who does not play the other part.

* **The team plan.** In a two-player common-payoff game, the team optimum is the optimal policy of the joint-action
  MDP (the joint action is one action; Boutilier 1996): ``Q*(s, a, b) = R(s, a, b) + γ Σ_s' T(s'|s, a, b) V*(s')``.
  The plan ``(a*(s), b*(s))`` is the first maximiser in joint-action order (self-play's convention here).
* **The human model.** Boltzmann-rational over its Q-values under that plan: the human expects the AI to play its
  part, ``Q_H(s, b) = Q*(s, a*(s), b)``, and picks ``π_H(b|s) ∝ exp(β Q_H(s, b))``
  (:func:`marlkit.human.boltzmann.boltzmann_policy`; β = 0 uniform, β = ∞ the plan's own action).
* **The Carroll gap.** ``gap(β) = U(BR(π_H), π_H) - U(a*, π_H) >= 0``: what the human-aware best response earns
  with this human beyond the self-play agent.

Worked example, :func:`carroll_game` (marlkit's own 2x2 common-payoff game with a payoff-dominant but risky plan):
the AI picks ``stag`` or ``safe``, the human ``stag`` or ``hare``; both stag pay ``A``, AI stag with human hare pays
0, AI safe pays ``B`` whatever the human does (``A > B > 0``). The plan is (stag, stag); the human's plan values are
``Q_H = (A, 0)``, so ``p = π_H(stag) = σ(βA) = 1 / (1 + exp(-βA))``. Self-play earns ``pA``, the best response
``max(pA, B)``, so

    gap(β) = max(0, B - A σ(βA)),

positive exactly when ``σ(βA) < B / A``, i.e. for ``β < β* = ln(B / (A - B)) / A`` (a threshold only when
``B > A / 2``; otherwise ``σ(βA) >= 1/2`` makes the gap 0 for every β >= 0). The gap vanishes for a *rational enough*
human (β >= β*), not a random one: at β = 0 it is ``B - A/2``. With A = 4, B = 3: β* = ln(3) / 4 ≈ 0.2747 and
gap(0) = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.games.properties import require_common_payoff, require_players
from marlkit.games.stochastic import StochasticGame
from marlkit.games.views import as_stochastic
from marlkit.human.boltzmann import boltzmann_policy, check_beta
from marlkit.solve.best_response import PolicyBestResponse, best_response


# ----------------------------------------------------------------------------------------------- the game
def carroll_game(*, a: float = 4.0, b: float = 3.0) -> NormalFormGame:
    """The 2x2 common-payoff game of the module docstring: AI {stag, safe} x human {stag, hare}.

    Payoffs ``[[A, 0], [B, B]]`` for both players; requires ``A > B > 0``.
    """
    a, b = float(a), float(b)
    if not (math.isfinite(a) and math.isfinite(b) and a > b > 0):
        raise InvalidGameError(f"carroll_game: need finite payoffs with a > b > 0, got a={a!r}, b={b!r}")
    u = np.array([[a, 0.0], [b, b]])
    return NormalFormGame(
        np.stack([u, u]),
        name="carroll-coordination",
        player_names=("ai", "human"),
        action_names=(("stag", "safe"), ("stag", "hare")),
        description="Common-payoff 2x2: the payoff-dominant plan (stag, stag) is risky with a noisy partner.",
        citation="marlkit's own game for the effect of Carroll et al. 2019 (NeurIPS), On the utility of learning "
        "about humans for human-AI coordination",
    )


def carroll_threshold(a: float = 4.0, b: float = 3.0) -> float:
    """β* = ln(B / (A - B)) / A of :func:`carroll_game`: the gap is 0 exactly for β >= β* (0 when B <= A/2)."""
    return max(0.0, math.log(b / (a - b)) / a)


def carroll_gap_closed_form(beta: float, a: float = 4.0, b: float = 3.0) -> float:
    """``max(0, B - A σ(βA))`` (module docstring), the hand-derived gap of :func:`carroll_game`."""
    beta = check_beta(beta)
    p = 1.0 if math.isinf(beta) else 1.0 / (1.0 + math.exp(-beta * a))
    return max(0.0, b - a * p)


# ------------------------------------------------------------------------------------------- team plan
@dataclass(frozen=True)
class TeamPlan:
    """The team optimum of a common-payoff game as a deterministic joint plan.

    Attributes:
        values: ``V*[S]`` of the joint-action MDP.
        q: ``Q*[S, A_0, A_1]`` (``-inf`` at illegal joint actions and 0 at terminal states).
        actions: ``[2, S]`` each player's part of the plan (first maximiser in joint-action order).
    """

    values: np.ndarray
    q: np.ndarray
    actions: np.ndarray


def team_plan(game: object) -> TeamPlan:
    """The team optimum of a two-player common-payoff game (a normal-form game is its one-shot game).

    Solves the joint-action MDP exactly with :func:`marlkit.solve.best_response` (policy iteration) on the
    one-player game whose action is the joint action.
    """
    sg = as_stochastic(game)
    require_players(sg, "team_plan", 2, applies_to="two-player games (the AI and one human)")
    require_common_payoff(sg, "team_plan")
    S, shape = sg.num_states, sg.num_actions
    joint = int(np.prod(shape))
    legal = sg.legal_joint_actions().reshape(S, joint)
    single = StochasticGame(
        transitions=sg.transitions.reshape(S, joint, S),
        rewards=sg.rewards[:1].reshape(1, S, joint),
        initial=sg.initial,
        gamma=sg.gamma,
        terminal=sg.terminal,
        action_mask=legal[None],
    )
    solved = best_response(single, single.uniform_policy(), 0)
    assert isinstance(solved, PolicyBestResponse)
    values = solved.state_values
    live = (~sg.terminal).astype(np.float64)
    q_flat = (sg.rewards[0].reshape(S, joint) + sg.gamma * sg.transitions.reshape(S, joint, S) @ values) * live[:, None]
    q_flat = np.where(legal, q_flat, -np.inf)
    first = np.unravel_index(np.argmax(q_flat, axis=1), shape)
    return TeamPlan(values=values, q=q_flat.reshape(S, *shape), actions=np.stack(first).astype(np.int64))


def plan_human_policy(game: object, beta: float, *, ai: int = 0) -> np.ndarray:
    """``π_H [S, A_H]``: the Boltzmann-rational human over its Q-values under the team plan (module docstring).

    ``ai`` is the AI's seat (0 or 1); the human is the other player.
    """
    beta = check_beta(beta)
    sg = as_stochastic(game)
    plan = team_plan(sg)
    ai = _seat(ai)
    human = 1 - ai
    rows = np.arange(sg.num_states)
    q_h = plan.q[rows, plan.actions[0]] if ai == 0 else plan.q[rows, :, plan.actions[1]]
    m = sg.num_actions[human]
    mask = sg.action_mask[human, :, :m] & np.isfinite(q_h)
    return boltzmann_policy(np.where(mask, q_h, 0.0), beta, mask)


def _seat(ai: int) -> int:
    if ai not in (0, 1):
        raise InvalidGameError(f"ai: the AI's seat must be 0 or 1, got {ai!r}")
    return int(ai)


def _profile(sg: StochasticGame, ai: int, ai_rows: np.ndarray, human_rows: np.ndarray) -> np.ndarray:
    policy = np.zeros((2, sg.num_states, sg.max_actions))
    policy[ai, :, : ai_rows.shape[1]] = ai_rows
    policy[1 - ai, :, : human_rows.shape[1]] = human_rows
    return policy


# --------------------------------------------------------------------------------------- best response
@dataclass(frozen=True)
class HumanBestResponse:
    """The AI's exact best response to a fixed human policy.

    Attributes:
        value: ``μ_0 · V*`` of the MDP the human induces (the AI's best expected return with this human).
        state_values: ``V*[S]``.
        policy: ``[S, A_AI]`` a deterministic best response (0/1 rows).
    """

    value: float
    state_values: np.ndarray
    policy: np.ndarray


def best_response_to_human(game: object, human_policy: np.ndarray, *, ai: int = 0) -> HumanBestResponse:
    """The AI's exact best response (policy iteration on the induced MDP) to ``human_policy [S, A_H]``.

    Any two-player game; the AI maximises its own reward. Raises :class:`InvalidGameError` if ``human_policy`` is
    not a distribution over the human's legal actions in every state.
    """
    sg = as_stochastic(game)
    require_players(sg, "best_response_to_human", 2, applies_to="two-player games (the AI and one human)")
    ai = _seat(ai)
    rows = np.asarray(human_policy, dtype=np.float64)
    m_h, m_ai = sg.num_actions[1 - ai], sg.num_actions[ai]
    if rows.shape != (sg.num_states, m_h):
        raise InvalidGameError(f"human_policy: expected shape [S={sg.num_states}, A_H={m_h}], got {rows.shape}")
    profile = sg.check_policy(_profile(sg, ai, _first_legal(sg, ai), rows))
    br = best_response(sg, profile, ai)
    assert isinstance(br, PolicyBestResponse)
    return HumanBestResponse(br.value, br.state_values, br.policy[ai, :, :m_ai])


def _first_legal(sg: StochasticGame, player: int) -> np.ndarray:
    m = sg.num_actions[player]
    mask = sg.action_mask[player, :, :m]
    rows = np.zeros((sg.num_states, m))
    rows[np.arange(sg.num_states), np.argmax(mask, axis=1)] = 1.0
    return rows


# ------------------------------------------------------------------------------------------- Carroll gap
@dataclass(frozen=True)
class CarrollResult:
    """Self-play plan vs human-aware best response, both paired with a Boltzmann human of parameter β.

    Attributes:
        game: the game's name.
        beta: the human's inverse temperature.
        self_play: ``U(a*, π_H)``, the self-play agent's expected return with the human.
        best_response: ``U(BR(π_H), π_H)``.
        gap: ``best_response - self_play`` (>= 0; clipped at 0 against rounding).
        team_optimum: ``U(a*, b*)``, what self-play promises with a partner that plays the plan.
        human_policy: ``π_H [S, A_H]``.
        self_play_policy, best_response_policy: the AI's ``[S, A_AI]`` rows.
    """

    game: str
    beta: float
    self_play: float
    best_response: float
    gap: float
    team_optimum: float
    human_policy: np.ndarray
    self_play_policy: np.ndarray
    best_response_policy: np.ndarray

    def to_json(self) -> dict:
        return {
            "game": self.game,
            "beta": self.beta if math.isfinite(self.beta) else None,
            "beta_infinite": math.isinf(self.beta),
            "self_play": self.self_play,
            "best_response": self.best_response,
            "gap": self.gap,
            "team_optimum": self.team_optimum,
            "human_policy": self.human_policy.tolist(),
            "self_play_policy": self.self_play_policy.tolist(),
            "best_response_policy": self.best_response_policy.tolist(),
        }

    def lines(self) -> list[str]:
        return [
            f"{self.game}: Boltzmann human, beta = {self.beta:g}",
            f"  team optimum (partner plays the plan)   {self.team_optimum:.6f}",
            f"  self-play agent with the human          {self.self_play:.6f}",
            f"  best response to the human              {self.best_response:.6f}",
            f"  Carroll gap                             {self.gap:.6f}",
        ]


def carroll_gap(game: object, beta: float, *, ai: int = 0) -> CarrollResult:
    """Compare the self-play plan and the exact best response with the Boltzmann plan-human (module docstring).

    Raises :class:`NotApplicableError` unless ``game`` is a two-player common-payoff game.
    """
    beta = check_beta(beta)
    sg = as_stochastic(game)
    ai = _seat(ai)
    plan = team_plan(sg)
    human = plan_human_policy(sg, beta, ai=ai)
    m_ai, m_h = sg.num_actions[ai], sg.num_actions[1 - ai]
    rows = np.arange(sg.num_states)
    own = np.zeros((sg.num_states, m_ai))
    own[rows, plan.actions[ai]] = 1.0
    partner = np.zeros((sg.num_states, m_h))
    partner[rows, plan.actions[1 - ai]] = 1.0
    self_play = float(sg.expected_return(_profile(sg, ai, own, human))[ai])
    team = float(sg.expected_return(_profile(sg, ai, own, partner))[ai])
    br = best_response_to_human(sg, human, ai=ai)
    return CarrollResult(
        game=sg.name or "game",
        beta=beta,
        self_play=self_play,
        best_response=br.value,
        gap=max(0.0, br.value - self_play),
        team_optimum=team,
        human_policy=human,
        self_play_policy=own,
        best_response_policy=br.policy,
    )


__all__ = [
    "CarrollResult",
    "HumanBestResponse",
    "TeamPlan",
    "best_response_to_human",
    "carroll_game",
    "carroll_gap",
    "carroll_gap_closed_form",
    "carroll_threshold",
    "plan_human_policy",
    "team_plan",
]
