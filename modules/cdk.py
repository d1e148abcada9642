"""The one module that imports cdktf, constructs and the AWS provider bindings.

CDKTF is archived upstream; keeping every import here means a move to its community fork (or to
another binding package) changes this file only. Everything else writes `from modules.cdk import
...` and reaches provider resources through `aws.<module>`, e.g. `aws.vpc.Vpc`.

Fast provider import: the bindings package's `__init__` imports all ~2,136 resource modules
(seconds and hundreds of MB). We register a bare package object instead, load the package's
`_jsii` module (which loads the jsii assembly into the runtime) and import only the resource
modules a stack asks for. If the package layout ever stops allowing that, we fall back to the
plain import and record it in `PROVIDER_IMPORT`.

Local references: a plain string attribute of a provider resource is answered here with its
Terraform reference instead of a jsii round trip (see "local references" at the end).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import re
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# The jsii kernel's environment (the Node.js hooks, each with its switch) is set by modules/kernel.py
# when it is imported: here, before jsii, or earlier by the synth CLI, which starts the kernel ahead.
import modules.kernel  # noqa: E402, F401
from modules.core.stamp import write_json  # noqa: E402

# Local references (below): SYNTH_JSII_REFERENCES=1 asks Node.js for every attribute token instead.
LOCAL_REFERENCES = os.environ.get("SYNTH_JSII_REFERENCES") != "1"

import jsii  # noqa: E402

from modules.bindings import (  # noqa: E402
    adopt_early_kernel,
    defer_typeguard,
    install_provider_module_finder,
    load_classes_ahead,
    pipeline_creates,
    serialize_arguments_directly,
    void_invoke_ahead,
)

# A kernel the synth CLI started ahead (modules/kernel.py) is the one jsii talks to.
adopt_early_kernel()

# typeguard, which the bindings import for their type checks, loads when first used (in a synth,
# compiled without the checks: never).
LAZY_TYPEGUARD = defer_typeguard()

# Requests answered ahead (modules/bindings.py), from the first assembly load: the kernel starts on
# the cdktf import below, and loads cdktf and the provider while Python goes on.
PIPELINED_CREATES = pipeline_creates()
DIRECT_ARGUMENTS = serialize_arguments_directly()

from cdktf import (  # noqa: E402  (the jsii runtime reads the environment set above)
    App,
    CloudBackend,
    LocalBackend,
    NamedCloudWorkspace,
    S3Backend,
    S3BackendAssumeRoleConfig,
    TerraformDataSource,
    TerraformOutput,
    TerraformProvider,
    TerraformResource,
    TerraformResourceLifecycle,
    TerraformStack,
    TerraformVariable,
    Testing,
)
from constructs import Construct  # noqa: E402

PROVIDER_PACKAGE = "cdktf_cdktf_provider_aws"
PROVIDER_MODULE_PREFIX = "@cdktf/provider-aws"  # the jsii names of its classes start so

__all__ = [
    "PROVIDER_IMPORT",
    "AddressCollision",
    "App",
    "CloudBackend",
    "Construct",
    "LocalBackend",
    "NamedCloudWorkspace",
    "S3Backend",
    "S3BackendAssumeRoleConfig",
    "TerraformOutput",
    "TerraformResourceLifecycle",
    "TerraformStack",
    "Testing",
    "aws",
    "ephemeral_variable",
    "override",
    "synth_app",
    "synthesizing",
]


def _import_without_package_init(
    find_spec: Callable[[str], importlib.machinery.ModuleSpec | None] = importlib.util.find_spec,
) -> types.ModuleType:
    """Register the provider package without running its `__init__`, then load its jsii assembly."""
    spec = find_spec(PROVIDER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{PROVIDER_PACKAGE} is not installed as a package")
    package = types.ModuleType(PROVIDER_PACKAGE)
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    package.__package__ = PROVIDER_PACKAGE
    sys.modules[PROVIDER_PACKAGE] = package
    try:
        importlib.import_module(f"{PROVIDER_PACKAGE}._jsii")
    except Exception:
        del sys.modules[PROVIDER_PACKAGE]
        raise
    return package


def load_provider_package(
    find_spec: Callable[[str], importlib.machinery.ModuleSpec | None] = importlib.util.find_spec,
) -> tuple[types.ModuleType, str]:
    """Return the provider package and how it was imported: "fast" or "plain" (the fallback)."""
    if PROVIDER_PACKAGE in sys.modules:
        package = sys.modules[PROVIDER_PACKAGE]
        return package, "plain" if hasattr(package, "vpc") else "fast"
    try:
        return _import_without_package_init(find_spec), "fast"
    except (ImportError, AttributeError):
        return importlib.import_module(PROVIDER_PACKAGE), "plain"


_package, PROVIDER_IMPORT = load_provider_package()
# Resource modules load with postponed annotations (modules/bindings.py); the plain import has
# loaded them all already.
POSTPONED_ANNOTATIONS = PROVIDER_IMPORT == "fast" and install_provider_module_finder(_package)


class _ProviderModules:
    """`aws.<resource_module>`: imports one provider resource module on first use."""

    def __getattr__(self, name: str) -> types.ModuleType:
        if name.startswith("_"):
            raise AttributeError(name)
        module = importlib.import_module(f"{PROVIDER_PACKAGE}.{name}")
        setattr(self, name, module)
        return module


aws = _ProviderModules()


# --- provider classes loaded ahead -----------------------------------------------------------------
#
# Node.js loads a provider class's module (hundreds of KB of JavaScript to compile) the first time a
# synth creates one: about a sixth of its time, spent while Python waits. The classes a synth creates
# hardly change from one synth to the next, so the synth CLI records them (`record_provider_classes`)
# and, at its next start, has Node.js load them while Python reads the config
# (`load_provider_classes_ahead`, modules/bindings.py). A stale record costs a module loaded for
# nothing, or one loaded on demand, as before; never a different output.
# SYNTH_LOAD_CLASSES_ON_DEMAND=1 turns it off.
LOAD_CLASSES_AHEAD = os.environ.get("SYNTH_LOAD_CLASSES_ON_DEMAND") != "1"
_CONSTRUCT_BASES = (TerraformResource, TerraformDataSource, TerraformProvider)


def provider_classes() -> list[str]:
    """The jsii names of the provider resource, data source and provider classes imported so far."""
    found = set()
    for name, module in list(sys.modules.items()):
        if not name.startswith(f"{PROVIDER_PACKAGE}.") or name.count(".") != 1 or module is None:
            continue
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, _CONSTRUCT_BASES) and value.__module__ == name:
                found.add(value.__jsii_type__)
    return sorted(found)


def record_provider_classes(record: Path) -> None:
    """Write `provider_classes()` to `record` (a cache: a failure to write is no error)."""
    with contextlib.suppress(OSError):
        write_json(record, provider_classes())


def load_provider_classes_ahead(record: Path) -> int:
    """Have Node.js load the classes `record` lists, without waiting; how many were asked for."""
    if not LOAD_CLASSES_AHEAD or PROVIDER_IMPORT != "fast":
        return 0
    try:
        listed = json.loads(record.read_text())
    except (OSError, ValueError):
        return 0
    if not isinstance(listed, list) or not all(isinstance(fqn, str) for fqn in listed):
        return 0
    fqns = [fqn for fqn in listed if fqn.startswith(f"{PROVIDER_MODULE_PREFIX}.")]
    return load_classes_ahead(jsii.kernel.provider._process, fqns)


def override(resource: Any, path: str, value: Any) -> None:
    """Set an attribute the bindings do not expose (one known gap per call site, commented there)."""
    resource.add_override(path, value)


def ephemeral_variable(scope: Construct, id: str, description: str) -> TerraformVariable:
    """A sensitive, ephemeral string variable named `id` in Terraform, whatever its construct path
    (people type that name: `-var 'id=...'`); "" unless given, never null.

    Ephemeral (Terraform 1.10+): the value is kept out of state and saved plans, and Terraform
    accepts it only where nothing is stored, such as write-only arguments. cdktf 0.21's
    TerraformVariable has no `ephemeral` argument, so it is set as an override.
    """
    variable = TerraformVariable(
        scope, id, type="string", description=description, sensitive=True, nullable=False, default=""
    )
    variable.override_logical_id(id)
    override(variable, "ephemeral", True)
    return variable


# --- readable Terraform addresses ---------------------------------------------------------------

_COLLISION_MARKER = "Terraform address collision: "


class AddressCollision(ValueError):
    """Two constructs of one stack would get the same Terraform name (readable_addresses.js)."""


def synth_app(app: App) -> None:
    """`app.synth()`, with a Terraform name collision raised as AddressCollision (one line), once
    the resource types of the local references are checked."""
    with synthesizing(app):
        pass


@contextlib.contextmanager
def synthesizing(app: App) -> Iterator[None]:
    """`synth_app(app)` around the block: the synth is sent to Node.js and the block runs while Node.js
    synthesizes (modules/bindings.py `void_invoke_ahead`); leaving waits for it, and raises what
    synth_app raises. The output directory is Node.js's until then: the block must not write there."""
    check_resource_types()
    try:
        with void_invoke_ahead(jsii.kernel.provider._process, "synth"):
            app.synth()
            yield
    except Exception as error:  # jsii wraps errors thrown in Node.js in its own exception types
        message = str(error)
        if _COLLISION_MARKER not in message:
            raise
        detail = message.split(_COLLISION_MARKER, 1)[1].splitlines()[0]
        raise AddressCollision(detail) from None


