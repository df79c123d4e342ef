-- expect: adding-foreign-key-constraint
ALTER TABLE "email" ADD COLUMN "user_id" bigint REFERENCES "users" ("id");
