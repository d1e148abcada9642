"""modules/bindings.py: provider modules with postponed annotations, creates answered ahead,
arguments serialized in one walk, typeguard loaded on first use.

All change speed only: test_cdk.py's output comparison synthesizes with them switched off too.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import sys
from pathlib import Path

import jsii
import pytest
from test_cdk import printed, with_and_without

from modules import bindings, cdk
from modules.cdk import Construct, TerraformStack, aws


def _node() -> object:
    return jsii.kernel.provider._process


# --- postponed annotations ---------------------------------------------------------------------


def test_provider_modules_keep_their_annotations_as_strings() -> None:
    code = (
        "import modules.cdk as cdk; hints = cdk.aws.vpc.Vpc.__init__.__annotations__;"
        "print(cdk.POSTPONED_ANNOTATIONS, type(hints['cidr_block']).__name__)"
    )
    postponed, shipped = with_and_without(code, "SYNTH_EAGER_ANNOTATIONS")
    assert postponed == ["True", "str"]
    assert shipped[0] == "False"
    assert shipped[1] != "str"  # typing.Optional[...]: evaluated when the class was made


def test_the_runtime_type_checks_still_resolve_the_postponed_annotations() -> None:
    """The unit tier runs with the bindings' type checks on (no -O): a wrong type is still refused."""
    assert __debug__
    stack = TerraformStack(cdk.Testing.app(), "checks")
    with pytest.raises(TypeError, match="assume_role_policy"):
        aws.iam_role.IamRole(stack, "role", assume_role_policy=5)  # type: ignore[arg-type]


