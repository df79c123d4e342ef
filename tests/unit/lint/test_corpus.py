"""Each corpus file says on its `-- expect:` line which rules must flag it; nothing else may."""

from pathlib import Path

import pytest

from drizzle_ops.lint import lint_sql

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.sql"))


def expected(text: str) -> set[str]:
    line = next(line for line in text.splitlines() if line.startswith("-- expect:"))
    return set(line.split(":", 1)[1].split()) - {"none"}


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_file_is_flagged_by_exactly_the_expected_rules(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert {f.rule for f in lint_sql(text, path=path.name)} == expected(text)


def test_corpus_is_not_empty() -> None:
    assert len(FILES) >= 60
