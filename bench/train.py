"""Benchmark: IPPO on MPE simple spread, marlkit's compiled trainer vs JaxMARL's IPPO baseline, same hyper-parameters.

Task: simple spread, 3 agents and 3 landmarks, 25-step episodes with auto-reset. Learner: IPPO (de Witt et al.
2020) with JaxMARL's published MPE hyper-parameters (``baselines/IPPO/config/ippo_ff_mpe.yaml``: 16 envs x 128
steps per update, 4 epochs x 4 minibatches, 64-unit tanh layers, LR 2.5e-4 annealed to 0, gamma 0.99, GAE lambda
0.95, clip 0.2, entropy 0.01, value 0.5, grad norm 0.5), one parameter set shared by all agents and no agent id
(JaxMARL's single ``ActorCritic``). One *env step* is one joint step of one environment (an update is 16 x 128 =
2,048 env steps), the unit of the issue's "20.8 s per million env steps".

Compared, interleaved by the harness (``bench/harness.py``: round r runs seed r of marlkit, then of JaxMARL; median
and spread of wall and CPU time; the machine and its load):

* ``marlkit``: what ``marlkit.train.deep.train(env, IPPO(...), steps, num_envs=16, seeds=1)`` runs (``prepare``,
  ``start``, ``advance``; env + learner in one ``jax.jit``), compiled once ahead of time so that compile and run
  are timed apart, with one History window per update (as JaxMARL logs every update);
* ``jaxmarl``: JaxMARL's own ``make_train`` from ``baselines/IPPO/ippo_ff_mpe.py``. That script is **not in the
  jaxmarl wheel or sdist**: fetch it (and ``config/ippo_ff_mpe.yaml`` beside it) from github.com/FLAIROx/JaxMARL at
  the tag of your jaxmarl version and pass its path with ``--jaxmarl-ippo PATH``. JaxMARL itself must be importable,
  e.g. ``pip install --no-deps --target /tmp/jm jaxmarl jaxtyping chex gymnax safetensors wadler_lindig toolz six
  seaborn`` and ``PYTHONPATH=/tmp/jm`` (its utilities import ``six`` and ``seaborn``). The script also imports
  ``distrax``, ``hydra``, ``omegaconf`` and ``wandb``; those missing are replaced by stand-ins before it is loaded: a
  categorical distribution with the same ``sample`` / ``log_prob`` / ``entropy`` (sampling by
  ``jax.random.categorical``, as distrax does), and no-op ``hydra.main`` / ``wandb.log`` (its per-update
  ``io_callback`` to ``wandb.log`` stays, it is part of its loop). Without ``--jaxmarl-ippo`` marlkit is timed
  alone and the bench says how to get the script; no figure from another run is printed as a ratio.

Measured: compile time (``jit(...).lower(...).compile()``, not counted in the run time), time per env step
(median and spread over seeds), and the learning curve. **Return**: JaxMARL's
logged ``returned_episode_returns`` — its ``MPELogWrapper`` multiplies every agent's reward by the number of agents
("as per on-policy codebase"), so the logged per-agent return, averaged over agents, equals the *sum over agents*
of the episode's returns; its per-update figure is that averaged over the 16 x 128 steps of the update (the last
finished episode of each env, 0 before an env's first episode ends). marlkit's ``History.episode_return [N, T,
n]`` is per agent (the mean return of the episodes that finished in the window), so the comparable figure is its sum
over agents. Printed for both: the mean of the last 10 updates, averaged over seeds, and the env steps until the
seed-mean return, smoothed over 10 updates, reaches ``--threshold``.

The rewards are the same: marlkit's simple spread and JaxMARL's ``MPE_simple_spread_v3`` both give
``r_i = 0.5 G - 0.5 C_i`` (coverage ``G``, agent i's collisions ``C_i``), checked here by stepping both from the
same state with the same actions (``--check-reward``).

BenchMARL is not measured (it needs torch and VMAS), so no ratio to it is printed. The cost of parameter sharing
("full" vs "none") as the number of agents grows: ``bench/sharing.py``.

Run: ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false PYTHONPATH=/tmp/jm python bench/train.py --jaxmarl-ippo
/tmp/jmippo/ippo_ff_mpe.py [--steps 1000000] [--rounds 3] [--quick] [--json out.json]`` (``--rounds``: seeds).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import jax
import jax.experimental  # JaxMARL's script reaches io_callback as jax.experimental.io_callback
import jax.numpy as jnp
import numpy as np

import harness

# JaxMARL's published IPPO hyper-parameters for MPE (baselines/IPPO/config/ippo_ff_mpe.yaml), run-length aside.
PUBLISHED = {
    "LR": 2.5e-4,
    "NUM_ENVS": 16,
    "NUM_STEPS": 128,
    "UPDATE_EPOCHS": 4,
    "NUM_MINIBATCHES": 4,
    "GAMMA": 0.99,
    "GAE_LAMBDA": 0.95,
    "CLIP_EPS": 0.2,
    "ENT_COEF": 0.01,
    "VF_COEF": 0.5,
    "MAX_GRAD_NORM": 0.5,
    "ACTIVATION": "tanh",
    "ENV_NAME": "MPE_simple_spread_v3",
    "ENV_KWARGS": {},
    "ANNEAL_LR": True,
}
SEED = 30  # the yaml's SEED; seed i of a run is jax.random.split(PRNGKey(SEED), seeds)[i], as its main() does
# Figures for issue 8 on this machine (2 shared cores): the issue's, and ours measured with this script.
SMOOTH = 10  # updates in the moving mean a return threshold is read from


timed = harness.timed_once
"""``(result, wall s, cpu s)`` of one call (the harness's clocks)."""


# ------------------------------------------------------------------------------------------------- JaxMARL


class _Categorical:
    """Stand-in for ``distrax.Categorical(logits=...)``: the three methods JaxMARL's IPPO calls."""

    def __init__(self, logits: jax.Array) -> None:
        self.logits = logits
        self._log_probs = jax.nn.log_softmax(logits)

    def sample(self, seed: jax.Array) -> jax.Array:
        return jax.random.categorical(seed, self.logits)

    def log_prob(self, value: jax.Array) -> jax.Array:
        return jnp.take_along_axis(self._log_probs, value[..., None].astype(jnp.int32), axis=-1)[..., 0]

    def entropy(self) -> jax.Array:
        return -jnp.sum(jnp.exp(self._log_probs) * self._log_probs, axis=-1)


def _stand_ins() -> dict[str, types.ModuleType]:
    """Modules JaxMARL's script imports but never needs for ``make_train`` (only those not installed)."""
    distrax = types.ModuleType("distrax")
    distrax.Categorical = _Categorical
    hydra = types.ModuleType("hydra")
    hydra.main = lambda **_: lambda fn: fn
    omegaconf = types.ModuleType("omegaconf")
    omegaconf.OmegaConf = types.SimpleNamespace(to_container=dict)
    wandb = types.ModuleType("wandb")
    wandb.log = lambda *_, **__: None
    wandb.init = lambda *_, **__: None
    modules = {"distrax": distrax, "hydra": hydra, "omegaconf": omegaconf, "wandb": wandb}
    return {name: module for name, module in modules.items() if importlib.util.find_spec(name) is None}


def load_jaxmarl_ippo(path: Path) -> types.ModuleType:
    """Import JaxMARL's ``ippo_ff_mpe.py`` from ``path`` (stand-ins for its missing logging/config imports; an
    installed wandb is initialised with ``mode="disabled"``, so its per-update ``wandb.log`` does nothing)."""
    stand_ins = _stand_ins()
    sys.modules.update(stand_ins)
    if "wandb" not in stand_ins:
        import wandb

        wandb.init(mode="disabled")
    spec = importlib.util.spec_from_file_location("jaxmarl_ippo_ff_mpe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def published_config(path: Path, steps: int) -> dict[str, Any]:
    """The published hyper-parameters for a run of ``steps`` env steps; the yaml beside the script, if present, must
    agree with :data:`PUBLISHED` (a changed upstream default is reported, not silently used)."""
    config = dict(PUBLISHED, TOTAL_TIMESTEPS=steps)
    yaml_path = path.parent / "config" / "ippo_ff_mpe.yaml"
    if yaml_path.exists():
        import yaml

        upstream = yaml.safe_load(yaml_path.read_text())
        differ = {k: (v, upstream[k]) for k, v in PUBLISHED.items() if k in upstream and upstream[k] != v}
        if differ:
            print(f"warning: {yaml_path} differs from the published values used here: {differ}")
    return config


@contextlib.contextmanager
def jax_own_threefry_lowering() -> Iterator[None]:
    """JAX's own CPU lowering of the Threefry hash while the block lowers programs, then marlkit's again: marlkit
    registers faster-compiling straight-line rounds when imported (:mod:`marlkit.threefry`; the same values), so
    JaxMARL's program is compiled here as JaxMARL's users get it. JAX's rule is a private name (bench only)."""
    from jax._src.random import threefry2x32 as jax_threefry
    from jax.extend.random import threefry2x32_p
    from jax.interpreters import mlir

    from marlkit.threefry import use_unrolled_lowering

    mlir.register_lowering(threefry2x32_p, jax_threefry._threefry2x32_cpu_lowering_rule, platform="cpu")
    try:
        yield
    finally:
        use_unrolled_lowering(again=True)


def prepare_jaxmarl(path: Path, steps: int, seeds: int) -> tuple[tuple[float, float], Callable[[int], np.ndarray], int]:
    """Compile JaxMARL's ``make_train`` once (its one program: network initialisation included): ``((compile wall
    s, compile CPU s), run(i) -> seed i's logged return per update, env steps per run)``."""
    module = load_jaxmarl_ippo(path)
    config = published_config(path, steps)
    train = module.make_train(config)
    keys = jax.random.split(jax.random.PRNGKey(SEED), seeds)
    with jax_own_threefry_lowering():
        compiled, compile_s, compile_cpu_s = timed(lambda: jax.jit(train).lower(keys[0]).compile())
    env_steps = config["NUM_UPDATES"] * config["NUM_ENVS"] * config["NUM_STEPS"]

    def run(i: int) -> np.ndarray:
        out = jax.block_until_ready(compiled(keys[max(i, 0)]))
        return np.asarray(out["metrics"]["returned_episode_returns"])

    return (compile_s, compile_cpu_s), run, env_steps


JAXMARL_SCRIPT_HELP = (
    "JaxMARL's IPPO baseline (baselines/IPPO/ippo_ff_mpe.py) is not part of the jaxmarl wheel or sdist: fetch that "
    "file (and config/ippo_ff_mpe.yaml beside it) from github.com/FLAIROx/JaxMARL at the tag of your jaxmarl version "
    "and pass --jaxmarl-ippo PATH. Its imports also need `six` and `seaborn` (pip install six seaborn beside "
    "jaxmarl); distrax, hydra, omegaconf and wandb are stood in when missing (module docstring)."
)


def check_reward(steps: int = 200) -> tuple[float, float, float, int]:
    """Step JaxMARL's and marlkit's simple spread from the same state with the same random actions; the largest
    differences ``(reward, observation, position)`` and how many steps had a collision (the agents' rewards
    differ). Each step starts from JaxMARL's state copied into marlkit's (so a physics difference cannot compound);
    every 10 steps the agents are regrouped within 0.2 of the origin so that collisions happen. The rewards compared
    are JaxMARL's raw per-agent ones (before its ``MPELogWrapper`` multiplies them by the number of agents)."""
    import jaxmarl

    from marlkit.envs import make
    from marlkit.envs.mpe.core import Particles

    theirs = jaxmarl.make("MPE_simple_spread_v3")
    ours = make("simple_spread")
    n = theirs.num_agents
    key = jax.random.PRNGKey(SEED)
    _, state = theirs.reset(key)
    worst, collided = np.zeros(3), 0
    for t in range(steps):
        key, k_act, k_step, k_group = jax.random.split(key, 4)
        if t % 10 == 0:
            grouped = jax.random.uniform(k_group, (n, 2), minval=-0.2, maxval=0.2)
            state = state.replace(p_pos=state.p_pos.at[:n].set(grouped))
        actions = jax.random.randint(k_act, (n,), 0, 5)
        particles = Particles(state.p_pos[:n], state.p_vel[:n], state.p_pos[n:])
        obs_ours, after, reward_ours, _, _ = ours.step_env(k_step, particles, actions)
        obs, state, reward, _, _ = theirs.step_env(k_step, state, {a: actions[i] for i, a in enumerate(theirs.agents)})
        reward_theirs = np.array([reward[a] for a in theirs.agents])
        obs_theirs = np.stack([obs[a] for a in theirs.agents])
        collided += int(np.ptp(reward_theirs) > 0)
        worst = np.maximum(
            worst,
            [
                np.abs(np.asarray(reward_ours) - reward_theirs).max(),
                np.abs(np.asarray(obs_ours) - obs_theirs).max(),
                np.abs(np.asarray(after.pos) - np.asarray(state.p_pos[:n])).max(),
            ],
        )
    return (*(float(w) for w in worst), collided)


# ------------------------------------------------------------------------------------------------- marlkit


def marlkit_ippo(updates: int, sharing: str = "full", agent_id: bool = False) -> Any:
    """marlkit's IPPO with JaxMARL's hyper-parameters (:data:`PUBLISHED`), the LR annealed over ``updates``."""
    from marlkit.agents.deep.ppo import IPPO

    return IPPO(
        lr=PUBLISHED["LR"],
        anneal_updates=updates if PUBLISHED["ANNEAL_LR"] else None,
        rollout_length=PUBLISHED["NUM_STEPS"],
        update_epochs=PUBLISHED["UPDATE_EPOCHS"],
        num_minibatches=PUBLISHED["NUM_MINIBATCHES"],
        gamma=PUBLISHED["GAMMA"],
        gae_lambda=PUBLISHED["GAE_LAMBDA"],
        clip_eps=PUBLISHED["CLIP_EPS"],
        ent_coef=PUBLISHED["ENT_COEF"],
        vf_coef=PUBLISHED["VF_COEF"],
        value_clip=PUBLISHED["CLIP_EPS"],  # JaxMARL clips the value update with CLIP_EPS too
        max_grad_norm=PUBLISHED["MAX_GRAD_NORM"],
        hidden=(64, 64),
        activation=PUBLISHED["ACTIVATION"],
        sharing=sharing,
        agent_id=agent_id,
    )


class CompiledRun(NamedTuple):
    """marlkit's whole run, compiled: ``compiled(state) -> (state, records)``; ``plan_for(seed)`` the seed's plan
    (plans of different seeds differ only in the keys :func:`marlkit.train.deep.start` reads, so one compiled run
    serves them all). ``compile_s`` / ``compile_cpu_s``: wall and process-CPU seconds to compile both programs a
    run needs, the start (network initialisation, env reset) and the update loop."""

    compiled: Any
    compile_s: float
    compile_cpu_s: float
    plan_for: Callable[[int], Any]
    env_steps: int


def compile_marlkit(env: Any, learner: Any, steps: int, log_every: int) -> CompiledRun:
    """Compile marlkit's trainer for one seed of ``steps`` env steps (a multiple of ``log_every``)."""
    from marlkit.train import deep

    def plan_for(seed: int) -> Any:
        return deep.prepare(env, learner, steps, [seed], 0, log_every, num_envs=PUBLISHED["NUM_ENVS"])

    first = plan_for(0)
    state, start_s, start_cpu_s = timed(lambda: deep.start(first))  # compiles the start program (and runs it once)
    run = jax.jit(lambda state: deep.advance(first, state, 0, first.num_logs))
    compiled, compile_s, compile_cpu_s = timed(lambda: run.lower(state).compile())
    return CompiledRun(compiled, start_s + compile_s, start_cpu_s + compile_cpu_s, plan_for, steps)


def deep_bench_arguments(description: str, bench: str) -> argparse.Namespace:
    """The command line of the deep-learner ratio benches (``--agents``, ``--updates`` and the harness's
    ``--quick``, ``--rounds``, ``--json``); ``args.report`` is the bench's :class:`harness.Report` (it prints the
    machine first). ``--quick`` halves the updates."""
    parser = argparse.ArgumentParser(description=description)
    harness.add_arguments(parser)
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--updates", type=int, default=8, help="updates per timed run (16 x 128 env steps each)")
    args = parser.parse_args()
    if args.quick:
        args.updates = max(1, args.updates // 2)
    args.report = harness.Report(bench, harness.command_line())
    return args


def interleaved_rates(
    runs: dict[str, tuple[Any, Any]], steps: int, rounds: int, baseline: str, report: harness.Report
) -> dict[str, tuple[float, float]]:
    """Compile every ``name -> (learner, env)`` run of ``steps`` env steps (one seed), time them interleaved with
    the harness, record each run against ``baseline`` in ``report`` (ratio = baseline time / run time) and return
    each run's ``(CPU, wall)`` median time relative to ``baseline``."""
    fns = {}
    for name, (learner, env) in runs.items():
        run = compile_marlkit(env, learner, steps, steps)
        state = jax.block_until_ready(run.plan_for(0).start())
        fns[name] = lambda _, run=run, state=state: run.compiled(state)
        report.note(f"compiled {name} in {run.compile_s:.1f} s wall, {run.compile_cpu_s:.1f} s CPU")
    timings = harness.interleave(fns, rounds)
    report.note(f"{steps:,} env steps per timed run, {rounds} interleaved rounds; time per env step")
    for name, timing in timings.items():
        if name != baseline:
            report.compare(name, timing, timings[baseline], baseline, unit="env-step", per=steps)
    out = {}
    for name, timing in timings.items():
        r = harness.ratio(timing, timings[baseline])
        out[name] = (r["cpu"], r["wall"])
    return out


def prepare_marlkit(steps: int) -> tuple[tuple[float, float], Callable[[int], np.ndarray], int]:
    """marlkit's IPPO on simple spread, compiled once (one History window per update, as JaxMARL logs):
    ``((compile wall s, compile CPU s), run(seed) -> return per update summed over agents, env steps per run)``."""
    from marlkit.envs import make
    from marlkit.train import deep

    per_update = PUBLISHED["NUM_ENVS"] * PUBLISHED["NUM_STEPS"]
    updates = steps // per_update
    run = compile_marlkit(make("simple_spread"), marlkit_ippo(updates), updates * per_update, per_update)

    def one(seed: int) -> np.ndarray:
        plan = run.plan_for(max(seed, 0))
        state = jax.block_until_ready(deep.start(plan))
        _, records = jax.block_until_ready(run.compiled(state))
        return deep.to_history(plan, records).episode_return[0].sum(axis=-1)  # [T], summed over agents

    return (run.compile_s, run.compile_cpu_s), one, run.env_steps


def smoothed(curve: np.ndarray, width: int = SMOOTH) -> np.ndarray:
    """Trailing moving mean over ``width`` points of each row of ``curve [seeds, points]`` (NaN before that)."""
    out = np.full(curve.shape, np.nan)
    kernel = np.ones(width) / width
    for row, values in zip(out, curve, strict=True):
        row[width - 1 :] = np.convolve(values, kernel, mode="valid")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    harness.add_arguments(parser, rounds=1)
    parser.add_argument("--jaxmarl-ippo", type=Path, default=None, help="path of JaxMARL's ippo_ff_mpe.py")
    parser.add_argument("--steps", type=int, default=None, help="env steps per run (1,000,000; quick: 131,072)")
    parser.add_argument("--threshold", type=float, default=-75.0, help="return (summed over agents) to reach")
    parser.add_argument("--check-reward", action="store_true", help="compare the two envs' rewards step by step")
    parser.add_argument("--save", type=Path, default=None, help="write the learning curves to this .npz file")
    args = parser.parse_args()
    steps = args.steps or (131_072 if args.quick else 1_000_000)
    report = harness.Report("train", harness.command_line())
    if args.check_reward:
        reward, obs, pos, collided = check_reward()
        report.note(
            f"simple spread, marlkit vs JaxMARL from the same states: max |diff| reward {reward:.1e}, "
            f"observation {obs:.1e}, position {pos:.1e} (200 random steps, {collided} with a collision)"
        )
    seeds = args.rounds  # round r runs seed r of each peer: marlkit, jaxmarl, marlkit, jaxmarl, ...
    prepared = {"marlkit": prepare_marlkit(steps)}
    if args.jaxmarl_ippo is not None:
        prepared["jaxmarl"] = prepare_jaxmarl(args.jaxmarl_ippo, steps, seeds)
    else:
        report.note(JAXMARL_SCRIPT_HELP + " marlkit is timed alone.")
    compile_s = {name: {"wall": round(p[0][0], 2), "cpu": round(p[0][1], 2)} for name, p in prepared.items()}
    report.note(
        "compile seconds, not counted below (marlkit: its start and update programs; JaxMARL: its one program, "
        f"network initialisation included): {compile_s}"
    )
    if "jaxmarl" in compile_s:  # one compile each (not interleaved rounds): a row, so the README lists it
        once = {name: harness.Timing(name, [t["wall"]], [t["cpu"]]) for name, t in compile_s.items()}
        report.compare(
            "IPPO compile (marlkit: start + update programs; JaxMARL: one program)",
            once["marlkit"],
            once["jaxmarl"],
            "jaxmarl",
            unit="compile",
        )
    curves: dict[str, list[np.ndarray]] = {name: [] for name in prepared}

    def runner(name: str) -> Callable[[int], None]:
        def run(r: int) -> None:
            curve = prepared[name][1](r)
            if r >= 0:
                curves[name].append(curve)

        return run

    timings = harness.interleave({name: runner(name) for name in prepared}, seeds, warmup=False)
    ours = timings["marlkit"]
    report.compare(
        f"IPPO simple spread, {steps:,} env steps x {seeds} seed(s)",
        ours,
        timings.get("jaxmarl"),
        "jaxmarl",
        unit="env-step",
        per=prepared["marlkit"][2],
        peer_per=prepared["jaxmarl"][2] if "jaxmarl" in prepared else None,
        compile_s=compile_s,
        **({} if "jaxmarl" in prepared else {"skipped": "JaxMARL's IPPO script not given (--jaxmarl-ippo)"}),
    )
    per_update = PUBLISHED["NUM_ENVS"] * PUBLISHED["NUM_STEPS"]
    for name, rows in curves.items():
        curve = np.stack(rows)
        final = float(np.mean([np.nanmean(c[-SMOOTH:]) for c in curve]))
        steps_axis = per_update * np.arange(1, curve.shape[1] + 1)
        mean = smoothed(curve).mean(axis=0)
        reached = np.flatnonzero(mean >= args.threshold)
        to_thr = float(steps_axis[reached[0]]) if reached.size else float("nan")
        report.note(
            f"{name}: return (summed over agents, mean of the last {SMOOTH} updates, mean over seeds) {final:.1f}; "
            f"env steps to {args.threshold} on the {SMOOTH}-update moving mean: {to_thr:,.0f}"
        )
        if args.save is not None:
            np.savez(args.save.with_name(f"{args.save.stem}_{name}.npz"), curve=curve, steps=steps_axis)
    report.note(
        "BenchMARL is not measured here (it needs torch and VMAS); no ratio to it is claimed. Parameter sharing: "
        "python bench/sharing.py"
    )
    report.finish(args.json)


if __name__ == "__main__":
    main()
