"""How the generated jsii bindings are loaded and called, faster; what they do is unchanged.

modules/cdk.py owns which packages are imported; this module only changes how they are compiled and
called, each lever with a switch that turns it off and a test that compares the output both ways.

Compiled without type checks (`compile_without_type_checks`, which the synth CLI calls): the
generated bindings check every argument's type at runtime (`if __debug__:` blocks calling
typeguard in each initialiser and setter of cdktf, constructs and the provider), about a quarter of
a synth's Python time, and redundant for a config the schema validated. Their modules are compiled
with `optimize=1`, which leaves those blocks out, as `python -O` would, without running the whole
interpreter (and every other package) optimized or starting a second one. The unit tier keeps the
checks; PLATFORM_SYNTH_TYPE_CHECKS=1 (main.py) keeps them in a synth.

Provider modules with postponed annotations (`install_provider_module_finder`): each generated
resource module spells its classes' argument and property types as `typing` expressions, which
Python evaluates when the class is defined: most of the ~4 ms it takes to import one of the ~90
modules a synth uses. Compiled with PEP 563's postponed annotations (`from __future__ import
annotations`), they stay strings until something asks for them: the bindings' runtime type checks
(`typing.get_type_hints`, which resolves the strings), and nothing at all once compiled without
those checks. The no-op `typing.cast` calls of their getters are dropped from the source too (see
`without_typing_casts`). Each module also asks importlib.metadata for typeguard's
version (about 1.5 ms of reading package metadata); the answer is remembered while provider modules
load. The
bytecode is cached beside the bindings' own (`__pycache__/*.opt-annotations<N>.pyc`, cdktf's and
constructs' `*.opt-checks<N>.pyc`, N the optimization level, keyed on the
source's size and modification time); where that cannot be written, the module is compiled anew
each time, which is slower, never wrong. It is written even with PYTHONDONTWRITEBYTECODE set (as
container images often have it): it is this module's cache, in the virtualenv `make synth` made,
and without it every synth would compile ~90 modules from source. SYNTH_EAGER_ANNOTATIONS=1
imports them as shipped.

Creates that do not wait (`pipeline_creates`): jsii's protocol is one request, then its answer, on
the Node.js process's stdin and stdout, so Python and Node.js take turns and a synth's ~900 creates
cost both sides' time added up. But the answer to a create is predictable: the kernel names every
object it hands to Python `<fqn>@<n>`, counting n up from one object to the next (it registers an
object only in a create or in an answer that carries it), so the name of the object a create makes
is the requested fqn and the next n (the interfaces Python lists with it are the class's own, which
the answer leaves out). A create of a jsii class with nothing overridden in Python (no callbacks
into Python can come of it) is sent, and Python goes on with that predicted reference
while Node.js works. Before any other request, and every `_PIPELINE_DEPTH` creates, the unread
answers are read, and each must be exactly the predicted one: anything else (an error thrown in
Node.js, a different name) is raised there, at that later call, after every answer is read, so the
protocol stays in step. The counter is learned from every answer read (the largest n seen), and
after an error set back to follow the largest n read (a create that failed numbered nothing).
Assembly loads and the kernel's greeting are read ahead the same way, so Node.js starts and loads
cdktf and the provider while Python imports. SYNTH_JSII_SYNC_CREATES=1 waits for every answer, as
jsii does.

Arguments serialized in one pass (`serialize_arguments_directly`): jsii turns a request's arguments
into JSON in two walks of the whole value, its own (`_make_reference_for_native`: structs to
`$jsii.struct`, dicts to `$jsii.map`) and then cattrs' generic unstructuring, which for these values
copies every dict and list unchanged; about a tenth of a synth's Python time. The replacement walks
once, deciding by each value's exact type (what each class is, struct, enum or object, found once per
class), and hands anything else (subclasses of dict or list, Python objects jsii must create, dates,
functions) to jsii's own function; a create sent ahead skips cattrs, which leaves its arguments as
they are. The JSON sent is byte for byte the same (synth_tests/test_bindings.py compares every request
of a synth). SYNTH_JSII_SERIALIZER=1 serializes as jsii does.

typeguard loaded on first use (`defer_typeguard`): cdktf's and the provider's modules `import
typeguard` for their runtime type checks, and typeguard imports unittest.mock: about 45 ms before
Node.js can even start. Compiled without the checks (a synth), nothing ever reads an attribute of
it: a stand-in takes its place in sys.modules and imports it the first time an attribute of it is
read (importlib's LazyLoader would not do: the next `import typeguard` reads the module's spec, and
that loads it). SYNTH_EAGER_TYPEGUARD=1 imports it at once.

A void invoke answered later (`void_invoke_ahead`): the app's `synth` is sent the same way, so
Python renders what it writes beside the stacks (pages, workflows) while Node.js synthesizes; its
answer, `{"ok":{}}` or an error, is read when the block ends. Only while no Python object with
overrides exists: Node.js could call back into Python in the middle of the invoke.

Classes loaded ahead (`load_classes_ahead`): a static get of each class's `tfResourceType`, sent
without waiting, makes Node.js load the class's module while Python does other work; the answers
are read and dropped with the others (modules/cdk.py decides which classes).

The kernel started ahead (`adopt_early_kernel`): jsii's start of the kernel, with its one Popen
answered by the process modules/kernel.py started before jsii was imported, when the command and
environment match.
"""

