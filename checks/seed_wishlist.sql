-- A small seed for the wishlist schema (WISH-2007): one user, three wishlist items.
-- psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f checks/seed_wishlist.sql
-- then: inv verify --only wishlist.seed_rows
INSERT INTO "users" ("id", "email", "display_name")
VALUES ('00000000-0000-4000-8000-000000000007', 'seed@example.com', 'seed');

INSERT INTO "wishlist_items" ("user_id", "title", "store", "set_number", "price", "currency", "priority", "sort_order")
VALUES
  ('00000000-0000-4000-8000-000000000007', 'Millennium Falcon', 'LEGO', '75192', 849.99, 'USD', 5, 0),
  ('00000000-0000-4000-8000-000000000007', 'Modular bakery', 'BrickLink', '10243', 189.50, 'EUR', 3, 1),
  ('00000000-0000-4000-8000-000000000007', 'Technic crane', 'Other', NULL, NULL, 'GBP', 0, 2);
