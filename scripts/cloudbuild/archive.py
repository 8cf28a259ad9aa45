"""The source archive uploaded for Cloud Build: the work tree minus what the ignore file excludes.

The archive is reproducible (sorted members, zeroed times and owners, no gzip timestamp), so the
same inputs give the same bytes and the same object name in the staging bucket: a re-run uploads
nothing new.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from scripts.cloudbuild import ignore

# Far above what the image needs (its inputs are kilobytes); a bigger archive means the ignore
# file let in something it should not, such as a dataset or a virtual environment.
MAX_ARCHIVE_BYTES = 50 * 1024 * 1024
# The files of the source that `build` opens itself (the archive skips links; these it reads).
READ_FILES = ("cloudbuild.yaml", ignore.DOCKERIGNORE, ignore.GCLOUDIGNORE)


class ArchiveError(Exception):
    """The work tree cannot be archived as it is; the message says what to change."""


@dataclass(frozen=True)
class SourceArchive:
    data: bytes
    members: tuple[str, ...]
    ignore_file: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def check_read_files(root: Path) -> None:
    """Raise ArchiveError when a file `build` reads is a link out of `root` (`ignore.inside`)."""
    for name in READ_FILES:
        if not ignore.inside(root, root / name):
            raise ArchiveError(
                f"{name} is a link to a file outside the source: the build reads only the source's own files"
            )


def source_files(root: Path, rules: ignore.IgnoreFile) -> list[str]:
    """The `/`-separated paths under `root` that the rules keep, sorted; symlinks are skipped."""
    kept: list[str] = []
    for directory, dirnames, filenames in os.walk(root):
        base = Path(directory).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        # Prune excluded directories unless a later rule could re-include something inside.
        dirnames[:] = sorted(
            name
            for name in dirnames
            if not (Path(directory, name).is_symlink())
            and not (rules.ignored(prefix + name, True) and not rules.may_reinclude(prefix + name))
        )
        for name in sorted(filenames):
            path = prefix + name
            if Path(directory, name).is_symlink() or rules.ignored(path, False):
                continue
            kept.append(path)
    return sorted(kept)


def build_archive(root: Path, max_bytes: int = MAX_ARCHIVE_BYTES) -> SourceArchive:
    """A reproducible `.tar.gz` of the files under `root` that its ignore file keeps."""
    try:
        rules = ignore.load(root)
    except ignore.IgnoreFileError as error:
        raise ArchiveError(str(error)) from None
    members = source_files(root, rules)
    if not members:
        raise ArchiveError(f"{rules.name} excludes every file under {root}: nothing to build")
    total = sum((root / member).stat().st_size for member in members)
    if total > max_bytes:
        largest = sorted(members, key=lambda member: (root / member).stat().st_size, reverse=True)[:3]
        raise ArchiveError(
            f"the build source is {total / 2**20:.0f} MiB (limit {max_bytes / 2**20:.0f} MiB); "
            f"largest: {', '.join(largest)}; exclude them in {rules.name}"
        )
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for member in members:
            path = root / member
            info = tarfile.TarInfo(member)
            info.size = path.stat().st_size
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    compressed = gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)
    return SourceArchive(data=compressed, members=tuple(members), ignore_file=rules.name)