from __future__ import annotations
import __future__

import contextlib
import enum
import functools
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import marshal
import os
import re
import struct
import sys
import types
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

import jsii._kernel as jsii_kernel
from jsii._kernel.providers import process as jsii_process
from jsii._kernel.types import (
    CreateRequest,
    CreateResponse,
    InvokeRequest,
    InvokeResponse,
    LoadRequest,
    LoadResponse,
)
from jsii.errors import ErrorType, JavaScriptError, JSIIError

from modules import kernel

POSTPONED_ANNOTATIONS = os.environ.get("SYNTH_EAGER_ANNOTATIONS") != "1"
PIPELINED_CREATES = os.environ.get("SYNTH_JSII_SYNC_CREATES") != "1"
DIRECT_ARGUMENTS = os.environ.get("SYNTH_JSII_SERIALIZER") != "1"
LAZY_TYPEGUARD = os.environ.get("SYNTH_EAGER_TYPEGUARD") != "1"
# In each cached file's header: a change to what the loaders compile must bump it.
_LOADER_VERSION = 2
# What the loaders below compile with: the interpreter's own optimization level, or 1 once
# compile_without_type_checks() has run (the synth CLI).
_optimize = sys.flags.optimize


@contextlib.contextmanager
def _package_versions_remembered() -> Iterator[None]:
    """importlib.metadata.version answers each distribution from memory while the block runs."""
    real = importlib.metadata.version
    importlib.metadata.version = _remembered_version
    try:
        yield
    finally:
        importlib.metadata.version = real


@functools.cache
def _remembered_version(distribution_name: str) -> str:
    return _real_version(distribution_name)


_real_version = importlib.metadata.version


# `typing.cast(T, value)` becomes `(value)`. The bindings' getters return through typing.cast, which
# does nothing at runtime, but its first argument (`typing.Optional[typing.List[...]]`) is evaluated
# on every call, and jsii serializes a struct by calling every field's getter: some 25,000 calls a
# synth. The generated code writes each cast on one line, its value `result` or a jsii call; a
# rewrite of the source (not of its syntax tree, which would cost seconds more to compile a module
# the first time) keeps anything else as it is. synth_tests/test_bindings.py checks, for the modules
# a synth of the committed config uses, that no cast is left, and the rewrite against a syntax-tree
# one for every fifth of them.
_TYPING_CAST = re.compile(rb"typing\.cast\([^\n]*?, (result\)|jsii\.(?:get|sget|invoke|sinvoke)\()")


