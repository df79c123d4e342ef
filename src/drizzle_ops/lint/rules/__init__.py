"""Every lint rule, in the order the docs list them."""

from __future__ import annotations

from drizzle_ops.lint.rule import Rule
from drizzle_ops.lint.rules import (
    adding_enum_value,
    adding_field_with_default,
    adding_foreign_key_constraint,
    adding_not_nullable_field,
    adding_required_field,
    adding_serial_primary_key_field,
    ban_concurrent_index_creation_in_transaction,
    ban_drop_column,
    ban_drop_table,
    changing_column_type,
    constraint_missing_not_valid,
    disallowed_unique_constraint,
    prefer_robust_stmts,
    renaming_column,
    renaming_table,
    require_concurrent_index_creation,
    require_concurrent_index_deletion,
    require_resumable_batch,
    transaction_nesting,
)

ALL_RULES: tuple[Rule, ...] = (
    require_concurrent_index_creation.RULE,
    require_concurrent_index_deletion.RULE,
    constraint_missing_not_valid.RULE,
    adding_foreign_key_constraint.RULE,
    adding_not_nullable_field.RULE,
    adding_required_field.RULE,
    adding_field_with_default.RULE,
    changing_column_type.RULE,
    renaming_column.RULE,
    renaming_table.RULE,
    ban_drop_column.RULE,
    ban_drop_table.RULE,
    disallowed_unique_constraint.RULE,
    adding_serial_primary_key_field.RULE,
    ban_concurrent_index_creation_in_transaction.RULE,
    transaction_nesting.RULE,
    adding_enum_value.RULE,
    prefer_robust_stmts.RULE,
    require_resumable_batch.RULE,
)
