#!/usr/bin/env python3
"""Entry point. `python main.py` synthesizes every stack into generated/ (what `cdktf synth` runs).

    python main.py synth [--env NAME]... [--config DIR] [--out DIR]
    python main.py validate [--out DIR]
    python main.py docs [--check]
    python main.py review PLAN.json [PLAN.json ...] [--format text|markdown|json] [--fail-on danger|warning]

Exit status: 0 success, 2 bad input (config, arguments, a plan file), 3 review: --fail-on found
that severity, 1 anything else (among them: no Python with the dependencies, see
`ensure_interpreter`).
An unchanged synth is recognised from its stamps before even pydantic loads. A synth with work to
do starts the jsii kernel (Node.js) first, so that it loads cdktf and the provider while Python
checks the config; bad config still gets its one line per problem and exit 2, the kernel's start
costing that answer about 0.7 s (it waits for the kernel to end).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIG = ROOT / "environments"
# `cdktf synth` tells the app where to write through CDKTF_OUTDIR.
DEFAULT_OUT = Path(os.environ.get("CDKTF_OUTDIR") or ROOT / "generated")
EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1
EXIT_FLAGGED = 3  # review --fail-on found a change of that severity
# `make synth` creates it; `cdktf synth` and a fresh shell run main.py with whatever python3 is first.
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
REEXEC_GUARD = "PLATFORM_SYNTH_REEXEC"  # set across the re-exec into VENV_PYTHON: never loop
REQUIRED_MODULES = ("cdktf", "pydantic")
# The provider bindings check every argument's type at runtime (typeguard, `if __debug__:` in each
# generated initialiser): about a quarter of a synth's CPU, and redundant for a config the schema
# validated. A command-line synth compiles cdktf, constructs and the provider without those checks
# (modules/bindings.py `compile_without_type_checks`); the unit tier builds the same constructs
# in-process with the checks on, and a test proves the output byte-identical either way. Set this
# variable to 1 to keep the checks (debugging).
TYPE_CHECKS_ENV = "PLATFORM_SYNTH_TYPE_CHECKS"
PROVIDER_CLASSES_RECORD = "provider-classes.json"  # in the synth cache: what the last synth created
CYCLE_COLLECTION_ENV = "SYNTH_CYCLE_COLLECTION"  # 1: keep Python's cyclic collector on (see below)


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(message)


class _MainParser(_Parser):
    """`main.py --help` also describes synth's options: they work without the command word."""

    synth: argparse.ArgumentParser

    def format_help(self) -> str:
        return (
            f"{super().format_help()}\nwithout a command, main.py runs synth:\n\n{self.synth.format_help()}"
        )


def _parser() -> argparse.ArgumentParser:
    parser = _MainParser(
        prog="main.py",
        description="Synthesize the platform's Terraform stacks (bootstrap + one per environment) as "
        "Terraform JSON. Exit status: 0 success, 2 bad input (config or arguments), 1 anything else.",
    )
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    synth = commands.add_parser("synth", help="synthesize stacks into the output directory (the default)")
    synth.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME",
        help="synthesize the bootstrap stack and this environment (DIR/NAME.toml) only, repeatable; "
        "the other stacks already in the output directory are kept as they are "
        "(default: every environment, and the output holds exactly those stacks)",
    )
    synth.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        metavar="DIR",
        help="the config directory: project.toml and one <env>.toml per environment "
        "(default: environments/ beside main.py)",
    )
    synth.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help="the output directory: manifest.json, stacks/<stack>/cdk.tf.json and docs/<env>.md, written atomically "
        "(default: $CDKTF_OUTDIR, else generated/ beside main.py)",
    )
    validate = commands.add_parser("validate", help="terraform init -backend=false + validate on every stack")
    validate.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help="the synthesized output directory to validate (default: $CDKTF_OUTDIR, else generated/)",
    )
    docs = commands.add_parser("docs", help="render README.md's config reference and layout from the code")
    docs.add_argument("--check", action="store_true", help="change nothing; exit 1 if README.md is stale")
    review = commands.add_parser(
        "review",
        help="review `terraform show -json` plans: per stack, the counts and the risky changes",
        description="Review plans: per stack, the counts of creates, updates, replacements and deletes, "
        "every flagged change (danger, warning) with its reason and attribute, the rest folded. "
        f"Exit status: 0, {EXIT_FLAGGED} when --fail-on finds that severity, 2 bad input, 1 anything else.",
    )
    review.add_argument(
        "plans",
        nargs="+",
        type=Path,
        metavar="PLAN.json",
        help="`terraform show -json plan.tfplan > PLAN.json`, one per stack",
    )
    review.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="text for a terminal (colour on a TTY), markdown for a pull-request comment, json (default: text)",
    )
    review.add_argument(
        "--fail-on",
        choices=("danger", "warning"),
        help=f"exit {EXIT_FLAGGED} when a change of this severity (warning: or danger) is flagged",
    )
    parser.synth = synth
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["synth", *argv]
    return _parser().parse_args(argv)


