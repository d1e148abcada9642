"""The notifier's Lambda zip, built byte for byte the same on every run and machine.

Not cdktf's TerraformAsset, whose zips carry the files' mtimes and so differ from run to run: the
entries are sorted, dated 1980-01-01 (the zip epoch), mode 0644 from a Unix creator, and stored
uncompressed so that no zlib build can change the bytes. Terraform compares `source_code_hash`, the
base64 of the zip's SHA-256 (what `filebase64sha256` computes), to know when to upload the code again.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

RUNTIME_DIR = Path(__file__).with_name("runtime")
FILENAME = "discord-notifier.zip"
HANDLER = "notifier.handler"  # runtime/notifier.py's `handler`, at the root of the zip
RUNTIME = "python3.12"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # a regular file, rw-r--r--
UNIX = 3  # ZipInfo.create_system: the mode in external_attr is a Unix mode


@dataclass(frozen=True)
class NotifierPackage:
    """The zip's file name (relative, as the construct writes it under generated/), bytes and hash."""

    filename: str
    data: bytes
    source_code_hash: str


def runtime_files(runtime_dir: Path) -> list[tuple[str, Path]]:
    """(name in the zip, path) of every file under runtime_dir, sorted by name; no bytecode, no dotfiles."""
    found = []
    for path in runtime_dir.rglob("*"):
        name = path.relative_to(runtime_dir).as_posix()
        parts = name.split("/")
        if not path.is_file() or "__pycache__" in parts or path.suffix == ".pyc":
            continue
        if any(part.startswith(".") for part in parts):
            continue
        found.append((name, path))
    return sorted(found)


def build_package(runtime_dir: Path = RUNTIME_DIR) -> NotifierPackage:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, path in runtime_files(runtime_dir):
            entry = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            entry.compress_type = zipfile.ZIP_STORED
            entry.create_system = UNIX
            entry.external_attr = FILE_MODE << 16
            archive.writestr(entry, path.read_bytes())
    data = buffer.getvalue()
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
    return NotifierPackage(filename=FILENAME, data=data, source_code_hash=digest)
