"""Equilibrium selection: rank a game's equilibria by a criterion and say why.

A game with several equilibria leaves open which one agents should (or will) play: the *equilibrium selection
problem* (Albrecht, Christianos & Schäfer 2024, *Multi-Agent Reinforcement Learning: Foundations and Modern
Approaches*, MIT Press, §4.11 "The equilibrium selection problem"; Harsanyi & Selten 1988, *A General Theory of
Equilibrium Selection in Games*). :func:`select_equilibrium` ranks given equilibria by one criterion:

* ``"pareto"`` — Pareto dominance among the listed equilibria: rank 1 is the set no other listed equilibrium
  dominates, rank 2 what is dominated only by rank 1, and so on (non-dominated sorting).
* ``"payoff"`` — payoff dominance (Harsanyi & Selten 1988, §3.9): an equilibrium is payoff-dominant when it is
  strictly better for every player than every other listed equilibrium. At most one exists; often none does.
* ``"risk"`` — risk dominance (Harsanyi & Selten 1988, §3.9), two-player games only. For two strict pure
  equilibria (a, b) and (a', b') with a != a' and b != b', (a, b) risk-dominates (a', b') when its Nash product of
  deviation losses is larger:  [u_0(a,b) - u_0(a',b)] [u_1(a,b) - u_1(a,b')]  >  [u_0(a',b') - u_0(a,b')]
  [u_1(a',b') - u_1(a',b)].  In a 2x2 game this is Harsanyi & Selten's criterion exactly; in larger games it is
  the documented generalisation "compare the 2x2 game restricted to the two equilibria's actions" (the full
  tracing procedure is not implemented). Pure equilibria are ranked by how many others they risk-dominate; the
  selected one must risk-dominate every other pure equilibrium. Pairs sharing an action are not comparable, and
  mixed equilibria are ranked last (the criterion compares pure equilibria).
* ``"utilitarian"``, ``"egalitarian"``, ``"nash-product"`` — descending welfare (:mod:`marlkit.solve.welfare`);
  the Nash product is taken against the players' pure security levels
  (:func:`~marlkit.solve.welfare.pure_security_levels`).

Ties (within ``tol``) share a rank (competition ranking: 1, 1, 3). ``Selection.chosen`` is the single equilibrium
the criterion selects, or None when it selects none (a tie at the top, no payoff-dominant equilibrium), and
``Selection.summary`` says which.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from marlkit.errors import InvalidGameError, UnknownNameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.games.properties import require_players
from marlkit.solve.best_response import nash_conv
from marlkit.solve.pareto import dominance_matrix
from marlkit.solve.results import Equilibrium, EquilibriumSet
from marlkit.solve.welfare import egalitarian, nash_product, pure_security_levels, utilitarian

DEFAULT_TOLERANCE = 1e-9
"""Payoff and score differences within this are ties."""

PURE_TOLERANCE = 1e-9
"""A strategy with an action of probability >= 1 - this counts as pure."""


@dataclass(frozen=True, eq=False)
class RankedEquilibrium:
    """One equilibrium in a :class:`Selection`: its rank (1 = best, ties share), score and the reason."""

    label: str
    profile: tuple[np.ndarray, ...]
    values: np.ndarray
    rank: int
    score: float
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "profile": [p.tolist() for p in self.profile],
            "values": self.values.tolist(),
            "rank": self.rank,
            "score": float(self.score),
            "reason": self.reason,
        }


@dataclass(frozen=True, eq=False)
class Selection:
    """Equilibria ranked by ``criterion`` (best first), the selected one (or None) and a one-line summary."""

    criterion: str
    ranked: tuple[RankedEquilibrium, ...]
    chosen: RankedEquilibrium | None
    summary: str

    def to_dict(self) -> dict[str, object]:
        return {
            "criterion": self.criterion,
            "ranked": [r.to_dict() for r in self.ranked],
            "chosen": None if self.chosen is None else self.chosen.label,
            "summary": self.summary,
        }


class _Entry(NamedTuple):
    label: str
    profile: tuple[np.ndarray, ...]
    values: np.ndarray
    pure: tuple[int, ...] | None  # the joint action when every strategy is pure


class _Verdict(NamedTuple):
    scores: np.ndarray  # higher is better
    reasons: list[str]
    chosen: int | None
    summary: str


# ------------------------------------------------------------------------------------------- formatting
def _num(x: float) -> str:
    return f"{float(x):.6g}"


def _vector(v: np.ndarray) -> str:
    return "(" + ", ".join(_num(x) for x in v) + ")"


def _label(game: NormalFormGame, profile: tuple[np.ndarray, ...], pure: tuple[int, ...] | None) -> str:
    if pure is not None:
        return "(" + ", ".join(names[a] for names, a in zip(game.action_names, pure, strict=True)) + ")"
    parts = []
    for names, p in zip(game.action_names, profile, strict=True):
        parts.append(" + ".join(f"{p[a]:.3g} {names[a]}" for a in np.flatnonzero(p > PURE_TOLERANCE)))
    return "(" + ", ".join(parts) + ")"


def _player_comparison(game: NormalFormGame, better: np.ndarray, worse: np.ndarray, sign: str) -> str:
    """'4 > 3 for both players', or per player when the numbers differ."""
    pairs = [f"{_num(b)} {sign} {_num(w)}" for b, w in zip(better, worse, strict=True)]
    if len(set(pairs)) == 1:
        who = "both players" if game.n_players == 2 else f"all {game.n_players} players"
        return f"{pairs[0]} for {who}"
    return ", ".join(f"{name} {p}" for name, p in zip(game.player_names, pairs, strict=True))


def _unique_top(scores: np.ndarray, tol: float) -> int | None:
    best = int(np.argmax(scores))
    return best if np.sum(scores >= scores[best] - tol) == 1 else None


# ------------------------------------------------------------------------------------------- criteria
def _pareto(game: NormalFormGame, entries: list[_Entry], tol: float) -> _Verdict:
    V = np.array([e.values for e in entries])
    D = dominance_matrix(V, tol)
    layer = np.zeros(len(entries), dtype=int)
    remaining = np.ones(len(entries), dtype=bool)
    depth = 0
    while remaining.any():  # non-dominated sorting: peel the undominated set off the remaining ones
        depth += 1
        front = remaining & ~(D[remaining].any(axis=0))
        layer[front] = depth
        remaining &= ~front
    reasons = []
    for k, e in enumerate(entries):
        dominators = np.flatnonzero(D[:, k])
        if dominators.size == 0:
            reasons.append(f"{e.label} {_vector(e.values)} is not Pareto-dominated by any other listed equilibrium")
        else:
            j = int(dominators[np.argmin(layer[dominators])])
            reasons.append(
                f"{e.label} {_vector(e.values)} is Pareto-dominated by {entries[j].label} {_vector(entries[j].values)}"
            )
    scores = -layer.astype(np.float64)
    chosen = _unique_top(scores, 0.5)
    summary = (
        f"{entries[chosen].label} is the only Pareto-undominated equilibrium"
        if chosen is not None
        else f"{int(np.sum(layer == 1))} equilibria are Pareto-undominated; Pareto dominance selects none of them"
    )
    return _Verdict(scores, reasons, chosen, summary)


def _payoff(game: NormalFormGame, entries: list[_Entry], tol: float) -> _Verdict:
    V = np.array([e.values for e in entries])
    strictly = np.all(V[:, None, :] > V[None, :, :] + tol, axis=-1)  # strictly[j, k]: j better than k for all
    np.fill_diagonal(strictly, True)
    dominant = np.flatnonzero(strictly.all(axis=1))
    chosen = int(dominant[0]) if dominant.size else None
    reasons = []
    for k, e in enumerate(entries):
        if chosen is not None and k == chosen:
            others = [
                f"{e.label} payoff-dominates {o.label}: {_player_comparison(game, e.values, o.values, '>')}"
                for j, o in enumerate(entries)
                if j != k
            ]
            reasons.append("; ".join(others) if others else f"{e.label} is the only listed equilibrium")
        elif chosen is not None:
            c = entries[chosen]
            reasons.append(
                f"{e.label} is payoff-dominated by {c.label}: {_player_comparison(game, c.values, e.values, '>')}"
            )
        else:
            j = int(np.flatnonzero(~strictly[k])[0])
            i = int(np.argmax(V[j] - V[k]))  # the player for whom e is not strictly better than entries[j]
            reasons.append(
                f"{e.label} is not payoff-dominant: against {entries[j].label}, {game.player_names[i]} gets "
                f"{_num(V[k, i])} <= {_num(V[j, i])}"
            )
    scores = np.zeros(len(entries))
    if chosen is not None:
        scores[chosen] = 1.0
        summary = f"{entries[chosen].label} is payoff-dominant: strictly better for every player than every other"
    else:
        summary = "no payoff-dominant equilibrium: none is strictly better for every player than all the others"
    return _Verdict(scores, reasons, chosen, summary)


def _deviation_loss(game: NormalFormGame, at: tuple[int, ...], other: tuple[int, ...]) -> np.ndarray:
    """Each player's loss from switching to its action in ``other`` while the opponent stays at ``at``."""
    (a, b), (c, d) = at, other
    u = game.payoffs
    return np.array([u[0, a, b] - u[0, c, b], u[1, a, b] - u[1, a, d]])


