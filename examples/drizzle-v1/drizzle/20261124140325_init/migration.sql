CREATE TYPE "user_role" AS ENUM('member', 'admin');--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	"email" text NOT NULL UNIQUE,
	"role" "user_role" DEFAULT 'member'::"user_role" NOT NULL
);
