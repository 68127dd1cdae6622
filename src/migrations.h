/*
 * migrations.h - the numbered, forward-only schema migrations and the privileges of the nightly
 * role, compiled into the program (generated from the files in sql/ by scripts/embed-sql.sh).
 * Migration numbers are strictly increasing.
 */
#ifndef PIPELINE_MIGRATIONS_H
#define PIPELINE_MIGRATIONS_H

struct migration {
	int number;
	const char *name;
	const char *sql;
};

extern const struct migration migrations[];
extern const int n_migrations;

/* sql/privileges.sql: re-applied as the owner role by every `pipeline db init`. */
extern const char privileges_sql[];

#endif