def _risk(game: NormalFormGame, entries: list[_Entry], tol: float) -> _Verdict:
    require_players(
        game,
        "risk dominance",
        2,
        applies_to="two-player games (Harsanyi & Selten 1988, §3.9)",
        instead="Use 'payoff', 'pareto' or a welfare criterion.",
    )
    pure = [k for k, e in enumerate(entries) if e.pure is not None]
    wins = {k: 0 for k in pure}
    notes: dict[int, list[str]] = {k: [] for k in range(len(entries))}
    beats_all = {k: True for k in pure}
    for x, p in enumerate(pure):
        for q in pure[x + 1 :]:
            ep, eq = entries[p], entries[q]
            assert ep.pure is not None and eq.pure is not None  # pure holds only entries with a joint action
            if ep.pure[0] == eq.pure[0] or ep.pure[1] == eq.pure[1]:
                notes[p].append(f"not comparable with {eq.label} (they share an action)")
                notes[q].append(f"not comparable with {ep.label} (they share an action)")
                beats_all[p] = beats_all[q] = False
                continue
            loss = {p: _deviation_loss(game, ep.pure, eq.pure), q: _deviation_loss(game, eq.pure, ep.pure)}
            product = {k: float(np.prod(v)) for k, v in loss.items()}
            win, lose = (p, q) if product[p] >= product[q] else (q, p)
            losses = (
                f"(losses {_num(loss[win][0])}·{_num(loss[win][1])} vs {_num(loss[lose][0])}·{_num(loss[lose][1])})"
            )
            pw, pl = _num(product[win]), _num(product[lose])
            if product[win] - product[lose] <= tol:
                notes[p].append(f"ties with {eq.label}: deviation-loss product {pw} = {pl} {losses}")
                notes[q].append(f"ties with {ep.label}: deviation-loss product {pw} = {pl} {losses}")
                beats_all[p] = beats_all[q] = False
                continue
            wins[win] += 1
            beats_all[lose] = False
            notes[win].append(
                f"{entries[win].label} risk-dominates {entries[lose].label}: "
                f"deviation-loss product {pw} > {pl} {losses}"
            )
            notes[lose].append(
                f"{entries[lose].label} is risk-dominated by {entries[win].label}: deviation-loss product {pl} < {pw}"
            )
    scores = np.full(len(entries), -1.0)
    reasons = []
    for k, e in enumerate(entries):
        if e.pure is None:
            reasons.append(f"{e.label} is mixed: risk dominance compares pure equilibria only, so it ranks last")
            continue
        scores[k] = wins[k]
        reasons.append("; ".join(notes[k]) if notes[k] else f"{e.label} is the only pure equilibrium listed")
    chosen = next((k for k in pure if beats_all[k] and len(pure) > 1), None)
    if chosen is None and len(pure) == 1:
        chosen = pure[0]
    summary = (
        f"{entries[chosen].label} is risk-dominant among the pure equilibria"
        if chosen is not None
        else "no pure equilibrium risk-dominates every other (ties, incomparable pairs or none pure)"
    )
    return _Verdict(scores, reasons, chosen, summary)


