#!/bin/sh
# The layering HACKING.md states, on the sources' #include lines:
# dependencies point down only. The engine (src/engine) includes nothing of
# the front ends (src/front, src/cli, src/tui); a front end includes the
# engine's public API (include/lmscope/), src/front and its own folder's
# headers, never an engine-internal header (base/utf8.h, nn/ops.h, ...)
# nor the other front end's; src/main.c, above both, includes theirs.
# Quoted includes are read as the compiler would find them: a bare name in
# the including file's folder, a path under include/ or src/.
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
[ -d src/engine ] && [ -d include/lmscope ] || { echo "layers.sh: run from the project's top directory"; exit 1; }

# includes FILE: the quoted #include names of FILE, one a line.
includes() { sed -n 's/^[ \t]*#[ \t]*include[ \t]*"\([^"]*\)".*/\1/p' "$1"; }

# front end DIR: each quoted include of DIR's files is public, src/front's or
# DIR's own.
for dir in src/front src/cli src/tui; do
	for f in "$dir"/*.[ch]; do
		for h in $(includes "$f"); do
			case $h in
			lmscope/*) [ -f "include/$h" ] ;;
			front/*) [ -f "src/$h" ] ;;
			*/*) false ;;
			*) [ -f "$dir/$h" ] ;;
			esac || fail "$f includes \"$h\": a front end includes lmscope/, front/ or its own headers"
		done
	done
done
for h in $(includes src/main.c); do
	case $h in
	lmscope/* | front/* | cli/cli.h | tui/tui.h) ;;
	*) fail "src/main.c includes \"$h\"" ;;
	esac
done
# the engine: its own folders and the public API, nothing of a front end
for f in $(find src/engine -name '*.[ch]'); do
	for h in $(includes "$f"); do
		case $h in
		front/* | cli/* | tui/* | cli.h | tui.h | ui.h) fail "$f includes the front end's \"$h\"" ;;
		esac
	done
done

[ $failed -eq 0 ] || { echo "$failed failures"; exit 1; }
echo "layers.sh: ok"
