"""The outside tools the Prism comparison needs, installed on first use and never globally from npm.

``wrk`` (and, where missing, ``node``/``npm``) come from Debian with ``apt-get``; Stoplight Prism comes from
npm into ``bench/.scratch`` (git-ignored), so ``make bench`` works on a fresh clone.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SCRATCH = Path(__file__).resolve().parent / ".scratch"
PRISM_PACKAGE = "@stoplight/prism-cli@5"
PRISM_ENTRY = SCRATCH / "node_modules" / "@stoplight" / "prism-cli" / "dist" / "index.js"
INSTALL_TIMEOUT_S = 600


def debian(command: str, package: str) -> str:
    """The path of ``command``, installing Debian's ``package`` when it is missing.

    :raise SystemExit: apt-get could not install it (not root, no package list, ...)
    """
    found = shutil.which(command)
    if found:
        return found
    print(f"bench: installing {package} from Debian (apt-get)", flush=True)
    apt = shutil.which("apt-get")
    if apt and not _apt_install(apt, package):  # a fresh machine may have no package lists yet
        subprocess.run([apt, "update", "-q"], check=False, timeout=INSTALL_TIMEOUT_S)
        _apt_install(apt, package)
    found = shutil.which(command)
    if not found:
        raise SystemExit(f"bench: {command} is missing and `apt-get install -y {package}` did not provide it")
    return found


def _apt_install(apt: str, package: str) -> bool:
    done = subprocess.run([apt, "install", "-y", "-q", package], check=False, timeout=INSTALL_TIMEOUT_S,
                          stdout=subprocess.DEVNULL)
    return done.returncode == 0


def prism() -> tuple[str, Path]:
    """``node`` and Prism's entry script, installing Prism into bench/.scratch when it is not there yet.

    Prism is started as ``node <entry>`` rather than through its ``bin`` wrapper, so the PID we hold (to stop
    it and to read its memory) is the Node process itself.
    """
    node = debian("node", "nodejs")
    if not PRISM_ENTRY.is_file():
        npm = debian("npm", "npm")
        print(f"bench: installing {PRISM_PACKAGE} into {SCRATCH}", flush=True)
        SCRATCH.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--prefix", str(SCRATCH), "--no-audit", "--no-fund", "--loglevel=error",
                        PRISM_PACKAGE], check=True, timeout=INSTALL_TIMEOUT_S, stdout=subprocess.DEVNULL)
    return node, PRISM_ENTRY


def version(command: list[str]) -> str:
    """The first line a ``--version``-style command prints, or ``?``."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else "?"