def without_typing_casts(source: bytes) -> bytes:
    return _TYPING_CAST.sub(rb"(\1", source)


class _CompilingLoader(importlib.machinery.SourceFileLoader):
    """Loads a module compiled its own way (`compile_source`), its bytecode cached under the tag
    `cache_tag()` beside the interpreter's own, even where Python writes no bytecode."""

    def cache_tag(self) -> str:
        raise NotImplementedError

    def compile_source(self, source: bytes, path: str) -> types.CodeType:
        raise NotImplementedError

    def get_code(self, fullname: str) -> types.CodeType:
        source_path = self.get_filename(fullname)
        stat = os.stat(source_path)
        # Python's own timestamp .pyc validation (interpreter, source size and mtime), and the loader's.
        header = importlib.util.MAGIC_NUMBER + struct.pack(
            "<Iqq", _LOADER_VERSION, stat.st_mtime_ns, stat.st_size
        )
        cache_path = importlib.util.cache_from_source(source_path, optimization=self.cache_tag())
        with contextlib.suppress(OSError):
            cached = self.get_data(cache_path)
            if cached.startswith(header):
                return marshal.loads(memoryview(cached)[len(header) :])
        code = self.compile_source(self.get_data(source_path), source_path)
        partial = f"{cache_path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(cache_path), exist_ok=True)
            with open(partial, "wb") as file:
                file.write(header + marshal.dumps(code))
            os.replace(partial, cache_path)
        except OSError:  # a read-only install: no cache, the module still loads
            with contextlib.suppress(OSError):
                os.unlink(partial)
        return code


class _PostponedAnnotationsLoader(_CompilingLoader):
    """A provider resource module, compiled with postponed annotations and without its typing casts
    (as shipped when POSTPONED_ANNOTATIONS is switched off), at the loaders' optimization level."""

    def cache_tag(self) -> str:
        return f"annotations{_optimize}" if POSTPONED_ANNOTATIONS else f"shipped{_optimize}"

    def compile_source(self, source: bytes, path: str) -> types.CodeType:
        if not POSTPONED_ANNOTATIONS:
            return compile(source, path, "exec", dont_inherit=True, optimize=_optimize)
        return compile(
            without_typing_casts(source),
            path,
            "exec",
            flags=__future__.annotations.compiler_flag,
            dont_inherit=True,
            optimize=_optimize,
        )

    def exec_module(self, module: types.ModuleType) -> None:
        with _package_versions_remembered():
            super().exec_module(module)


class _WithoutChecksLoader(_CompilingLoader):
    """cdktf's or constructs' module, compiled as shipped at the loaders' optimization level."""

    def cache_tag(self) -> str:
        return f"checks{_optimize}"

    def compile_source(self, source: bytes, path: str) -> types.CodeType:
        return compile(source, path, "exec", dont_inherit=True, optimize=_optimize)


def _found_with(
    loader: type[_CompilingLoader], fullname: str, path: Sequence[str] | None
) -> importlib.machinery.ModuleSpec | None:
    """The spec Python's path finder finds for `fullname`, its source file loaded by `loader`
    (anything else, a compiled-only module say, is left as found)."""
    spec = importlib.machinery.PathFinder.find_spec(fullname, path)
    if spec is None or type(spec.loader) is not importlib.machinery.SourceFileLoader:
        return spec
    spec.loader = loader(spec.loader.name, spec.loader.path)
    return spec


# The jsii packages besides the provider whose modules check argument types at runtime.
_CHECKED_PACKAGES = ("cdktf", "constructs")


