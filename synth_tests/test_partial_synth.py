"""`synth --env`: only the named stacks (and their pages) are replaced; the per-stack no-op stamps in
the local cache.

Every synth runs `python main.py` in a subprocess, as a user does, with its own stamp cache
(SYNTH_CACHE_DIR) so that what the cache holds is what the test did.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONFIG_DIR, ROOT
from test_cli import tree_digest

ALL = ["bootstrap", "dev", "prod", "stg"]


def run(*args: str, cache: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=cwd,
        env={**os.environ, "SYNTH_CACHE_DIR": str(cache)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def synth(*args: str, cache: Path) -> str:
    result = run("synth", *args, cache=cache)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    return result.stdout.strip()


def stacks_in(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "stacks").iterdir())


def pages_in(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "docs").iterdir())


def output_entry(cache: Path) -> Path:
    """The cache's one entry for an output directory (beside it: the compiled page template)."""
    (entry,) = [p for p in cache.iterdir() if (p / "out").is_file()]
    return entry


def manifest_stacks(out: Path) -> list[str]:
    return sorted(json.loads((out / "manifest.json").read_text())["stacks"])


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A copy of the committed config, to change one environment in."""
    target = tmp_path / "environments"
    shutil.copytree(CONFIG_DIR, target)
    return target


@pytest.fixture
def out(tmp_path: Path, fresh_synth: Path) -> Path:
    """A user's generated/: a full synth, with no stamps (as in a fresh clone)."""
    target = tmp_path / "generated"
    shutil.copytree(fresh_synth, target)
    return target


def page_digest(out: Path, name: str) -> str:
    return hashlib.sha256((out / "docs" / f"{name}.md").read_bytes()).hexdigest()


def change_dev(config: Path) -> None:
    text = (config / "dev.toml").read_text()
    assert "\naz_count = 2\n" in text
    (config / "dev.toml").write_text(text.replace("\naz_count = 2\n", "\naz_count = 3\n", 1))


def test_env_replaces_only_the_named_stacks_and_keeps_the_others_byte_for_byte(
    tmp_path: Path, config: Path, out: Path, fresh_synth: Path
) -> None:
    cache = tmp_path / "cache"
    prod, stg = tree_digest(out / "stacks" / "prod"), tree_digest(out / "stacks" / "stg")
    prod_inode = (out / "stacks" / "prod" / "cdk.tf.json").stat().st_ino
    pages = {name: (out / "docs" / f"{name}.md").read_bytes() for name in ("prod", "stg")}
    page_inode = (out / "docs" / "prod.md").stat().st_ino
    change_dev(config)
    printed = synth("--env", "dev", "--config", str(config), "--out", str(out), cache=cache)
    assert printed.endswith("synthesized bootstrap, dev; kept prod, stg as they were")
    assert stacks_in(out) == manifest_stacks(out) == ALL
    assert tree_digest(out / "stacks" / "prod") == prod and tree_digest(out / "stacks" / "stg") == stg
    assert (out / "stacks" / "prod" / "cdk.tf.json").stat().st_ino == prod_inode  # not even copied
    assert pages_in(out) == ["dev.md", "prod.md", "stg.md"]
    assert {name: (out / "docs" / f"{name}.md").read_bytes() for name in ("prod", "stg")} == pages
    assert (out / "docs" / "prod.md").stat().st_ino == page_inode
    assert "zones a, b, c" in (out / "docs" / "dev.md").read_text()
    dev = (out / "stacks" / "dev" / "cdk.tf.json").read_text()
    assert (
        "eu-west-1c" in dev
        and "eu-west-1c" not in (fresh_synth / "stacks" / "dev" / "cdk.tf.json").read_text()
    )
    # the manifest is what a full synth of the same config writes
    full = tmp_path / "full"
    synth("--config", str(config), "--out", str(full), cache=cache)
    assert (out / "manifest.json").read_bytes() == (full / "manifest.json").read_bytes()
    assert tree_digest(out / "stacks" / "dev") == tree_digest(full / "stacks" / "dev")
    assert (out / "docs" / "dev.md").read_bytes() == (full / "docs" / "dev.md").read_bytes()


