import { sql } from "drizzle-orm";
import {
  boolean,
  check,
  index,
  integer,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  unique,
  uuid,
} from "drizzle-orm/pg-core";

// ---------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------

export const userRole = pgEnum("user_role", ["member", "moderator", "admin"]);

export const mocStatus = pgEnum("moc_status", ["draft", "published", "archived"]);

export const wishlistStore = pgEnum("wishlist_store", ["LEGO", "Barweer", "Cata", "BrickLink", "Other"]);

export const wishlistCurrency = pgEnum("wishlist_currency", ["USD", "EUR", "GBP", "CAD", "AUD"]);

// ---------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------

export const users = pgTable("users", {
  id: uuid("id").primaryKey().defaultRandom(),
  email: text("email").notNull().unique(),
  displayName: text("display_name"),
  role: userRole("role").default("member").notNull(),
  avatarUrl: text("avatar_url"),
  createdAt: timestamp("created_at", { withTimezone: true }).defaultNow().notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).defaultNow().notNull(),
});

// ---------------------------------------------------------------------------
// MOC (My Own Creation) instructions
// ---------------------------------------------------------------------------

export const mocInstructions = pgTable(
  "moc_instructions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    description: text("description"),
    status: mocStatus("status").default("draft").notNull(),
    pieceCount: integer("piece_count"),
    isFeatured: boolean("is_featured").default(false).notNull(),
    publishedAt: timestamp("published_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).defaultNow().notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).defaultNow().notNull(),
  },
  (t) => [
    index("moc_instructions_user_id_idx").on(t.userId),
    check("moc_instructions_piece_count_non_negative", sql`${t.pieceCount} >= 0`),
  ],
);

// Downloadable parts lists for a MOC (e.g. a BrickLink XML or Rebrickable CSV export).
export const mocPartsLists = pgTable(
  "moc_parts_lists",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    mocId: uuid("moc_id")
      .notNull()
      .references(() => mocInstructions.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    fileUrl: text("file_url").notNull(),
    partCount: integer("part_count"),
    createdAt: timestamp("created_at", { withTimezone: true }).defaultNow().notNull(),
  },
  (t) => [unique("moc_parts_lists_moc_id_name_unique").on(t.mocId, t.name)],
);

// ---------------------------------------------------------------------------
// Official LEGO sets and the sets each user owns
// ---------------------------------------------------------------------------

export const sets = pgTable(
  "sets",
  {
    id: serial("id").primaryKey(),
    setNumber: text("set_number").notNull().unique(),
    name: text("name").notNull(),
    theme: text("theme"),
    year: integer("year"),
    pieceCount: integer("piece_count"),
    retired: boolean("retired").default(false).notNull(),
  },
  // The first LEGO bricks were sold in 1949.
  (t) => [check("sets_year_check", sql`${t.year} >= 1949`)],
);

export const userSets = pgTable(
  "user_sets",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    setId: integer("set_id")
      .notNull()
      .references(() => sets.id, { onDelete: "cascade" }),
    quantity: integer("quantity").default(1).notNull(),
    acquiredAt: timestamp("acquired_at", { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.userId, t.setId] })],
);

// ---------------------------------------------------------------------------
// Gallery images (optionally attached to a MOC)
// ---------------------------------------------------------------------------

export const galleryImages = pgTable(
  "gallery_images",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    mocId: uuid("moc_id").references(() => mocInstructions.id, { onDelete: "set null" }),
    url: text("url").notNull(),
    width: integer("width"),
    height: integer("height"),
    tags: text("tags").array().default(sql`'{}'::text[]`).notNull(),
    metadata: jsonb("metadata").$type<Record<string, unknown>>(),
    createdAt: timestamp("created_at", { withTimezone: true }).defaultNow().notNull(),
  },
  (t) => [
    index("gallery_images_user_created_idx").on(t.userId, t.createdAt),
    index("gallery_images_lower_url_idx").on(sql`lower(${t.url})`),
    index("gallery_images_moc_id_idx").on(t.mocId).where(sql`${t.mocId} is not null`),
    index("gallery_images_tags_idx").using("gin", t.tags),
  ],
);

// ---------------------------------------------------------------------------
// Wishlist items (WISH-2007)
// ---------------------------------------------------------------------------

export const wishlistItems = pgTable(
  "wishlist_items",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    store: wishlistStore("store").notNull(),
    setNumber: text("set_number"),
    sourceUrl: text("source_url"),
    imageUrl: text("image_url"),
    price: numeric("price", { precision: 10, scale: 2 }),
    currency: wishlistCurrency("currency").default("USD").notNull(),
    pieceCount: integer("piece_count"),
    releaseDate: timestamp("release_date", { withTimezone: true }),
    tags: jsonb("tags").$type<string[]>().default([]),
    priority: integer("priority").default(0).notNull(),
    notes: text("notes"),
    sortOrder: integer("sort_order").default(0).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).defaultNow().notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true })
      .defaultNow()
      .notNull()
      .$onUpdate(() => new Date()),
  },
  (t) => [
    index("wishlist_items_user_id_idx").on(t.userId),
    index("wishlist_items_user_sort_idx").on(t.userId, t.sortOrder),
    check("wishlist_items_price_non_negative", sql`${t.price} >= 0`),
    check("wishlist_items_priority_range", sql`${t.priority} between 0 and 5`),
  ],
);

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
export type MocInstruction = typeof mocInstructions.$inferSelect;
export type NewMocInstruction = typeof mocInstructions.$inferInsert;
export type MocPartsList = typeof mocPartsLists.$inferSelect;
export type NewMocPartsList = typeof mocPartsLists.$inferInsert;
export type LegoSet = typeof sets.$inferSelect;
export type NewLegoSet = typeof sets.$inferInsert;
export type UserSet = typeof userSets.$inferSelect;
export type GalleryImage = typeof galleryImages.$inferSelect;
export type NewGalleryImage = typeof galleryImages.$inferInsert;
export type WishlistItem = typeof wishlistItems.$inferSelect;
export type NewWishlistItem = typeof wishlistItems.$inferInsert;