class _WithoutChecksFinder(importlib.abc.MetaPathFinder):
    """Finds cdktf's and constructs' top-level modules the usual way, then loads them with
    _WithoutChecksLoader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _CHECKED_PACKAGES:
            return None
        return _found_with(_WithoutChecksLoader, fullname, path)


def compile_without_type_checks() -> None:
    """From now on, compile cdktf's, constructs' and the provider's modules as `python -O` would:
    without their runtime type checks (the `if __debug__:` block in every generated initialiser and
    setter, about a quarter of a synth's Python time, and redundant for a config the schema
    validated). The synth CLI calls it before modules/cdk.py imports cdktf; the unit tier keeps the
    checks. Their bytecode is cached under its own tag, so one install serves both."""
    global _optimize
    if any(name in sys.modules for name in _CHECKED_PACKAGES):
        raise RuntimeError("compile_without_type_checks() must run before cdktf is imported")
    _optimize = max(_optimize, 1)
    if not any(isinstance(f, _WithoutChecksFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _WithoutChecksFinder())


def type_checks_compiled_in() -> bool:
    return _optimize == 0


class _ProviderModuleFinder(importlib.abc.MetaPathFinder):
    """Finds `<package>.<resource module>` the usual way, then loads it with postponed annotations;
    only while `package` is the one imported (not once the package's own `__init__` has replaced it:
    the plain import of all ~2,136 modules is left as shipped)."""

    def __init__(self, package: types.ModuleType) -> None:
        self.package = package
        self.prefix = f"{package.__name__}."

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        # Only the resource modules: the package's _jsii module (the assembly) loads as shipped.
        if not fullname.startswith(self.prefix) or fullname.count(".") != 1 or fullname.endswith("._jsii"):
            return None
        if sys.modules.get(self.package.__name__) is not self.package:
            return None
        return _found_with(_PostponedAnnotationsLoader, fullname, path)


def install_provider_module_finder(package: types.ModuleType) -> bool:
    """Load `package`'s resource modules with postponed annotations (and without type checks after
    compile_without_type_checks()); whether with postponed annotations (False when switched off)."""
    if not POSTPONED_ANNOTATIONS and _optimize == sys.flags.optimize:
        return False
    if not any(isinstance(f, _ProviderModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _ProviderModuleFinder(package))
    return POSTPONED_ANNOTATIONS


# --- creates that do not wait ------------------------------------------------------------------

# Unread answers at most: ~100 bytes each (25 KB), well inside a pipe's 64 KiB, so Node.js never
# blocks writing answers while Python blocks writing requests. Reaching it makes Python wait for
# Node.js to catch up, so it leaves room for the classes loaded ahead (at most _CLASSES_AHEAD).
_PIPELINE_DEPTH = 256
_CLASSES_AHEAD = 128
_OBJECT_NUMBER = re.compile(rb'"\$jsii\.byref":"[^"]*@(\d+)"')


# An answer read and dropped, whatever it is (see `load_classes_ahead`).
_DISCARDED = re.compile(rb".*\n", re.DOTALL)


class PipelineError(RuntimeError):
    """An answer read ahead was not the predicted one, though Node.js reported no error."""


class _Pipeline:
    """One kernel process's requests sent and not answered yet (each answer expected: its exact
    bytes, or a pattern), the largest object number read in any answer, and the number the next
    create is predicted (None until an answer has shown one)."""

    def __init__(self) -> None:
        self.highest_read: int | None = None
        self.next_number: int | None = None
        self.unread: deque[bytes | re.Pattern[bytes]] = deque()
        self.void_ahead: set[str] = set()  # the methods an invoke of may be answered later
        self.overrides_sent = False  # a Python object Node.js could call back exists

    def observe(self, line: bytes) -> None:
        numbers = [int(n) for n in _OBJECT_NUMBER.findall(line)]
        if numbers:
            self.highest_read = max(self.highest_read or 0, *numbers)
            self.next_number = max(self.next_number or 0, self.highest_read + 1)

    def relearn(self) -> None:
        """After an unexpected answer, once every answer is read: a create that failed numbered no
        object, so the next number follows the largest one read."""
        self.next_number = None if self.highest_read is None else self.highest_read + 1


def _pipeline_of(node: Any) -> _Pipeline:
    pipeline = node.__dict__.get("_synth_pipeline")
    if pipeline is None:
        pipeline = node.__dict__["_synth_pipeline"] = _Pipeline()
    return pipeline


def _read_line(node: Any) -> bytes:
    line = node._process.stdout.readline()
    _pipeline_of(node).observe(line)
    return line


def _next_message(node: Any) -> Any:
    return json.loads(_read_line(node), object_hook=jsii_process.ohook)


def _read_unread(node: Any) -> None:
    """Read every unread answer; raise the first that is not the one predicted, once all are read."""
    pipeline = _pipeline_of(node)
    problem: Exception | None = None
    while pipeline.unread:
        expected = pipeline.unread.popleft()
        line = _read_line(node)
        if (
            problem is not None
            or expected is _DISCARDED
            or (line == expected if isinstance(expected, bytes) else expected.fullmatch(line))
        ):
            continue
        problem = _answer_problem(expected, line)
    if problem is not None:
        pipeline.relearn()
        raise problem


def _answer_problem(expected: bytes | re.Pattern[bytes], line: bytes) -> Exception:
    """What jsii raises for an error answer; PipelineError for any other unexpected one."""
    answer = json.loads(line) if line.strip() else None
    if isinstance(answer, dict) and "error" in answer:
        kind = JSIIError if answer.get("name") == ErrorType.JSII_FAULT.value else RuntimeError
        problem = kind(answer["error"])
        problem.__cause__ = JavaScriptError(answer.get("stack"))
        return problem
    shown = expected if isinstance(expected, bytes) else expected.pattern
    return PipelineError(f"jsii: the answer predicted was {shown!r}, Node.js sent {line!r}")


def _answer_ahead(request: Any, pipeline: _Pipeline) -> tuple[bytes | re.Pattern[bytes], Any] | None:
    """The answer `request` will get (its bytes or pattern, and the response to hand jsii's Python
    side now), when it is one Python can go on without; else None."""
    if jsii_process._stack_traces_enabled():
        return None
    if (
        isinstance(request, InvokeRequest)
        and request.method in pipeline.void_ahead
        and not pipeline.overrides_sent
    ):
        return _VOID_ANSWER, InvokeResponse(result=None)
    if isinstance(request, CreateRequest) and not request.overrides and pipeline.next_number is not None:
        reference = f"{request.fqn}@{pipeline.next_number}"
        answer = b'{"ok":{"$jsii.byref":%b}}\n' % json.dumps(reference).encode()
        return answer, CreateResponse(ref=reference)
    # An assembly load answers with its name and type count, which jsii's Python side never reads.
    # Only a tarball inside its package's _jsii directory: one that importlib.resources extracted to
    # a temporary file would be gone before Node.js reads it.
    if isinstance(request, LoadRequest) and os.path.basename(os.path.dirname(request.tarball)) == "_jsii":
        name = re.escape(json.dumps(request.name).encode())
        pattern = re.compile(rb'\{"ok":\{"assembly":%b,"types":\d+\}\}\n' % name)
        return pattern, LoadResponse(assembly=request.name, types=0)
    return None


def _pipelined_send(node: Any, request: Any, response_type: type) -> Any:
    pipeline = _pipeline_of(node)
    ahead = _answer_ahead(request, pipeline)
    if ahead is None:
        _read_unread(node)
        if isinstance(request, CreateRequest) and request.overrides:
            pipeline.overrides_sent = True
        return _send(node, request, response_type)
    expected, response = ahead
    data = json.dumps(_unstructured(node, request), default=jsii_process.jdefault)
    node._process.stdin.write(data.encode("utf8") + b"\n")
    node._process.stdin.flush()
    if isinstance(request, CreateRequest):  # numbered once sent: a request that failed to serialize is not
        pipeline.next_number += 1
    pipeline.unread.append(expected)
    if len(pipeline.unread) >= _PIPELINE_DEPTH:
        _read_unread(node)
    return response


def _handshake_ahead(node: Any) -> None:
    """The kernel's greeting, read with the first answers instead of before the first request: Node.js
    starts (~150 ms) while Python imports cdktf. Checked as jsii checks it: its own version or a
    development build's."""
    version = re.escape(jsii_process.__jsii_runtime_version__.encode())
    _pipeline_of(node).unread.append(re.compile(rb'\{"hello":"@jsii/runtime@(?:%b|0\.0\.0)"\}\n' % version))


