"""main.py: the command-line contract, bad input, atomic output and the no-op stamp."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from conftest import CONFIG_DIR, ROOT, env_toml, run_main, write_config


def tree_digest(directory: Path) -> dict[str, str]:
    return {
        p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def out_dir(tmp_path: Path, fresh_synth: Path) -> Path:
    """A copy of a good synth, standing in for a user's generated/."""
    target = tmp_path / "generated"
    shutil.copytree(fresh_synth, target)
    return target


def assert_bad_input(result, out_dir: Path, before: dict[str, str]) -> list[str]:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert tree_digest(out_dir) == before
    assert not [p for p in out_dir.parent.iterdir() if p.name.startswith(".generated.")]
    return result.stderr.splitlines()


def test_bad_config_exits_2_with_one_line_per_problem_and_leaves_output_alone(
    tmp_path: Path, out_dir: Path
) -> None:
    config = write_config(
        tmp_path / "environments",
        {"dev": env_toml(network="az_count = 1\n"), "stg": env_toml("10.10.0.0/17") + "colour = 'blue'\n"},
    )
    before = tree_digest(out_dir)
    result = run_main("synth", "--config", str(config), "--out", str(out_dir), cwd=tmp_path)
    lines = assert_bad_input(result, out_dir, before)
    assert lines == [
        "environments/dev.toml: network.az_count: Input should be greater than or equal to 2 (got 1)",
        "environments/stg.toml: network.colour: unknown key",
        "environments/stg.toml: network.cidr: 10.10.0.0/17 overlaps 10.10.0.0/16 of environment 'dev' "
        "(environments/dev.toml)",
    ]
    assert result.stdout == ""  # each problem once, on stderr only (cdktf synth shows stderr)


def test_bad_arguments_exit_2_in_one_line(out_dir: Path) -> None:
    before = tree_digest(out_dir)
    for args in (("synth", "--bogus"), ("deploy",), ("synth", "--env")):
        result = run_main(*args, "--out", str(out_dir)) if args[0] == "synth" else run_main(*args)
        lines = assert_bad_input(result, out_dir, before)
        assert len(lines) == 1 and lines[0].startswith("main.py: arguments: "), lines


def test_help_describes_every_option() -> None:
    for args in (("--help",), ("synth", "--help")):
        result = run_main(*args)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        text = " ".join(result.stdout.split())
        assert "--env NAME synthesize the bootstrap stack and this environment" in text
        assert "--config DIR the config directory: project.toml and one <env>.toml" in text
        assert "--out DIR the output directory" in text
    validate = " ".join(run_main("validate", "--help").stdout.split())
    assert "--out DIR the synthesized output directory to validate" in validate


def test_unknown_environment_is_bad_input(out_dir: Path) -> None:
    before = tree_digest(out_dir)
    result = run_main("synth", "--env", "qa", "--out", str(out_dir))
    assert assert_bad_input(result, out_dir, before) == [
        "environments/qa.toml: (file): no environment named 'qa'; environments: dev, prod, stg"
    ]


def test_missing_config_directory_is_bad_input(tmp_path: Path, out_dir: Path) -> None:
    before = tree_digest(out_dir)
    result = run_main("synth", "--config", str(tmp_path / "nowhere"), "--out", str(out_dir), cwd=tmp_path)
    assert assert_bad_input(result, out_dir, before) == ["nowhere/project.toml: (file): file not found"]


def test_failed_synth_leaves_the_previous_output_exactly_as_it_was(out_dir: Path, monkeypatch) -> None:
    from modules.config import load_platform
    from modules.stacks import synth

    class Exploding:
        def synth(self) -> None:
            raise RuntimeError("boom")

    def half_written(platform, outdir: Path, **_):
        (outdir / "stacks").mkdir(parents=True)
        (outdir / "stacks" / "partial.json").write_text("{")
        return Exploding()

    before = tree_digest(out_dir)
    monkeypatch.setattr(synth, "build_app", half_written)
    for keep_others in (False, True):
        with pytest.raises(RuntimeError, match="boom"):
            synth.synthesize(load_platform(CONFIG_DIR, ("dev",)), out_dir, {}, keep_others=keep_others)
        assert tree_digest(out_dir) == before
        assert sorted(p.name for p in out_dir.parent.iterdir()) == ["generated"]


