"""modules/cdk.py: the fast provider import and its fallback."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_fast_path_skips_the_package_init() -> None:
    code = (
        "import sys; import modules.cdk as cdk; cdk.aws.vpc.Vpc;"
        "loaded = [m for m in sys.modules if m.startswith('cdktf_cdktf_provider_aws.')];"
        "print(cdk.PROVIDER_IMPORT, len(loaded), 'cdktf_cdktf_provider_aws.waf_web_acl' in sys.modules)"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    mode, loaded, waf = result.stdout.split()
    assert mode == "fast"
    assert int(loaded) < 10  # _jsii and vpc, not ~2,136 resource modules
    assert waf == "False"


def test_synth_takes_the_fast_path(committed_platform) -> None:
    from modules import cdk

    assert cdk.PROVIDER_IMPORT == "fast"
    assert "cdktf_cdktf_provider_aws.waf_web_acl" not in sys.modules


def test_falls_back_to_the_plain_import_when_the_layout_is_unusable() -> None:
    code = (
        "import importlib.util, sys, cdktf;"
        "from modules import cdk;"
        "del sys.modules['cdktf_cdktf_provider_aws'];"
        "package, mode = cdk.load_provider_package(find_spec=lambda name: None);"
        "print(mode, hasattr(package, 'waf_web_acl'))"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["plain", "True"]


def test_lazy_node_index_changes_nothing_in_the_output(tmp_path, fresh_synth) -> None:
    import os

    from conftest import run_main
    from test_cli import tree_digest

    os.environ["SYNTH_EAGER_PROVIDER_INDEX"] = "1"
    try:
        result = run_main("synth", "--out", str(tmp_path / "eager"))
    finally:
        del os.environ["SYNTH_EAGER_PROVIDER_INDEX"]
    assert result.returncode == 0, result.stderr
    assert tree_digest(tmp_path / "eager") == tree_digest(fresh_synth)


def test_lazy_node_index_is_preloaded_into_the_jsii_runtime() -> None:
    code = "import os, modules.cdk as cdk; print(cdk.LAZY_PROVIDER_INDEX, os.environ['NODE_OPTIONS'])"
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    enabled, options = result.stdout.split(" ", 1)
    assert enabled == "True"
    assert "lazy_provider_index.js" in options and "--require" in options
