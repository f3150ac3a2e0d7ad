"""Deploy checks: the previous release beside this checkout (N-1), and rolling restarts.

The previous release is the newest ``v*`` git tag (``PARENTNET_PREVIOUS_RELEASE`` names another),
extracted with ``git archive`` into a temporary folder and run on this checkout's .venv with its
own ``kit`` first on the import path (``devtools.isolated.MixedStack``).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

# Our own packages: the extracted tree provides them (kit on PYTHONPATH, the rest by cwd).
OWN = {
    "parentnet-kit",
    "parentnet-members",
    "parentnet-events",
    "parentnet-listings",
    "parentnet-search",
    "parentnet-gateway",
}


def git(*args: str, binary: bool = False) -> str | bytes:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout if binary else done.stdout.decode().strip()


def previous_release() -> str:
    """The tag of the previous release: ``PARENTNET_PREVIOUS_RELEASE``, else the newest ``v*``
    tag. When the clone has none (a clone that did not fetch tags), they are fetched from
    ``origin``; failing that, the test fails saying so (it never skips)."""
    wanted = os.environ.get("PARENTNET_PREVIOUS_RELEASE")

    def known() -> list[str]:
        return [t for t in str(git("tag", "--list", "v*", "--sort=-v:refname")).splitlines() if t]

    try:
        tags = known()
    except RuntimeError as exc:
        pytest.fail(f"the N-1 test reads the previous release from git, and git cannot: {exc}", pytrace=False)
    if (wanted and wanted not in tags) or not tags:
        try:
            git("fetch", "--quiet", "origin", "--tags")
        except RuntimeError as exc:
            pytest.fail(
                f"no release tag {'(' + wanted + ') ' if wanted else '(v*) '}in this clone, and fetching tags "
                f"failed: {exc}. Fix: `git fetch --tags` (CI's clone must carry tags: push them with "
                "`git push --tags`), or set PARENTNET_PREVIOUS_RELEASE to a tag that exists.",
                pytrace=False,
            )
        tags = known()
    if wanted:
        if wanted not in tags:
            pytest.fail(f"PARENTNET_PREVIOUS_RELEASE={wanted} is not a tag here (tags: {tags})", pytrace=False)
        return wanted
    if not tags:
        pytest.fail("no v* release tag, even after `git fetch --tags origin`: tag the last release", pytrace=False)
    return tags[0]


def unmet_requirements(tree: Path, parts: tuple[str, ...]) -> list[str]:
    """The dependencies the tree's pyproject files (``parts``: ``kit``, ``services/events``, ...)
    ask for that this .venv does not satisfy: ``["pymongo>=5 (installed: 4.10.1)", ...]``."""
    unmet = []
    for part in parts:
        project = tomllib.loads((tree / part / "pyproject.toml").read_text())["project"]
        for line in project.get("dependencies", []):
            requirement = Requirement(line)
            if requirement.name.lower().replace("_", "-") in OWN:
                continue
            if requirement.marker is not None and not requirement.marker.evaluate():
                continue
            try:
                installed = metadata.version(requirement.name)
            except metadata.PackageNotFoundError:
                unmet.append(f"{line} (not installed)")
                continue
            if not requirement.specifier.contains(installed, prereleases=True):
                unmet.append(f"{line} (installed: {installed})")
    return unmet


@pytest.fixture(scope="session")
def release(tmp_path_factory) -> tuple[str, Path]:
    """(tag, root of its extracted source): the previous release, as ``git archive`` gives it."""
    tag = previous_release()
    tree = tmp_path_factory.mktemp(f"release-{tag}")
    try:
        archive = git("archive", "--format=tar", tag, binary=True)
    except RuntimeError as exc:
        pytest.fail(f"extracting {tag} failed: {exc}", pytrace=False)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    return tag, tree


@pytest.fixture(scope="session")
def release_runs_here(release) -> tuple[str, Path]:
    """The release, once its kit, events service and gateway are known to run on this .venv:
    their dependencies are met by what is installed (else the test fails listing what differs:
    the release then needs a virtualenv of its own, built from its ``locks/``)."""
    tag, tree = release
    unmet = unmet_requirements(tree, ("kit", "services/events", "gateway"))
    if unmet:
        pytest.fail(
            f"{tag}'s dependencies differ from this checkout's .venv: {unmet}. The N-1 run uses one "
            "virtualenv for both versions; build one for the release from its locks/ to run it.",
            pytrace=False,
        )
    return tag, tree