def _welfare_criterion(
    name: str, welfare: Callable[[np.ndarray, NormalFormGame], float], how: Callable[[_Entry, NormalFormGame], str]
) -> Callable[[NormalFormGame, list[_Entry], float], _Verdict]:
    def criterion(game: NormalFormGame, entries: list[_Entry], tol: float) -> _Verdict:
        scores = np.array([welfare(e.values, game) for e in entries])
        order = np.argsort(-scores, kind="stable")
        rank_of = {int(k): 1 + int(np.sum(scores > scores[k] + tol)) for k in order}
        reasons = [
            f"{e.label}: {name} welfare {_num(scores[k])} ({how(e, game)}); rank {rank_of[k]} of {len(entries)}"
            for k, e in enumerate(entries)
        ]
        chosen = _unique_top(scores, tol)
        top = entries[int(order[0])]
        summary = (
            f"{top.label} has the highest {name} welfare, {_num(scores[order[0]])}"
            if chosen is not None
            else f"several equilibria tie for the highest {name} welfare, {_num(scores[order[0]])}; none is selected"
        )
        return _Verdict(scores, reasons, chosen, summary)

    return criterion


def _nash_product(values: np.ndarray, game: NormalFormGame) -> float:
    return float(nash_product(values, pure_security_levels(game)))


