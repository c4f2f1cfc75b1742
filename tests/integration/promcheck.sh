#!/bin/sh
# promcheck.sh [FILE] — a small checker of the Prometheus text exposition format 0.0.4, for the
# tests (no promtool on a plain Debian). Reads FILE or stdin; prints one line per problem
# ("promcheck: line N: …") and exits 1 when there is any, else prints "promcheck: OK: F
# families, S samples" and exits 0.
#
# Checked: metric and label names; label values quoted with only \\ \" \n escapes; values are
# floats (or NaN, +Inf, -Inf) with an optional integer timestamp; HELP and TYPE at most once per
# family and before its samples; TYPE is a known type; the samples of a family are contiguous;
# no series (name + label set) appears twice; no label name twice in one series.
# POSIX awk only (Debian's mawk runs it).
exec awk '
function bad(msg) { printf "promcheck: line %d: %s\n", NR, msg; errors++ }
function family_of(name,   base) {
    # _total/_count/_sum/_bucket samples belong to the family declared without the suffix
    base = name
    if (!(base in typed)) {
        if (sub(/_bucket$/, "", base) || sub(/_count$/, "", base) || sub(/_sum$/, "", base) ||
            sub(/_total$/, "", base)) {
            if (base in typed) return base
        }
        return name
    }
    return base
}
function enter_family(f) {
    if (f == current) return
    if (f in closed) bad("samples of " f " are not contiguous")
    if (current != "") closed[current] = 1
    current = f
}
# Parse the label set starting at s (just after "{"); sets LBL (canonical "k=v,..." sorted by
# insertion, good enough: duplicates are checked on the literal order the exporter uses) and
# returns the rest of the line after "}", or the string "\001" on error.
function parse_labels(s,   out, name, val, c, seen, n) {
    out = ""; n = 0
    split("", seen)
    while (1) {
        if (substr(s, 1, 1) == "}") { LBL = out; return substr(s, 2) }
        if (!match(s, /^[a-zA-Z_][a-zA-Z0-9_]*/)) { bad("bad label name near: " substr(s, 1, 20)); return "\001" }
        name = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
        if (name in seen) bad("label " name " given twice")
        seen[name] = 1
        if (substr(s, 1, 2) != "=\"") { bad("label " name ": expected =\""); return "\001" }
        s = substr(s, 3); val = ""
        while (1) {
            if (s == "") { bad("label " name ": unterminated value"); return "\001" }
            c = substr(s, 1, 1)
            if (c == "\\") {
                c = substr(s, 2, 1)
                if (c != "\\" && c != "\"" && c != "n") { bad("label " name ": bad escape \\" c); return "\001" }
                val = val "\\" c; s = substr(s, 3); continue
            }
            if (c == "\"") { s = substr(s, 2); break }
            val = val c; s = substr(s, 2)
        }
        out = out (n++ ? "," : "") name "=\"" val "\""
        c = substr(s, 1, 1)
        if (c == ",") { s = substr(s, 2); continue }
        if (c != "}") { bad("label " name ": expected , or }"); return "\001" }
    }
}
function is_value(v) {
    return v ~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ || v == "NaN" || v == "+Inf" || v == "-Inf" || v == "Inf"
}
/^[ \t]*$/ { next }
/^#/ {
    if ($2 == "HELP" || $2 == "TYPE") {
        if ($3 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/) { bad("bad metric name in " $2 ": " $3); next }
        if ($2 == "TYPE") {
            if (NF != 4 || $4 !~ /^(counter|gauge|histogram|summary|untyped)$/) bad("bad TYPE line")
            if ($3 in typed) bad("second TYPE for " $3)
            if ($3 in sampled) bad("TYPE for " $3 " after its samples")
            typed[$3] = $4
        } else {
            if ($3 in helped) bad("second HELP for " $3)
            helped[$3] = 1
        }
        enter_family($3)
        families[$3] = 1
    }
    next
}
{
    line = $0
    if (!match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*/)) { bad("bad sample line: " substr(line, 1, 40)); next }
    name = substr(line, 1, RLENGTH); rest = substr(line, RLENGTH + 1)
    LBL = ""
    if (substr(rest, 1, 1) == "{") {
        rest = parse_labels(substr(rest, 2))
        if (rest == "\001") next
    }
    if (substr(rest, 1, 1) != " ") { bad("expected a space before the value of " name); next }
    n = split(substr(rest, 2), f, " ")
    if (n < 1 || n > 2 || !is_value(f[1])) { bad("bad value for " name ": " substr(rest, 2)); next }
    if (n == 2 && f[2] !~ /^-?[0-9]+$/) bad("bad timestamp for " name)
    fam = family_of(name)
    enter_family(fam)
    families[fam] = 1
    sampled[fam] = 1
    key = name "{" LBL "}"
    if (key in series) bad("duplicate series " key)
    series[key] = 1
    samples++
}
END {
    nf = 0
    for (k in families) nf++
    if (errors) exit 1
    printf "promcheck: OK: %d families, %d samples\n", nf, samples
}
' "${1:--}"
