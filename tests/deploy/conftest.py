"""Deploy checks: the previous release beside this checkout (N-1), and rolling restarts.

The previous release is the newest one ``deploy/releases.toml`` records (``PARENTNET_PREVIOUS_RELEASE``
names another), extracted with ``git archive`` into a temporary folder and run on this checkout's .venv with its
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


RELEASES = ROOT / "deploy" / "releases.toml"


def recorded_releases() -> list[dict[str, str]]:
    """The landed releases ``deploy/releases.toml`` records, newest first:
    ``[{"name": "v0.24.0", "commit": "<40 hex>"}, ...]``."""
    return [
        {"name": str(r["name"]), "commit": str(r["commit"])} for r in tomllib.loads(RELEASES.read_text())["release"]
    ]


def has_commit(commit: str) -> bool:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True, check=False
    )
    return done.returncode == 0


def previous_release() -> tuple[str, str]:
    """(name, git revision) of the previous release.

    ``PARENTNET_PREVIOUS_RELEASE`` names a tag, a commit or a release name of
    ``deploy/releases.toml``; else the newest release that file records. The file, not git tags,
    is the source: a fresh clone (CI's) carries no tags. When the recorded commit is not in this
    clone (a shallow one) it is fetched from ``origin``; failing that, the test fails saying so
    (it never skips)."""
    wanted = os.environ.get("PARENTNET_PREVIOUS_RELEASE")
    releases = recorded_releases()
    if wanted:
        named = [r for r in releases if r["name"] == wanted]
        name, commit = (named[0]["name"], named[0]["commit"]) if named else (wanted, wanted)
    else:
        if not releases:
            pytest.fail(f"{RELEASES.relative_to(ROOT)} records no release: add the last landed one", pytrace=False)
        name, commit = releases[0]["name"], releases[0]["commit"]
    if not has_commit(commit):
        try:
            git("fetch", "--quiet", "origin", commit)
        except RuntimeError as exc:
            pytest.fail(
                f"the previous release {name} ({commit}) is not in this clone and fetching it failed: {exc}. "
                "Fix: clone with full history (not --depth), or set PARENTNET_PREVIOUS_RELEASE to a commit "
                "this clone has.",
                pytrace=False,
            )
    return name, commit


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
    tag, commit = previous_release()
    tree = tmp_path_factory.mktemp(f"release-{tag}")
    try:
        archive = git("archive", "--format=tar", commit, binary=True)
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
