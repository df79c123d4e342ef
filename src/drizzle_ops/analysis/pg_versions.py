"""Since which PostgreSQL major a behaviour holds: each fact named once, for the rules, their fixes and the plan."""

# SET NOT NULL trusts a validated CHECK (col IS NOT NULL) and skips its scan of the table
CHECK_PROVES_NOT_NULL = 12
# before 12, ALTER TYPE … ADD VALUE "cannot run inside a transaction block"
ADD_ENUM_VALUE_IN_TRANSACTION = 12
# ALTER TABLE … ADD CONSTRAINT … NOT NULL col [NOT VALID]: a NOT NULL that is a constraint of its own
NOT_NULL_CONSTRAINTS = 18
