-- expect: none
ALTER TABLE "orders" ADD COLUMN "meta" jsonb DEFAULT '{}'::jsonb NOT NULL;
ALTER TABLE "orders" ADD COLUMN "tags" text[] DEFAULT ARRAY[]::text[];
