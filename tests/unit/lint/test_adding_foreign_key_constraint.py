import pytest

from .util import check, flagged

RULE = "adding-foreign-key-constraint"


@pytest.mark.parametrize(
    "sql",
    [
        'ALTER TABLE "user_sets" ADD CONSTRAINT "user_sets_user_id_users_id_fk" FOREIGN KEY ("user_id") '
        'REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;',
        'ALTER TABLE "email" ADD COLUMN "user_id" bigint REFERENCES "users" ("id");',
        # the referenced table is new, but the altered one is not: it is still scanned
        'CREATE TABLE "t" ("id" int PRIMARY KEY);\n'
        'ALTER TABLE "u" ADD CONSTRAINT "fk" FOREIGN KEY ("a") REFERENCES "t";',
    ],
)
def test_validated_foreign_key_on_existing_table_is_flagged(sql: str) -> None:
    assert flagged(RULE, sql)


@pytest.mark.parametrize(
    "sql",
    [
        'ALTER TABLE "user_sets" ADD CONSTRAINT "fk" FOREIGN KEY ("user_id") REFERENCES "users"("id") NOT VALID;',
        'CREATE TABLE "wishlist_items" ("user_id" uuid);\n--> statement-breakpoint\n'
        'ALTER TABLE "wishlist_items" ADD CONSTRAINT "fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id");',
        'CREATE TABLE "email" ("id" bigint, "user_id" bigint REFERENCES "users" ("id"));',
        'ALTER TABLE "sets" ADD CONSTRAINT "c" CHECK ("year" > 0);',
    ],
)
def test_not_flagged(sql: str) -> None:
    assert not flagged(RULE, sql)


def test_message_names_both_tables() -> None:
    (finding,) = check(
        RULE, 'ALTER TABLE "user_sets" ADD CONSTRAINT "fk" FOREIGN KEY ("u") REFERENCES "public"."users"'
    )
    assert "user_sets" in finding.message and "public.users" in finding.message
