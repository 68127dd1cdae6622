#!/bin/bash
# fuzz/run.sh [HARNESS...] - builds every fuzz/fuzz_*.c (or those named) with clang's libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer, links it with all of the program's objects
# except main, and runs each for FUZZ_SECONDS (default 30) seconds. Seeds: the files matched by the
# globs on a "SEEDS:" line in the harness's header comment. A crash, leak, timeout or sanitizer
# report fails the run (exit 1) and leaves the reproducer in build/fuzz/<harness>/.
# Adding a harness: write fuzz/fuzz_NAME.c with LLVMFuzzerTestOneInput and a SEEDS: line.
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
CC=${FUZZ_CC:-clang}
B=build/fuzz
PKGS="libpq libssh2 libpcre2-8 xlsxwriter inih libcrypto jansson libxml-2.0"
pkg-config --exists libcurl 2>/dev/null && PKGS="$PKGS libcurl"
VERSION=$(cat VERSION 2>/dev/null || echo 0.0.0)
CFLAGS=(-g -O1 -std=c11 -D_GNU_SOURCE -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
        -Isrc -Iengine -Iformats -Istages -Ireports -Icommands "-I$B" "-DPIPELINE_VERSION=\"$VERSION\"" $(pkg-config --cflags $PKGS 2>/dev/null))
LIBS="$(pkg-config --libs $PKGS 2>/dev/null) -lcsv -lm"
command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (apt-get install clang)" >&2; exit 1; }
mkdir -p "$B/obj"

# The program's objects, instrumented for coverage (rebuilt when the source is newer).
sh scripts/embed-sql.sh sql/privileges.sql $(ls sql/[0-9]*.sql | sort) > "$B/migrations.c"
objs=()
for src in src/*.c engine/*.c formats/*.c stages/*.c reports/*.c commands/*.c "$B/migrations.c"; do
	[ -f "$src" ] || continue
	[ "$src" = commands/main.c ] && continue
	obj=$B/obj/$(echo "$src" | tr '/' '_').o
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find src engine formats stages reports commands -name '*.h' -newer "$obj" 2>/dev/null | head -1)" ]; then
		$CC "${CFLAGS[@]}" -fsanitize=fuzzer-no-link -c -o "$obj" "$src" || { echo "fuzz: cannot compile $src" >&2; exit 1; }
	fi
	objs+=("$obj")
done

harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(fuzz/fuzz_*.c)
failed=0
for h in "${harnesses[@]}"; do
	name=$(basename "$h" .c)
	dir=$B/$name
	mkdir -p "$dir/corpus" "$dir/seeds"
	$CC "${CFLAGS[@]}" -fsanitize=fuzzer -o "$dir/$name" "$h" "${objs[@]}" $LIBS || { echo "fuzz: cannot build $h" >&2; failed=1; continue; }
	seeds=$(sed -n 's/^.*SEEDS: *//p' "$h" | head -1)
	for g in $seeds; do
		for f in $g; do [ -f "$f" ] && cp "$f" "$dir/seeds/$(echo "$f" | tr '/' '_')"; done
	done
	echo "fuzz: $name for ${FUZZ_SECONDS}s ($(ls "$dir/seeds" | wc -l) seeds)"
	if (cd "$dir" && ASAN_OPTIONS=detect_leaks=1 FUZZ_FORMATS_DIR="$OLDPWD/formats" "./$name" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
		-rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 corpus seeds \
		>"$name.log" 2>&1); then
		echo "ok    $name: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/$name.log" | grep -o '[0-9]*$') runs, no crash, leak or hang"
	else
		echo "FAIL  $name: see $dir/$name.log and the crash-* / leak-* / timeout-* file there"
		grep -E "ERROR|SUMMARY|runtime error" "$dir/$name.log" | head -5 | sed 's/^/      /'
		failed=1
	fi
done
[ $failed -eq 0 ]
