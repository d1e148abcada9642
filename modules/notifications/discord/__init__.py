"""The Discord notifier: a Lambda (runtime/notifier.py) and its deterministic zip (package.py)."""

from modules.notifications.discord.package import HANDLER, RUNTIME, NotifierPackage, build_package

__all__ = ["HANDLER", "RUNTIME", "NotifierPackage", "build_package"]
