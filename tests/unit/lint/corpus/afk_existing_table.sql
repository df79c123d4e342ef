-- expect: adding-foreign-key-constraint constraint-missing-not-valid
ALTER TABLE "user_sets" ADD CONSTRAINT "user_sets_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;
