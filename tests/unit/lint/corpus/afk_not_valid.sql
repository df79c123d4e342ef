-- expect: none
ALTER TABLE "user_sets" ADD CONSTRAINT "user_sets_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") NOT VALID;
