#!/usr/bin/env python3
"""Entry point. `python main.py` synthesizes every stack into generated/ (what `cdktf synth` runs).

    python main.py synth [--env NAME]... [--config DIR] [--out DIR]
    python main.py validate [--out DIR]
    python main.py docs [--check]

Exit status: 0 success, 2 bad input (config or arguments), 1 anything else.
Nothing heavy is imported before the input is known to be good: the config is checked without
cdktf, and an unchanged synth is recognised from its stamp before even pydantic loads.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIG = ROOT / "environments"
# `cdktf synth` tells the app where to write through CDKTF_OUTDIR.
DEFAULT_OUT = Path(os.environ.get("CDKTF_OUTDIR") or ROOT / "generated")
EXIT_BAD_INPUT = 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="main.py", description="Synthesize the platform's Terraform stacks.")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    synth = commands.add_parser("synth", help="synthesize stacks into the output directory")
    synth.add_argument("--env", action="append", default=[], metavar="NAME", help="only this environment")
    synth.add_argument("--config", type=Path, default=DEFAULT_CONFIG, metavar="DIR")
    synth.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR")
    validate = commands.add_parser("validate", help="terraform init -backend=false + validate on every stack")
    validate.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR")
    docs = commands.add_parser("docs", help="render README.md's config reference and layout from the code")
    docs.add_argument("--check", action="store_true", help="change nothing; exit 1 if README.md is stale")
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["synth", *argv]
    return _parser().parse_args(argv)


def _shown(path: Path) -> Path:
    """Paths in messages relative to where the user stands, when that is shorter."""
    relative = os.path.relpath(path)
    return Path(relative) if not relative.startswith("../..") else path


def synth(args: argparse.Namespace) -> int:
    from modules.core import stamp

    config_dir = _shown(args.config)
    environments = tuple(dict.fromkeys(args.env))
    inputs = stamp.inputs_digest(config_dir, environments)
    if stamp.is_current(args.out, inputs):
        print(f"{_shown(args.out)}: up to date")
        return 0

    from modules.config import ConfigError, load_platform

    try:
        platform = load_platform(config_dir, environments)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT

    from modules.stacks.synth import synthesize

    synthesize(platform, args.out, inputs)
    names = ["bootstrap", *(env.name for env in platform.environments)]
    print(f"{_shown(args.out)}: synthesized {', '.join(names)}")
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


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except UsageError as error:
        print(f"main.py: arguments: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.command == "validate":
        return validate(args)
    if args.command == "docs":
        return docs(args)
    return synth(args)


if __name__ == "__main__":
    sys.exit(main())