def test_a_full_synth_drops_stacks_no_longer_configured_a_partial_one_keeps_them(
    tmp_path: Path, config: Path, out: Path
) -> None:
    cache = tmp_path / "cache"
    (config / "stg.toml").unlink()
    synth("--env", "dev", "--config", str(config), "--out", str(out), cache=cache)
    assert stacks_in(out) == manifest_stacks(out) == ALL
    assert pages_in(out) == ["dev.md", "prod.md", "stg.md"]
    assert "synthesized bootstrap, dev, prod" in synth(
        "--config", str(config), "--out", str(out), cache=cache
    )
    assert stacks_in(out) == manifest_stacks(out) == ["bootstrap", "dev", "prod"]
    assert pages_in(out) == ["dev.md", "prod.md"]


def test_terraform_working_files_in_a_stack_survive_its_synth(
    tmp_path: Path, config: Path, out: Path
) -> None:
    """The bootstrap's local state (README, Applying 1.) must outlive the synth that moves it to S3."""
    cache = tmp_path / "cache"
    bootstrap = out / "stacks" / "bootstrap"
    (bootstrap / "terraform.tfstate").write_text('{"serial": 7}')
    (bootstrap / ".terraform" / "providers").mkdir(parents=True)
    (bootstrap / ".terraform" / "providers" / "aws").write_bytes(b"\x7fELF")
    (bootstrap / ".terraform.lock.hcl").write_text("# lock\n")
    kept = {name: digest for name, digest in tree_digest(bootstrap).items() if name != "cdk.tf.json"}
    project = config / "project.toml"
    project.write_text(project.read_text().replace('owner = "', 'owner = "x', 1))
    assert 'owner = "x' in project.read_text()
    synth("--config", str(config), "--out", str(out), cache=cache)
    after = tree_digest(bootstrap)
    assert {name: after[name] for name in kept} == kept
    assert '"Owner": "x' in (bootstrap / "cdk.tf.json").read_text()
    # Terraform's files are not outputs: they neither invalidate the stamp nor are they "restored"
    assert synth("--config", str(config), "--out", str(out), cache=cache).endswith(": up to date")


def test_stamps_are_per_stack_in_a_local_cache_and_never_in_the_output(tmp_path: Path, config: Path) -> None:
    cache = tmp_path / "cache"
    out = tmp_path / "generated"
    assert "synthesized bootstrap, dev, prod, stg" in synth(
        "--config", str(config), "--out", str(out), cache=cache
    )
    assert not (out / "synth-stamp.json").exists()
    entry = output_entry(cache)
    assert sorted(p.name for p in entry.iterdir()) == [
        "manifest.json",
        "out",
        *(f"stack-{name}.json" for name in ALL),
    ]
    assert synth("--config", str(config), "--out", str(out), cache=cache).endswith(": up to date")
    assert synth("--env", "dev", "--config", str(config), "--out", str(out), cache=cache).endswith(
        ": up to date"
    )

    # prod's inputs are not dev's: a change to prod.toml leaves `--env dev` a no-op
    (config / "prod.toml").write_text((config / "prod.toml").read_text() + "\n# reviewed\n")
    assert synth("--env", "dev", "--config", str(config), "--out", str(out), cache=cache).endswith(
        ": up to date"
    )
    # a full synth re-synthesizes only what changed (prod), and keeps the rest as it is
    assert synth("--config", str(config), "--out", str(out), cache=cache).endswith(
        "synthesized prod; kept bootstrap, dev, stg as they were"
    )
    # project.toml is every stack's input
    (config / "project.toml").write_text((config / "project.toml").read_text() + "\n# reviewed\n")
    assert "synthesized bootstrap, dev;" in synth(
        "--env", "dev", "--config", str(config), "--out", str(out), cache=cache
    )

    # a fresh clone has no cache: its first synth runs, and writes what was there
    before = tree_digest(out)
    shutil.rmtree(cache)
    assert "synthesized" in synth("--config", str(config), "--out", str(out), cache=cache)
    assert tree_digest(out) == before


