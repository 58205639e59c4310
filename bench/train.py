"""Benchmark: IPPO on MPE simple spread, marlkit's compiled trainer vs JaxMARL's IPPO baseline, same hyper-parameters.

Task: simple spread, 3 agents and 3 landmarks, 25-step episodes with auto-reset. Learner: IPPO (de Witt et al.
2020) with JaxMARL's published MPE hyper-parameters (``baselines/IPPO/config/ippo_ff_mpe.yaml``: 16 envs x 128
steps per update, 4 epochs x 4 minibatches, 64-unit tanh layers, LR 2.5e-4 annealed to 0, gamma 0.99, GAE lambda
0.95, clip 0.2, entropy 0.01, value 0.5, grad norm 0.5), one parameter set shared by all agents and no agent id
(JaxMARL's single ``ActorCritic``). One *env step* is one joint step of one environment (an update is 16 x 128 =
2,048 env steps), the unit of the issue's "20.8 s per million env steps".

Compared, side by side in one process:

* ``marlkit``: what ``marlkit.train.deep.train(env, IPPO(...), steps, num_envs=16, seeds=1)`` runs (``prepare``,
  ``start``, ``advance``; env + learner in one ``jax.jit``), compiled once ahead of time so that compile and run
  are timed apart, with one History window per update (as JaxMARL logs every update);
* ``jaxmarl``: JaxMARL's own ``make_train`` from ``baselines/IPPO/ippo_ff_mpe.py`` (not part of its wheel: fetch
  that file from github.com/FLAIROx/JaxMARL and pass its path with ``--jaxmarl-ippo PATH``; JaxMARL itself must be
  importable, e.g. ``pip install --no-deps --target /tmp/jm jaxmarl jaxtyping chex gymnax safetensors
  wadler_lindig toolz six`` and ``PYTHONPATH=/tmp/jm``). Its script imports ``distrax``, ``hydra``, ``omegaconf`` and
  ``wandb``; those missing here are replaced by stand-ins before it is loaded: a categorical distribution with the
  same ``sample`` / ``log_prob`` / ``entropy`` (sampling by ``jax.random.categorical``, as distrax does), and
  no-op ``hydra.main`` / ``wandb.log`` (its per-update ``io_callback`` to ``wandb.log`` stays, it is part of its
  loop; with wandb disabled it does nothing either). Without ``--jaxmarl-ippo`` the figures measured for issue 8
  on this machine are printed, labelled "reference, not measured in this run".

Measured: compile time (``jit(...).lower(...).compile()``, not counted in the run time), wall time per million env
steps (each seed's compiled run timed on its own), env-steps/s, and the learning curve. **Return**: JaxMARL's
logged ``returned_episode_returns`` — its ``MPELogWrapper`` multiplies every agent's reward by the number of agents
("as per on-policy codebase"), so the logged per-agent return, averaged over agents, equals the *sum over agents*
of the episode's returns; its per-update figure is that averaged over the 16 x 128 steps of the update (the last
finished episode of each env, 0 before an env's first episode ends). marlkit's ``History.episode_return [N, T,
n]`` is per agent (the mean return of the episodes that finished in the window), so the comparable figure is its sum
over agents. Printed for both: the mean of the last 10 updates, averaged over seeds. *Time to a return threshold*:
the first update at which the seed-mean return, smoothed over 10 updates, reaches ``--threshold``, converted to
seconds as that share of the run's wall time (a compiled run cannot be clocked half-way).

The rewards are the same: marlkit's simple spread and JaxMARL's ``MPE_simple_spread_v3`` both give
``r_i = 0.5 G - 0.5 C_i`` (coverage ``G``, agent i's collisions ``C_i``), checked here by stepping both from the
same state with the same actions (``--check-reward``).

Also printed: the issue's BenchMARL figure (1.5.2, MAPPO on VMAS navigation, 433 frames/s — a reference measured by
whoever filed issue 8; BenchMARL needs torch and is not installed here) and marlkit's ratio to it; and the cost of
parameter sharing ("full" vs "none") as the number of agents grows (``bench/sharing.py``).

Wall times are only comparable between rows of one invocation, and only on an otherwise idle machine: on a shared
one, the CPU-time column (this process's CPU seconds) is steadier, but contention inflates it too.

Run: ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false PYTHONPATH=/tmp/jm python bench/train.py --jaxmarl-ippo
/tmp/jmippo/ippo_ff_mpe.py [--steps 1000000] [--seeds 3]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import jax
import jax.experimental  # JaxMARL's script reaches io_callback as jax.experimental.io_callback
import jax.numpy as jnp
import numpy as np

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
REFERENCE = {
    "jaxmarl_s_per_million": 20.8,  # issue 8 text
    "benchmarl_frames_per_s": 433.0,  # issue 8 text: BenchMARL 1.5.2 MAPPO on VMAS navigation
    # this script, 2026-11-24, 999,424 env steps, seeds split(PRNGKey(30), 3): mean of the last 10 updates' logged
    # return (summed over agents), averaged over the 3 seeds (-76.0, -63.5, -75.3)
    "jaxmarl_return_1m": -71.6,
}
SMOOTH = 10  # updates in the moving mean a return threshold is read from


class PeerRun(NamedTuple):
    """One learner's figures: compile seconds, run seconds per seed (wall clock and this process's CPU time), env
    steps per run, final return per seed, and the learning curve ``[seeds, points]`` against env steps
    ``[points]`` (return summed over agents)."""

    compile_s: float
    run_s: list[float]
    cpu_s: list[float]
    env_steps: int
    final_return: list[float]
    curve_steps: np.ndarray
    curve: np.ndarray


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """``(fn(), wall seconds, CPU seconds of this process)``, waiting for JAX's asynchronous results."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = jax.block_until_ready(fn())
    return out, time.perf_counter() - wall, time.process_time() - cpu


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
    """Import JaxMARL's ``ippo_ff_mpe.py`` from ``path`` (stand-ins for its missing logging/config imports)."""
    sys.modules.update(_stand_ins())
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


