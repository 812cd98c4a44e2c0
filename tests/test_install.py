"""The install (``make install`` = ``.ci/install-venv``) is immune to upstream releases (issue 12
item 1): a package requiring ``b[extra]`` with a newer ``b`` in the index than the lock pins is
what broke a fresh install (justext's ``lxml[html_clean]`` and lxml 6.2). Here, offline, with a
local folder of wheels made by the test: tiny ``a``, ``b`` (locked 1.0, newer 2.0 present), ``c``,
and the uv and setuptools of this venv repacked as wheels."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
INSTALL = REPO / ".ci" / "install-venv"
LOCK_LINE = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+) \\$")
HASH_LINE = re.compile(r"^\s+--hash=sha256:([0-9a-f]{64})")


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def write_wheel(
    folder: Path,
    name: str,
    version: str,
    files: Mapping[str, bytes],
    *,
    metadata: tuple[str, ...] = (),
    tag: str = "py3-none-any",
    purelib: bool = True,
) -> Path:
    """A wheel of ``files`` (paths inside the wheel) with its dist-info, RECORD included."""
    info = f"{name}-{version}.dist-info"
    contents = dict(files)
    contents.setdefault(
        f"{info}/METADATA",
        "\n".join(
            ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", *metadata, ""]
        ).encode(),
    )
    contents[f"{info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: {str(purelib).lower()}\n"
        f"Tag: {tag}\n\n"
    ).encode()
    record = "".join(
        f"{path},{_record_hash(data)},{len(data)}\n" for path, data in contents.items()
    )
    contents[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    wheel = folder / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as archive:
        for path, data in contents.items():
            entry = zipfile.ZipInfo(path)
            mode = 0o755 if ".data/scripts/" in path else 0o644
            entry.external_attr = (stat.S_IFREG | mode) << 16
            archive.writestr(entry, data)
    return wheel


# Written by the installer, or rewritten by write_wheel: not copied from an installed dist-info.
_INSTALLER_FILES = {"RECORD", "WHEEL", "INSTALLER", "REQUESTED", "direct_url.json"}


def repack(folder: Path, name: str) -> Path:
    """The installed distribution ``name`` of this venv as a wheel (its scripts as data)."""
    dist = importlib.metadata.distribution(name)
    info = f"{name}-{dist.version}"
    files: dict[str, bytes] = {}
    for path in dist.files or []:
        parts = Path(path).parts
        if "__pycache__" in parts or parts[-1] in _INSTALLER_FILES:
            continue
        target = f"{info}.data/scripts/{parts[-1]}" if parts[0] == ".." else str(path)
        files[target] = Path(dist.locate_file(path)).read_bytes()
    wheel_file = (dist.read_text("WHEEL") or "").splitlines()
    tag = next(line.split(": ")[1] for line in wheel_file if line.startswith("Tag: "))
    purelib = "Root-Is-Purelib: true" in wheel_file
    return write_wheel(folder, name, dist.version, files, tag=tag, purelib=purelib)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lock_text(wheels: list[Path]) -> str:
    """A hashed lock pinning each wheel's name and version (uv pip compile's form)."""
    lines = []
    for wheel in sorted(wheels):
        name, version = wheel.name.split("-")[:2]
        lines.append(f"{name}=={version} \\\n    --hash=sha256:{sha256(wheel)}\n")
    return "".join(lines)


def offline(index: Path, cache: Path) -> dict[str, str]:
    """Environment for pip and uv: only ``index`` (a flat folder), no network, no config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(index),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_CACHE_DIR="1",
        UV_NO_CONFIG="1",
        UV_OFFLINE="1",
        UV_NO_INDEX="1",
        UV_FIND_LINKS=str(index),
        UV_CACHE_DIR=str(cache),
    )
    return env


def installed(python: Path, *names: str) -> dict[str, str | None]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "def v(n):\n"
        "    try: return m.version(n)\n"
        "    except m.PackageNotFoundError: return None\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))"
    )
    done = subprocess.run([python, "-c", code, *names], capture_output=True, text=True, check=True)
    import json

    return dict(json.loads(done.stdout))


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[Path]]]:
    """The local index and the wheels the lock pins (b 2.0 is in the index, not in the lock)."""
    folder = tmp_path_factory.mktemp("index")
    b_metadata = ("Provides-Extra: extra", 'Requires-Dist: c; extra == "extra"')
    locked = [
        write_wheel(
            folder, "a", "1.0", {"a.py": b"import b\n"}, metadata=("Requires-Dist: b[extra]",)
        ),
        write_wheel(folder, "b", "1.0", {"b.py": b"VERSION = 1\n"}, metadata=b_metadata),
        write_wheel(folder, "c", "1.0", {"c.py": b""}),
        repack(folder, "uv"),
        repack(folder, "setuptools"),
    ]
    write_wheel(folder, "b", "2.0", {"b.py": b"VERSION = 2\n"}, metadata=b_metadata)
    yield folder, locked