def test_a_stack_removed_by_hand_or_a_manifest_edit_is_not_up_to_date(tmp_path: Path, config: Path) -> None:
    cache = tmp_path / "cache"
    out = tmp_path / "generated"
    synth("--config", str(config), "--out", str(out), cache=cache)
    synthesized = tree_digest(out)
    shutil.rmtree(out / "stacks" / "stg")
    assert "synthesized" in synth("--env", "dev", "--config", str(config), "--out", str(out), cache=cache)
    assert stacks_in(out) == manifest_stacks(out) == ["bootstrap", "dev", "prod"]
    assert "synthesized" in synth("--config", str(config), "--out", str(out), cache=cache)
    assert tree_digest(out) == synthesized
    (out / "manifest.json").write_text("{}")
    assert "synthesized" in synth("--config", str(config), "--out", str(out), cache=cache)
    assert tree_digest(out) == synthesized


def test_cache_entries_of_deleted_output_directories_are_pruned(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    gone, kept = tmp_path / "gone", tmp_path / "kept"
    synth("--env", "dev", "--out", str(gone), cache=cache)
    shutil.rmtree(gone)
    synth("--env", "dev", "--out", str(kept), cache=cache)
    assert (output_entry(cache) / "out").read_text().strip() == str(kept.resolve())


def test_an_edited_environment_alone_is_resynthesized_and_the_output_equals_a_full_synth(
    tmp_path: Path, config: Path
) -> None:
    """The editing loop: after each environment's file changes, a plain `python main.py` replaces
    only that stack; at the end the output is byte for byte what a full synth of the same config
    (with no stamps to reuse) writes, for every stack."""
    cache, out = tmp_path / "cache", tmp_path / "generated"
    synth("--config", str(config), "--out", str(out), cache=cache)
    for name in ("dev", "prod", "stg"):
        path = config / f"{name}.toml"
        text = path.read_text()
        assert "[network]\n" in text and "flow_log_retention_days" not in text
        path.write_text(text.replace("[network]\n", "[network]\nflow_log_retention_days = 14\n", 1))
        others = [s for s in ALL if s not in ("bootstrap", name)]
        before = {s: (tree_digest(out / "stacks" / s), page_digest(out, s)) for s in others}
        bootstrap_inode = (out / "stacks" / "bootstrap" / "cdk.tf.json").stat().st_ino
        printed = synth("--config", str(config), "--out", str(out), cache=cache)
        assert printed.endswith(f"synthesized {name}; kept bootstrap, {', '.join(others)} as they were")
        # the bootstrap stack's inputs did not change: its file is kept, not written again
        assert (out / "stacks" / "bootstrap" / "cdk.tf.json").stat().st_ino == bootstrap_inode
        assert {s: (tree_digest(out / "stacks" / s), page_digest(out, s)) for s in others} == before
        assert '"retention_in_days": 14' in (out / "stacks" / name / "cdk.tf.json").read_text()
        assert "flow logs kept 14 days" in (out / "docs" / f"{name}.md").read_text()
    full = tmp_path / "full"
    synth("--config", str(config), "--out", str(full), cache=tmp_path / "other-cache")
    assert tree_digest(out) == tree_digest(full)


def test_a_page_edited_or_deleted_by_hand_is_synthesized_again_with_its_stack(
    tmp_path: Path, config: Path
) -> None:
    """A page is an output of its environment's stack: the stamps notice it changed or went, and
    the editing loop writes it (and its stack) again, as a full synth would."""
    cache, out = tmp_path / "cache", tmp_path / "generated"
    synth("--config", str(config), "--out", str(out), cache=cache)
    synthesized = tree_digest(out)
    (out / "docs" / "dev.md").write_text("# notes\n")
    assert synth("--config", str(config), "--out", str(out), cache=cache).endswith(
        "synthesized dev; kept bootstrap, prod, stg as they were"
    )
    assert tree_digest(out) == synthesized
    (out / "docs" / "prod.md").unlink()
    assert not synth("--env", "prod", "--config", str(config), "--out", str(out), cache=cache).endswith(
        "up to date"
    )
    assert tree_digest(out) == synthesized
    assert synth("--config", str(config), "--out", str(out), cache=cache).endswith(": up to date")


def test_a_partial_synth_writes_the_terraform_cloud_workspaces_as_a_full_one(
    tmp_path: Path, config: Path
) -> None:
    """The workspace definitions are project-wide, written with the bootstrap stack from every
    environment: `--env dev` writes prod's workspace too, and drops the file once none is left."""
    cache = tmp_path / "cache"
    project, prod = config / "project.toml", config / "prod.toml"
    project.write_text(project.read_text() + '\n[cloud]\norganization = "acme"\n')
    s3_prod = prod.read_text()
    prod.write_text('backend = "cloud"\n' + s3_prod)
    full, out = tmp_path / "full", tmp_path / "generated"
    synth("--config", str(config), "--out", str(full), cache=cache)
    synth("--env", "dev", "--config", str(config), "--out", str(out), cache=cache)
    assert stacks_in(out) == ["bootstrap", "dev"]
    written = out / "terraform-cloud" / "workspaces.json"
    assert written.read_bytes() == (full / "terraform-cloud" / "workspaces.json").read_bytes()
    assert [w["environment"] for w in json.loads(written.read_text())["workspaces"]] == ["prod"]
    prod.write_text(s3_prod)
    synth("--env", "dev", "--config", str(config), "--out", str(out), cache=cache)
    assert not written.exists()


def test_the_editing_loop_renders_the_workflows_as_a_full_synth(tmp_path: Path, config: Path) -> None:
    """The workflows are project-wide, recorded with the bootstrap stack and written by every synth: a
    service added to dev alone gets its deploy workflow in the editing loop, which keeps the bootstrap
    stack itself; a region change in dev reaches stg's stack too (its
    deploy role pulls the images it promotes from dev's registry)."""
    cache, out = tmp_path / "cache", tmp_path / "generated"
    synth("--config", str(config), "--out", str(out), cache=cache)
    dev = config / "dev.toml"
    dev.write_text(
        dev.read_text()
        + '\n[[services]]\nname = "jobs"\nport = 7000\npublic = false\nhosts = ["jobs.internal"]\npriority = 30\n'
    )
    assert synth("--config", str(config), "--out", str(out), cache=cache).endswith(
        "synthesized dev; kept bootstrap, prod, stg as they were"
    )
    assert "acme-dev/jobs" in (out / "github" / "workflows" / "deploy-jobs.yml").read_text()
    # the kept bootstrap's stamp records the workflows written: the next synth has nothing to do
    assert synth("--config", str(config), "--out", str(out), cache=cache).endswith(": up to date")
    full = tmp_path / "full"
    synth("--config", str(config), "--out", str(full), cache=tmp_path / "other-cache")
    assert tree_digest(out) == tree_digest(full)
    dev.write_text('region = "eu-central-1"\n' + dev.read_text())
    assert synth("--config", str(config), "--out", str(out), cache=cache).endswith(
        "synthesized bootstrap, dev, prod, stg"
    )
    assert (
        "ecr:eu-central-1:111111111111:repository/acme-dev/*"
        in (out / "stacks" / "stg" / "cdk.tf.json").read_text()
    )