# --- local references -----------------------------------------------------------------------------
#
# `role.arn` on a provider resource is a jsii get: a round trip to Node.js that returns a token which
# synth resolves to "${aws_iam_role.<name>.arn}". A synth makes ~900 of them, about a sixth of its
# time. The name is the readable address (readable_addresses.js), which depends on the construct
# IDs alone; Python knows them, since every construct is made here with (scope, id). So a plain
# string attribute of a resource or data source is answered here with the reference itself, which
# synth passes through unchanged: the output is byte-identical (a test compares it with
# SYNTH_JSII_REFERENCES=1, which asks Node.js every time). Anything else (numbers, lists, nested
# blocks, a construct whose path is not known here) still asks Node.js.

_NOT_A_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9]+")
# Where each construct was made, (scope, construct ID), kept on the Python object itself as jsii
# creates it: it lives and goes with the construct.
_SCOPE_ATTRIBUTE = "_synth_construct_scope"
# (class, jsii property) -> the Terraform attribute, or None when it is no plain string attribute
_string_attributes: dict[tuple[type, str], str | None] = {}
_resource_types: dict[type, str] = {}
_resource_types_checked: set[type] = set()
_jsii_create = jsii.create
_jsii_get = jsii.get


def readable_name(construct_ids: list[str]) -> str:
    """The Terraform name of the construct path below the stack (readable_addresses.js, the same rule)."""
    parts = (_NOT_A_NAME_CHARACTER.sub("_", part).strip("_") for part in construct_ids)
    return "_".join(part for part in parts if part)