_send = jsii_process._NodeProcess.send
_VOID_ANSWER = re.compile(rb'\{"ok":\{\}\}\n')


@contextlib.contextmanager
def void_invoke_ahead(node: Any, method: str) -> Iterator[None]:
    """Within the block, an invoke of `method` (one that returns nothing) is sent without waiting for
    its answer, if creates are sent ahead and no Python object with overrides was created. Leaving,
    every unread answer is read, and an error answer raised as jsii raises it; after an exception in
    the block too, which then propagates (the error answer chained to it)."""
    pipeline = _pipeline_of(node)
    if not PIPELINED_CREATES:
        yield
        return
    pipeline.void_ahead.add(method)
    try:
        yield
    except BaseException as raised:
        pipeline.void_ahead.discard(method)
        try:
            _read_unread(node)
        except Exception as answer:
            raise raised from answer
        raise
    pipeline.void_ahead.discard(method)
    _read_unread(node)


def pipeline_creates() -> bool:
    """Send creates and assembly loads, and start the kernel, without waiting for their answers
    (see above); False when switched off. Before the first load, so that the loads are sent ahead
    too."""
    if not PIPELINED_CREATES:
        return False
    node_process = jsii_process._NodeProcess
    if node_process.send is not _pipelined_send:
        node_process._next_message = _next_message
        node_process.send = _pipelined_send
        node_process.handshake = _handshake_ahead
    return True


