"""Policy files of deep runs (issue 17, item 1) and the evaluation protocol on them (item 2): an exported then loaded
policy acts exactly as the learner it came from; episode returns and costs match an independent host-side replay;
every bad file is one clear error. (Seeds, play-against and cross-play of this team: tests/cli/test_eval_cli.py,
which compiles those programs once; their exact values on a matrix game: test_tabular_policies.py.)

All on the session's trained IPPO team (``small_spread_run``, tests/conftest.py).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import marlkit
from marlkit.agents.deep.base import Observation
from marlkit.agents.deep.registry import DEEP_LEARNERS, make_deep_learner
from marlkit.envs.registry import make
from marlkit.errors import PolicyFileError
from marlkit.experiment.runner import load_trained
from marlkit.policies.evaluate import evaluate_policy
from marlkit.policies.files import MAGIC, load_policy, policy_from_learner, save_policy
from marlkit.policies.spec import EnvRef
from marlkit.train.evaluate import deployed, episode_keys


@pytest.fixture(scope="module")
def trained(small_spread_run):
    return load_trained(small_spread_run)


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("policies") / "spread.mkp"
    assert marlkit.export_policy(trained, path, seed=1) == path
    return path


def observations(env, n_envs: int = 8, seed: int = 5) -> Observation:
    """Observations of ``n_envs`` envs three random steps into their episodes (compiled: eager MPE steps are slow)."""

    @jax.jit
    def run(key: jax.Array) -> Observation:
        k_reset, k_act, k_env = jax.random.split(key, 3)
        obs, state = jax.vmap(env.reset)(jax.random.split(k_reset, n_envs))
        for t in range(3):
            actions = jax.random.randint(jax.random.fold_in(k_act, t), (n_envs, env.spec.n_agents), 0, 5)
            keys = jax.random.split(jax.random.fold_in(k_env, t), n_envs)
            obs, state, _, _, _ = jax.vmap(env.step)(keys, state, actions)
        info = jax.vmap(env.state_info)(state)
        return Observation(obs, info["action_mask"], info["global_state"], jnp.zeros(n_envs, bool))

    return run(jax.random.key(seed))


def test_loaded_policy_acts_exactly_as_the_learner(trained, exported: Path) -> None:
    policy = marlkit.load_policy(exported)
    learner = trained.plan.learner
    state = jax.tree.map(lambda x: x[1], trained.state.carry.learner)
    observation = observations(trained.plan.env)
    key = jax.random.key(3)
    out = policy(observation, key)
    # bit for bit: the stored float32 leaves are the learner's, and the actor is the learner rebuilt from its
    # hyper-parameters
    probs = jax.jit(learner.policy)(state, observation, ())
    np.testing.assert_array_equal(np.asarray(out.probs), np.asarray(probs))
    actions, _, _ = jax.jit(learner.act)(key, state, observation, ())
    np.testing.assert_array_equal(np.asarray(out.actions), np.asarray(actions))
    assert policy.actor == learner
    # greedy, on a raw observation of one env (no batch axis in, none out): the argmax of the same probabilities
    single = policy.greedy()(np.asarray(observation.obs[0]), key)
    assert single.actions.shape == (2,)
    np.testing.assert_array_equal(np.asarray(single.probs), np.asarray(out.probs[0]))
    np.testing.assert_array_equal(np.asarray(single.actions), np.asarray(out.probs[0]).argmax(-1))


def test_header_describes_the_policy(trained, exported: Path) -> None:
    policy = load_policy(exported)
    assert policy.kind == "deep" and policy.learner == "ippo" and policy.version == marlkit.__version__
    assert policy.sharing["set_of"] == [0, 0] and policy.sharing["agent_id"]  # homogeneous spread: one network
    assert policy.sharing["reason"] == trained.history.meta["sharing"]["reason"]  # why the trainer chose it
    assert "homogeneous" in policy.sharing["reason"]
    assert policy.env.name == "simple_spread" and policy.env.params["n_agents"] == 2
    assert policy.spec == trained.plan.env.spec
    assert policy.header["source"]["seed_index"] == 1
    # only what the actor reads is stored: the actor's parameters, not the critic or Adam's moments
    stored = policy.header["payload"]["leaves"]
    assert 0 < len(stored) < policy.header["payload"]["num_leaves"]
    assert exported.read_bytes().startswith(MAGIC)


def _rewrite_header(data: bytes, change) -> bytes:
    (length,) = struct.unpack_from("<Q", data, len(MAGIC))
    start = len(MAGIC) + 8
    header = json.loads(data[start : start + length])
    change(header)
    text = json.dumps(header).encode()
    return MAGIC + struct.pack("<Q", len(text)) + text + data[start + length :]


def test_bad_policy_files_are_one_clear_error(exported: Path, tmp_path: Path) -> None:
    data = exported.read_bytes()
    cases = {
        "truncated": (data[: len(data) - 10], "truncated"),
        "cut-header": (data[:40], "truncated"),
        "foreign": (b"PK\x03\x04 a zip, not a policy", "not a marlkit policy file"),
        "version": (_rewrite_header(data, lambda h: h.update(format_version=99)), "format version 99"),
        "digest": (data[:-1] + bytes([data[-1] ^ 1]), "SHA-256"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name}.mkp"
        path.write_bytes(content)
        with pytest.raises(PolicyFileError, match=message):
            load_policy(path)
    with pytest.raises(PolicyFileError, match="no such policy file"):
        load_policy(tmp_path / "missing.mkp")


def _with_header_text(data: bytes, text: bytes) -> bytes:
    """``data`` with its header replaced by the raw bytes ``text`` (parameters kept)."""
    (length,) = struct.unpack_from("<Q", data, len(MAGIC))
    start = len(MAGIC) + 8
    return MAGIC + struct.pack("<Q", len(text)) + text + data[start + length :]


def test_hostile_policy_headers_are_one_clear_line(
    exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Strict reading of the header (marlkit.strict): exact types, unknown and duplicate keys, nesting, file size."""
    data = exported.read_bytes()
    (length,) = struct.unpack_from("<Q", data, len(MAGIC))
    text = data[16 : 16 + length]
    cases = {
        "string for a number": (
            _rewrite_header(data, lambda h: h.update(params_bytes=str(h["params_bytes"]))),
            "header.params_bytes: expected a whole number, got string",
        ),
        "boolean num_envs": (
            _rewrite_header(data, lambda h: h.update(num_envs=True)),
            "header.num_envs: expected a whole number, got boolean true",
        ),
        "unknown key": (
            _rewrite_header(data, lambda h: h.update(lable="x")),
            r"header.lable: unknown field \(did you mean 'label'\?\)",
        ),
        "duplicate key": (
            _with_header_text(data, text.replace(b"{", b'{"kind": "table", ', 1)),
            "corrupt policy file: duplicate key 'kind'",
        ),
        "deep": (
            _rewrite_header(data, lambda h: h["source"].update(deep=json.loads("[" * 200 + "]" * 200))),
            "corrupt policy file: its header is nested too deeply",
        ),
        "list learner": (
            _rewrite_header(data, lambda h: h.update(learner=["ippo"])),
            "header.learner: expected an object, got list",
        ),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name}.mkp"
        path.write_bytes(content)
        with pytest.raises(PolicyFileError, match=message) as info:
            load_policy(path)
        assert "\n" not in str(info.value) and len(str(info.value)) < 400, name
    monkeypatch.setenv("MARLKIT_MAX_FILE_BYTES", "1000")
    with pytest.raises(PolicyFileError, match=r"bytes is larger than the limit of 1,000"):
        load_policy(exported)


