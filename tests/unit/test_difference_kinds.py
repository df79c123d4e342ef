"""tests/difference_kinds.py names every report of verify/compare.py once, and each can be silenced alone.

What makes the mutation check (`nox -s mutation`) complete: a report compare.py
gains without a kind (and a case) here fails this test, naming the call.
"""

from __future__ import annotations

import ast

from tests.difference_kinds import KINDS
from tests.mutation.sites import COMPARE, disable, find, report_sites

SOURCE = COMPARE.read_text()
SITES = report_sites(SOURCE)


def test_every_report_in_compare_py_is_a_kind_with_a_case() -> None:
    named = [site for kind in KINDS for site in find(SITES, kind.function, kind.marker)]
    unnamed = [str(site) for site in SITES if site not in named]
    assert unnamed == [], "add a Kind (with a change that shows it) to tests/difference_kinds.py for each"


def test_every_difference_goes_through_comparison_add() -> None:
    """A Difference made anywhere else would be a report the kinds (and the mutants) never see."""
    made = [
        function.name
        for function in ast.walk(ast.parse(SOURCE))
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Difference"
    ]
    assert made == ["add"]
    assert SOURCE.count("self.differences.") == 1  # the append in add


def test_each_kind_names_exactly_one_report() -> None:
    counts = {kind.id: len(find(SITES, kind.function, kind.marker)) for kind in KINDS}
    assert {k: n for k, n in counts.items() if n != 1} == {}
    assert len({kind.id for kind in KINDS}) == len(KINDS) == len(SITES)


def test_silencing_a_kind_removes_only_its_call() -> None:
    for kind in KINDS:
        (site,) = find(SITES, kind.function, kind.marker)
        mutant = disable(SOURCE, site)
        ast.parse(mutant)  # still a module that imports
        left = report_sites(mutant)
        assert len(left) == len(SITES) - 1, kind.id
        assert find(left, kind.function, kind.marker) == [], kind.id
        assert [s.text for s in left] == [s.text for s in SITES if s != site], kind.id
