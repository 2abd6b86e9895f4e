"""The test environment is reproducible: constraints.txt pins what setup.cfg asks for.

A fresh machine runs ``make test``, which installs with ``-c constraints.txt``; a requirement
that setup.cfg gains without a pin, or a pin that setup.cfg's range no longer admits, would
make a fresh machine install something the suite never ran on (or fail to install at all).
"""
from __future__ import annotations

import configparser
import fnmatch
import re
import subprocess

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import ROOT


def declared_requirements() -> list[Requirement]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options"]["install_requires"].splitlines()
    for extra in ("test", "dev", "mutate"):
        lines += config["options.extras_require"][extra].splitlines()
    texts = (line.split("#")[0].strip() for line in lines)
    return [Requirement(text) for text in texts if text]


def pins() -> dict[str, str]:
    pinned: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        assert version, f"constraints.txt: {line!r} is not a name==version pin"
        pinned[canonicalize_name(name)] = version
    return pinned


def test_every_requirement_is_pinned_within_its_declared_range() -> None:
    pinned = pins()
    wrong = []
    for requirement in declared_requirements():
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None:
            wrong.append(f"{requirement.name}: not pinned")
        elif not requirement.specifier.contains(version, prereleases=True):
            wrong.append(f"{requirement.name}=={version} is outside {requirement.specifier}")
    assert not wrong, "run `make constraints`: " + "; ".join(wrong)


def test_the_project_itself_is_not_pinned() -> None:
    # a pin of mocksrv would make `pip install -c constraints.txt -e .` refuse the checkout's own version
    assert "mocksrv" not in pins()


def test_every_make_target_the_readme_names_parses() -> None:
    # a broken Makefile breaks both set-up commands on a fresh machine; `make -n` only reads it
    readme = (ROOT / "README.md").read_text()
    targets = sorted(set(re.findall(r"`make ([a-z][a-z-]*)", readme)))
    assert {"run", "test", "constraints", "screenshots"} <= set(targets)
    done = subprocess.run(["make", "-n", *targets], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr


def test_an_installed_package_carries_every_file_the_code_reads() -> None:
    # `pip install` from a checkout or the repository URL copies only what package_data names
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    patterns = [p.strip() for p in config["options.package_data"]["mocksrv"].split(",")]
    package = ROOT / "mocksrv"
    data = [path.relative_to(package) for path in package.rglob("*")
            if path.is_file() and path.suffix not in (".py", ".pyc")]
    left_out = [str(path) for path in data if not any(fnmatch.fnmatch(str(path), p) for p in patterns)]
    assert data and not left_out, f"add to setup.cfg [options.package_data]: {left_out}"
