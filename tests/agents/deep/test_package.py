"""The curated surface of ``marlkit.agents.deep``: the learners, loaded on first use."""

from __future__ import annotations

import subprocess
import sys

import marlkit.agents.deep as deep
from marlkit.agents.deep.adversarial import ATLAIPPO, ATLAMAPPO, AdversarialTraining
from marlkit.agents.deep.coma import COMA
from marlkit.agents.deep.ppo import IPPO, MAPPO
from marlkit.agents.deep.ppo_lagrangian import IPPOLagrangian, MAPPOLagrangian
from marlkit.agents.deep.value_based import IDQN, QMIX, VDN


def test_the_package_exports_the_deep_learners():
    assert (deep.IPPO, deep.MAPPO, deep.IDQN, deep.VDN, deep.QMIX, deep.COMA) == (IPPO, MAPPO, IDQN, VDN, QMIX, COMA)
    assert (deep.IPPOLagrangian, deep.MAPPOLagrangian) == (IPPOLagrangian, MAPPOLagrangian)
    assert (deep.ATLAMAPPO, deep.ATLAIPPO, deep.AdversarialTraining) == (ATLAMAPPO, ATLAIPPO, AdversarialTraining)
    learners = ["COMA", "IDQN", "IPPO", "IPPOLagrangian", "MAPPO", "MAPPOLagrangian", "QMIX", "VDN"]
    assert sorted(deep.__all__) == sorted([*learners, "ATLAIPPO", "ATLAMAPPO", "AdversarialTraining"])
    assert set(deep.__all__) <= set(dir(deep))


def test_importing_the_package_imports_no_network_library():
    code = (
        "import sys, marlkit.agents.deep\n"
        "heavy = sorted(m for m in ('flax', 'optax', 'jax') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
        "marlkit.agents.deep.QMIX\n"
        "assert 'flax' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
