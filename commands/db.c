/*
 * db.c - `pipeline db init`: creates or migrates the schema (as the owner role; src/db_roles.c)
 * and says at which version it stands.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "db.h"

int
cmd_db(int argc, char **argv, const char *config_path)
{
	struct config *cfg = NULL;
	PGconn *db = NULL;
	int applied = 0, version = 0;
	enum perr e;

	if (argc != 2 || strcmp(argv[1], "init") != 0) {
		fprintf(stderr, "usage: pipeline db init   (create or migrate the schema)\n");
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	if ((e = cli_open(config_path, "db init", &cfg, &db)) != PERR_OK)
		return cli_fail(e);
	if ((e = db_init_schema(db, cfg, &applied)) == PERR_OK && (e = db_schema_version(db, &version)) == PERR_OK)
		printf("schema at version %d (%d migration%s applied)\n", version, applied, applied == 1 ? "" : "s");
	PQfinish(db);
	config_free(cfg);
	return e == PERR_OK ? 0 : cli_fail(e);
}
