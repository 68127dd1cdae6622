/*
 * db.c - `pipeline db init|start|stop|status`: creates or migrates the schema (as the owner role;
 * src/db_roles.c) and says at which version it stands; starts, stops and shows the embedded
 * PostgreSQL cluster (an empty [database] conninfo; src/db.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "db.h"

static int
usage_db(FILE *fp, int rc)
{
	fprintf(fp, "usage: pipeline db init     create or migrate the schema (creates and starts the embedded cluster)\n"
	    "       pipeline db start    start the embedded PostgreSQL (creating it if needed)\n"
	    "       pipeline db stop     stop the embedded PostgreSQL\n"
	    "       pipeline db status   whether the embedded PostgreSQL runs (exit 0) or not (exit 1)\n");
	return rc;
}

static int
db_init(const char *config_path)
{
	struct config *cfg = NULL;
	PGconn *db = NULL;
	int applied = 0, version = 0;
	enum perr e;

	if ((e = cli_open(config_path, "db init", &cfg, &db)) != PERR_OK)
		return cli_fail(e);
	if ((e = db_init_schema(db, cfg, &applied)) == PERR_OK && (e = db_schema_version(db, &version)) == PERR_OK)
		printf("schema at version %d (%d migration%s applied)\n", version, applied, applied == 1 ? "" : "s");
	PQfinish(db);
	config_free(cfg);
	return e == PERR_OK ? 0 : cli_fail(e);
}

/* start, stop, status of the embedded cluster. */
static int
db_embedded(const char *config_path, const char *verb)
{
	struct config *cfg = NULL;
	char *sock, *log;
	enum embedded_state st;
	enum perr e;
	int rc = 0;

	if ((e = cli_open(config_path, "db", &cfg, NULL)) != PERR_OK)
		return cli_fail(e);
	if (cfg->db_conninfo[0] != '\0') {
		config_free(cfg);
		return cli_fail(perr_set(PERR_USAGE, "db %s: [database] conninfo names a server; there is no "
		    "embedded cluster to %s (it is used only with an empty conninfo)", verb, verb));
	}
	if (!strcmp(verb, "start"))
		e = db_embedded_start(cfg, NULL);
	else if (!strcmp(verb, "stop"))
		e = db_embedded_stop(cfg);
	if (e != PERR_OK) {
		config_free(cfg);
		return cli_fail(e);
	}
	st = db_embedded_state(cfg);
	db_embedded_where(cfg, &sock, &log);
	printf("embedded PostgreSQL %s\n  data    %s/pg/data\n  socket  %s\n  log     %s\n",
	    st == EMBEDDED_RUNNING ? "running" : st == EMBEDDED_STOPPED ? "stopped" : "not created yet "
	    "(pipeline db init creates it)", cfg->data_dir, sock, log);
	if (!strcmp(verb, "status") && st != EMBEDDED_RUNNING)
		rc = 1;
	free(sock);
	free(log);
	config_free(cfg);
	return rc;
}

int
cmd_db(int argc, char **argv, const char *config_path)
{
	if (argc == 2 && !strcmp(argv[1], "--help"))
		return usage_db(stdout, 0);
	if (argc != 2)
		return usage_db(stderr, 2);
	if (!strcmp(argv[1], "init"))
		return db_init(config_path);
	if (!strcmp(argv[1], "start") || !strcmp(argv[1], "stop") || !strcmp(argv[1], "status"))
		return db_embedded(config_path, argv[1]);
	return usage_db(stderr, 2);
}
