-- expect: adding-serial-primary-key-field
ALTER TABLE "account" ADD PRIMARY KEY ("id");