# --- arguments serialized in one pass ------------------------------------------------------------

_jsii_native = jsii_kernel._make_reference_for_native
_ATOMS = frozenset({str, int, float, bool, type(None)})
_OTHER = ("other",)
_OBJECT = ("object",)
# class -> ("struct", fqn, ((python name, jsii name), ...)) | ("enum", fqn) | _OBJECT | _OTHER
_kinds: dict[type, tuple[Any, ...]] = {}


def _kind(cls: type) -> tuple[Any, ...]:
    """What jsii's `_make_reference_for_native` makes of an instance of `cls` (not a dict or list)."""
    kind = _kinds.get(cls)
    if kind is None:
        fqn = getattr(cls, "__jsii_type__", None)
        mapping = getattr(cls, "__jsii_name_mapping__", None)
        if fqn is None:
            kind = _OTHER
        elif issubclass(cls, enum.Enum):
            kind = ("enum", fqn)
        elif mapping is not None:
            kind = ("struct", fqn, tuple(mapping.items()))
        else:
            kind = _OBJECT
        _kinds[cls] = kind
    return kind


def _native(kernel: Any, value: Any) -> Any:
    """jsii's `_make_reference_for_native(kernel, value)`, the same result, in one walk."""
    cls = type(value)
    if cls in _ATOMS:
        return value
    if cls is dict:
        return {"$jsii.map": {key: _native(kernel, item) for key, item in value.items()}}
    if cls is list:
        return [_native(kernel, item) for item in value]
    kind = _kind(cls)
    if kind is _OBJECT:
        return value
    if kind[0] == "struct":
        data = {jsii_name: _native(kernel, getattr(value, name)) for name, jsii_name in kind[2]}
        return {"$jsii.struct": {"fqn": kind[1], "data": data}}
    if kind[0] == "enum":
        return {"$jsii.enum": f"{kind[1]}/{value.value}"}
    return _jsii_native(kernel, value)


