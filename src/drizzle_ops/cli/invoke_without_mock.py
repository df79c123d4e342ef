"""Import invoke without unittest.mock, which the `drizzle-ops` program never uses.

invoke's package imports all of invoke, and invoke.context imports ``unittest.mock.Mock`` for one class,
MockContext, a helper for testing task code. unittest.mock loads the whole unittest package (argparse
with it): about 7 ms of every start, a few percent of a no-op migrate, for a class no run uses.

So while invoke is imported, and only then, ``unittest.mock`` in ``sys.modules`` is a stand-in: its ``Mock``
builds the real ``unittest.mock.Mock`` when called (so invoke's MockContext still works), and any other
name loads the real module. The stand-in leaves ``sys.modules`` as soon as invoke is imported, so a later
``import unittest.mock`` anywhere gets the real module. Nothing is done when invoke or unittest.mock is
imported already (under `inv`, whose own program imports invoke first, or in a test run that mocks).
tests/unit/test_invoke_without_mock.py proves each of these.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

MOCK = "unittest.mock"


class Mock:
    """invoke's name for unittest.mock.Mock: called, it returns a real one."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from unittest.mock import Mock

        return Mock(*args, **kwargs)


def _stand_in() -> types.ModuleType:
    module = types.ModuleType(MOCK, "stands in for unittest.mock while invoke is imported (drizzle-ops)")

    def any_other(name: str) -> Any:
        if name.startswith("__"):  # the import system asks for __path__ and the like: a plain module has none
            raise AttributeError(name)
        # a name invoke does not take today: load the real module in the stand-in's place, and use it
        if sys.modules.get(MOCK) is module:
            del sys.modules[MOCK]
        return getattr(importlib.import_module(MOCK), name)

    module.Mock = Mock  # type: ignore[attr-defined]
    module.__getattr__ = any_other  # type: ignore[method-assign]
    return module


def import_invoke() -> None:
    """Import invoke; unittest.mock stays unloaded unless something else asks for it."""
    if "invoke" in sys.modules or MOCK in sys.modules:
        return
    stand_in = sys.modules[MOCK] = _stand_in()
    try:
        import invoke  # noqa: F401
    finally:
        if sys.modules.get(MOCK) is stand_in:
            del sys.modules[MOCK]


import_invoke()
