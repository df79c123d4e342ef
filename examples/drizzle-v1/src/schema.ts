import { pgTable, uuid, text, pgEnum, integer, index } from "drizzle-orm/pg-core";
export const role = pgEnum("user_role", ["member", "admin"]);
export const users = pgTable("users", {
  id: uuid("id").primaryKey().defaultRandom(),
  email: text("email").notNull().unique(),
  role: role("role").default("member").notNull(),
});
export const sets = pgTable("sets", {
  id: integer("id").primaryKey(),
  userId: uuid("user_id").references(() => users.id),
  name: text("name").notNull(),
}, (t) => [index("sets_user_idx").on(t.userId)]);
export const currency = pgEnum("wishlist_currency", ["USD", "EUR", "GBP"]);
export const wishlistItems = pgTable("wishlist_items", {
  id: uuid("id").primaryKey().defaultRandom(),
  userId: uuid("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
  title: text("title").notNull(),
  currency: currency("currency").default("USD").notNull(),
  sortOrder: integer("sort_order").default(0).notNull(),
}, (t) => [index("wishlist_items_user_sort_idx").on(t.userId, t.sortOrder)]);