def _unstructured(node: Any, request: Any) -> Any:
    """The request as jsii's serializer unstructures it. A create without overrides directly: cattrs
    would copy its arguments (dicts, lists, and leaves that json's `default` turns into references)
    unchanged."""
    if DIRECT_ARGUMENTS and type(request) is CreateRequest and not request.overrides:
        return {
            "fqn": request.fqn,
            "args": request.args,
            "overrides": [],
            "interfaces": request.interfaces,
            "api": "create",
        }
    return node._serializer.unstructure(request)


def serialize_arguments_directly() -> bool:
    """Serialize requests' arguments in one pass (see above); False when switched off."""
    if not DIRECT_ARGUMENTS:
        return False
    jsii_kernel._make_reference_for_native = _native
    return True


# --- typeguard loaded on first use -----------------------------------------------------------------


class _TypeguardOnFirstUse(types.ModuleType):
    """Stands for typeguard in sys.modules until an attribute it lacks is read: then imports the real
    module, takes its attributes (later reads find them here) and returns the one asked for."""

    def __getattr__(self, name: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        self.__dict__.update(real.__dict__)
        return getattr(real, name)


def defer_typeguard() -> bool:
    """Put a stand-in for typeguard in sys.modules (see above); False when switched off or when it
    is already imported (pytest loads it as a plugin)."""
    if not LAZY_TYPEGUARD or "typeguard" in sys.modules:
        return False
    spec = importlib.util.find_spec("typeguard")
    if spec is None:
        return False
    stand_in = _TypeguardOnFirstUse("typeguard")
    # What `import typeguard` reads of a module already in sys.modules: its spec, not initializing.
    stand_in.__spec__ = spec
    sys.modules["typeguard"] = stand_in
    return True


# --- classes loaded ahead ----------------------------------------------------------------------------


def load_classes_ahead(node: Any, fqns: Sequence[str]) -> int:
    """Have Node.js load each class's module now, while Python does other work: for each fqn, a
    static get of its `tfResourceType` (which finds the class, and so requires its module), sent
    without waiting, its answer dropped when read. A class that no longer exists answers an error,
    dropped too: it will load, or fail, when the synth asks for it. At most the first _CLASSES_AHEAD
    (the others load on demand). The number sent; 0 when creates are not sent ahead (nothing would
    read the answers)."""
    if not PIPELINED_CREATES or jsii_process._stack_traces_enabled():
        return 0
    pipeline = _pipeline_of(node)
    fqns = fqns[:_CLASSES_AHEAD]
    for fqn in fqns:
        request = {"api": "sget", "fqn": fqn, "property": "tfResourceType"}
        node._process.stdin.write(json.dumps(request).encode() + b"\n")
        pipeline.unread.append(_DISCARDED)
    node._process.stdin.flush()
    return len(fqns)


# --- the kernel started ahead ------------------------------------------------------------------------

_start = jsii_process._NodeProcess.start
_jsii_runtime = jsii_process._NodeProcess._jsii_runtime


def _runtime_of_early_kernel(node: Any) -> str:
    return kernel.early_runtime() or _jsii_runtime(node)


def _start_adopting(node: Any) -> None:
    """jsii's start, with its one Popen answered by the kernel started ahead when it matches."""
    real_popen = jsii_process.subprocess.Popen

    def popen(args: Any, **options: Any) -> Any:
        adopted = kernel.adopt(list(args), options.get("env"))
        return adopted if adopted is not None else real_popen(args, **options)

    jsii_process.subprocess.Popen = popen
    try:
        _start(node)
    finally:
        jsii_process.subprocess.Popen = real_popen


def adopt_early_kernel() -> None:
    """Have jsii take the kernel modules/kernel.py started ahead (if it did, and it matches)."""
    node_process = jsii_process._NodeProcess
    if node_process.start is not _start_adopting:
        node_process._jsii_runtime = _runtime_of_early_kernel
        node_process.start = _start_adopting
