-- expect: none
CREATE TABLE "email" ("id" bigint PRIMARY KEY, "user_id" bigint REFERENCES "users" ("id"));