def _create(klass: Any, obj: Any, args: Any = None) -> Any:
    reference = _jsii_create(klass, obj, args)
    if args and len(args) >= 2 and isinstance(args[1], str) and isinstance(args[0], Construct):
        obj.__dict__[_SCOPE_ATTRIBUTE] = (args[0], args[1])
    return reference


def _string_attribute(cls: type, prop: str) -> str | None:
    """The Terraform attribute a plain string getter of a provider class reads, else None."""
    key = (cls, prop)
    if key not in _string_attributes:
        found = None
        if cls.__module__.startswith(PROVIDER_PACKAGE):
            for name, member in vars(cls).items():
                getter = member.fget if isinstance(member, property) else None
                if getattr(getter, "__jsii_name__", None) == prop:
                    # `str`, or its spelling when the module's annotations are postponed
                    found = name if getter.__annotations__.get("return") in (str, "builtins.str") else None
                    break
        _string_attributes[key] = found
    return _string_attributes[key]


def _path_below_stack(obj: Any) -> list[str] | None:
    """The construct IDs from below its stack down to `obj`; None when a scope was not made here."""
    ids = []
    current = obj
    while not isinstance(current, TerraformStack):
        recorded = getattr(current, "__dict__", {}).get(_SCOPE_ATTRIBUTE)
        if recorded is None:
            return None
        current, construct_id = recorded
        ids.append(construct_id)
    return ids[::-1]


# Each generated resource module opens with its Terraform type: "# `aws_vpc`", "# `data_aws_ami`".
_MODULE_TYPE = re.compile(r"\s*# `(?:data_)?([a-z0-9_]+)`")


def _resource_type(cls: type) -> str:
    """The Terraform type of a provider class, read from its module's docstring: asking Node.js
    (`TF_RESOURCE_TYPE`, a static get) would make Python wait for every create sent ahead of it.
    `check_resource_types` compares each one read this way with Node.js's before synth."""
    if cls not in _resource_types:
        found = _MODULE_TYPE.match(sys.modules[cls.__module__].__doc__ or "")
        _resource_types[cls] = found.group(1) if found else cls.TF_RESOURCE_TYPE
    return _resource_types[cls]


def check_resource_types() -> None:
    """Every resource type `_resource_type` read from a docstring is the one Node.js names."""
    for cls, resource_type in _resource_types.items():
        if cls in _resource_types_checked:
            continue
        named = cls.TF_RESOURCE_TYPE
        if resource_type != named:
            raise RuntimeError(
                f"{cls.__module__}: its docstring names {resource_type!r}, but Node.js's "
                f"{cls.__name__}.tfResourceType is {named!r}; set SYNTH_JSII_REFERENCES=1"
            )
        _resource_types_checked.add(cls)


def _get(obj: Any, prop: str) -> Any:
    attribute = _string_attribute(type(obj), prop)
    path = _path_below_stack(obj) if attribute is not None else None
    if attribute is None or path is None:
        return _jsii_get(obj, prop)
    data = "data." if isinstance(obj, TerraformDataSource) else ""
    return f"${{{data}{_resource_type(type(obj))}.{readable_name(path)}.{attribute}}}"


if LOCAL_REFERENCES:
    jsii.create = _create
    jsii.get = _get
