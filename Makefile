# Makefile - builds ./pipeline and runs the demo, tests, benchmarks and fuzzers.
#
#   make            build ./pipeline
#   make demo       install what is missing, run the nightly on the fixture world, print a summary
#                   per day (V=1: every log line too; DEMO_SFTP_PORT=N: the SFTP port, default free)
#   make test       install what is missing, run unit and integration tests (SANITIZE=1: ASan+UBSan)
#   make bench      print benchmark figures (never fails because the machine is slow)
#   make fuzz       run every libFuzzer harness for FUZZ_SECONDS each
#   make currencies  regenerate src/currencies.inc from ICU (tools/gencurrencies.c)
#   make fixtures-large N=100000   write a generated world of N statement lines under var/large
#   make install PREFIX=/usr/local / make uninstall

CC      ?= cc
PREFIX  ?= /usr/local
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

PKGS    := libpq libssh2 libpcre2-8 xlsxwriter inih libcrypto libcurl jansson libxml-2.0
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla \
           -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
           -Isrc -Iengine -Iformats -Istages -Ireports -Icommands -Ibuild \
           -DPIPELINE_VERSION='"$(VERSION)"' -DPIPELINE_SHAREDIR='"$(PREFIX)/share/pipeline"' \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv -lm

ifeq ($(SANITIZE),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
BUILD   := build/san
else
BUILD   := build/rel
endif

DIRS     := src engine formats stages reports commands
SRCS     := $(foreach d,$(DIRS),$(wildcard $(d)/*.c))
OBJS     := $(patsubst %.c,$(BUILD)/%.o,$(SRCS)) $(BUILD)/migrations.o
LIB_OBJS := $(filter-out $(BUILD)/commands/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
SQL      := $(sort $(wildcard sql/[0-9]*.sql))

.PHONY: pipeline all deps demo test unit integration bench fuzz fixtures-large install uninstall clean reliability report-preview currencies

all: pipeline

# Copied to a temporary name and renamed: a test may be running the old ./pipeline ("text file busy").
pipeline: $(BUILD)/pipeline
	@cp $< $@.tmp && mv -f $@.tmp $@

$(BUILD)/pipeline: $(OBJS)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c $(foreach d,$(DIRS),$(wildcard $(d)/*.h))
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

# The migrations are compiled into the program, so an installed pipeline can `db init` anywhere.
$(BUILD)/migrations.c: $(SQL) sql/privileges.sql scripts/embed-sql.sh
	@mkdir -p $(dir $@)
	@sh scripts/embed-sql.sh sql/privileges.sql $(SQL) > $@.tmp && mv $@.tmp $@

$(BUILD)/migrations.o: $(BUILD)/migrations.c
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS) -lcmocka

$(BUILD)/src/money.o: src/currencies.inc

# The unit test of the currency table compares it with ICU.
ICU_LIBS := $(shell pkg-config --libs icu-uc 2>/dev/null)
$(BUILD)/tests/test_money: LDLIBS += $(ICU_LIBS)

# src/currencies.inc is generated from ICU (with the ISO 4217 corrections in the generator) and committed.
currencies:
	@mkdir -p $(BUILD)/tools
	@$(CC) -std=c11 -Wall -Wextra -Werror -o $(BUILD)/tools/gencurrencies tools/gencurrencies.c $(ICU_LIBS)
	@$(BUILD)/tools/gencurrencies > src/currencies.inc.tmp && mv src/currencies.inc.tmp src/currencies.inc

deps:
	@sh scripts/deps.sh

demo: deps
	$(MAKE) pipeline
	@bash scripts/demo.sh $(if $(V),-v)

unit: $(UNIT_BINS)
	@bash tests/run-unit.sh $(UNIT_BINS)

integration: pipeline
	@bash tests/run-integration.sh

test: deps
	$(MAKE) pipeline
	$(MAKE) unit
	$(MAKE) integration

bench: deps
	@sh scripts/deps.sh bench
	$(MAKE) pipeline
	@bash bench/run.sh

fuzz: deps
	@sh scripts/deps.sh fuzz
	@bash fuzz/run.sh

reliability: deps
	$(MAKE) pipeline
	@bash tests/reliability/run.sh

report-preview: pipeline
	@sh scripts/deps.sh preview
	@bash scripts/report-preview.sh

fixtures-large:
	python3 tools/genworld.py --lines $(or $(N),100000) --out var/large

install: pipeline
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/pipeline/formats \
	    $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/doc/pipeline
	install -m 0755 pipeline $(DESTDIR)$(PREFIX)/bin/pipeline
	install -m 0644 formats/*.layout $(DESTDIR)$(PREFIX)/share/pipeline/formats/
	install -d $(DESTDIR)$(PREFIX)/share/pipeline/formats/schemas
	install -m 0644 formats/schemas/pain.001.001.03.xsd $(DESTDIR)$(PREFIX)/share/pipeline/formats/schemas/
	sed 's#/usr/local/share/pipeline/formats#$(PREFIX)/share/pipeline/formats#' deploy/pipeline.conf.sample > $(DESTDIR)$(PREFIX)/share/doc/pipeline/pipeline.conf.sample
	install -m 0644 docs/pipeline.1 $(DESTDIR)$(PREFIX)/share/man/man1/pipeline.1
	install -d $(DESTDIR)$(PREFIX)/share/pipeline/systemd
	install -m 0755 deploy/pipeline-nightly $(DESTDIR)$(PREFIX)/bin/pipeline-nightly
	sed 's#/usr/local#$(PREFIX)#g' deploy/pipeline-nightly.service > $(DESTDIR)$(PREFIX)/share/pipeline/systemd/pipeline-nightly.service
	install -m 0644 deploy/pipeline-nightly.timer $(DESTDIR)$(PREFIX)/share/pipeline/systemd/pipeline-nightly.timer
	sed 's#/usr/local#$(PREFIX)#g' deploy/crontab > $(DESTDIR)$(PREFIX)/share/pipeline/crontab
	install -m 0644 docs/operations.md docs/configuration.md $(DESTDIR)$(PREFIX)/share/doc/pipeline/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/pipeline $(DESTDIR)$(PREFIX)/bin/pipeline-nightly \
	    $(DESTDIR)$(PREFIX)/share/man/man1/pipeline.1
	rm -rf $(DESTDIR)$(PREFIX)/share/pipeline $(DESTDIR)$(PREFIX)/share/doc/pipeline

clean:
	rm -rf build pipeline
