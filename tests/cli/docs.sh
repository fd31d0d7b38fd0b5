#!/bin/sh
# The man page agrees with the program: groff finds nothing to warn about;
# every command `lmscope --help` lists has a section (.SS NAME) in
# man/lmscope.1 whose options (the .TP items) are exactly the options
# `lmscope NAME --help` prints, and every entry of the command's option
# tables in the source (arrays NAME_options, NAME_*_options; see
# src/front/opts.h) is among them: --help cannot leave out an option the
# command parses; the explorer's options (`lmscope MODEL --help`, the
# "explorer options:" of `lmscope --help` and explorer_options) are the
# items of THE EXPLORER; the global ones (lmscope_options) are under
# OPTIONS; every file name the explorer writes (lmscope-*-%d.*) is in FILES;
# the exit statuses of src/front/front.h and the keys of the explorer's key
# tables (src/tui/) all appear; --version works.
LMSCOPE=${LMSCOPE:-./lmscope}
MAN=man/lmscope.1
# the English texts (translations would hide the section headings)
export LC_ALL=C
unset LANGUAGE
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

command -v groff > /dev/null || { echo "docs.sh: groff is missing (make deps)"; exit 1; }
groff -man -ww -z "$MAN" > "$tmp/groff" 2>&1
[ -s "$tmp/groff" ] && { fail "groff warnings:"; cat "$tmp/groff"; }

