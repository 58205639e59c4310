"""JAX stage-game solvers for jitted learning loops (minimax-Q, Nash-Q, CE-Q): one import for all three.

These are the float32-by-default, fixed-iteration, jittable solvers; the exact float64 solvers (SciPy HiGHS,
vertex enumeration) are :mod:`marlkit.solve`. Names differ where the concepts coincide: the CE-Q solver here is
:func:`batched_correlated_equilibrium`, the exact LP :func:`marlkit.solve.correlated_equilibrium`.

Tabular joint-action learners solve a small matrix game at every update inside ``jax.lax.scan``. These functions
are pure JAX (``jit``, ``vmap`` and ``scan`` accept them, no host callbacks), take payoffs ``[..., m, n]`` with any
leading batch axes, and are documented and tested for 2 <= m, n <= 5 (1-action players work too):

* :func:`zero_sum_value` ``(A) -> ZeroSumSolution(value [...], row [..., m], col [..., n])``: exact value and
  optimal strategies by support enumeration (Shapley & Snow 1950 guarantee an exact candidate, ties included);
  see :mod:`marlkit.solve.stage.support`.
* :func:`bimatrix_nash` ``(A, B, select="utilitarian") -> BimatrixNash(row, col, values [..., 2], nash_gap,
  found)``: one Nash equilibrium by a selection rule among those found by equal-size support enumeration.
* :func:`batched_correlated_equilibrium` ``(A, B, objective="utilitarian") -> CorrelatedEquilibrium(distribution,
  values [..., 2], incentive_violation, converged)``: a CE-Q correlated equilibrium (Greenwald & Hall 2003) by a
  batched Mehrotra predictor-corrector interior point LP with a fixed iteration count
  (:mod:`marlkit.solve.stage.ce`, :mod:`marlkit.solve.stage.lp`).

Dtypes and accuracy. Computation is in the floating dtype of the input, which under JAX's default configuration is
float32 (what the learners use); pass float64 arrays with ``jax.experimental.enable_x64`` / ``jax.enable_x64`` for
exact-solver accuracy. Measured on seeded random and integer (tie-heavy) games, against SciPy HiGHS:

* zero-sum value: float64 agrees within 1e-12 (certified gap max_i (Ay)_i - min_j (x^T A)_j below 1e-12);
  float32 within about 1e-6 relative to the payoff scale.
* bimatrix Nash: float64 equilibria have NashConv below 1e-9 and match the best-welfare equilibrium of nashpy's
  vertex enumeration on non-degenerate games; float32 NashConv about 1e-5 relative.
* correlated equilibrium: float64 objective within 1e-9 of HiGHS and incentive constraints met to 1e-9 (30
  iterations; a few in a thousand 5x5 games need more and come back with ``converged=False``); float32 reaches
  about 1e-5 relative, and about 1% of random 5x5 games stop short (ill-conditioned LPs where a violation of
  ~1e-4 of the incentive constraints buys a much larger welfare): those carry ``converged=False`` and their
  ``incentive_violation``, and are approximate (ε-)correlated equilibria.

Speed (``python bench/stage_solvers.py --quick --rounds 3``: batches of 200, float32, against one HiGHS ``linprog``
call per game at 1.5-2.3 ms of CPU; CPU time per game, medians of interleaved rounds on a shared 2-core AMD EPYC at
load 14-16): zero-sum support enumeration 3 / 9 / 28 / 90-190 us per game at 2x2 / 3x3 / 4x4 / 5x5 (540x / 160x /
59x / 11-18x SciPy); the CE interior point solver 23 / 91 / 194 / 444 us (86x / 21x / 11x / 5.2x). The CE solver's
products and reductions are chains of elementwise operations (:func:`marlkit.solve.stage.lp.axis_sum`): as
``jnp.sum`` / ``@`` under ``vmap`` XLA:CPU ran them as library calls that took ~85% of its time (it was 2x / 1.3x
SciPy at 4x4 / 5x5 before). The 10x target is met at 2x2-4x4, not at 5x5 (what remains is the Cholesky factor and
its triangular solves, ~40%; an explicit inverse factor and unrolled substitutions were both slower). Compile
times are 1-6 s per shape and dtype on an idle machine.
"""

from marlkit.solve.stage.ce import OBJECTIVES, CorrelatedEquilibrium, batched_correlated_equilibrium
from marlkit.solve.stage.support import (
    MAX_ACTIONS,
    SELECTION_RULES,
    BimatrixNash,
    ZeroSumSolution,
    bimatrix_nash,
    num_support_pairs,
    zero_sum_value,
)

__all__ = [
    "MAX_ACTIONS",
    "OBJECTIVES",
    "SELECTION_RULES",
    "BimatrixNash",
    "CorrelatedEquilibrium",
    "ZeroSumSolution",
    "batched_correlated_equilibrium",
    "bimatrix_nash",
    "num_support_pairs",
    "zero_sum_value",
]
