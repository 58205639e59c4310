"""One constrained solution for people and files: the correlated optimum beside the best product policy.

This is what ``marlkit solve GAME --concept constrained`` computes (the ``constrained`` entry of
:data:`marlkit.solve.concepts.CONCEPTS`): :func:`~marlkit.solve.constrained.constrained_optimum` (the team optimum,
λ*, the unconstrained optimum and the return given up for safety) and
:func:`~marlkit.solve.constrained.best_product_policy` (what independent agents can reach, exact or a labelled lower
bound), so a report says both what safety costs and whether decentralised agents can reach the optimum at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from marlkit.solve.constrained.optimum import ConstrainedOptimum, constrained_optimum
from marlkit.solve.constrained.product import EXACT_METHOD, ProductOptimum, best_product_policy


@dataclass(frozen=True, eq=False)
class ConstrainedSolution:
    """The correlated team ``optimum``, the best ``product`` policy and, where it is solved exactly (one-state 2x2
    games), the best ``shared`` (symmetric product) policy of a constrained game."""

    optimum: ConstrainedOptimum
    product: ProductOptimum
    shared: ProductOptimum | None = None

    def to_dict(self) -> dict[str, object]:
        """The optimum's JSON keys (docs/cli-json.md) plus ``product`` and ``shared`` (null where not solved)."""
        return {
            **self.optimum.to_json(),
            "product": self.product.to_json(),
            "shared": None if self.shared is None else self.shared.to_json(),
        }


def solve_constrained(game: object, weights: object = None) -> ConstrainedSolution:
    """The correlated optimum and the best product policy of a constrained game (NotApplicableError without
    costs)."""
    optimum = constrained_optimum(game, weights)
    product = best_product_policy(game, weights, correlated=optimum)
    exact = product.method == EXACT_METHOD
    shared = best_product_policy(game, weights, symmetric=True, correlated=optimum) if exact else None
    return ConstrainedSolution(optimum, product, shared)
