"""modules/cdk.py: the fast provider import and its fallback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def run_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        # Not this process's NODE_OPTIONS: modules/cdk.py has added its hooks to it.
        env={**{k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}, **(env or {})},
    )


def printed(code: str, env: dict[str, str] | None = None) -> list[str]:
    """The words `code` prints in a fresh Python, which must succeed."""
    result = run_python(code, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def with_and_without(code: str, switch: str) -> tuple[list[str], list[str]]:
    """The words `code` prints with a speed hook on, then with `switch`=1 turning it off."""
    return printed(code), printed(code, env={switch: "1"})


def test_fast_path_skips_the_package_init() -> None:
    code = (
        "import sys; import modules.cdk as cdk; cdk.aws.vpc.Vpc;"
        "loaded = [m for m in sys.modules if m.startswith('cdktf_cdktf_provider_aws.')];"
        "print(cdk.PROVIDER_IMPORT, len(loaded), 'cdktf_cdktf_provider_aws.waf_web_acl' in sys.modules)"
    )
    mode, loaded, waf = printed(code)
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
        "hints = package.vpc.Vpc.__init__.__annotations__;"
        "print(mode, hasattr(package, 'waf_web_acl'), type(hints['cidr_block']).__name__)"
    )
    # As shipped, annotations and all: postponed annotations serve the fast import's package only.
    mode, complete, annotation = printed(code)
    assert (mode, complete) == ("plain", "True") and annotation != "str"


def test_the_speed_hooks_change_nothing_in_the_output(tmp_path, fresh_synth) -> None:
    """Every speed hook of modules/kernel.py, cdk.py and bindings.py (each switch below turns one
    off: lazy loading in Node.js and Python, skipped work in cdktf's resolve, remembered tarball
    digests, local references, the direct jsii channel, postponed annotations, creates answered
    ahead, arguments serialized in one walk, the kernel started early, classes loaded ahead, no cyclic
    collection in main.py) is speed
    only: with all of them switched off (cdktf and jsii as shipped) the output is byte-identical."""
    import os

    from conftest import run_main
    from test_cli import tree_digest

    plain = {
        "SYNTH_EAGER_PROVIDER_INDEX": "1",
        "SYNTH_TOKEN_STACK_TRACES": "1",
        "SYNTH_JSII_REFERENCES": "1",
        "SYNTH_JSII_RELAY": "1",
        "SYNTH_EAGER_ANNOTATIONS": "1",
        "SYNTH_JSII_SYNC_CREATES": "1",
        "SYNTH_EAGER_CDKTF_DEPENDENCIES": "1",
        "SYNTH_PREPARING_RESOLVE": "1",
        "SYNTH_JSII_SERIALIZER": "1",
        "SYNTH_EAGER_TYPEGUARD": "1",
        "SYNTH_RESOLVE_EVERY_STRING": "1",
        "SYNTH_HASH_TARBALLS": "1",
        "SYNTH_LOAD_CLASSES_ON_DEMAND": "1",
        "SYNTH_KERNEL_ON_IMPORT": "1",
        "SYNTH_CYCLE_COLLECTION": "1",
        "SYNTH_INLINE_SOURCE_MAPS": "1",
    }
    # This process's NODE_OPTIONS already preloads the hooks (modules/cdk.py added them): the child
    # must start without them, or it would inherit what it is meant to switch off.
    inherited = os.environ.pop("NODE_OPTIONS", None)
    os.environ.update(plain)
    try:
        result = run_main("synth", "--out", str(tmp_path / "plain"))
    finally:
        for name in plain:
            del os.environ[name]
        if inherited is not None:
            os.environ["NODE_OPTIONS"] = inherited
    assert result.returncode == 0, result.stderr
    assert tree_digest(tmp_path / "plain") == tree_digest(fresh_synth)


def test_tokens_record_no_stack_once_the_hook_is_preloaded() -> None:
    """A cdktf token made through jsii carries an empty creation stack with the hook, and the real
    Node.js stack without it (so the hook, not chance, empties it)."""
    code = (
        "import modules.kernel, modules.cdk as cdk; from cdktf import Token; "
        "print(modules.kernel.TOKEN_STACK_TRACES, len(Token.as_any('x').creation_stack))"
    )
    with_hook, (enabled, frames) = with_and_without(code, "SYNTH_TOKEN_STACK_TRACES")
    assert with_hook == ["False", "0"]
    assert enabled == "True" and int(frames) > 0


def test_synth_resolves_each_stack_once(tmp_path) -> None:
    """one_resolve_pass.js: a lazy value is produced once per synth with the hook, twice without it
    (cdktf's preparing pass, then the one that writes)."""
    code = (
        "import jsii, modules.kernel, modules.cdk as cdk; from cdktf import IAnyProducer, Lazy\n"
        "calls = []\n"
        "@jsii.implements(IAnyProducer)\n"
        "class Producer:\n"
        "    def produce(self, context):\n"
        "        calls.append(1)\n"
        "        return 'produced'\n"
        f"app = cdk.App(outdir={str(tmp_path)!r}); stack = cdk.TerraformStack(app, 'once')\n"
        "cdk.TerraformOutput(stack, 'value', value=Lazy.any_value(Producer()))\n"
        "cdk.synth_app(app); print(modules.kernel.ONE_RESOLVE_PASS, len(calls))"
    )
    assert with_and_without(code, "SYNTH_PREPARING_RESOLVE") == (["True", "1"], ["False", "2"])
    assert '"value": "produced"' in (tmp_path / "stacks" / "once" / "cdk.tf.json").read_text()


def test_a_reference_from_one_stack_to_another_fails_the_synth_naming_both(tmp_path) -> None:
    """Without the preparing pass cdktf cannot wire a reference across stacks through remote state;
    the platform's stacks never make one, and one made by mistake stops the synth instead of being
    written as a reference to a resource the stack does not have."""
    code = (
        "import modules.cdk as cdk\n"
        f"app = cdk.App(outdir={str(tmp_path)!r})\n"
        "origin, user = cdk.TerraformStack(app, 'origin'), cdk.TerraformStack(app, 'user')\n"
        "[cdk.aws.provider.AwsProvider(stack, 'aws', region='eu-west-1') for stack in (origin, user)]\n"
        "role = cdk.aws.iam_role.IamRole(origin, 'role', assume_role_policy='{}')\n"
        "cdk.TerraformOutput(user, 'duration', value=role.max_session_duration)\n"
        "try:\n"
        "    cdk.synth_app(app); print('synthesized')\n"
        "except RuntimeError as error:\n"
        "    print(str(error).splitlines()[0])"
    )
    refused, wired = with_and_without(code, "SYNTH_PREPARING_RESOLVE")
    assert (
        "Cross-stack reference: stack user refers to aws_iam_role.role.max_session_duration of stack "
        "origin; the platform's stacks share no values"
    ) in " ".join(refused)
    assert wired == ["synthesized"]  # cdktf's own way: an output in one, remote state in the other
    assert "terraform_remote_state" in (tmp_path / "stacks" / "user" / "cdk.tf.json").read_text()


def _jsii_tarball(package: str) -> Path:
    """The jsii tarball a binding package ships, found without importing the package: importing it
    here could start the kernel before modules/cdk.py sets its hooks, or take the provider's plain
    import for the rest of this test process."""
    from importlib.util import find_spec

    spec = find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    (tarball,) = (Path(spec.submodule_search_locations[0]) / "_jsii").glob("*.jsii.tgz")
    return tarball


def _cdktf_package(directory) -> str:
    """cdktf's and constructs' npm packages, from their jsii tarballs, as node_modules/ of `directory`."""
    import tarfile

    for package in ("cdktf", "constructs"):
        target = directory / "node_modules" / package
        with tarfile.open(_jsii_tarball(package)) as archive:
            archive.extractall(target, filter="data")
        (target / "package").rename(target.with_name(f"{package}.tmp"))
        target.rmdir()
        target.with_name(f"{package}.tmp").rename(target)
    return str(directory)


def test_cdktf_loads_archiver_and_semver_on_first_use(tmp_path) -> None:
    """lazy_cdktf_dependencies.js: loading cdktf leaves both packages unloaded; using them loads them,
    and they work: semver in cdktf's version check, archiver in its zip of a directory (which cdktf
    runs in a child Node.js process; the hook reaches it through NODE_OPTIONS, as it does the kernel's)."""
    hook = ROOT / "modules" / "lazy_cdktf_dependencies.js"
    (tmp_path / "asset").mkdir()
    (tmp_path / "asset" / "file.txt").write_text("zipped\n")
    script = (
        "const loaded = (name) => Object.keys(require.cache).some((p) => p.includes(`/node_modules/${name}/`));"
        "const cdktf = require('cdktf'); const before = [loaded('archiver'), loaded('semver')];"
        "const { ValidateBinaryVersion } = require('cdktf/lib/validations/validate-binary-version');"
        "const check = new ValidateBinaryVersion('node', '>=1.0.0', 'node --version');"
        "const problems = check.validate();"
        "const zip = require('cdktf/lib/private/fs').archiveSync('asset', 'asset.zip');"
        "setTimeout(() => console.log(JSON.stringify({ before, after: [loaded('archiver'), loaded('semver')],"
        " problems, zip: require('fs').statSync('asset.zip').size > 0 })), 500);"
    )
    cwd = _cdktf_package(tmp_path)

    def run(node_options: str) -> dict:
        result = subprocess.run(
            ["node", "--preserve-symlinks", "-e", script],
            cwd=cwd,
            capture_output=True,
            text=True,
            env={**os.environ, "NODE_OPTIONS": node_options},
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    assert run(f'--require "{hook}"') == {
        "before": [False, False],
        "after": [False, True],  # archiver was loaded, and used, in the child process only
        "problems": [],
        "zip": True,
    }
    assert run("")["before"] == [True, True]  # cdktf as shipped loads both at once


def test_plain_leaves_resolve_at_once_to_what_cdktf_resolves_them_to(tmp_path) -> None:
    """resolve_plain_strings.js, on cdktf's own resolve(): strings with and without tokens, strings
    that look like encoded numbers, real string, number and list tokens, numbers, booleans, null and
    undefined, alone and as the keys, values and elements of objects and arrays, and the map-token
    markers (an error either way) resolve as they do in cdktf as shipped; and all four shortcuts
    are in place."""
    hook = ROOT / "modules" / "resolve_plain_strings.js"
    script = (
        "const cdktf = require('cdktf');"
        "const stack = new cdktf.TerraformStack(new cdktf.App({ outdir: 'out' }), 's');"
        "const number = cdktf.Token.asNumber(cdktf.Lazy.numberValue({ produce: () => 42 }));"
        "const string = cdktf.Token.asString(cdktf.Lazy.stringValue({ produce: () => 'lazy' }));"
        "const list = cdktf.Token.asList(cdktf.Lazy.listValue({ produce: () => ['l1', 'l2'] }));"
        "const values = ['plain', 'arn:aws:iam::123456789012:role/x', 'e2e-1e5', '-1.5e+3',"
        " `n=${number}`, string, { nested: ['a', 'b-e7', `x${number}y`] }, 7, -0.5, 1e21, number,"
        " true, false, null, undefined, [1, number, 'e9e9', true, null, undefined, [string, 2.5]],"
        " { [string]: 'keyed', [`k${number}`]: number, 'a-1e5': false, gone: undefined, n: null,"
        " deep: { list, flag: true, count: 3 } }, list, ['x', ...list],"
        " cdktf.Token.STRING_MAP_TOKEN_VALUE, 'Any Map Token Value', cdktf.Token.NUMBER_MAP_TOKEN_VALUE,"
        " { inside: cdktf.Token.NUMBER_MAP_TOKEN_VALUE }, [cdktf.Token.ANY_MAP_TOKEN_VALUE]];"
        "const resolved = values.map((value) => { try { const r = cdktf.Tokenization.resolve(value, {"
        " scope: stack, resolver: new cdktf.DefaultTokenResolver(new cdktf.StringConcat()) });"
        " return r === undefined ? '(undefined)' : r; }"
        " catch (error) { return `error: ${error.message}`; } });"
        "const source = require('cdktf/lib/tokens/private/resolve').resolve.toString();"
        "const shortcuts = ['__plainString(obj)', '__plainLeaf(x,', '__plainString(key) ?', '__plainLeaf(__raw,'];"
        "console.log(JSON.stringify({ shortcuts: shortcuts.map((s) => source.includes(s)), resolved }));"
    )
    cwd = _cdktf_package(tmp_path)

    def run(node_options: str) -> dict:
        command = ["node", "--preserve-symlinks", "-e", script]
        result = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, env={**os.environ, "NODE_OPTIONS": node_options}
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    hooked, shipped = run(f'--require "{hook}"'), run("")
    assert hooked["shortcuts"] == [True] * 4 and shipped["shortcuts"] == [False] * 4
    assert hooked["resolved"] == shipped["resolved"]
    resolved = hooked["resolved"]
    assert resolved[4] == "n=42" and resolved[5] == "lazy"
    assert resolved[6] == {"nested": ["a", "b-e7", "x42y"]}
    assert resolved[10] == 42 and resolved[14] == "(undefined)"
    assert resolved[15] == [1, 42, "e9e9", True, None, ["lazy", 2.5]]
    assert resolved[16] == {
        "lazy": "keyed",
        "k42": 42,
        "a-1e5": False,
        "n": None,
        "deep": {"list": ["l1", "l2"], "flag": True, "count": 3},
    }
    assert resolved[17] == ["l1", "l2"]
    assert all(value.startswith("error: ") for value in resolved[-5:])


def test_modules_compile_without_their_inline_source_map_unless_source_maps_are_on(tmp_path) -> None:
    """no_inline_source_maps.js: cdktf's modules reach Node.js's compiler without the trailing
    `//# sourceMappingURL=data:` line, and with everything before it unchanged; with source maps
    enabled (`--enable-source-maps`) they keep it. Seen by a recorder preloaded first, which the hook
    wraps, so it gets the source the hook passes on."""
    hook = ROOT / "modules" / "no_inline_source_maps.js"
    recorder = tmp_path / "recorder.js"
    recorder.write_text(
        "const Module = require('module'); const fs = require('fs'); const original = Module.prototype._compile;\n"
        "globalThis.compiled = [];\n"
        "Module.prototype._compile = function (content, filename) {\n"
        "  if (filename.includes('/node_modules/cdktf/lib/')) {\n"
        "    const disk = fs.readFileSync(filename, 'utf8');\n"
        "    globalThis.compiled.push([content.includes('sourceMappingURL=data:'), disk.includes('sourceMappingURL=data:'),"
        " disk.startsWith(content), disk.length - content.length]);\n"
        "  }\n"
        "  return original.apply(this, arguments);\n"
        "};\n"
    )
    script = (
        "require('cdktf'); const c = globalThis.compiled;"
        "console.log(JSON.stringify({ modules: c.length, mapped: c.filter((e) => e[1]).length,"
        " kept: c.filter((e) => e[0]).length, prefix: c.every((e) => e[2]),"
        " cut: c.reduce((sum, e) => sum + e[3], 0) }));"
    )
    cwd = _cdktf_package(tmp_path)

    def run(*flags: str) -> dict:
        command = [
            "node",
            "--preserve-symlinks",
            *flags,
            "--require",
            str(recorder),
            "--require",
            str(hook),
            "-e",
            script,
        ]
        result = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, env={**os.environ, "NODE_OPTIONS": ""}
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    cut, enabled = run(), run("--enable-source-maps")
    assert cut["modules"] > 50 and cut["mapped"] == cut["modules"]  # every cdktf module has one
    assert cut["kept"] == 0 and cut["prefix"] and cut["cut"] > 500_000
    assert enabled["kept"] == enabled["mapped"] == enabled["modules"] and enabled["cut"] == 0


def test_the_kernel_remembers_each_tarball_digest_as_jsii_computes_it(tmp_path) -> None:
    """tarball_digests.js: after a start of the kernel, the synth cache holds the digest of each of
    the three package tarballs, keyed by its path, and each is the one jsii's cache computes (SHA-256
    of the file, then NUL and each of the package's name and version). Switched off, none is kept."""
    import hashlib

    code = "import modules.kernel, modules.cdk as cdk; cdk.App(); print(modules.kernel.REMEMBERED_DIGESTS)"
    env = {"SYNTH_CACHE_DIR": str(tmp_path / "on")}
    assert printed(code, env=env) == ["True"]
    memo = json.loads((tmp_path / "on" / "jsii-tarball-digests.json").read_text())
    expected = {}
    for package, name in (
        ("constructs", "constructs"),
        ("cdktf", "cdktf"),
        ("cdktf_cdktf_provider_aws", "@cdktf/provider-aws"),
    ):
        tarball = _jsii_tarball(package)
        version = tarball.name.removesuffix(".jsii.tgz").rsplit("@", 1)[1]
        digest = hashlib.sha256(tarball.read_bytes() + f"\0{name}\0{version}".encode())
        expected[str(tarball.resolve())] = digest.hexdigest()
    assert {json.loads(key)[0]: value for key, value in memo.items()} == expected
    assert printed(code, env={"SYNTH_CACHE_DIR": str(tmp_path / "off"), "SYNTH_HASH_TARBALLS": "1"}) == [
        "False"
    ]
    assert not (tmp_path / "off").exists()


def test_a_remembered_digest_is_used_until_its_tarball_changes(tmp_path) -> None:
    """The hook's rewrite of the kernel's digest call, on a stand-in for jsii's lib/program.js: the
    second start reads the digest from the memo, and a tarball touched since is hashed again."""
    hook = ROOT / "modules" / "tarball_digests.js"
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "program.js").write_text(
        "function extractViaCache(e, ...f) { let _; _=(0,V.digestFile)(e,...f); return _; }\n"
        "const V = { digestFile: (e, ...f) => { V.hashed += 1; return Buffer.alloc(32, 7); }, hashed: 0 };\n"
        "const digest = extractViaCache(process.argv[2], 'pkg', '1.0.0').toString('hex');\n"
        "console.log(V.hashed, digest.slice(0, 4));\n"
    )
    tarball = tmp_path / "pkg.tgz"
    tarball.write_bytes(b"tarball")
    env = {
        **os.environ,
        "NODE_OPTIONS": f'--require "{hook}"',
        "SYNTH_TARBALL_DIGESTS": str(tmp_path / "memo.json"),
    }

    def start() -> list[str]:
        command = ["node", str(tmp_path / "lib" / "program.js"), str(tarball)]
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    assert start() == ["1", "0707"]  # hashed, and remembered
    assert start() == ["0", "0707"]  # remembered
    os.utime(tarball, ns=(1, 1))
    assert start() == ["1", "0707"]  # changed: hashed again


def test_a_synth_records_the_provider_classes_it_created(tmp_path) -> None:
    """The synth CLI writes, in its cache, the jsii names of the provider classes it created, for the
    next synth to load ahead; a synth with the record reads it and writes the same output."""
    from conftest import run_main
    from test_cli import tree_digest

    cache = tmp_path / "cache"
    os.environ["SYNTH_CACHE_DIR"], previous = str(cache), os.environ.get("SYNTH_CACHE_DIR")
    try:
        first = run_main("synth", "--out", str(tmp_path / "first"))
        recorded = json.loads((cache / "provider-classes.json").read_text())
        second = run_main("synth", "--out", str(tmp_path / "second"))
    finally:
        os.environ["SYNTH_CACHE_DIR"] = previous or ""
        if previous is None:
            del os.environ["SYNTH_CACHE_DIR"]
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert recorded == sorted(set(recorded))
    assert {"@cdktf/provider-aws.vpc.Vpc", "@cdktf/provider-aws.provider.AwsProvider"} <= set(recorded)
    assert len(recorded) > 50
    assert tree_digest(tmp_path / "first") == tree_digest(tmp_path / "second")


def test_classes_loaded_ahead_are_answered_later_and_a_stale_one_breaks_nothing(tmp_path) -> None:
    """Each class asked for ahead is one request sent without waiting; its answer, even the error of
    a class the provider no longer has, is read and dropped before the next request's."""
    import modules.cdk as cdk
    from modules import bindings

    record = tmp_path / "classes.json"
    record.write_text(
        json.dumps(["@cdktf/provider-aws.vpc.Vpc", "@cdktf/provider-aws.noSuch.NoSuch", "other.X"])
    )
    pipeline = bindings._pipeline_of(_node_process())
    pipeline_before = len(pipeline.unread)
    assert cdk.load_provider_classes_ahead(record) == 2  # not another package's class
    assert len(pipeline.unread) == pipeline_before + 2
    stack = cdk.TerraformStack(cdk.Testing.app(), "ahead")
    role = cdk.aws.iam_role.IamRole(stack, "role", assume_role_policy="{}")
    assert role.max_session_duration is not None  # a request that waits: every answer read first
    assert not pipeline.unread
    record.write_text("not json")
    assert cdk.load_provider_classes_ahead(record) == 0
    # At most half the pipeline's depth: the creates that follow still go without waiting.
    assert bindings.load_classes_ahead(_node_process(), ["@cdktf/provider-aws.vpc.Vpc"] * 300) == 128
    assert bindings._CLASSES_AHEAD * 2 == bindings._PIPELINE_DEPTH
    assert role.max_session_duration is not None and not pipeline.unread


def test_switched_off_no_class_is_loaded_ahead(tmp_path) -> None:
    record = tmp_path / "classes.json"
    record.write_text(json.dumps(["@cdktf/provider-aws.vpc.Vpc"]))
    code = f"import modules.cdk as cdk; from pathlib import Path; print(cdk.load_provider_classes_ahead(Path({str(record)!r})))"
    assert with_and_without(code, "SYNTH_LOAD_CLASSES_ON_DEMAND") == (["1"], ["0"])


def _node_process():
    import jsii

    return jsii.kernel.provider._process


def test_string_attributes_are_answered_with_their_reference_and_the_rest_by_nodejs(monkeypatch) -> None:
    """A plain string attribute of a resource or data source is its readable reference, made in
    Python; a number or list attribute, or a construct whose scope was not made here, asks Node.js."""
    import modules.cdk as cdk
    from modules.cdk import Construct, TerraformStack, Testing, aws

    asked: list[str] = []
    real = cdk._jsii_get
    monkeypatch.setattr(cdk, "_jsii_get", lambda obj, prop: asked.append(prop) or real(obj, prop))
    stack = TerraformStack(Testing.app(), "test")
    role = aws.iam_role.IamRole(Construct(stack, "a-b"), "role--x", assume_role_policy="{}")
    parameter = aws.data_aws_ssm_parameter.DataAwsSsmParameter(stack, "ami", name="/x")
    assert role.arn == "${aws_iam_role.a_b_role_x.arn}"
    assert role.unique_id == "${aws_iam_role.a_b_role_x.unique_id}"
    assert parameter.value == "${data.aws_ssm_parameter.ami.value}"
    assert asked == []
    assert role.max_session_duration is not None  # a number: a token only Node.js can make
    assert asked == ["maxSessionDuration"]
    assert cdk.readable_name(["services", "web-app", "--role--"]) == "services_web_app_role"


def _node_children(code_prefix: str, env: dict[str, str] | None = None) -> list[str]:
    code = (
        f"{code_prefix}; import jsii, pathlib; pid = jsii.kernel.provider._process._process.pid;"
        "stats = [p.read_text() for p in pathlib.Path('/proc').glob('[0-9]*/stat') if p.exists()];"
        "print(sum(1 for s in stats if s.rsplit(')', 1)[1].split()[1] == str(pid)))"
    )
    return printed(code, env=env)


def test_the_jsii_kernel_runs_in_the_node_process_python_started() -> None:
    """direct_jsii_channel.js: no relay process between Python and the kernel; the switch keeps it."""
    assert _node_children("import modules.cdk as cdk; cdk.App()") == ["0"]
    assert _node_children("import modules.cdk as cdk; cdk.App()", env={"SYNTH_JSII_RELAY": "1"}) == ["1"]


def test_what_nodejs_prints_reaches_the_terminal_not_the_jsii_protocol(tmp_path) -> None:
    """The kernel shares Python's pipes with the protocol: a script that prints must not break it."""
    script = tmp_path / "talk.js"
    script.write_text('console.log("said on stdout"); console.error("said on stderr");\n')
    code = "import modules.cdk as cdk; app = cdk.App(outdir='out'); print('outdir', app.outdir)"
    result = run_python(code, env={"NODE_OPTIONS": f'--require "{script}"'})
    assert result.returncode == 0, result.stderr
    assert "said on stdout" in result.stdout and "outdir out" in result.stdout
    assert "said on stderr" in result.stderr


def test_a_local_reference_reads_its_resource_type_from_the_module_and_synth_checks_it(monkeypatch) -> None:
    """No static get per provider class while creates are sent ahead; checked against Node.js before
    synth, so a module whose docstring named another type would stop the synth, not mislead it."""
    import pytest

    import modules.cdk as cdk
    from modules.cdk import TerraformStack, Testing, aws

    stack = TerraformStack(Testing.app(), "types")
    bucket = aws.s3_control_bucket.S3ControlBucket(stack, "bucket", bucket="b", outpost_id="o")
    ami = aws.data_aws_ssm_parameter.DataAwsSsmParameter(stack, "ami", name="/x")
    assert bucket.arn == "${aws_s3control_bucket.bucket.arn}"  # the module is s3_control_bucket
    assert ami.value == "${data.aws_ssm_parameter.ami.value}"
    monkeypatch.setattr(cdk, "_resource_types_checked", set())
    cdk.check_resource_types()  # the docstrings agree with Node.js
    monkeypatch.setitem(cdk._resource_types, type(bucket), "aws_s3_bucket")
    monkeypatch.setattr(cdk, "_resource_types_checked", set())
    with pytest.raises(
        RuntimeError, match="names 'aws_s3_bucket', but Node.js's S3ControlBucket.tfResourceType"
    ):
        cdk.check_resource_types()


def test_testing_apps_write_under_the_test_runs_own_temporary_directory() -> None:
    """cdktf's Testing.app() leaves a `cdktf.outdir.*` directory behind for every app: conftest.py
    points the kernel's TMPDIR at one directory per test run, removed when the run ends, so none
    lands in the machine's own temporary directory."""
    from conftest import TESTS_TMPDIR_ENV

    from modules.cdk import Testing

    outdir = Path(Testing.app().outdir)
    assert outdir.name.startswith("cdktf.outdir.")
    assert outdir.parent == Path(os.environ[TESTS_TMPDIR_ENV])
