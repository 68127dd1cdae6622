#!/bin/bash
# 05_layout.sh - the rooms of the code keep their direction (issue 13): commands/ uses stages/,
# which use reports/, which use engine/ and formats/, which use src/; never the reverse, and
# engine/ and formats/ do not use each other. No two source files depend on each other (a.c
# includes b.h while b.c includes a.h). Every source file opens with its purpose comment
# ("/*\n * NAME - what it is for").
source "$(dirname "$0")/../lib.sh"
T_NAME=layout
cd "$REPO" || exit 1

rank() {
	case $1 in
	src) echo 0 ;; engine | formats) echo 1 ;; reports) echo 2 ;; stages) echo 3 ;; commands) echo 4 ;;
	*) echo -1 ;;
	esac
}
DIRS="src engine formats reports stages commands"
where() { for d in $DIRS; do [ -f "$d/$1" ] && { echo "$d"; return; }; done; }

checked=0
for d in $DIRS; do
	for f in "$d"/*.c "$d"/*.h; do
		[ -f "$f" ] || continue
		checked=$((checked + 1))
		base=$(basename "$f")
		head -2 "$f" | tr '\n' ' ' | grep -q "^/\* *\* ${base%.*}\.[ch] - " ||
			t_fail "$f does not open with its purpose comment (/* ... * $base - ...)"
		for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
			hd=$(where "$h")
			[ -n "$hd" ] || continue          # generated (build/) or a system header
			[ "$hd" = "$d" ] && continue
			if [ "$(rank "$hd")" -ge "$(rank "$d")" ]; then
				t_fail "$f includes $hd/$h: $d/ may use only the rooms below it (src < engine, formats < reports < stages < commands)"
			fi
			# a.c -> b.h and b.c -> a.h (only within a room; across rooms the rank forbids it)
		done
	done
done
for d in $DIRS; do
	for f in "$d"/*.c; do
		[ -f "$f" ] || continue
		a=$(basename "$f" .c)
		for h in $(sed -n 's/^#include "\([^"]*\)\.h".*/\1/p' "$f"); do
			[ "$h" = "$a" ] && continue
			other=$(where "$h.h")
			[ -n "$other" ] && [ -f "$other/$h.c" ] || continue
			# does $other/$h.c include our a.h (the one in our room, not a namesake elsewhere)?
			[ "$(where "$a.h")" = "$d" ] || continue
			if grep -q "^#include \"$a.h\"" "$other/$h.c"; then
				t_fail "$f and $other/$h.c include each other's headers"
			fi
		done
	done
done
[ "$checked" -gt 50 ] || t_fail "only $checked source files found: the rooms moved?"
t_done
