"""WISH-2007: the wishlist schema that migration 0007_wishlist_items adds.

The verification queries of the story, as checks. Each is tied to 0007, so
before it is applied (or after it is rolled back) they show as skipped. They
read the catalog of the public schema and assume the usual search_path
("$user", public), under which PostgreSQL prints enum types without their schema.
"""

from drizzle_ops.checks_api import Check

TABLE = "public.wishlist_items"
MIGRATION = "0007_wishlist_items"  # every check here reads what it creates: skipped until it is applied

CHECKS = [
    Check(
        id="wishlist.table",
        migration=MIGRATION,
        description="the wishlist_items table exists",
        sql=f"select to_regclass('{TABLE}') is not null",
        expect=True,
    ),
    Check(
        id="wishlist.columns",
        migration=MIGRATION,
        description="wishlist_items columns: name, type, not null, default, in order",
        sql=f"""
            select a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
            from pg_attribute a
            left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
            where a.attrelid = '{TABLE}'::regclass and a.attnum > 0 and not a.attisdropped
            order by a.attnum
        """,
        expect=[
            ("id", "uuid", True, "gen_random_uuid()"),
            ("user_id", "uuid", True, None),
            ("title", "text", True, None),
            ("store", "wishlist_store", True, None),
            ("set_number", "text", False, None),
            ("source_url", "text", False, None),
            ("image_url", "text", False, None),
            ("price", "numeric(10,2)", False, None),
            ("currency", "wishlist_currency", True, "'USD'::wishlist_currency"),
            ("piece_count", "integer", False, None),
            ("release_date", "timestamp with time zone", False, None),
            ("tags", "jsonb", False, "'[]'::jsonb"),
            ("priority", "integer", True, "0"),
            ("notes", "text", False, None),
            ("sort_order", "integer", True, "0"),
            ("created_at", "timestamp with time zone", True, "now()"),
            ("updated_at", "timestamp with time zone", True, "now()"),
        ],
    ),
    Check(
        id="wishlist.enums",
        migration=MIGRATION,
        description="wishlist_currency and wishlist_store hold exactly their values, in order",
        sql="""
            select t.typname::text, array_agg(e.enumlabel::text order by e.enumsortorder)
            from pg_type t
            join pg_namespace n on n.oid = t.typnamespace
            join pg_enum e on e.enumtypid = t.oid
            where n.nspname = 'public' and t.typname in ('wishlist_currency', 'wishlist_store')
            group by t.typname
            order by t.typname
        """,
        expect=[
            ("wishlist_currency", ["USD", "EUR", "GBP", "CAD", "AUD"]),
            ("wishlist_store", ["LEGO", "Barweer", "Cata", "BrickLink", "Other"]),
        ],
    ),
    Check(
        id="wishlist.indexes",
        migration=MIGRATION,
        description="wishlist_items indexes with their columns (and whether unique)",
        sql=f"""
            select ic.relname::text,
                   array(select a.attname::text from unnest(i.indkey::int2[]) with ordinality k(num, ord)
                         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.num order by k.ord),
                   i.indisunique
            from pg_index i join pg_class ic on ic.oid = i.indexrelid
            where i.indrelid = '{TABLE}'::regclass
            order by ic.relname
        """,
        expect=[
            ("wishlist_items_pkey", ["id"], True),
            ("wishlist_items_user_id_idx", ["user_id"], False),
            ("wishlist_items_user_sort_idx", ["user_id", "sort_order"], False),
        ],
    ),
    Check(
        id="wishlist.foreign_keys",
        migration=MIGRATION,
        description="wishlist_items.user_id references users.id and deletes with its user",
        sql=f"""
            select c.conname::text, a.attname::text, f.relname::text, fa.attname::text,
                   case c.confdeltype when 'c' then 'cascade' when 'n' then 'set null' when 'd' then 'set default'
                                      when 'r' then 'restrict' else 'no action' end
            from pg_constraint c
            join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
            join pg_class f on f.oid = c.confrelid
            join pg_attribute fa on fa.attrelid = c.confrelid and fa.attnum = c.confkey[1]
            where c.conrelid = '{TABLE}'::regclass and c.contype = 'f'
            order by c.conname
        """,
        expect=[("wishlist_items_user_id_users_id_fk", "user_id", "users", "id", "cascade")],
    ),
    Check(
        id="wishlist.check_constraints",
        migration=MIGRATION,
        description="price is never negative and priority stays between 0 and 5",
        sql=f"""
            select conname::text, pg_get_constraintdef(oid)
            from pg_constraint
            where conrelid = '{TABLE}'::regclass and contype = 'c'
            order by conname
        """,
        expect=[
            ("wishlist_items_price_non_negative", "CHECK ((price >= (0)::numeric))"),
            ("wishlist_items_priority_range", "CHECK (((priority >= 0) AND (priority <= 5)))"),
        ],
    ),
    Check(
        id="wishlist.migration_recorded",
        migration=MIGRATION,
        description="0007_wishlist_items is recorded in drizzle.__drizzle_migrations (its hash and journal time)",
        sql="""
            select count(*) from drizzle.__drizzle_migrations
            where hash = '3589e57394385caee3b6acdf2855a0533141bac8a28a515d10e81bf6b4ef9b27'
              and created_at = 1795527795206
        """,
        expect=1,
    ),
    Check(
        id="wishlist.seed_rows",
        migration=MIGRATION,
        description="after checks/seed_wishlist.sql, wishlist_items holds its 3 rows (run with --only)",
        sql=f"select count(*) from {TABLE}",
        expect=3,
        optional=True,
    ),
]