@pytest.fixture
def fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package `fakeprovider` with one module whose annotation names nothing that exists."""
    package = tmp_path / "fakeprovider"
    (package / "thing").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "thing" / "__init__.py").write_text("def make() -> NotDefinedAnywhere:\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    finder = bindings._ProviderModuleFinder(importlib.import_module("fakeprovider"))
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    yield package
    for name in [m for m in sys.modules if m.startswith("fakeprovider")]:
        del sys.modules[name]


def test_a_module_loads_with_postponed_annotations_and_its_bytecode_is_cached(fake_package: Path) -> None:
    module = importlib.import_module("fakeprovider.thing")  # eager annotations would raise NameError
    assert module.make.__annotations__ == {"return": "NotDefinedAnywhere"}
    cached = list(
        (fake_package / "thing" / "__pycache__").glob(f"__init__.*.opt-annotations{sys.flags.optimize}.pyc")
    )
    assert len(cached) == 1


def test_the_cached_bytecode_follows_its_source(fake_package: Path) -> None:
    source = fake_package / "thing" / "__init__.py"
    assert importlib.import_module("fakeprovider.thing").make() == 1
    del sys.modules["fakeprovider.thing"]
    source.write_text("def make() -> NotDefinedAnywhere:\n    return 22\n")  # another size
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 1_000_000_000))
    assert importlib.import_module("fakeprovider.thing").make() == 22


def test_typeguard_version_is_read_once_while_provider_modules_load(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr(bindings, "_real_version", lambda name: asked.append(name) or "2.13.3")
    bindings._remembered_version.cache_clear()
    before = importlib.metadata.version
    try:
        with bindings._package_versions_remembered():
            versions = [importlib.metadata.version("typeguard") for _ in range(3)]
        assert versions == ["2.13.3"] * 3 and asked == ["typeguard"]
        assert importlib.metadata.version is before  # only while provider modules load
    finally:
        bindings._remembered_version.cache_clear()


# --- creates answered ahead --------------------------------------------------------------------


def test_creates_are_sent_without_waiting_and_answered_as_predicted() -> None:
    assert bindings.PIPELINED_CREATES
    stack = TerraformStack(cdk.Testing.app(), "ahead")
    pipeline = bindings._pipeline_of(_node())
    roles = [aws.iam_role.IamRole(stack, f"role-{n}", assume_role_policy="{}") for n in range(3)]
    assert len(pipeline.unread) >= 3  # sent, answers not read yet
    numbers = [int(role.__jsii_ref__.ref.rsplit("@", 1)[1]) for role in roles]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]
    assert roles[0].max_session_duration is not None  # any other request reads the answers first
    assert not pipeline.unread
    assert cdk.Testing.synth(stack).count('"aws_iam_role"') == 1


def test_an_error_thrown_in_a_create_is_raised_at_the_next_call_and_jsii_stays_in_step() -> None:
    stack = TerraformStack(cdk.Testing.app(), "error")
    Construct(stack, "twice")
    Construct(stack, "twice")  # Node.js refuses a second child of that name; Python is not told yet
    with pytest.raises(RuntimeError, match="There is already a Construct with name 'twice'"):
        cdk.Testing.synth(stack)
    # The answers were all read: the kernel still answers this process's requests, in step.
    role = aws.iam_role.IamRole(stack, "after", assume_role_policy="{}")
    assert role.max_session_duration is not None
    assert '"after"' in cdk.Testing.synth(stack)


def test_an_answer_other_than_the_predicted_one_is_refused() -> None:
    stack = TerraformStack(cdk.Testing.app(), "mismatch")
    pipeline = bindings._pipeline_of(_node())
    aws.iam_role.IamRole(stack, "first", assume_role_policy="{}").max_session_duration  # noqa: B018
    pipeline.next_number += 5  # as if Node.js had made objects Python never heard of
    aws.iam_role.IamRole(stack, "second", assume_role_policy="{}")
    with pytest.raises(bindings.PipelineError, match=r"predicted was .*IamRole@\d+"):
        cdk.Testing.synth(stack)
    # Set back to follow the largest number Node.js answered with: the next create is ahead again.
    assert not pipeline.unread and pipeline.next_number == pipeline.highest_read + 1
    third = aws.iam_role.IamRole(stack, "third", assume_role_policy="{}")
    assert len(pipeline.unread) == 1
    assert third.max_session_duration is not None  # read and checked: the prediction held
    assert '"third"' in cdk.Testing.synth(stack)


def test_a_synth_is_sent_ahead_and_read_when_the_block_ends(tmp_path: Path) -> None:
    """cdk.synthesizing: the app's synth is sent, and its answer still unread, while the block runs;
    leaving reads it, and the stack is written."""
    app = cdk.App(outdir=str(tmp_path), skip_validation=True)  # no provider: not what is tested
    aws.iam_role.IamRole(TerraformStack(app, "sent"), "role", assume_role_policy="{}")
    pipeline = bindings._pipeline_of(_node())
    with cdk.synthesizing(app):
        assert pipeline.unread and pipeline.unread[-1] is bindings._VOID_ANSWER
    assert not pipeline.unread
    assert '"aws_iam_role"' in (tmp_path / "stacks" / "sent" / "cdk.tf.json").read_text()


def test_an_error_of_a_synth_sent_ahead_is_raised_when_the_block_ends(tmp_path: Path) -> None:
    """An error thrown in Node.js while it synthesizes is raised once the block has run (here a name
    collision, which synthesizing raises as AddressCollision), and jsii stays in step; an error raised
    in the block wins, after the synth's answer is read."""
    app = cdk.App(outdir=str(tmp_path), skip_validation=True)
    stack = TerraformStack(app, "clash")
    aws.s3_bucket.S3Bucket(Construct(stack, "a-b"), "c", bucket="first")
    aws.s3_bucket.S3Bucket(Construct(stack, "a"), "b-c", bucket="second")
    pipeline = bindings._pipeline_of(_node())
    ran = []
    with pytest.raises(cdk.AddressCollision, match="a_b_c"), cdk.synthesizing(app):
        ran.append(len(pipeline.unread))
    assert ran and ran[0] >= 1 and not pipeline.unread
    with pytest.raises(KeyError, match="in the block"), cdk.synthesizing(app):
        raise KeyError("in the block")
    assert not pipeline.unread
    role = aws.iam_role.IamRole(stack, "after", assume_role_policy="{}")
    assert role.max_session_duration is not None


def test_a_synth_waits_once_node_could_call_back_into_python(tmp_path: Path) -> None:
    """After a create with overrides (a Python object Node.js may call), an invoke is never answered
    ahead: a callback in the middle of it must be served. The first synth here is sent ahead, the
    one after the Python producer waits (and resolves it)."""
    code = (
        "import jsii, modules.cdk as cdk, modules.bindings as b; from cdktf import IAnyProducer, Lazy\n"
        "pipeline = b._pipeline_of(jsii.kernel.provider._process)\n"
        f"app = cdk.App(outdir={str(tmp_path)!r}, skip_validation=True); stack = cdk.TerraformStack(app, 's')\n"
        "cdk.aws.iam_role.IamRole(stack, 'r', assume_role_policy='{}')\n"
        "with cdk.synthesizing(app):\n"
        "    before = bool(pipeline.unread) and pipeline.unread[-1] is b._VOID_ANSWER\n"
        "@jsii.implements(IAnyProducer)\n"
        "class Producer:\n"
        "    def produce(self, context):\n"
        "        return 'from python'\n"
        "cdk.TerraformOutput(stack, 'o', value=Lazy.any_value(Producer()))\n"
        "with cdk.synthesizing(app):\n"
        "    after = bool(pipeline.unread)\n"
        "print(before, after, pipeline.overrides_sent, 'from python' in cdk.Testing.synth(stack))"
    )
    assert printed(code) == ["True", "False", "True", "True"]


