/*
 * commands.h - the subcommands of `pipeline`, one function each. Each takes the arguments after
 * the command name (argv[0] is the command name) and the config path chosen by the top level, and
 * returns the process exit code (perr_exit_code()). The table that maps names to these functions
 * is in commands/main.c.
 */
#ifndef PIPELINE_COMMANDS_H
#define PIPELINE_COMMANDS_H

int cmd_run(int argc, char **argv, const char *config_path);
int cmd_stage(int argc, char **argv, const char *config_path);
int cmd_status(int argc, char **argv, const char *config_path);
int cmd_db(int argc, char **argv, const char *config_path);
int cmd_ledger(int argc, char **argv, const char *config_path);
int cmd_approve(int argc, char **argv, const char *config_path);
int cmd_inspect(int argc, char **argv, const char *config_path);
int cmd_notify(int argc, char **argv, const char *config_path);
int cmd_housekeep(int argc, char **argv, const char *config_path);
int cmd_doctor(int argc, char **argv, const char *config_path);
int cmd_explain(int argc, char **argv, const char *config_path);
int cmd_export(int argc, char **argv, const char *config_path);
int cmd_resolve(int argc, char **argv, const char *config_path);
int cmd_assign(int argc, char **argv, const char *config_path);
int cmd_comment(int argc, char **argv, const char *config_path);
int cmd_signoff(int argc, char **argv, const char *config_path);

#endif