def run_jaxmarl(path: Path, steps: int, seeds: int) -> PeerRun:
    """Compile JaxMARL's ``make_train`` once, run it per seed; its logged return per update."""
    module = load_jaxmarl_ippo(path)
    config = published_config(path, steps)
    train = module.make_train(config)
    keys = jax.random.split(jax.random.PRNGKey(SEED), seeds)
    start = time.perf_counter()
    compiled = jax.jit(train).lower(keys[0]).compile()
    compile_s = time.perf_counter() - start
    per_update = config["NUM_ENVS"] * config["NUM_STEPS"]
    updates = config["NUM_UPDATES"]
    run_s, cpu_s, curves = [], [], []
    for key in keys:
        (out,), wall, cpu = timed(lambda k=key: (compiled(k),))
        run_s.append(wall)
        cpu_s.append(cpu)
        curves.append(np.asarray(out["metrics"]["returned_episode_returns"]))
    curve = np.stack(curves)
    return PeerRun(
        compile_s,
        run_s,
        cpu_s,
        int(updates * per_update),
        [float(c[-1]) for c in curve],
        per_update * np.arange(1, int(updates) + 1),
        curve,
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
    serves them all)."""

    compiled: Any
    compile_s: float
    plan_for: Callable[[int], Any]
    env_steps: int


def compile_marlkit(env: Any, learner: Any, steps: int, log_every: int) -> CompiledRun:
    """Compile marlkit's trainer for one seed of ``steps`` env steps (a multiple of ``log_every``)."""
    from marlkit.train import deep

    def plan_for(seed: int) -> Any:
        return deep.prepare(env, learner, steps, [seed], 0, log_every, num_envs=PUBLISHED["NUM_ENVS"])

    first = plan_for(0)
    run = jax.jit(lambda state: deep.advance(first, state, 0, first.num_logs))
    begin = time.perf_counter()
    compiled = run.lower(deep.start(first)).compile()
    return CompiledRun(compiled, time.perf_counter() - begin, plan_for, steps)


