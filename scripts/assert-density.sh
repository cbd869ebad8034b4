#!/usr/bin/env bash
# Assertion density of crates: for each crate directory, the assert-family macros
# (assert!, assert_eq!, assert_ne! and their debug_ forms) in the non-test lines of
# src/**/*.rs, and those lines, printed as "crate asserts lines per100".
#   scripts/assert-density.sh [--spans] [CRATE_DIR...]     (default: every crates/*/)
# Non-test lines are every line (blank and comment lines too: the strict denominator)
# outside items marked #[cfg(test)]. Such an item ends at the brace matching its first
# `{`, or at a `;` before any brace; braces, semicolons and macro names inside strings,
# raw strings, char literals and comments do not count. --spans also prints each test
# span as "file first-last" (to check the brace matching by eye).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
spans=0
if [ "${1:-}" = "--spans" ]; then
    spans=1
    shift
fi
if [ $# -eq 0 ]; then
    set -- "$here"/crates/*/
fi

# One line per file: "asserts lines" (and, with -v spans=1, the test spans first).
measure() {
    LC_ALL=C awk -v spans="$spans" '
    function ident(c) { return c ~ /[A-Za-z0-9_]/ }
    function finish_file() {
        if (FNR_prev == 0) return
        if (mode != "code" || depth != 0 || skipping)
            printf "assert-density: %s: unbalanced at end (mode %s, depth %d)\n", \
                file, mode, depth > "/dev/stderr"
        printf "%d %d\n", asserts, lines
    }
    FNR == 1 {
        finish_file()
        file = FILENAME; mode = "code"; depth = 0; nest = 0; skipping = 0
        asserts = 0; lines = 0
    }
    {
        FNR_prev = FNR
        test_line = skipping
        line = $0; n = length(line); i = 1
        while (i <= n) {
            c = substr(line, i, 1)
            if (mode == "block") {
                two = substr(line, i, 2)
                if (two == "/*") { nest++; i += 2 }
                else if (two == "*/") { nest--; i += 2; if (nest == 0) mode = "code" }
                else i++
                continue
            }
            if (mode == "str") {
                if (c == "\\") i += 2
                else { if (c == "\"") mode = "code"; i++ }
                continue
            }
            if (mode == "raw") {
                if (c == "\"" && substr(line, i + 1, hashes) == closing) {
                    mode = "code"; i += 1 + hashes
                } else i++
                continue
            }
            # code
            two = substr(line, i, 2)
            if (two == "//") break
            if (two == "/*") { mode = "block"; nest = 1; i += 2; continue }
            prev = i > 1 ? substr(line, i - 1, 1) : ""
            if (c == "\"") { mode = "str"; i++; continue }
            if (c == "r" && (!ident(prev) || (prev == "b" && (i < 3 || !ident(substr(line, i - 2, 1))))) \
                && match(substr(line, i), /^r#*"/)) {
                hashes = RLENGTH - 2; closing = substr("################", 1, hashes)
                mode = "raw"; i += RLENGTH; continue
            }
            if (c == "'\''") {
                if (substr(line, i + 1, 1) == "\\") {
                    j = index(substr(line, i + 3), "'\''")
                    i = j ? i + 3 + j : n + 1
                } else if (substr(line, i + 2, 1) == "'\''") i += 3
                else if (substr(line, i + 1, 1) > "~" && (j = index(substr(line, i + 1, 5), "'\''"))) i += 1 + j
                else i++
                continue
            }
            if (c == "#" && match(substr(line, i), /^#[ \t]*\[[ \t]*cfg[ \t]*\([ \t]*test[ \t]*\)[ \t]*\]/)) {
                if (!skipping) {
                    skipping = 1; skip_depth = depth; opened = 0; test_line = 1; first = FNR
                }
                i += RLENGTH; continue
            }
            if (c == "{") {
                depth++
                if (skipping && !opened && depth == skip_depth + 1) opened = 1
            } else if (c == "}") {
                depth--
                if (skipping && opened && depth == skip_depth) end_skip = 1
            } else if (c == ";" && skipping && !opened && depth == skip_depth) end_skip = 1
            else if (ident(c) && !ident(prev) && match(substr(line, i), /^(debug_)?assert(_eq|_ne)?!/)) {
                if (!test_line) asserts++
                i += RLENGTH; continue
            }
            i++
        }
        if (end_skip) {
            if (spans) printf "span %s %d-%d\n", file, first, FNR
            skipping = 0; end_skip = 0
        }
        if (!test_line) lines++
    }
    END { finish_file() }
    ' "$@"
}

for dir in "$@"; do
    dir=${dir%/}
    files=$(find "$dir/src" -name '*.rs' | sort)
    [ -n "$files" ] || continue
    # shellcheck disable=SC2086
    measure $files | awk -v crate="$(basename "$dir")" '
        /^span / { print "  " $2 " " $3; next }
        { a += $1; l += $2 }
        END { printf "%s %d %d %.2f\n", crate, a, l, l ? 100 * a / l : 0 }'
done
