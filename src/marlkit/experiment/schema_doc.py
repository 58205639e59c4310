"""The key tables of ``docs/experiments.md``, generated from the config's declarations.

Each table sits in the document between ``<!-- schema: NAME -->`` and ``<!-- /schema -->``;
``tests/experiment/test_schema_doc.py`` fails when a table there differs from :func:`tables`, and

    python -m marlkit.experiment.schema_doc docs/experiments.md

rewrites them in place.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from marlkit.experiment.config import (
    AdversaryConfig,
    BackdoorConfig,
    ConstraintsConfig,
    DeepRun,
    EnvConfig,
    GameConfig,
    LearnerConfig,
    PartnerConfig,
    RewardConfig,
    Run,
    TabularRun,
)
from marlkit.experiment.params import FORMS
from marlkit.schema import default_text, rows, rules_of, settable, table

BLOCK = re.compile(r"(<!-- schema: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- /schema -->)", re.S)


def _learner_tables(deep: bool) -> str:
    """One table per learner class (class defaults; the registry's entries may override them)."""
    from marlkit.agents.deep.registry import DEEP_LEARNERS, deep_learner_class
    from marlkit.agents.tabular import registry
    from marlkit.games.catalog import make

    if deep:
        classes = {name: deep_learner_class(name) for name in DEEP_LEARNERS}
    else:
        games = {"replicator": "rock-paper-scissors"}
        classes = {
            name: type(registry.make_learner(name, make(games.get(name, "matching-pennies"))))
            for name in registry.LEARNERS
        }
    names: dict[type, list[str]] = {}
    for name, cls in classes.items():
        names.setdefault(cls, []).append(name)
    parts = [
        f"`{cls.__name__}` ({', '.join(f'`{n}`' for n in listed)}):\n\n{table(cls, '', FORMS)}"
        for cls, listed in names.items()
    ]
    return "\n".join(parts)


def _forms() -> str:
    lines = ["| value | fields (default) |", "|---|---|"]
    for form in FORMS.values():
        for tag, cls in form.tags.items():
            fields = []
            for name, (f, _) in settable(cls, FORMS).items():
                fields.append(f"`{name}` ({default_text(f, FORMS)}): {rules_of(f).doc}")
            lines.append(f"| `{{type: {tag}}}` ({form.description}) | {'; '.join(fields) or 'none'} |")
    return "\n".join(lines) + "\n"


def tables() -> dict[str, str]:
    """Every generated table by its block name."""
    base = {name for name in settable(Run)}
    deep = [row for row in rows(DeepRun) if row[0].strip("`").split(".")[0] not in base]
    out = {
        "run": table(TabularRun),
        "game": table(GameConfig, "game"),
        "learner": table(LearnerConfig, "learners"),
        "deep": "\n".join(table(DeepRun).splitlines()[:2] + [f"| {' | '.join(row)} |" for row in deep]) + "\n",
        "env": table(EnvConfig, "env") + "\n" + table(RewardConfig, "reward"),
        "schedules": _forms(),
        "constraints": table(ConstraintsConfig, "constraints"),
        "adversary": table(AdversaryConfig, "adversary"),
        "backdoor": table(BackdoorConfig, "backdoor"),
        "partner": table(PartnerConfig, "partner"),
    }
    out["learners-tabular"] = _learner_tables(deep=False)
    out["learners-deep"] = _learner_tables(deep=True)
    return out


def render(text: str) -> str:
    """``text`` with every schema block replaced by its generated table."""
    generated = tables()
    return BLOCK.sub(lambda m: m.group(1) + generated[m.group("name")] + m.group(4), text)


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "docs/experiments.md")
    path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