def test_without_the_pipeline_every_create_waits() -> None:
    code = (
        "import jsii, modules.cdk as cdk, modules.bindings as b;"
        "s = cdk.TerraformStack(cdk.Testing.app(), 's');"
        "[cdk.aws.iam_role.IamRole(s, f'r{n}', assume_role_policy='{}') for n in range(3)];"
        "print(cdk.PIPELINED_CREATES, len(b._pipeline_of(jsii.kernel.provider._process).unread))"
    )
    (enabled, unread), waiting = with_and_without(code, "SYNTH_JSII_SYNC_CREATES")
    assert waiting == ["False", "0"]
    assert enabled == "True" and int(unread) >= 3


def test_the_kernel_greets_and_loads_the_assemblies_while_python_goes_on() -> None:
    """Node.js starts, then loads constructs, cdktf and the provider, while Python imports and reads
    the config: after the import, the greeting and the three loads are still unread."""
    code = (
        "import jsii, modules.cdk as cdk, modules.bindings as b;"
        "unread = list(b._pipeline_of(jsii.kernel.provider._process).unread);"
        'answers = [b\'{"hello":"@jsii/runtime@%s"}\\n\' % jsii.__jsii_runtime_version__.encode()]'
        ' + [b\'{"ok":{"assembly":"%s","types":7}}\\n\' % n.encode()'
        "    for n in ('constructs', 'cdktf', '@cdktf/provider-aws')];"
        "print(len(unread), all(p.fullmatch(a) for p, a in zip(unread, answers)),"
        ' unread[0].fullmatch(b\'{"hello":"@jsii/runtime@0.0.1"}\\n\') is None)'
    )
    assert printed(code) == ["4", "True", "True"]


def test_a_load_from_a_temporary_copy_waits_for_its_answer() -> None:
    from jsii._kernel.types import LoadRequest

    pipeline = bindings._Pipeline()
    inside = LoadRequest(name="cdktf", version="0.21.0", tarball="/site/cdktf/_jsii/cdktf@0.21.0.jsii.tgz")
    extracted = LoadRequest(name="cdktf", version="0.21.0", tarball="/tmp/tmpab12cd/cdktf@0.21.0.jsii.tgz")
    pattern, response = bindings._answer_ahead(inside, pipeline)
    assert pattern.fullmatch(b'{"ok":{"assembly":"cdktf","types":184}}\n')
    assert not pattern.fullmatch(b'{"ok":{"assembly":"constructs","types":184}}\n')
    assert bindings._answer_ahead(extracted, pipeline) is None


class _WithoutTypingCasts(ast.NodeTransformer):
    """The reference: every `typing.cast(T, value)` call replaced by `value`, on the syntax tree."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        function = node.func
        if (
            isinstance(function, ast.Attribute)
            and function.attr == "cast"
            and isinstance(function.value, ast.Name)
            and function.value.id == "typing"
        ):
            return node.args[1]
        return node


def test_the_typing_cast_rewrite_drops_every_cast_and_nothing_else(committed_platform, tmp_path) -> None:
    """For the provider modules a synth of the committed config loads: no cast is left, and the
    rewritten source parses to the tree of the original with each typing.cast call replaced by its
    value (compared for every fifth module, in name order: the trees take ~0.1 s a module)."""
    from modules.stacks.synth import build_app

    build_app(committed_platform, tmp_path)  # imports every provider module the stacks use
    used = sorted(
        module.__file__
        for name, module in sys.modules.items()
        if name.startswith("cdktf_cdktf_provider_aws.")
        and name.count(".") == 1
        and not name.endswith("._jsii")
    )
    assert len(used) > 50
    for index, path in enumerate(used):
        source = Path(path).read_bytes()
        rewritten = bindings.without_typing_casts(source)
        assert b"typing.cast(" in source and b"typing.cast(" not in rewritten, path
        if index % 5 == 0:
            expected = _WithoutTypingCasts().visit(ast.parse(source))
            assert ast.dump(ast.parse(rewritten)) == ast.dump(expected), path


# --- arguments serialized in one pass ---------------------------------------------------------

# Records every request line this process writes to the jsii kernel while it builds the committed
# platform's stacks and synthesizes them into the directory it is given (which the requests name);
# prints how many, and their SHA-256.
_REQUESTS_OF_A_SYNTH = """
import hashlib, sys
from pathlib import Path
import jsii
import modules.cdk as cdk
from modules.config import load_platform
from modules.stacks.synth import build_app

