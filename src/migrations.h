/*
 * migrations.h - the numbered, forward-only schema migrations compiled into the program
 * (generated from the files in sql/ by scripts/embed-sql.sh). Numbers are strictly increasing.
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

#endif
