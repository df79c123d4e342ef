from drizzle_ops.lint import ALL_RULES
from drizzle_ops.lint.docs import rules_markdown
from tests.helpers import ROOT


def test_docs_page_matches_the_rules() -> None:
    page = (ROOT / "docs" / "lint-rules.md").read_text(encoding="utf-8")
    assert page == rules_markdown(), "regenerate: python -m drizzle_ops.lint.docs > docs/lint-rules.md"


def test_every_rule_has_a_section_with_problem_and_alternative() -> None:
    page = rules_markdown()
    for rule in ALL_RULES:
        section = page.split(f"## {rule.id}\n", 1)[1].split("\n## ", 1)[0]
        assert "### Problem" in section and "### Safe alternative" in section and "```sql" in section