def deep_bench_arguments(description: str) -> argparse.Namespace:
    """The command line of the deep-learner ratio benches (``--agents``, ``--updates``, ``--rounds``), and the
    machine line they print first (platform, CPU, cores, load average, JAX device)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--updates", type=int, default=8, help="updates per timed run (16 x 128 env steps each)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    args = parser.parse_args()
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()}; jax {jax.__version__} on {jax.devices()[0]}"
    )
    return args


def interleaved_rates(
    runs: dict[str, tuple[Any, Any]], steps: int, rounds: int, baseline: str
) -> dict[str, tuple[float, float]]:
    """Compile every ``name -> (learner, env)`` run of ``steps`` env steps (one seed), time them interleaved (round
    r times every run once, so a load change on a shared machine hits all alike), print each run's best and median
    env-steps/s by wall clock and by this process's CPU time, and return each run's ``(CPU, wall)`` median time
    relative to ``baseline``."""
    compiled, states = {}, {}
    for name, (learner, env) in runs.items():
        run = compile_marlkit(env, learner, steps, steps)
        compiled[name], states[name] = run, jax.block_until_ready(run.plan_for(0).start())
        run.compiled(states[name])  # warm-up (first-call allocations)
        print(f"compiled {name} in {run.compile_s:.1f} s", flush=True)
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in compiled.items():
            _, w, c = timed(lambda run=run, name=name: run.compiled(states[name]))  # type: ignore[misc]
            wall[name].append(w)
            cpu[name].append(c)
    width = max(14, *(len(name) + 1 for name in runs))
    print(f"\n{steps:,} env steps per timed run, {rounds} rounds")
    columns = f"{'steps/s wall best':>18} {'median':>9} {'cpu best':>9} {'median':>9} {'time x (cpu)':>13}"
    print(f"{'run':<{width}} {columns}")
    base_cpu, base_wall = np.median(cpu[baseline]), np.median(wall[baseline])
    for name in runs:
        ws, cs = np.asarray(wall[name]), np.asarray(cpu[name])
        print(
            f"{name:<{width}} {steps / ws.min():>18,.0f} {steps / np.median(ws):>9,.0f} {steps / cs.min():>9,.0f} "
            f"{steps / np.median(cs):>9,.0f} {np.median(cs) / base_cpu:>13.3f}"
        )
    return {name: (float(np.median(cpu[name]) / base_cpu), float(np.median(wall[name]) / base_wall)) for name in runs}


def run_marlkit(steps: int, seeds: int) -> PeerRun:
    """marlkit's IPPO on simple spread, compiled once (one History window per update, as JaxMARL logs), run per
    seed."""
    from marlkit.envs import make
    from marlkit.train import deep

    per_update = PUBLISHED["NUM_ENVS"] * PUBLISHED["NUM_STEPS"]
    updates = steps // per_update
    run = compile_marlkit(make("simple_spread"), marlkit_ippo(updates), updates * per_update, per_update)
    run_s, cpu_s, curves = [], [], []
    for seed in range(seeds):
        plan = run.plan_for(seed)
        state = jax.block_until_ready(deep.start(plan))
        (_, records), wall, cpu = timed(lambda s=state: run.compiled(s))
        run_s.append(wall)
        cpu_s.append(cpu)
        curves.append(deep.to_history(plan, records).episode_return[0].sum(axis=-1))  # [T], summed over agents
    curve = np.stack(curves)
    return PeerRun(
        run.compile_s,
        run_s,
        cpu_s,
        run.env_steps,
        [float(c[-1]) for c in curve],
        per_update * np.arange(1, updates + 1),
        curve,
    )


# ------------------------------------------------------------------------------------------------- report


def smoothed(curve: np.ndarray, width: int = SMOOTH) -> np.ndarray:
    """Trailing moving mean over ``width`` points of each row of ``curve [seeds, points]`` (NaN before that)."""
    out = np.full(curve.shape, np.nan)
    kernel = np.ones(width) / width
    for row, values in zip(out, curve, strict=True):
        row[width - 1 :] = np.convolve(values, kernel, mode="valid")
    return out


def steps_to(run: PeerRun, threshold: float) -> float:
    """Env steps until the seed-mean return, smoothed over :data:`SMOOTH` updates, first reaches ``threshold``."""
    mean = smoothed(run.curve).mean(axis=0)
    reached = np.flatnonzero(mean >= threshold)
    return float(run.curve_steps[reached[0]]) if reached.size else np.nan


def print_row(name: str, run: PeerRun, threshold: float, curves: dict[str, np.ndarray]) -> dict[str, float]:
    """One peer's line; returns its figures (best seed's run time: the machine may be shared); its curve and env
    steps go into ``curves``."""
    curves[f"{name}_return"], curves[f"{name}_steps"] = run.curve, run.curve_steps
    wall, cpu = min(run.run_s), min(run.cpu_s)
    to_threshold = steps_to(run, threshold)
    figures = {
        "s_per_m": wall / run.env_steps * 1e6,
        "cpu_s_per_m": cpu / run.env_steps * 1e6,
        "steps_per_s": run.env_steps / wall,
        "seconds_to_threshold": to_threshold / run.env_steps * wall,
    }
    final = np.mean([np.nanmean(c[-SMOOTH:]) for c in run.curve])
    print(
        f"{name:<9} {run.compile_s:>9.1f} {figures['s_per_m']:>9.1f} {figures['cpu_s_per_m']:>9.1f} "
        f"{figures['steps_per_s']:>11,.0f} {final:>10.1f} {to_threshold:>11,.0f} "
        f"{figures['seconds_to_threshold']:>8.1f}"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jaxmarl-ippo", type=Path, default=None, help="path of JaxMARL's ippo_ff_mpe.py")
    parser.add_argument("--steps", type=int, default=1_000_000, help="env steps per run (rounded down to updates)")
    parser.add_argument("--seeds", type=int, default=1, help="runs per peer (each timed on its own)")
    parser.add_argument("--threshold", type=float, default=-75.0, help="return (summed over agents) to reach")
    parser.add_argument("--check-reward", action="store_true", help="compare the two envs' rewards step by step")
    parser.add_argument("--skip-marlkit", action="store_true")
    parser.add_argument("--save", type=Path, default=None, help="write the learning curves to this .npz file")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}, {os.cpu_count()} cores, jax {jax.__version__} on {jax.devices()[0]}")
    print(f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")
    if args.check_reward:
        reward, obs, pos, collided = check_reward()
        print(
            f"simple spread, marlkit vs JaxMARL from the same states: max |diff| reward {reward:.1e}, "
            f"observation {obs:.1e}, position {pos:.1e} (200 random steps, {collided} with a collision)"
        )
    print(
        f"IPPO on simple spread, {args.steps:,} env steps x {args.seeds} seed(s); times: best seed; return: summed "
        f"over agents, mean of the last {SMOOTH} updates, mean over seeds; threshold {args.threshold} on the "
        f"{SMOOTH}-update moving mean (seconds to it: its share of the run's wall time)"
    )
    print(
        f"{'':<9} {'compile s':>9} {'s / M':>9} {'cpu s/M':>9} {'env-steps/s':>11} {'return':>10} "
        f"{'steps to thr':>11} {'s to thr':>8}"
    )
    peers, curves = {}, {}
    if args.jaxmarl_ippo is not None:
        peers["jaxmarl"] = print_row(
            "jaxmarl", run_jaxmarl(args.jaxmarl_ippo, args.steps, args.seeds), args.threshold, curves
        )
    else:
        peers["jaxmarl"] = {"s_per_m": REFERENCE["jaxmarl_s_per_million"]}
        print(
            f"{'jaxmarl':<9} {'-':>9} {REFERENCE['jaxmarl_s_per_million']:>9.1f} {'-':>9} "
            f"{1e6 / REFERENCE['jaxmarl_s_per_million']:>11,.0f} {REFERENCE['jaxmarl_return_1m']:>10.1f}   "
            "(reference, not measured in this run: issue 8's time, this script's 3-seed return at 1M steps)"
        )
    if not args.skip_marlkit:
        ours = peers["marlkit"] = print_row("marlkit", run_marlkit(args.steps, args.seeds), args.threshold, curves)
        theirs = peers["jaxmarl"]
        print(
            f"marlkit / jaxmarl wall time per env step: {ours['s_per_m'] / theirs['s_per_m']:.2f}x (target <= 0.5x)"
            + (f"; CPU time: {ours['cpu_s_per_m'] / theirs['cpu_s_per_m']:.2f}x" if "cpu_s_per_m" in theirs else "")
        )
        if "seconds_to_threshold" in theirs and np.isfinite(theirs["seconds_to_threshold"]):
            print(
                f"marlkit / jaxmarl wall time to return {args.threshold}: "
                f"{ours['seconds_to_threshold'] / theirs['seconds_to_threshold']:.2f}x"
            )
        benchmarl = REFERENCE["benchmarl_frames_per_s"]
        print(
            f"marlkit {ours['steps_per_s']:,.0f} env-steps/s vs BenchMARL {benchmarl:.0f} frames/s (reference: issue "
            f"8, BenchMARL 1.5.2 MAPPO on VMAS navigation, not measured here): {ours['steps_per_s'] / benchmarl:.0f}x "
            "(target >= 100x)"
        )
    if args.save is not None:
        np.savez(args.save, **curves)
    print(f"load average {os.getloadavg()}; parameter sharing: python bench/sharing.py")


if __name__ == "__main__":
    main()