class Recorder:
    def __init__(self, stream):
        self.stream, self.lines = stream, []
    def write(self, data):
        self.lines.append(bytes(data))
        return self.stream.write(data)
    def flush(self):
        self.stream.flush()

process = jsii.kernel.provider._process._process
process.stdin = recorder = Recorder(process.stdin)
app = build_app(load_platform(Path("environments")), Path(sys.argv[1]))
cdk.synth_app(app)
print(cdk.DIRECT_ARGUMENTS, len(recorder.lines), hashlib.sha256(b"".join(recorder.lines)).hexdigest())
"""


def test_every_request_of_a_synth_is_the_json_jsii_would_send(tmp_path: Path) -> None:
    """The committed platform's synth, with arguments serialized in one pass and then as jsii does
    (cattrs): the same requests, byte for byte, in the same order."""
    code = f"import sys; sys.argv[1:] = [{str(tmp_path)!r}]\n{_REQUESTS_OF_A_SYNTH}"
    (direct, count, digest), jsii_way = with_and_without(code, "SYNTH_JSII_SERIALIZER")
    assert direct == "True" and jsii_way[0] == "False"
    assert int(count) > 1000  # every create, get and invoke of four stacks
    assert [count, digest] == jsii_way[1:]


def test_values_jsii_must_create_still_go_through_jsii() -> None:
    """A dict subclass, and a plain Python object (which jsii creates as an `Object` in Node.js), are
    handed to jsii's own function; structs, enums and maps are serialized here, as jsii would."""
    from jsii._kernel.providers.process import jdefault
    from jsii._kernel.types import ObjRef

    calls = []

    class Kernel:
        def create(self, klass, obj):
            calls.append(klass)
            obj.__jsii_ref__ = ObjRef(ref=f"Object@{len(calls)}")

    class Ordered(dict):
        pass

    native = object.__new__(type("Native", (), {}))
    tag = aws.vpc.VpcConfig(cidr_block="10.0.0.0/16", tags={"a": "b"})
    value = [tag, {"k": Ordered(x=1)}, cdk.TerraformResourceLifecycle(prevent_destroy=True), 1.5, None]
    ours = json.dumps(bindings._native(Kernel(), value), default=jdefault)
    theirs = json.dumps(bindings._jsii_native(Kernel(), value), default=jdefault)
    assert ours == theirs
    assert '"$jsii.struct": {"fqn": "@cdktf/provider-aws.vpc.VpcConfig"' in ours
    assert '"$jsii.map": {"a": "b"}' in ours
    assert bindings._native(Kernel(), [native]) == [native]
    assert calls == [type(native)]  # created through jsii's function, as jsii does


# --- typeguard loaded on first use ---------------------------------------------------------------

_TYPEGUARD_USE = (
    "import sys, modules.cdk as cdk; stack = cdk.TerraformStack(cdk.Testing.app(), 's');"
    "cdk.aws.iam_role.IamRole(stack, 'role', assume_role_policy='{}');"
    "print(cdk.LAZY_TYPEGUARD, 'unittest.mock' in sys.modules)"
)


def test_under_optimization_typeguard_never_loads() -> None:
    """Under -O (synth) the bindings' checks are compiled out: typeguard, and the unittest.mock it
    imports, are never loaded. Switched off, both load with cdktf."""
    assert printed(_TYPEGUARD_USE, env={"PYTHONOPTIMIZE": "1"}) == ["True", "False"]
    assert printed(_TYPEGUARD_USE, env={"PYTHONOPTIMIZE": "1", "SYNTH_EAGER_TYPEGUARD": "1"}) == [
        "False",
        "True",
    ]


def test_with_type_checks_on_typeguard_loads_at_the_first_check_and_refuses_a_wrong_type() -> None:
    code = (
        "import sys, modules.cdk as cdk\n"
        "before = 'unittest.mock' in sys.modules\n"
        "stack = cdk.TerraformStack(cdk.Testing.app(), 's')\n"
        "try:\n"
        "    cdk.aws.iam_role.IamRole(stack, 'role', assume_role_policy=5)\n"
        "except TypeError as error:\n"
        "    print(cdk.LAZY_TYPEGUARD, before, 'assume_role_policy' in str(error), type(sys.modules['typeguard']).__name__)"
    )
    assert printed(code) == ["True", "False", "True", "module"]
