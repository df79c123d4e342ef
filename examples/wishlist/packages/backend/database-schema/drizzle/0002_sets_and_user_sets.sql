CREATE TABLE "sets" (
	"id" serial PRIMARY KEY NOT NULL,
	"set_number" text NOT NULL,
	"name" text NOT NULL,
	"theme" text,
	"year" integer,
	"piece_count" integer,
	CONSTRAINT "sets_set_number_unique" UNIQUE("set_number")
);
--> statement-breakpoint
CREATE TABLE "user_sets" (
	"user_id" uuid NOT NULL,
	"set_id" integer NOT NULL,
	"quantity" integer DEFAULT 1 NOT NULL,
	"acquired_at" timestamp with time zone,
	CONSTRAINT "user_sets_user_id_set_id_pk" PRIMARY KEY("user_id","set_id")
);
--> statement-breakpoint
ALTER TABLE "user_sets" ADD CONSTRAINT "user_sets_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_sets" ADD CONSTRAINT "user_sets_set_id_sets_id_fk" FOREIGN KEY ("set_id") REFERENCES "public"."sets"("id") ON DELETE cascade ON UPDATE no action;