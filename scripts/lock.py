"""Lock every image's third-party dependencies, with hashes: ``.venv/bin/python scripts/lock.py``.

Two builds of an image must install the same bytes. For each image (the four services and the
gateway) this writes ``locks/<image>.txt``: every package the image needs (its pyproject's
dependencies and the kit's, then theirs, and setuptools to build our own packages), pinned
to the version tested in this repository's ``.venv`` (``pip freeze`` as constraints) and with
the sha256 of every file PyPI has for it (pip-compile ``--generate-hashes``). A Dockerfile
installs the lock with ``--require-hashes --no-deps``, then our packages with ``--no-deps``,
then ``pip check``: a lock that misses a package fails the build instead of fetching one.

Run it after changing a dependency (and ``scripts/provision.sh up``, so the venv has it);
``--check`` fails when a lock no longer matches the pyproject files' dependencies.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "locks"
VENV = ROOT / ".venv" / "bin"
IMAGES = {
    "gateway": ROOT / "gateway",
    "members": ROOT / "services" / "members",
    "events": ROOT / "services" / "events",
    "listings": ROOT / "services" / "listings",
    "search": ROOT / "services" / "search",
    "moderation": ROOT / "services" / "moderation",
    "conversations": ROOT / "services" / "conversations",
}
OURS = ("parentnet-",)
# The venv's own packaging tools are not what the images build with (pip's isolated builds
# fetched their own): these are locked at their newest allowed version instead.
TOOLS = ("pip==", "setuptools==", "wheel==", "pip-tools==")
# Builds our own packages (their build-system) without fetching anything at build time; and
# nameko 2.14's CLI imports pkg_resources, which newer setuptools no longer has (checked: with
# 84.2 `import nameko.cli.main` fails), so it stays below 80.
BUILD = ("setuptools>=68,<80",)


def dependencies(project: Path) -> list[str]:
    """A pyproject's third-party dependencies, as written there."""
    declared = tomllib.loads((project / "pyproject.toml").read_text())["project"].get("dependencies", [])
    return [d for d in declared if not d.lower().startswith(OURS)]


def wanted(image: str) -> list[str]:
    """What ``image`` asks for: the kit's dependencies, its own, and the build backend."""
    return sorted({*dependencies(ROOT / "kit"), *dependencies(IMAGES[image]), *BUILD})


def tested_versions(into: Path) -> None:
    """The venv's exact versions, as pip constraints (our editable packages left out)."""
    frozen = subprocess.run(
        [str(VENV / "python"), "-m", "pip", "freeze", "--exclude-editable", "--all"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    kept = [line for line in frozen.splitlines() if not line.lower().startswith((*OURS, *TOOLS))]
    into.write_text("".join(line + "\n" for line in kept))


def lock(image: str, constraints: Path, work: Path) -> None:
    source = work / f"{image}.in"
    source.write_text("".join(f"{r}\n" for r in wanted(image)) + f"-c {constraints}\n")
    target = LOCKS / f"{image}.txt"
    subprocess.run(
        [
            str(VENV / "pip-compile"),
            "--quiet",
            "--generate-hashes",
            "--allow-unsafe",
            "--strip-extras",
            "--no-emit-index-url",
            "--no-emit-find-links",
            "--annotation-style=line",
            "--rebuild",
            f"--output-file={target}",
            str(source),
        ],
        check=True,
    )
    # pip-compile writes where each line came from with this machine's temporary paths.
    text = target.read_text().replace(str(source), f"{image}.in").replace(str(constraints), "tested-venv.txt")
    text = text.replace(str(target), f"locks/{image}.txt")
    header = f"# The locked dependencies of the {image} image; made by scripts/lock.py, don't edit.\n"
    target.write_text(header + text)


def check() -> int:
    """1 when a lock lacks a package its pyproject files ask for (by name)."""
    stale = []
    for image in IMAGES:
        path = LOCKS / f"{image}.txt"
        pinned = path.read_text().lower() if path.exists() else ""
        for requirement in wanted(image):
            name = requirement.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower()
            if f"\n{name}==" not in pinned:
                stale.append(f"{image}: {name}")
    if stale:
        print("locks are stale (run .venv/bin/python scripts/lock.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/lock.py")
    parser.add_argument("--check", action="store_true", help="only check that the locks cover the pyproject files")
    parser.add_argument("images", nargs="*", default=list(IMAGES), help="which images (default: all)")
    args = parser.parse_args()
    if args.check:
        return check()
    LOCKS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        constraints = Path(work) / "tested-venv.txt"
        tested_versions(constraints)
        for image in args.images:
            lock(image, constraints, Path(work))
            print(f"locks/{image}.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
