"""The `drizzle-ops` program imports invoke without unittest.mock, and nobody else can tell.

Each case runs in a fresh interpreter: what is imported at start-up is the point.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run(program: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(program)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_program_starts_without_unittest_mock_and_a_later_import_gets_the_real_module() -> None:
    assert run(
        """
        import sys
        import drizzle_ops.cli.program
        print("invoke" in sys.modules, "unittest" in sys.modules, "unittest.mock" in sys.modules)
        import unittest.mock
        from unittest.mock import patch
        print(sys.modules["unittest.mock"] is unittest.mock, unittest.mock.__file__.endswith("mock.py"))
        """
    ) == ["True", "False", "False", "True", "True"]


def test_invokes_mock_context_still_wraps_its_methods_in_real_mocks() -> None:
    assert run(
        """
        import drizzle_ops.cli.program
        from invoke import MockContext, Result
        context = MockContext(run=Result("hello"))
        print(context.run("echo").stdout)
        context.run.assert_called_once_with("echo")
        from unittest.mock import Mock
        print(isinstance(context.run, Mock))
        """
    ) == ["hello", "True"]


def test_with_unittest_mock_loaded_first_invoke_gets_it_as_it_is() -> None:
    assert run(
        """
        import unittest.mock
        import drizzle_ops.cli.program
        import invoke.context
        print(invoke.context.Mock is unittest.mock.Mock)
        """
    ) == ["True"]


def test_any_other_name_asked_of_the_stand_in_loads_the_real_module() -> None:
    assert run(
        """
        import sys
        from drizzle_ops.cli.invoke_without_mock import MOCK, _stand_in
        stand_in = sys.modules[MOCK] = _stand_in()
        from unittest.mock import Mock, patch
        print(Mock is stand_in.Mock, callable(patch), sys.modules[MOCK] is not stand_in, hasattr(stand_in, "__path__"))
        """
    ) == ["True", "True", "True", "False"]