def test_a_policy_on_another_env_names_both(exported: Path) -> None:
    policy = load_policy(exported)
    with pytest.raises(PolicyFileError, match=r"trained on simple_spread .*agent_0, agent_1.* simple_tag"):
        policy.check_env(make("simple_tag"))
    with pytest.raises(PolicyFileError, match="agent_2"):
        evaluate_policy(policy, make("simple_spread", n_agents=3), episodes=4)


def test_returns_and_costs_match_a_host_replay(exported: Path) -> None:
    """Oracle: an independent host-side loop over the same episode keys (greedy, so no acting key is drawn) that
    steps the constrained task one step at a time and sums rewards and costs up to the first done."""
    policy = load_policy(exported, mode="greedy")
    env = make("constrained_spread", n_agents=2, max_episode_steps=10)
    episodes = 4
    result = evaluate_policy(policy, env, episodes=episodes, seed=11)
    assert any("constrained_spread" in note for note in result.notes)  # trained on simple_spread, said so
    row = result.rows[0]
    assert row.costs is not None and row.costs.shape == (episodes, 2, 1)
    keys = episode_keys(11, episodes, env.spec.max_episode_steps)
    reset, step, state_info = jax.jit(env.reset), jax.jit(env.step), jax.jit(env.state_info)
    for e in range(episodes):
        obs, state = reset(keys.reset[e])
        info = state_info(state)
        total, cost = np.zeros(2), np.zeros((2, 1))
        for t in range(env.spec.max_episode_steps):
            out = policy(policy.observe(obs, info, first=t == 0), keys.act[t])
            obs, state, reward, done, info = step(keys.env[t, e], state, out.actions[0])
            total += np.asarray(reward)
            cost += np.asarray(info["cost"])
            if bool(done):
                break
        np.testing.assert_allclose(row.returns[e], total, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(row.costs[e], cost, atol=1e-6)


def random_state(learner, spec, num_envs: int, seed: int):
    """A learner state of the right structure (``init``'s, traced only) with random float leaves and large counters
    (a value-based learner's exploration then sits at its floor, so its probabilities are not uniform). NumPy draws
    the values: one compiled PRNG program per leaf shape would cost seconds."""
    shapes = jax.eval_shape(lambda k: learner.init(k, spec, num_envs), jax.random.key(0))
    leaves, treedef = jax.tree_util.tree_flatten(shapes)
    rng = np.random.default_rng(seed)
    values = [
        jnp.asarray(rng.standard_normal(leaf.shape), leaf.dtype)
        if jnp.issubdtype(leaf.dtype, jnp.floating)
        else jnp.full(leaf.shape, 10**6, leaf.dtype)
        for leaf in leaves
    ]
    return jax.tree_util.tree_unflatten(treedef, values)


SMALL = {"hidden": (8,)}
SETTINGS = {  # small but valid settings: value-based learners need a batch that fits their (tiny) replay buffer
    "qmix": {**SMALL, "buffer_size": 64, "batch_size": 8},
    "vdn": {**SMALL, "buffer_size": 64, "batch_size": 8},
    "idqn": {**SMALL, "buffer_size": 64, "batch_size": 8},
    "mappo_lagrangian": {**SMALL, "cost_limit": 1.0},
    "ippo_lagrangian": {**SMALL, "cost_limit": 1.0},
    "atla_mappo": {"inner": SMALL},
    "atla_ippo": {"inner": SMALL},
}


@pytest.mark.parametrize(
    ("name", "params"),
    [(name, SETTINGS.get(name, SMALL)) for name in DEEP_LEARNERS.names()] + [("ippo", {**SMALL, "recurrent": True})],
)
def test_other_learners_round_trip(name: str, params: dict, tmp_path: Path) -> None:
    """The same round trip for every registered deep learner and recurrent memory (a random state suffices: the
    file must give back what the policy reads, whatever its values): value-based learners (ε-greedy over Q; their
    mixers, targets and replay are not stored), the Lagrangian learners (cost critics, multipliers), ATLA (the team
    it deploys, without its adversaries)."""
    env_params = {"n_agents": 2, "max_episode_steps": 5}
    env = make("constrained_spread", **env_params)
    spec = env.spec
    learner = make_deep_learner(name, **params)
    state = random_state(learner, spec, 4, 1)
    policy = policy_from_learner(learner, state, env, EnvRef("constrained_spread", env_params), num_envs=4)
    loaded = load_policy(save_policy(policy, tmp_path / f"{name}.mkp"))
    actor, actor_state = deployed(learner, state)  # ATLA: its team; every other learner: itself
    assert loaded.actor == actor and loaded.learner == name.removeprefix("atla_")
    assert loaded.make_env().spec == spec
    obs = jnp.asarray(np.random.default_rng(2).standard_normal((4, 2, *spec.obs_shape)), jnp.float32)
    observation = Observation(obs, jnp.ones((4, 2, spec.max_actions), bool), jnp.zeros((4, spec.global_state_size)),
                              jnp.ones(4, bool))  # fmt: skip
    probs = jax.jit(actor.policy)
    expected = np.asarray(probs(actor_state, observation, actor.initial_memory(spec, 4)))
    np.testing.assert_array_equal(np.asarray(probs(loaded.params, observation, loaded.initial_memory(4))), expected)
    assert expected.std() > 0.01  # not a uniform policy: the check compares what the parameters say


@pytest.mark.parametrize("name", ["ippo", "mappo"])
def test_gaussian_policies_round_trip(name: str, tmp_path: Path) -> None:
    """Continuous (Box) actions: the file keeps the action bounds, the loaded Gaussian head gives the learner's
    mean and std, and greedy mode acts by the mean (stochastic mode samples as ``learner.act``)."""
    env_params = {"n_agents": 2, "max_episode_steps": 5, "continuous_actions": True}
    env = make("simple_spread", **env_params)
    spec = env.spec
    learner = make_deep_learner(name, **SMALL)
    state = random_state(learner, spec, 4, 3)
    policy = policy_from_learner(learner, state, env, EnvRef("simple_spread", env_params), num_envs=4)
    loaded = load_policy(save_policy(policy, tmp_path / f"{name}.mkp"))
    assert loaded.make_env().spec == spec and loaded.spec.continuous
    obs = jnp.asarray(np.random.default_rng(4).standard_normal((4, 2, *spec.obs_shape)), jnp.float32)
    observation = loaded.observe(obs, {"action_mask": jnp.ones((4, 2, spec.max_actions), bool)}, first=True)
    expected = np.asarray(jax.jit(learner.policy)(state, observation, ()))
    assert expected.shape == (4, 2, 2, spec.max_actions)  # [E, n, (mean, std), D]
    np.testing.assert_array_equal(np.asarray(loaded.probs(observation)), expected)
    greedy = loaded.greedy()(observation, jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(greedy.actions), expected[:, :, 0, :])
    sampled = loaded(observation, jax.random.key(1)).actions
    actions, _, _ = jax.jit(learner.act)(jax.random.key(1), state, observation, ())
    np.testing.assert_array_equal(np.asarray(sampled), np.asarray(actions))


def test_a_centralised_policy_refuses_an_env_with_another_global_state(tmp_path: Path) -> None:
    """Same agents, observations and actions (lbf on an 8x8 and a 10x10 grid) but another global state: MAPPO's
    critic reads it, so the policy cannot act there — one line, not a flax shape error mid-evaluation."""
    env = make("lbf")
    learner = make_deep_learner("mappo", **SMALL)
    policy = policy_from_learner(learner, random_state(learner, env.spec, 4, 5), env, EnvRef("lbf", {}), num_envs=4)
    loaded = load_policy(save_policy(policy, tmp_path / "lbf.mkp"))
    loaded.check_env(make("lbf"))  # its own env: fine
    other = make("lbf", grid_size=10)
    assert other.spec.obs_shape == env.spec.obs_shape and other.spec.global_state_size != env.spec.global_state_size
    with pytest.raises(PolicyFileError, match=r"cannot act on lbf.*global state \(\d+,\).*trained on .*global state"):
        loaded.check_env(other)


def test_fixed_policies_refuse_box_actions() -> None:
    from marlkit.errors import NotApplicableError
    from marlkit.policies.partners import fixed_player

    spec = make("simple_spread", n_agents=2, continuous_actions=True).spec
    with pytest.raises(NotApplicableError, match=r"fixed policies pick discrete actions; .* continuous"):
        fixed_player("fixed:uniform", spec, (1,))