def project(folder: Path, locked: list[Path]) -> Path:
    """A project laid out as this repository: its two locks and a package needing ``a``."""
    folder.mkdir()
    uv_wheel = next(w for w in locked if w.name.startswith("uv-"))
    (folder / "requirements-uv.lock").write_text(lock_text([uv_wheel]))
    (folder / "requirements.lock").write_text(lock_text(locked))
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "app"\nversion = "0.1"\ndependencies = ["a"]\n'
        '[tool.setuptools]\npy-modules = ["app"]\n'
    )
    (folder / "app.py").write_text("import a\n")
    return folder


def system_python() -> str:
    """``python3`` as the Makefile finds it on PATH, this venv left out."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)
    found = shutil.which("python3", path=path)
    assert found, "python3 (the README's install path) is not on PATH"
    return found


def test_the_install_script_installs_the_locked_versions_offline(
    index: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    folder, locked = index
    app = project(tmp_path / "app", locked)
    venv = tmp_path / "venv"
    env = offline(folder, tmp_path / "uv-cache")
    done = subprocess.run(
        [INSTALL, system_python(), venv, app], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    python = venv / "bin" / "python"
    assert installed(python, "a", "b", "c", "app", "uv") == {
        "a": "1.0",
        "b": "1.0",  # b 2.0 is in the index: the lock wins
        "c": "1.0",
        "app": "0.1",
        "uv": importlib.metadata.version("uv"),
    }
    check = subprocess.run([python, "-c", "import app, b; print(b.VERSION)"], capture_output=True)
    assert check.stdout == b"1\n"


def test_plain_pip_of_a_fresh_venv_breaks_on_the_same_index(
    index: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    """What the script replaces: the fresh venv's pip (23.2 from this machine's python3, as on
    the issue's fresh machine) with --require-hashes on the same lock resolves b[extra] to
    the unpinned b 2.0 and stops, as pip did with lxml[html_clean] and lxml 6.2."""
    folder, locked = index
    venv = tmp_path / "venv"
    subprocess.run([system_python(), "-m", "venv", venv], check=True, timeout=120)
    python = venv / "bin" / "python"
    pip = subprocess.run(
        [python, "-m", "pip", "--version"], capture_output=True, text=True, check=True
    )
    lock = tmp_path / "requirements.lock"
    lock.write_text(lock_text([w for w in locked if w.name[0] in "abc"]))
    env = offline(folder, tmp_path / "uv-cache")
    done = subprocess.run(
        [python, "-m", "pip", "install", "--require-hashes", "-r", lock],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    version = tuple(int(n) for n in pip.stdout.split()[1].split(".")[:2])
    assert version < (23, 3), f"the system Python's pip is newer: {pip.stdout}"
    assert done.returncode != 0
    assert "all requirements must have their versions pinned with ==" in done.stderr
    assert "b[extra] from file:" in done.stderr and "b-2.0-py3-none-any.whl" in done.stderr


def read_lock(path: Path) -> dict[str, tuple[str, set[str]]]:
    """name -> (version, hashes) of a uv-compiled hashed lock."""
    found: dict[str, tuple[str, set[str]]] = {}
    name = ""
    for line in path.read_text().splitlines():
        if match := LOCK_LINE.match(line):
            name = match[1].lower()
            found[name] = (match[2], set())
        elif (match := HASH_LINE.match(line)) and name:
            found[name][1].add(match[1])
    return found


def test_both_locks_name_the_same_uv() -> None:
    """requirements.lock keeps the uv that requirements-uv.lock installs: else the sync would
    replace (or remove) the installer while it runs."""
    uv_lock = read_lock(REPO / "requirements-uv.lock")
    main_lock = read_lock(REPO / "requirements.lock")
    assert list(uv_lock) == ["uv"]
    assert main_lock["uv"] == uv_lock["uv"]
    assert len(uv_lock["uv"][1]) > 1  # every platform's wheel, not one
    assert {"pip", "setuptools"} <= set(main_lock)  # the editable install builds with these