# Options in help text: -x or --long-name after a space, a bracket or a bar.
opts() {
	grep -oE '(^|[][ (|,])--?[a-zA-Z][a-zA-Z0-9-]*' | sed 's/^[][ (|,]*//' |
		grep -vxE -- '--help|-h' | sort -u
}
# The options of the .TP items of a man section: .SS NAME, or .SH NAME up to
# its first .SS when the second argument is "sh".
man_opts() {
	awk -v name="$1" -v kind="$2" '
		/^\.S[HS] / {
			h = $0; sub(/^\.S[HS] +/, "", h); gsub(/"/, "", h)
			if (kind == "sh") in_s = ($1 == ".SH" && h == name)
			else in_s = ($1 == ".SS" && h == name)
			next
		}
		in_s && /^\.TP/ { item = 1; next }
		in_s && item { print; item = 0 }
	' "$MAN" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/^\.[A-Z]* //' | opts
}
# The options of the tables named NAME_options or NAME_*_options in src/:
# each entry's long name ("--name") and short letter ("-c").
table_opts() {
	t=$(printf '%s' "$1" | tr ' -' '__')
	for f in $(grep -rlE "struct front_opt ${t}(_[a-z_]+)?_options\[\] = \{" src); do
		awk -v t="$t" '
			$0 ~ "struct front_opt " t "(_[a-z_]+)?_options\\[\\] = \\{" { in_t = 1; next }
			in_t && /^[[:space:]]*FRONT_END/ { in_t = 0 }
			in_t && /^[[:space:]]*FRONT_[A-Z0-9]+\(/ {
				line = $0; sub(/^[^(]*\(/, "", line)
				if (match(line, /^"[a-z0-9-]+"/)) print "--" substr(line, 2, RLENGTH - 2)
				if (match(line, /, '"'"'[a-zA-Z0-9]'"'"'/)) print "-" substr(line, RSTART + 3, 1)
			}' "$f"
	done | sort -u
}
# Every option of the command's tables is in the help (what, table, help).
in_help() {
	[ -s "$2" ] || { fail "$1: no option table found in src/"; return; }
	missing=$(comm -23 "$2" "$3" | tr '\n' ' ')
	[ -n "$missing" ] && fail "$1: parsed (option table), not in --help: $missing"
}
compare() { # what, program's list, man's list
	missing=$(comm -23 "$2" "$3" | tr '\n' ' ')
	extra=$(comm -13 "$2" "$3" | tr '\n' ' ')
	[ -n "$missing" ] && fail "$1: in --help, not in the man page: $missing"
	[ -n "$extra" ] && fail "$1: in the man page, not in --help: $extra"
}

v=$("$LMSCOPE" --version) || fail "--version exits with $?"
echo "$v" | grep -qE '^lmscope [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version prints '$v'"
grep -q "^\.TH LMSCOPE 1 .*\"lmscope ${v#lmscope }\"" "$MAN" || fail "the man page is not of version ${v#lmscope }"

"$LMSCOPE" --help > "$tmp/help" || fail "--help exits with $?"
cmds=$(sed -n '/^commands:/,/^$/p' "$tmp/help" | sed -n 's/^  \([a-z][a-z0-9-]*\) .*/\1/p')
[ -n "$cmds" ] || fail "no commands in lmscope --help"
n=0
for c in $cmds; do
	n=$((n + 1))
	grep -q "^\.SS $c\$" "$MAN" || { fail "$c: no .SS $c section"; continue; }
	"$LMSCOPE" "$c" --help > "$tmp/h.$c" 2>&1 || fail "$c --help exits with $?"
	opts < "$tmp/h.$c" > "$tmp/prog"
	man_opts "$c" ss > "$tmp/man"
	compare "$c" "$tmp/prog" "$tmp/man"
	case $c in
	tokenizer) table_opts "tokenizer train" ;;
	*) table_opts "$c" ;;
	esac > "$tmp/table"
	in_help "$c" "$tmp/table" "$tmp/prog"
done

# The explorer: lmscope MODEL --help (any MODEL: --help is read first).
"$LMSCOPE" no-such-model --help > "$tmp/h.explorer" 2>&1 || fail "MODEL --help exits with $?"
opts < "$tmp/h.explorer" | grep -vx -- '--threads' > "$tmp/prog"
man_opts "THE EXPLORER" sh > "$tmp/man"
compare explorer "$tmp/prog" "$tmp/man"
table_opts explorer > "$tmp/table"
in_help explorer "$tmp/table" "$tmp/prog"
# lmscope --help lists the explorer's options too (its "explorer options:").
sed -n '/^explorer options:/,/^$/p' "$tmp/help" | opts > "$tmp/prog"
compare "lmscope --help, explorer options" "$tmp/prog" "$tmp/man"
# Global options: those of "options:" in lmscope --help, and of its table.
sed -n '/^options:/,/^$/p' "$tmp/help" | opts > "$tmp/prog"
table_opts lmscope > "$tmp/table"
in_help lmscope "$tmp/table" "$tmp/prog"
man_opts OPTIONS sh > "$tmp/man"
for o in $(cat "$tmp/prog") --version; do
	grep -qx -- "$o" "$tmp/man" || fail "global option $o is not under OPTIONS"
done
# The files the explorer writes (lmscope-export-%d.svg, ...) are in FILES.
sed -n '/^\.SH FILES/,/^\.SH /p' "$MAN" | sed 's/\\-/-/g' > "$tmp/files"
for f in $(grep -rhoE '"lmscope-[a-z]+-%d\.[a-z]+"' src | tr -d '"' | sed 's/%d/N/' | sort -u); do
	grep -qF -- "$f" "$tmp/files" || fail "the explorer writes $f; FILES does not list it"
done

# Every exit status of cli.h is an item of EXIT STATUS.
awk '/^\.SH EXIT STATUS/ { s = 1; next } /^\.SH/ { s = 0 } s && prev ~ /^\.TP/ { print } { prev = $0 }' \
	"$MAN" > "$tmp/codes"
for code in $(sed -n 's/^[[:space:]]*LMS_EXIT_[A-Z]* = \([0-9]*\),.*/\1/p' src/front/front.h); do
	grep -qx "\.B $code" "$tmp/codes" || fail "exit status $code is not documented"
done
# Every key label of the explorer's key tables appears in the man page.
grep -h ', [a-z_]*k_[a-z_]*},' src/tui/*.c | sed -n 's/^[^"]*"\([^"]*\)", \(N_(\)\{0,1\}".*/\1/p' |
	tr ' /' '\n\n' | grep -v '^$' | sort -u > "$tmp/keys"
while IFS= read -r k; do
	kk=$(printf '%s' "$k" | sed 's/-/\\-/g')
	grep -qF -e "$kk" -e "$k" "$MAN" || fail "explorer key $k is not in the man page"
done < "$tmp/keys"

echo "docs.sh: $n commands, $(wc -l < "$tmp/keys") key labels checked; $failed problems"
[ $failed -eq 0 ]