CRITERIA: dict[str, Callable[[NormalFormGame, list[_Entry], float], _Verdict]] = {
    "pareto": _pareto,
    "payoff": _payoff,
    "risk": _risk,
    "utilitarian": _welfare_criterion(
        "utilitarian", lambda v, g: float(utilitarian(v)), lambda e, g: "sum of " + _vector(e.values)
    ),
    "egalitarian": _welfare_criterion(
        "egalitarian", lambda v, g: float(egalitarian(v)), lambda e, g: "min of " + _vector(e.values)
    ),
    "nash-product": _welfare_criterion(
        "nash-product",
        _nash_product,
        lambda e, g: (
            f"Π(u - d) with u = {_vector(e.values)}, d = pure security levels {_vector(pure_security_levels(g))}"
        ),
    ),
}
"""Selection criteria by name (module docstring)."""


# ------------------------------------------------------------------------------------------------- entry
def _as_entries(
    game: NormalFormGame, equilibria: EquilibriumSet | Iterable[Equilibrium] | Iterable[Sequence[np.ndarray]]
) -> list[_Entry]:
    items = list(equilibria)
    if not items:
        raise InvalidGameError("equilibria: the list is empty; pass at least one equilibrium to rank")
    entries = []
    for k, item in enumerate(items):
        raw = item.profile if isinstance(item, Equilibrium) else item
        try:
            profile = tuple(game.check_profile(list(raw)))
        except InvalidGameError as exc:
            raise InvalidGameError(f"equilibria[{k}]: {exc}") from None
        except TypeError:
            raise InvalidGameError(
                f"equilibria[{k}]: expected an Equilibrium or a mixed profile (one strategy per player), "
                f"got {type(item).__name__}"
            ) from None
        profile = tuple(np.maximum(p, 0.0) / np.maximum(p, 0.0).sum() for p in profile)  # clear -1e-17 rounding
        tops = [int(np.argmax(p)) for p in profile]
        is_pure = all(p[a] >= 1.0 - PURE_TOLERANCE for p, a in zip(profile, tops, strict=True))
        pure = tuple(tops) if is_pure else None
        entries.append(_Entry(_label(game, profile, pure), profile, game.expected_utility(profile), pure))
    return entries


def select_equilibrium(
    game: NormalFormGame,
    equilibria: EquilibriumSet | Iterable[Equilibrium] | Iterable[Sequence[np.ndarray]],
    criterion: str = "payoff",
    tol: float = DEFAULT_TOLERANCE,
    max_nash_conv: float | None = 1e-6,
) -> Selection:
    """Rank ``equilibria`` of ``game`` by ``criterion`` (one of :data:`CRITERIA`), best first, with reasons.

    ``equilibria`` is an :class:`EquilibriumSet`, a list of :class:`Equilibrium` or a list of mixed profiles.
    Each is checked to be an equilibrium: NashConv <= ``max_nash_conv`` (pass None to rank arbitrary profiles,
    e.g. the outcomes learners reached; risk dominance then still assumes they are equilibria).

    Raises:
        UnknownNameError: for an unknown criterion (the message lists the valid ones).
        NotApplicableError: for ``"risk"`` in a game that is not two-player.
        InvalidGameError: for an empty list, a malformed profile or a profile that is not an equilibrium.

    Example:
        >>> stag_hunt = NormalFormGame([[[4, 0], [3, 3]], [[4, 3], [0, 3]]], action_names=[["stag", "hare"]] * 2)
        >>> pure = [[np.eye(2)[0], np.eye(2)[0]], [np.eye(2)[1], np.eye(2)[1]]]
        >>> select_equilibrium(stag_hunt, pure, "risk").chosen.label
        '(hare, hare)'
    """
    if not isinstance(game, NormalFormGame):
        raise InvalidGameError(f"select_equilibrium: expected a NormalFormGame, got {type(game).__name__}")
    if criterion not in CRITERIA:
        raise UnknownNameError(f"unknown selection criterion {criterion!r}; expected one of {sorted(CRITERIA)}")
    entries = _as_entries(game, equilibria)
    if max_nash_conv is not None:
        for k, e in enumerate(entries):
            gap = nash_conv(game, list(e.profile))
            if gap > max_nash_conv:
                raise InvalidGameError(
                    f"equilibria[{k}] {e.label} is not a Nash equilibrium: NashConv {gap:.3g} > max_nash_conv="
                    f"{max_nash_conv:g}; pass max_nash_conv=None to rank arbitrary profiles"
                )
    verdict = CRITERIA[criterion](game, entries, float(tol))
    order = np.argsort(-verdict.scores, kind="stable")
    ranked_at = {}
    for k in order:
        rank = 1 + int(np.sum(verdict.scores > verdict.scores[k] + tol))
        e = entries[int(k)]
        ranked_at[int(k)] = RankedEquilibrium(
            e.label, e.profile, e.values, rank, float(verdict.scores[k]), verdict.reasons[int(k)]
        )
    chosen = None if verdict.chosen is None else ranked_at[verdict.chosen]
    return Selection(criterion, tuple(ranked_at[int(k)] for k in order), chosen, verdict.summary)
