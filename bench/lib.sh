# shellcheck shell=bash
# Shared by the benchmark scripts of bench/ (sourced, not run): errors, usage from the script's
# leading comment, option parsing, checks for the binary and tools, a scratch folder, the median
# of timings and figures from a --stats-json file. Sets `bench_name` (the script's file name, for
# messages) and `root` (the repository).

bench_name="$(basename "$0")"
# shellcheck disable=SC2034  # used by the scripts
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# die MESSAGE [STATUS]: print "<script>: MESSAGE" on stderr and exit with STATUS (default 1).
die() {
  echo "$bench_name: $1" >&2
  exit "${2:-1}"
}

# usage: print the script's leading comment block (from its second line to the first line that
# is not a comment).
usage() {
  awk 'NR == 1 { next } /^#/ { print; next } { exit }' "$0"
}

# parse_options "VALUE_OPTIONS" "SWITCHES" ARGS...: set one variable per option in ARGS.
# VALUE_OPTIONS are words OPTION[:VARIABLE]: `--OPTION X` sets VARIABLE (by default OPTION with
# '-' as '_') to X. SWITCHES are words OPTION[:VARIABLE=VALUE]: `--OPTION` sets VARIABLE to
# VALUE (by default OPTION=1). -h/--help prints the usage and exits 0; anything else is a usage
# error (exit 2).
parse_options() {
  local values="$1" switches="$2" option spec assignment found
  shift 2
  while (($# > 0)); do
    option="$1"
    shift
    [[ "$option" == -h || "$option" == --help ]] && { usage; exit 0; }
    found=0
    for spec in $values; do
      [[ "--${spec%%:*}" == "$option" ]] || continue
      (($# > 0)) || die "$option needs a value" 2
      assignment="${spec#*:}"
      printf -v "${assignment//-/_}" '%s' "$1"
      shift
      found=1
      break
    done
    ((found)) && continue
    for spec in $switches; do
      [[ "--${spec%%:*}" == "$option" ]] || continue
      if [[ "$spec" == *:* ]]; then assignment="${spec#*:}"; else assignment="${spec//-/_}=1"; fi
      printf -v "${assignment%%=*}" '%s' "${assignment#*=}"
      found=1
      break
    done
    ((found)) || die "unknown argument $option" 2
  done
}

# require_corpusflow [HINT]: exit unless $corpusflow is an executable; HINT says how to name
# another one (default "--corpusflow PATH").
# shellcheck disable=SC2154  # corpusflow is the script's
require_corpusflow() {
  [[ -x "$corpusflow" ]] || die "no corpusflow binary at $corpusflow (${1:---corpusflow PATH})"
}

# require_tool TOOL [HINT]: exit unless TOOL (a command or a path) can be run; HINT says how to
# install it.
require_tool() {
  command -v "$1" >/dev/null || die "$1 not found${2:+ ($2)}"
}

# make_workdir PARENT [KEEP]: create a fresh scratch folder under PARENT and set `work` to it. It
# is removed when the script exits, unless KEEP is 1: then its path is printed instead.
make_workdir() {
  work="$(mktemp -d "$1/corpusflow-bench-${bench_name%.sh}.XXXXXX")"
  if [[ "${2:-0}" == 1 ]]; then
    trap 'echo "kept $work"' EXIT
  else
    trap 'rm -rf "$work"' EXIT
  fi
}

# median [NUMBER...]: the median of the numbers given, or of the first field of each line of
# stdin when none are (of an even count, the lower of the two middle ones).
median() {
  if (($# > 0)); then printf '%s\n' "$@"; else cat; fi |
    sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# op_stat STATS_JSON OPERATOR FIELD...: print, separated by spaces, each FIELD of the first
# operator named OPERATOR in a --stats-json file: one of its figures (bytes_in, cpu_seconds,
# wall_seconds, ...), else one of its counters, else a figure of the whole run (elapsed_seconds).
op_stat() {
  /usr/bin/python3 - "$@" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
op = next(o for o in doc["operators"] if o["name"] == sys.argv[2])
def field(name):
    for source in (op, op["counters"], doc):
        if name in source:
            return source[name]
    sys.exit(f"op_stat: {sys.argv[2]} has no field {name} in {sys.argv[1]}")
print(*(field(name) for name in sys.argv[3:]))
EOF
}
