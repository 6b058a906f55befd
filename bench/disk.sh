#!/usr/bin/env bash
# Compare `corpusflow bench disk` with fio on the same directory, sizes and block sizes, in one
# invocation, and print both side by side (median of --repeat runs, the two tools alternating so
# that both see the same background load). Goal: sequential read and write within 10% of fio.
#
# usage: bench/disk.sh [--dir DIR] [--size 2G] [--block 1M] [--buckets 64] [--chunk 256K]
#                      [--sweep 4K,64K,1M,4M|none] [--sweep-size 256M] [--repeat 3]
#                      [--buffered] [--corpusflow PATH]
#
# fio runs every test with the pattern corpusflow uses: one thread, psync (pread/pwrite, queue
# depth 1), O_DIRECT (unless --buffered: page cache dropped with posix_fadvise(DONTNEED), which
# is fio's invalidate=1), writes into fresh files without preallocation (fallocate=none) and a
# final fsync counted in the time (end_fsync=1). The spill test's file holds rounds of K bucket
# chunks; fio writes it sequentially in chunks and reads it back bucket by bucket by replaying an
# I/O log (read_iolog) with exactly the offsets corpusflow reads.
# Needs: fio (Debian package), /usr/bin/python3.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir="${TMPDIR:-/tmp}"
size=2G
block=1M
buckets=64
chunk=256K
sweep=4K,64K,1M,4M
sweep_size=256M
repeat=3
buffered=0
corpusflow="$root/build/cli/corpusflow"

parse_options "dir size block buckets files:buckets chunk sweep sweep-size repeat corpusflow" \
  "buffered" "$@"
require_tool fio "apt-get install fio"
require_corpusflow
[[ -d "$dir" ]] || die "$dir is not a directory"

# Sizes in bytes, with the same suffixes as corpusflow (K, M, G, T = powers of 1024).
bytes() {
  /usr/bin/python3 - "$1" <<'EOF'
import re, sys
m = re.fullmatch(r"([0-9.]+)\s*([KMGT]?)(I?B)?", sys.argv[1].upper())
if not m:
    sys.exit(f"disk.sh: bad size {sys.argv[1]}")
print(round(float(m.group(1)) * 1024 ** " KMGT".index(m.group(2) or " ")))
EOF
}
size_b=$(bytes "$size")
block_b=$(bytes "$block")
chunk_b=$(bytes "$chunk")
sweep_size_b=$(bytes "$sweep_size")
seq_b=$(( size_b / block_b * block_b ))
rounds=$(( size_b / buckets / chunk_b ))
spill_b=$(( rounds * buckets * chunk_b ))
sweep_list=()
if [[ "$sweep" != none ]]; then IFS=, read -r -a sweep_list <<< "$sweep"; fi
# Bytes of one sweep test at block size $1, as corpusflow computes them.
sweep_bytes() {
  local b=$1 volume=$(( sweep_size_b < size_b ? sweep_size_b : size_b ))
  local n=$(( volume / b * b ))
  echo $(( n > b ? n : b ))
}

make_workdir "$dir"
trap 'exit 130' INT TERM
results="$work/results"
mkdir -p "$results" "$work/fio"

# The spill test's reads: bucket by bucket, each bucket's chunk of every round.
spill_log="$work/spill.iolog"
/usr/bin/python3 - "$work/fio/spill" "$buckets" "$rounds" "$chunk_b" > "$spill_log" <<'EOF'
import sys
path, k, rounds, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
out = [f"fio version 2 iolog\n{path} add\n{path} open\n"]
for b in range(k):
    out.extend(f"{path} read {(r * k + b) * chunk} {chunk}\n" for r in range(rounds))
out.append(f"{path} close\n")
sys.stdout.write("".join(out))
EOF

direct=1
cf_mode=()
if [[ $buffered == 1 ]]; then direct=0; cf_mode=(--buffered); fi
fio_common=(--ioengine=psync --iodepth=1 --numjobs=1 --direct=$direct --invalidate=1
            --output-format=json)
fio_write=(--fallocate=none --end_fsync=1)

# fio TEST [fio options...]: one fio job, its JSON saved under the test's name.
run_fio() {
  local test=$1; shift
  fio --name="$test" "${fio_common[@]}" "$@" > "$results/fio-$run-$test.json"
}

# corpusflow's tests of one group (seq, spill or sweep).
run_corpusflow() {
  local group=$1
  # cf_mode may be empty; "${arr[@]+...}" keeps `set -u` quiet on old bash.
  "$corpusflow" bench disk --dir "$work" --tests "$group" --size "$size" --block "$block" \
    --buckets "$buckets" --chunk "$chunk" --sweep "$sweep" --sweep-size "$sweep_size" \
    --time-limit 600 --json --no-cache --progress never ${cf_mode[@]+"${cf_mode[@]}"} \
    > "$results/cf-$run-$group.json"
}

# fio's runs of the same group, with the same files, sizes and offsets.
run_fio_group() {
  case "$1" in
    seq)
      local seq_file="$work/fio/seq"
      rm -f "$seq_file"
      run_fio seq_write --filename="$seq_file" --rw=write --bs="$block_b" --size="$seq_b" \
        "${fio_write[@]}"
      run_fio seq_read --filename="$seq_file" --rw=read --bs="$block_b" --size="$seq_b"
      rm -f "$seq_file"
      ;;
    spill)
      local spill_file="$work/fio/spill"
      rm -f "$spill_file"
      run_fio spill_write --filename="$spill_file" --rw=write --bs="$chunk_b" --size="$spill_b" \
        "${fio_write[@]}"
      run_fio spill_read --read_iolog="$spill_log" --replay_no_stall=1
      rm -f "$spill_file"
      ;;
    sweep)
      local b bb n sweep_file="$work/fio/sweep"
      for b in "${sweep_list[@]}"; do
        bb=$(bytes "$b")
        n=$(sweep_bytes "$bb")
        rm -f "$sweep_file"
        run_fio "write_$b" --filename="$sweep_file" --rw=write --bs="$bb" --size="$n" \
          "${fio_write[@]}"
        run_fio "read_$b" --filename="$sweep_file" --rw=read --bs="$bb" --size="$n"
        rm -f "$sweep_file"
      done
      ;;
  esac
}

