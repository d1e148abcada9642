"""modules/notifications/discord/package.py: the notifier's zip is the same bytes on every build."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from modules.notifications.discord import HANDLER, build_package
from modules.notifications.discord.package import RUNTIME_DIR

PACKAGE_PY = RUNTIME_DIR.parent / "package.py"


def entries(data: bytes) -> list[zipfile.ZipInfo]:
    return zipfile.ZipFile(io.BytesIO(data)).infolist()


def copy_runtime(tmp_path: Path) -> Path:
    copy = tmp_path / "runtime"
    shutil.copytree(RUNTIME_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_two_builds_are_byte_identical() -> None:
    first, second = build_package(), build_package()
    assert first.data == second.data
    assert first.source_code_hash == second.source_code_hash
    assert first.filename == "discord-notifier.zip"


def test_entries_are_sorted_stored_dated_at_the_zip_epoch_and_mode_0644() -> None:
    infos = entries(build_package().data)
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert names == ["notifier.py"]  # the only runtime file, at the root: nothing vendored
    for info in infos:
        assert not info.is_dir()
        assert info.compress_type == zipfile.ZIP_STORED
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr == 0o100644 << 16
        assert info.create_system == 3


def test_hash_is_base64_of_sha256_as_terraform_compares_it() -> None:
    package = build_package()
    assert package.source_code_hash == base64.b64encode(hashlib.sha256(package.data).digest()).decode()


def test_the_zipped_handler_is_the_source_file() -> None:
    archive = zipfile.ZipFile(io.BytesIO(build_package().data))
    assert archive.testzip() is None
    source = (RUNTIME_DIR / "notifier.py").read_bytes()
    assert archive.read("notifier.py") == source
    module, function = HANDLER.split(".")
    assert f"{module}.py" in archive.namelist()
    assert f"\ndef {function}(" in source.decode()


def test_mtime_mode_location_and_bytecode_do_not_change_the_bytes(tmp_path: Path) -> None:
    expected = build_package().data
    copy = copy_runtime(tmp_path)
    assert build_package(copy).data == expected
    os.utime(copy / "notifier.py", (2_000_000_000, 2_000_000_000))
    (copy / "notifier.py").chmod(0o600)
    (copy / "__pycache__").mkdir()
    (copy / "__pycache__" / "notifier.cpython-312.pyc").write_bytes(b"bytecode")
    (copy / "stray.pyc").write_bytes(b"bytecode")
    assert build_package(copy).data == expected


def test_a_changed_source_changes_the_hash(tmp_path: Path) -> None:
    copy = copy_runtime(tmp_path)
    with (copy / "notifier.py").open("ab") as source:
        source.write(b"\n# changed\n")
    assert build_package(copy).source_code_hash != build_package().source_code_hash


def test_another_process_with_another_timezone_locale_and_umask_builds_the_same_bytes() -> None:
    # package.py is loaded by path, so the child imports neither cdktf nor the rest of modules/.
    script = (
        "import importlib.util, os, sys; os.umask(0o077);"
        f"spec = importlib.util.spec_from_file_location('package', {str(PACKAGE_PY)!r});"
        "module = importlib.util.module_from_spec(spec); sys.modules['package'] = module;"
        "spec.loader.exec_module(module); print(module.build_package().source_code_hash)"
    )
    env = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
    env.update(TZ="Pacific/Kiritimati", LC_ALL="C", LANG="C", PYTHONHASHSEED="123")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    assert result.stdout.strip() == build_package().source_code_hash
