"""The mutation score per module, from the results `mutmut run` left in mutants/.

`make mutate` prints this after each run; the table goes to docs/reliability.md
("Mutation testing"). A mutant that made the tests fail or time out counts as killed;
one no selected test runs ("no tests") counts against the module, as a survivor does.

    .venv/bin/python bench/mutation_scores.py [--survivors] [MODULE ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants" / "mocksrv"
DETECTED = ("killed", "timeout", "caught by type check")


def results(module: str) -> dict[str, str]:
    """Each mutant of ``module`` and its status (``killed``, ``survived``, ``no tests`` …)."""
    meta = MUTANTS / f"{module.replace('.', '/')}.py.meta"
    if not meta.exists():
        return {}
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {name: status_by_exit_code[code] for name, code in codes.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", help="e.g. state.store (default: every mutated module)")
    parser.add_argument("--survivors", action="store_true", help="list the mutants not killed")
    args = parser.parse_args(argv)
    modules = args.modules or sorted(str(p.relative_to(MUTANTS)).removesuffix(".py.meta").replace("/", ".")
                                     for p in MUTANTS.rglob("*.py.meta"))
    print("| module | killed | survived | no tests | total | killed % |")
    print("|---|---|---|---|---|---|")
    missing: list[tuple[str, str]] = []
    for module in modules:
        statuses = results(module)
        counts = Counter(statuses.values())
        total = len(statuses)
        killed = sum(counts[s] for s in DETECTED)
        checked = total - counts["not checked"]
        share = f"{100 * killed / total:.1f}" if total else "—"
        note = "" if checked == total else f" ({total - checked} not run yet)"
        print(f"| {module} | {killed} | {counts['survived']} | {counts['no tests']} | {total} | {share}{note} |")
        missing.extend((name, status) for name, status in sorted(statuses.items()) if status not in DETECTED)
    if args.survivors and missing:
        print()
        print("\n".join(f"{name}: {status}" for name, status in missing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