groups=(seq spill)
if [[ ${#sweep_list[@]} -gt 0 ]]; then groups+=(sweep); fi
echo "bench/disk.sh: $repeat runs of corpusflow and fio in $dir ($size, block $block," \
     "spill of $buckets buckets x $chunk chunks, sweep $sweep of $sweep_size)" >&2
# The tools alternate group by group, and which one goes first alternates from run to run, so
# both see the same background load.
for run in $(seq 1 "$repeat"); do
  for group in "${groups[@]}"; do
    echo "run $run/$repeat: $group" >&2
    if (( run % 2 == 1 )); then
      run_corpusflow "$group"
      run_fio_group "$group"
    else
      run_fio_group "$group"
      run_corpusflow "$group"
    fi
  done
done

/usr/bin/python3 - "$results" "$repeat" "$(fio --version)" <<'EOF'
import json, os, statistics, sys

results, repeat, fio_version = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def load(path):
    with open(path) as f:
        return json.load(f)

def merged_run(r):
    """The tests of run r from its per-group documents, in group order."""
    docs = [load(os.path.join(results, f"cf-{r}-{g}.json"))
            for g in ("seq", "spill", "sweep")
            if os.path.exists(os.path.join(results, f"cf-{r}-{g}.json"))]
    doc = dict(docs[0])
    doc["tests"] = [t for d in docs for t in d["tests"]]
    return doc

cf_runs = [merged_run(r) for r in range(1, repeat + 1)]
first = cf_runs[0]

def fio_figures(run, test):
    doc = load(os.path.join(results, f"fio-{run}-{test}.json"))
    job = doc["jobs"][0]
    side = job["write"] if job["write"]["io_bytes"] > 0 else job["read"]
    pct = side["clat_ns"].get("percentile", {})
    return {
        "mbps": side["bw_bytes"] / 1e6,
        "iops": side["iops"],
        "p50": pct.get("50.000000", 0) / 1e3,
        "p99": pct.get("99.000000", 0) / 1e3,
        "bytes": side["io_bytes"],
    }

def median(values):
    return statistics.median(values) if values else float("nan")

dev = first["device"]
print(f"corpusflow bench disk vs {fio_version}: {first['dir']} on {dev['source']} "
      f"({dev['filesystem']}), {'O_DIRECT' if first['direct'] else 'buffered'}, "
      f"median of {repeat} run(s), MB/s = 10^6 B/s")
header = (f"{'test':<42} {'block':>6} {'corpusflow':>11} {'fio':>9} {'ratio':>6} "
          f"{'cf p50/p99 us':>15} {'fio p50/p99 us':>15}  runs cf | fio (MB/s)")
print(header)
goals = {}
for test in first["tests"]:
    name = test["name"]
    cf = [next(t for t in run["tests"] if t["name"] == name) for run in cf_runs]
    fio = [fio_figures(r, name) for r in range(1, repeat + 1)]
    for c, f in zip(cf, fio):
        if c["bytes"] != f["bytes"]:
            print(f"warning: {name}: corpusflow moved {c['bytes']} bytes, fio {f['bytes']}")
    cf_mb = median([c["mb_per_second"] for c in cf])
    fio_mb = median([f["mbps"] for f in fio])
    ratio = cf_mb / fio_mb if fio_mb > 0 else float("nan")
    block = test["block_bytes"]
    label = {1 << 30: "G", 1 << 20: "M", 1 << 10: "K"}
    blk = next((f"{block // u}{s}" for u, s in sorted(label.items(), reverse=True)
                if block >= u and block % u == 0), str(block))
    cf_lat = f"{median([c['latency_us']['p50'] for c in cf]):.0f}/{median([c['latency_us']['p99'] for c in cf]):.0f}"
    fio_lat = f"{median([f['p50'] for f in fio]):.0f}/{median([f['p99'] for f in fio]):.0f}"
    runs = " ".join(f"{c['mb_per_second']:.0f}" for c in cf) + " | " + \
        " ".join(f"{f['mbps']:.0f}" for f in fio)
    label = test["description"]
    if name.startswith("spill_"):
        label = f"spill {name[6:]}, {test['buckets']} buckets" + (", strided" if name == "spill_read" else "")
    print(f"{label:<42} {blk:>6} {cf_mb:>11.1f} {fio_mb:>9.1f} {ratio:>6.3f} "
          f"{cf_lat:>15} {fio_lat:>15}  {runs}")
    if name in ("seq_write", "seq_read"):
        # Runs next to each other in time share the background load: the median of their
        # ratios is steadier than the ratio of medians.
        pairs = [c["mb_per_second"] / f["mbps"] for c, f in zip(cf, fio) if f["mbps"] > 0]
        goals[name] = (ratio, median(pairs))
print()
print("goal, sequential read and write within 10% of fio (ratio of medians; median of paired "
      "ratios):")
for n, (r, paired) in goals.items():
    met = abs(r - 1) <= 0.10 and abs(paired - 1) <= 0.10
    print(f"  {n}: {r:.3f}; {paired:.3f} -> {'met' if met else 'MISSED'}")
EOF