def _shown(path: Path) -> Path:
    """Paths in messages relative to where the user stands, when that is shorter."""
    relative = os.path.relpath(path)
    return Path(relative) if not relative.startswith("../..") else path


def ensure_interpreter(argv: list[str]) -> int | None:
    """Run under a Python that has the dependencies: this one, or the project's .venv.

    `make synth` installs them into .venv, but a fresh shell's `python3` (and so `cdktf synth`,
    whose app is `python3 main.py`) is usually another interpreter. Then main.py re-executes itself
    with .venv/bin/python, same arguments; REEXEC_GUARD stops a second round. Without a usable
    .venv: one line saying what to run, and EXIT_FAILURE (the input is fine, the machine is not set
    up). Cheap: find_spec locates the packages without importing them.
    """
    from importlib.util import find_spec

    missing = [name for name in REQUIRED_MODULES if find_spec(name) is None]
    if not missing:
        os.environ.pop(REEXEC_GUARD, None)  # not inherited by what this process starts
        return None
    if VENV_PYTHON.exists() and not os.environ.get(REEXEC_GUARD):
        os.environ[REEXEC_GUARD] = sys.executable
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), str(ROOT / "main.py"), *argv])
    if os.environ.get(REEXEC_GUARD):
        problem = f"{_shown(VENV_PYTHON)} cannot import {', '.join(missing)}"
        fix = "reinstall it: `rm -rf .venv && make synth`"
    else:
        problem = f"{sys.executable} cannot import {', '.join(missing)} and there is no {_shown(VENV_PYTHON)}"
        fix = "run `make synth` (it creates .venv with the pinned dependencies), then run main.py again"
    print(f"main.py: {problem}; {fix}", file=sys.stderr)
    return EXIT_FAILURE


def without_cycle_collection() -> None:
    """Turn off Python's cyclic garbage collector for the rest of this synth (a command-line run).

    A synth is one short process whose objects (the provider classes, the constructs' proxies)
    live until it ends, and almost none of them are garbage in a cycle: in the editing loop the
    collector's passes took about 85 ms and freed about 2,800 objects. Reference counting still
    frees everything else. CYCLE_COLLECTION_ENV=1 keeps the collector on. The pass at exit is
    skipped by `gc.freeze()` in the `__main__` block, for every command.
    """
    if os.environ.get(CYCLE_COLLECTION_ENV) != "1":
        gc.disable()