def test_env_subset_and_no_op(tmp_path: Path) -> None:
    out = tmp_path / "only-dev"
    first = run_main("synth", "--env", "dev", "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in (out / "stacks").iterdir()) == ["bootstrap", "dev"]
    synthesized = tree_digest(out)
    second = run_main("synth", "--env", "dev", "--out", str(out))
    assert second.returncode == 0 and second.stdout.strip().endswith(": up to date")
    assert tree_digest(out) == synthesized
    # a hand edit of the output is not "up to date": the next synth restores it
    (out / "stacks" / "dev" / "cdk.tf.json").write_text("{}")
    third = run_main("synth", "--env", "dev", "--out", str(out))
    assert third.stdout.strip().endswith("synthesized dev; kept bootstrap as it was")
    assert tree_digest(out) == synthesized


def test_a_new_environment_file_adds_a_stack_without_code_changes(tmp_path: Path) -> None:
    config = tmp_path / "environments"
    shutil.copytree(CONFIG_DIR, config)
    (config / "qa.toml").write_text(env_toml("10.40.0.0/16"))
    out = tmp_path / "generated"
    # the shipped project delivers with github: a new environment takes its place in the promotion
    result = run_main("synth", "--config", str(config), "--out", str(out))
    assert result.returncode == 2 and "delivery.promotion: qa deliver with github" in result.stderr
    project = config / "project.toml"
    project.write_text(project.read_text().replace('["dev", "stg", "prod"]', '["dev", "qa", "stg", "prod"]'))
    result = run_main("synth", "--config", str(config), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (out / "stacks").iterdir()) == ["bootstrap", "dev", "prod", "qa", "stg"]
    assert '"key": "qa/terraform.tfstate"' in (out / "stacks" / "qa" / "cdk.tf.json").read_text()


def test_two_synths_are_byte_identical(tmp_path: Path, fresh_synth: Path) -> None:
    again = tmp_path / "again"
    result = run_main("synth", "--out", str(again))
    assert result.returncode == 0, result.stderr
    assert tree_digest(again) == tree_digest(fresh_synth)


def test_committed_generated_equals_a_fresh_synth(fresh_synth: Path) -> None:
    committed = tree_digest(ROOT / "generated")
    fresh = tree_digest(fresh_synth)
    stale = sorted(name for name in committed.keys() | fresh.keys() if committed.get(name) != fresh.get(name))
    assert not stale, f"generated/ is stale, run `make synth` and commit: {stale}"


def test_layout_matches_cdktf(fresh_synth: Path) -> None:
    import json

    manifest = json.loads((fresh_synth / "manifest.json").read_text())
    assert sorted(manifest["stacks"]) == ["bootstrap", "dev", "prod", "stg"]
    assert sorted(p.name for p in (fresh_synth / "stacks").iterdir()) == sorted(manifest["stacks"])
    for name, stack in manifest["stacks"].items():
        assert stack["synthesizedStackPath"] == f"stacks/{name}/cdk.tf.json"
        assert stack["workingDirectory"] == f"stacks/{name}"
        # every path the manifest names exists (cdktf's stackMetadataPath named one it never wrote)
        files = [value for key, value in stack.items() if key.endswith("Path") and key != "constructPath"]
        paths = [*files, stack["workingDirectory"]]
        assert all((fresh_synth / path).exists() for path in paths), stack
    # the output is what is committed, and nothing else: the no-op stamps live in a local cache
    assert sorted(
        p.relative_to(fresh_synth).as_posix() for p in fresh_synth.rglob("*") if p.is_file()
    ) == sorted(
        [
            *(f"docs/{name}.md" for name in sorted(manifest["stacks"]) if name != "bootstrap"),
            "manifest.json",
            *(f"stacks/{name}/cdk.tf.json" for name in sorted(manifest["stacks"])),
            # dev's Discord notifier, beside the stack that references it by relative file name
            "stacks/dev/discord-notifier.zip",
            # the project's GitHub Actions workflows: infrastructure, and a deploy per service
            "github/workflows/infrastructure.yml",
            *(f"github/workflows/deploy-{s}.yml" for s in ("api", "billing", "ledger", "web")),
        ]
    )


def test_a_synth_without_the_bindings_type_checks_writes_the_same_bytes(
    fresh_synth: Path, tmp_path: Path
) -> None:
    """main.py compiles the bindings without their runtime type checks; with
    PLATFORM_SYNTH_TYPE_CHECKS=1 it keeps them. Both write identical output."""
    import os
    import subprocess
    import sys

    out = tmp_path / "checked"
    env = {**os.environ, "PLATFORM_SYNTH_TYPE_CHECKS": "1"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "synth", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert tree_digest(out) == tree_digest(fresh_synth)


def printed_at_exit(report: str, out: Path, env: dict[str, str]) -> str:
    """The last line `report` (Python source defining `report()`) prints at the exit of
    `python main.py synth --env dev --out OUT` as a command, with `env` added: registered with
    atexit before main.py runs, so it runs after everything main.py registers."""
    import os
    import subprocess
    import sys

    code = (
        f"{report}\n"
        "import atexit, runpy, sys\n"
        "atexit.register(report)\n"
        "sys.argv = ['main.py', 'synth', '--env', 'dev', '--out', sys.argv[1]]\n"
        "runpy.run_path('main.py', run_name='__main__')\n"
    )
    inherited = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
    result = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**inherited, **env},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    ("switch", "expected"),
    [({}, "False False False"), ({"PLATFORM_SYNTH_TYPE_CHECKS": "1"}, "True True True")],
)
def test_a_command_line_synth_compiles_the_bindings_without_their_type_checks(
    tmp_path: Path, switch: dict[str, str], expected: str
) -> None:
    """main.py as a command: cdktf's, constructs' and the provider's initialisers run without their
    typeguard calls (compiled with optimize=1, in this one interpreter); PLATFORM_SYNTH_TYPE_CHECKS=1
    keeps them."""
    report = (
        "import dis, sys\n"
        "def calls(function):\n"
        "    return any(i.argval == 'check_type' for i in dis.get_instructions(function))\n"
        "def report():\n"
        "    import cdktf, constructs\n"
        "    from modules import cdk\n"
        "    print('checks', calls(cdktf.TerraformStack.__init__), calls(constructs.Construct.__init__),"
        " calls(cdk.aws.iam_role.IamRole.__init__), sys.flags.optimize)"
    )
    # sys.flags.optimize 0: one plain interpreter, not one re-executed under -O
    assert printed_at_exit(report, tmp_path / "out", switch) == f"checks {expected} 0"


@pytest.mark.parametrize(
    ("switch", "expected"), [({}, "False True"), ({"SYNTH_CYCLE_COLLECTION": "1"}, "True False")]
)
def test_a_command_line_synth_runs_without_the_cycle_collector(
    tmp_path: Path, switch: dict[str, str], expected: str
) -> None:
    """main.py as a command: a synth with work to do turns Python's cyclic collector off, and the
    `__main__` block freezes what the command built before finalization; SYNTH_CYCLE_COLLECTION=1
    keeps both as Python has them."""
    report = "import gc\ndef report():\n    print('collector', gc.isenabled(), gc.get_freeze_count() > 0)"
    assert printed_at_exit(report, tmp_path / "out", switch) == f"collector {expected}"
