#!/bin/sh
# The shipped hooks (hooks/) are POSIX sh, clean under shellcheck,
# executable, and their header says what they do, how to call them and how
# to use them in lifeboat.conf; each is documented in docs/HOOKS.md.
. "$(dirname "$0")/../lib.sh"

H=$TESTS_DIR/../hooks
DOC=$TESTS_DIR/../docs/HOOKS.md
n=0
for f in "$H"/*; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	name=${f##*/}
	if command -v shellcheck >/dev/null 2>&1; then
		ok "$name: clean under shellcheck (POSIX sh)" shellcheck -s sh -S style "$f"
	else
		skip "$name: shellcheck is not installed (make deps)"
	fi
	ok "$name: executable" test -x "$f"
	is "$(head -n 1 "$f")" "#!/bin/sh" "$name: a POSIX sh script"
	header=$(sed -n '2,/^[^#]/p' "$f")
	like "$header" "^# $name: " "$name: its header says what it does"
	like "$header" "^# Usage:" "$name: and how to call it"
	like "$header" "^# Exit status:" "$name: and its exit status"
	like "$header" "lifeboat.conf" "$name: and how to use it in lifeboat.conf"
	"$f" --help >/dev/null 2>"$TMP/err"
	rc=$?
	is "$rc" 2 "$name --help: exit 2"
	like "$(cat "$TMP/err")" "^usage: $name " "$name --help: prints the usage"
	like "$(cat "$DOC" 2>/dev/null)" "^## $name" "$name: documented in docs/HOOKS.md"
done
ok "hooks/ has the five shipped hooks" test "$n" -ge 5
done_testing