def synth(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """`argv`: the command line of a command-line run (None: a caller's process, which keeps Python's
    collector and the bindings' type checks)."""
    from modules.core import stamp

    config_dir = _shown(args.config)
    environments = tuple(dict.fromkeys(args.env))
    partial = bool(environments)
    names = environments or tuple(stamp.environment_names(config_dir))
    inputs = stamp.stack_inputs(config_dir, names)
    if not stamp.RESERVED & set(names) and stamp.is_current(args.out, inputs, exact=not partial):
        print(f"{_shown(args.out)}: up to date")
        return 0
    # A partial synth keeps the bootstrap stack as it is when its stamp proves it current (its
    # inputs are every environment's account, region, role, backend and workspace); the
    # project-wide files recorded with it, the workspaces and workflows, are written all the same.
    if partial:
        bootstrap = not stamp.stack_current(args.out, stamp.BOOTSTRAP, inputs[stamp.BOOTSTRAP])
    else:
        # The editing loop: when only some environments changed since the last synth into this
        # output, synthesize those alone and keep the other stacks' files as they are; their stamps
        # prove them identical to what a full synth would write.
        stale = stamp.stale_stacks(args.out, inputs)
        bootstrap = True
        if stale and stamp.BOOTSTRAP not in stale and len(stale) < len(names):
            environments, partial, bootstrap = tuple(sorted(stale)), True, False
    if argv is not None:
        without_cycle_collection()
    # The jsii kernel starts here, before jsii is even imported (modules/kernel.py), and loads cdktf
    # and the provider while Python imports and reads the config: modules/bindings.py sends those
    # loads without waiting for their answers, and with them the provider classes the last synth
    # created (modules/cdk.py, "provider classes loaded ahead").
    from modules.kernel import start_kernel_early

    start_kernel_early()
    if argv is not None and os.environ.get(TYPE_CHECKS_ENV) != "1":
        from modules.bindings import compile_without_type_checks

        compile_without_type_checks()
    import modules.cdk

    classes_record = stamp.cache_root() / PROVIDER_CLASSES_RECORD
    modules.cdk.load_provider_classes_ahead(classes_record)
    from modules.config import ConfigError, load_platform

    try:
        platform = load_platform(config_dir, environments)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT

    from modules.stacks.synth import synthesize

    environment_stacks = [env.name for env in platform.environments]
    synthesized = [*([stamp.BOOTSTRAP] if bootstrap else []), *environment_stacks]
    # A stack's inputs do not depend on which others are synthesized with it: the editing loop's
    # subset is taken from those computed for the check above, not hashed again (about 30 ms).
    if {stamp.BOOTSTRAP, *environment_stacks} <= set(inputs):
        inputs = {name: inputs[name] for name in (stamp.BOOTSTRAP, *environment_stacks)}
    else:
        inputs = stamp.stack_inputs(config_dir, environment_stacks)
    from modules.cdk import AddressCollision

    try:
        present = synthesize(platform, args.out, inputs, keep_others=partial, bootstrap=bootstrap)
    except AddressCollision as error:  # two config names that spell one Terraform address
        print(f"{config_dir}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    modules.cdk.record_provider_classes(classes_record)
    kept = [name for name in present if name not in synthesized]
    print(
        f"{_shown(args.out)}: synthesized {', '.join(synthesized)}"
        + (f"; kept {', '.join(kept)} as {'it was' if len(kept) == 1 else 'they were'}" if kept else "")
    )
    return 0


def validate(args: argparse.Namespace) -> int:
    from modules.core.terraform_cli import TerraformUnavailable, validate_all

    if not (args.out / "stacks").is_dir():
        print(f"{_shown(args.out)}: no synthesized stacks; run `python main.py` first", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        results = validate_all(args.out)
    except TerraformUnavailable as error:
        print(f"validate: {error}", file=sys.stderr)
        return 1
    for name, result in results.items():
        print(f"{name}: {'valid' if result.ok else 'INVALID'}")
        if not result.ok:
            print(result.stdout + result.stderr, file=sys.stderr)
    return 0 if results and all(r.ok for r in results.values()) else 1


def docs(args: argparse.Namespace) -> int:
    """Render README.md's generated blocks (`make docs`); with --check only report whether they are stale."""
    from modules.config.reference import README, update_readme

    stale = update_readme(README, write=not args.check)
    state = ("stale: run `make docs`" if args.check else "updated") if stale else "up to date"
    print(f"{_shown(README)}: {state}", file=sys.stderr if stale and args.check else sys.stdout)
    return 1 if stale and args.check else 0


def review(args: argparse.Namespace) -> int:
    """Read every plan first (one line per bad file, exit 2), then render all reviews."""
    from modules.review import PlanError, Severity, read_plan, render
    from modules.review import review as review_plan

    reviews, problems = [], []
    for path in args.plans:
        try:
            reviews.append(review_plan(read_plan(path)))
        except PlanError as error:
            problems += error.problems
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT
    colour = args.format == "text" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    sys.stdout.write(render(reviews, args.format, colour=colour))
    if args.fail_on and any(r.fails(Severity(args.fail_on)) for r in reviews):
        return EXIT_FLAGGED
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except UsageError as error:
        print(f"main.py: arguments: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.command == "validate":
        return validate(args)
    failed = ensure_interpreter(sys.argv[1:] if argv is None else argv)
    if failed is not None:
        return failed
    if args.command == "docs":
        return docs(args)
    if args.command == "review":
        return review(args)
    # Only a command-line run turns off the cycle collector and the bindings' type checks; a caller
    # that passes argv keeps its process as it is.
    return synth(args, sys.argv[1:] if argv is None else None)


if __name__ == "__main__":
    status = main()
    # What the command built lives until the process ends, and finalization would walk all of it
    # in the cyclic collector's last passes (about 150 ms after a synth): frozen objects are
    # skipped. Reference counting, atexit handlers (the jsii kernel's stop) and flushes still run.
    if os.environ.get(CYCLE_COLLECTION_ENV) != "1":
        gc.freeze()
    sys.exit(status)
