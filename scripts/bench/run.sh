#!/usr/bin/env bash
# Benchmark gearbox against Debian's gearmand and against the bare-runtime floor
# (scripts/bench/floor_server.ts) with the same libgearman load generator
# (scripts/bench/loadgen.c). Invoked by `npm run bench`.
#
#   npm run bench                      # full run: 3 s per phase, best of 3, ~4 min
#   npm run bench -- --quick           # 1 s per phase, best of 2, ~1 min
#   npm run bench -- --seconds 10      # longer phases
#   npm run bench -- --repeat 5        # more alternating runs per scenario (best counts)
#   npm run bench -- --only fg16,bg    # a subset (ids: fg1 fg16 fg16-grab fg16-64k pipelined bg)
#   npm run bench -- --no-floor        # leave out the floor server's column
#   npm run bench -- --warmup 0        # no unmeasured warm-up of each fresh server
#                                      # (default 2 s, --quick 1 s; fg and pipelined)
#   npm run bench -- --source          # gearbox from src/ via bun, not dist/gearbox
#   npm run bench -- --durable         # both servers keep jobs in SQLite (fresh files per run)
#   npm run bench -- --durable=gearbox # gearbox in SQLite against gearmand in memory
#   npm run bench -- --store postgres  # durable submit on PostgreSQL against pg-boss,
#                                      # graphile-worker and pgbench (postgres_compare.ts;
#                                      # takes --quick, --repeat N, --jobs N)
#
# Environment:
#   GEARBOX_BENCH_CMD   command for the "gearbox" column; {port} is replaced by
#                       the port, e.g. to check the harness with a second gearmand:
#                       GEARBOX_BENCH_CMD='/usr/sbin/gearmand --port={port} --listen=127.0.0.1 --threads=0 --log-file=none'
#   GEARMAND_BENCH_CMD  same for the "gearmand" column.
#   FLOOR_BENCH_CMD     same for the "floor" column.
#
# Every server runs with BUN_JSC_logGC=1; gearbox's garbage collections are
# counted from its log. loadgen gets --server-pid, so each row has the server's
# CPU per job.
#
# Every run starts a fresh server on a free loopback port (never 4730). Each
# scenario runs --repeat times per server, rotating which server goes first;
# the table shows each server's best run. Progress goes to stderr, the table to
# stdout (and, with every RESULT line, to scripts/bench/build/results-*.txt).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD="$HERE/build"
LOADGEN="$BUILD/loadgen"

SECS=""
QUICK=0
WARMUP=""
REPEAT=""
ONLY=""
FROM_SOURCE=0
DURABLE=""
FLOOR=1

usage() {
  sed -n '2,35p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# --store postgres: a different comparison, in TypeScript (scripts/bench/postgres_compare.ts).
for a in "$@"; do
  if [[ $a == --store=postgres || ${prev:-} == --store && $a == postgres ]]; then
    args=()
    for b in "$@"; do [[ $b == --store || $b == --store=postgres || $b == postgres ]] || args+=("$b"); done
    exec "$ROOT/node_modules/.bin/bun" "$HERE/postgres_compare.ts" "${args[@]}"
  fi
  prev=$a
done

while (($#)); do
  case $1 in
    --seconds) SECS=${2:-}; shift 2 || { usage >&2; exit 1; } ;;
    --seconds=*) SECS=${1#*=}; shift ;;
    --quick) QUICK=1; shift ;;
    --repeat) REPEAT=${2:-}; shift 2 || { usage >&2; exit 1; } ;;
    --repeat=*) REPEAT=${1#*=}; shift ;;
    --only) ONLY=${2:-}; shift 2 || { usage >&2; exit 1; } ;;
    --only=*) ONLY=${1#*=}; shift ;;
    --source) FROM_SOURCE=1; shift ;;
    --no-floor) FLOOR=0; shift ;;
    --warmup) WARMUP=${2:-}; shift 2 || { usage >&2; exit 1; } ;;
    --warmup=*) WARMUP=${1#*=}; shift ;;
    --durable) DURABLE=both; shift ;;
    --durable=both|--durable=gearbox) DURABLE=${1#*=}; shift ;;
    --durable=*) echo "bench: --durable takes 'both' or 'gearbox', got '${1#*=}'" >&2; exit 1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench: unknown argument '$1'" >&2; usage >&2; exit 1 ;;
  esac
done

if [[ -z $SECS ]]; then
  if ((QUICK)); then SECS=1; else SECS=3; fi
fi
if [[ -z $REPEAT ]]; then
  if ((QUICK)); then REPEAT=2; else REPEAT=3; fi
fi
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || { echo "bench: --repeat wants a positive integer, got '$REPEAT'" >&2; exit 1; }
if [[ -z $WARMUP ]]; then
  if ((QUICK)); then WARMUP=1; else WARMUP=2; fi
fi
[[ $WARMUP =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "bench: --warmup wants seconds (0 for none), got '$WARMUP'" >&2; exit 1; }
[[ $WARMUP =~ ^0+([.]0*)?$ ]] && WARMUP=0
if ! [[ $SECS =~ ^[0-9]+([.][0-9]+)?$ ]] || [[ $SECS == 0 ]]; then
  echo "bench: --seconds wants a positive number, got '$SECS'" >&2
  exit 1
fi
# Background queue size: enough for several seconds of draining; gearmand's
# submit rate drops as its queue grows (unique-id hash chains), so a fixed cap
# keeps both servers at the same queue depth.
if ((QUICK)); then BG_JOBS=30000; else BG_JOBS=100000; fi
SECS_INT=${SECS%.*}

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# ----------------------------------------------------------------- build
command -v cc >/dev/null || die "no C compiler (cc) found: sudo apt-get install build-essential"
if ! printf '#include <libgearman/gearman.h>\n' | cc -E -x c - >/dev/null 2>&1; then
  die "libgearman headers not found: sudo apt-get install libgearman-dev (and gearman-job-server for gearmand)"
fi
mkdir -p "$BUILD"
if [[ ! -x $LOADGEN || $HERE/loadgen.c -nt $LOADGEN ]]; then
  log "compiling $LOADGEN"
  cc -O2 -Wall -Wextra -std=gnu11 -pthread -o "$LOADGEN.tmp" "$HERE/loadgen.c" -lgearman -lm \
    || die "compiling loadgen.c failed (needs libgearman-dev: sudo apt-get install libgearman-dev)"
  mv -f "$LOADGEN.tmp" "$LOADGEN"
fi

# ---------------------------------------------------------- the servers
# --durable: SQLite files named by port in a directory removed at exit, so
# every run starts from an empty store.
STORE_DIR=""
if [[ -n $DURABLE ]]; then
  STORE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/gearbox-bench-XXXXXX") || die "cannot make a temporary directory"
fi
GEARMAND_NOTE=""
if [[ -n ${GEARMAND_BENCH_CMD:-} ]]; then
  GEARMAND_CMD=$GEARMAND_BENCH_CMD
  GEARMAND_NOTE="gearmand column uses GEARMAND_BENCH_CMD"
elif [[ -x /usr/sbin/gearmand ]]; then
  GEARMAND_CMD="/usr/sbin/gearmand --port={port} --listen=127.0.0.1 --threads=0 --log-file=none"
  [[ $DURABLE == both ]] && GEARMAND_CMD+=" -q libsqlite3 --libsqlite3-db=$STORE_DIR/gearmand-{port}.db"
else
  GEARMAND_CMD=""
  GEARMAND_NOTE="gearmand not installed (sudo apt-get install gearman-job-server)"
fi

GEARBOX_NOTE=""
GB_FLAGS="serve --port {port} --listen 127.0.0.1 --store memory: --log-level warn"
GB_STORE="--store sqlite:$STORE_DIR/gearbox-{port}.db"
[[ -n $DURABLE ]] && GB_FLAGS=${GB_FLAGS/--store memory:/$GB_STORE}
if [[ -n ${GEARBOX_BENCH_CMD:-} ]]; then
  GEARBOX_CMD=$GEARBOX_BENCH_CMD
  GEARBOX_NOTE="gearbox column uses GEARBOX_BENCH_CMD"
elif ((!FROM_SOURCE)) && [[ -x $ROOT/dist/gearbox ]]; then
  GEARBOX_CMD="$(printf %q "$ROOT/dist/gearbox") $GB_FLAGS"
elif [[ -x $ROOT/node_modules/.bin/bun ]]; then
  GEARBOX_CMD="$(printf '%q %q' "$ROOT/node_modules/.bin/bun" "$ROOT/src/cli/main.ts") $GB_FLAGS"
else
  GEARBOX_CMD=""
  GEARBOX_NOTE="no dist/gearbox and no node_modules/.bin/bun (run npm install / npm run build)"
fi
FLOOR_NOTE=""
if [[ -n ${FLOOR_BENCH_CMD:-} ]]; then
  FLOOR_CMD=$FLOOR_BENCH_CMD
  FLOOR_NOTE="floor column uses FLOOR_BENCH_CMD"
elif [[ -x $ROOT/node_modules/.bin/bun ]]; then
  # With the allocator settings gearbox serve gives itself (ALLOCATOR_SETTINGS, src/runtime/allocator.ts): the same runtime.
  ALLOCATOR_ENV=$(cd "$ROOT" && node_modules/.bin/bun -e 'import { ALLOCATOR_SETTINGS as s } from "./src/runtime/allocator.ts";
    console.log(Object.entries(s).map(([k, v]) => `${k}=${v}`).join(" "))')
  FLOOR_CMD="env $ALLOCATOR_ENV $(printf '%q %q' "$ROOT/node_modules/.bin/bun" "$HERE/floor_server.ts") --port {port} --host 127.0.0.1"
else
  FLOOR_CMD=""
  FLOOR_NOTE="no node_modules/.bin/bun for the floor server (run npm install)"
fi
((FLOOR)) || { FLOOR_CMD=""; FLOOR_NOTE=""; }
GEARMAND_VERSION=$( (${GEARMAND_CMD%% *} --version 2>/dev/null || true) | grep -m1 . | sed "s/ - .*//")
GEARMAND_VERSION=${GEARMAND_VERSION:-version unknown}
for c in "$GEARMAND_CMD" "$GEARBOX_CMD" "$FLOOR_CMD"; do
  [[ -z $c || $c == *"{port}"* ]] || die "server command lacks the {port} placeholder: $c"
done

SERVERS=(gearmand gearbox)
((FLOOR)) && SERVERS+=(floor)
declare -A CMD=([gearmand]=$GEARMAND_CMD [gearbox]=$GEARBOX_CMD [floor]=$FLOOR_CMD)
declare -A DOWN=()         # server -> reason it is skipped from now on
declare -A RES=()          # "row,server" -> best run's "jobs_per_s p50 p99 cpu_us gc_n gc_ms gc_kb_per_job"
declare -A ERRS=()         # "row,server" -> 1 if a run failed
declare -A PARTIAL_DRAIN=()
NOTES=()

SRV_PID=""
LG_PID=""

stop_server() {
  local pid=$SRV_PID
  [[ -n $pid ]] || return 0
  SRV_PID=""
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

cleanup() {
  if [[ -n $LG_PID ]]; then kill -TERM "$LG_PID" 2>/dev/null; wait "$LG_PID" 2>/dev/null; fi
  stop_server
  [[ -z $STORE_DIR ]] || rm -rf "$STORE_DIR"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM HUP

# start_server NAME LOGFILE: on success sets SRV_PID and SRV_PORT.
start_server() {
  local name=$1 logf=$2 tmpl=${CMD[$1]} port cmd
  [[ -n $tmpl ]] || return 1
  port=$("$LOADGEN" freeport) || return 1
  [[ $port != 4730 ]] || port=$("$LOADGEN" freeport) || return 1
  cmd=${tmpl//\{port\}/$port}
  # exec twice: $! is the server itself, so loadgen's --server-pid reads its CPU.
  (cd "$ROOT" && BUN_JSC_logGC=1 exec bash -c "exec $cmd") >"$logf" 2>&1 &
  SRV_PID=$!
  SRV_PORT=$port
  for _ in $(seq 200); do # up to ~20 s (bun from source starts slower)
    if ! kill -0 "$SRV_PID" 2>/dev/null; then
      wait "$SRV_PID" 2>/dev/null
      SRV_PID=""
      log "$name exited during startup: $(tail -n 3 "$logf" | tr '\n' ' ')"
      return 1
    fi
    if "$LOADGEN" probe --port "$port" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  log "$name did not listen on 127.0.0.1:$port within 20 s"
  stop_server
  return 1
}

# gc_stats LOGFILE: "collections total_ms bytes_allocated" from Bun's BUN_JSC_logGC=1
# lines (a START line per collection, "cycle X.XXXms END", "bytes allocated this cycle: N").
gc_stats() {
  awk '/START/ { n++ }
    match($0, /cycle [0-9.]+ms END/) { ms += substr($0, RSTART + 6, RLENGTH - 12) }
    match($0, /bytes allocated this cycle: [0-9]+/) { b += substr($0, RSTART + 28, RLENGTH - 28) }
    END { printf "%d %.1f %.0f\n", n, ms, b }' "$1" 2>/dev/null || echo "0 0 0"
}

field() { # field LINE KEY
  local w
  for w in $1; do
    [[ $w == "$2="* ]] && { printf '%s' "${w#*=}"; return; }
  done
}

# ------------------------------------------------------------- scenarios
# id|mode|clients|workers|size|batch|jobs|grab
SCENARIOS=(
  "fg1|fg|1|1|100|1|1000000|all"
  "fg16|fg|16|4|100|1|1000000|all"
  "fg16-grab|fg|16|4|100|1|1000000|plain"
  "fg16-64k|fg|16|4|65536|1|1000000|all"
  "pipelined|pipelined|1|4|100|100|1000000|all"
  "bg|bgsubmit|1|4|100|1000|$BG_JOBS|all"
)
declare -A LABEL=(
  [fg1]="fg 1 client/1 worker, 100 B"
  [fg16]="fg 16 clients/4 workers, 100 B, GRAB_JOB_ALL"
  [fg16-grab]="fg 16 clients/4 workers, 100 B, plain GRAB_JOB"
  [fg16-64k]="fg 16 clients/4 workers, 64 KiB"
  [pipelined]="pipelined fg, batch 100, 4 workers, 100 B"
  [bgsubmit]="bg submit, batch 1000, no workers, 100 B"
  [drain]="bg drain, 4 workers, 100 B"
)
ROWS=()
if [[ -n $ONLY ]]; then
  for id in ${ONLY//,/ }; do
    found=0
    for s in "${SCENARIOS[@]}"; do [[ ${s%%|*} == "$id" ]] && found=1; done
    ((found)) || die "unknown scenario '$id' in --only (ids: fg1 fg16 fg16-grab fg16-64k pipelined bg)"
  done
fi

STAMP=$(date +%Y%m%d-%H%M%S)
RAW="$BUILD/results-$STAMP.txt"
: >"$RAW"
T_START=$(date +%s)

log "loadgen: $LOADGEN; ${SECS}s per phase, best of $REPEAT; $(nproc) CPUs; raw results in $RAW"
[[ -n $GEARMAND_NOTE ]] && log "$GEARMAND_NOTE"
[[ -n $GEARBOX_NOTE ]] && log "$GEARBOX_NOTE"
[[ -n $FLOOR_NOTE ]] && log "$FLOOR_NOTE"
for srv in "${SERVERS[@]}"; do
  [[ -n ${CMD[$srv]} ]] || DOWN[$srv]="not available"
done

# run_once SERVER ID MODE CLIENTS WORKERS SIZE BATCH JOBS GRAB REP ROWS...: one
# loadgen run against a fresh server; keeps the best jobs/s per row in RES, with
# that run's server CPU and GC.
run_once() {
  local srv=$1 id=$2 mode=$3 clients=$4 workers=$5 size=$6 batch=$7 jobs=$8 grab=$9 rep=${10}
  local logf="$BUILD/server-$srv-$id.log" out="$BUILD/loadgen-$srv-$id.out" err="$BUILD/loadgen-$srv-$id.err"
  local rc msg line m r rate old cpu gc gcn gcms gcb gcjobs kb
  if [[ -n ${DOWN[$srv]:-} ]]; then
    log "scenario $id: $srv skipped (${DOWN[$srv]})"
    return
  fi
  if ! start_server "$srv" "$logf"; then
    DOWN[$srv]="failed to start, see $logf"
    NOTES+=("$srv failed to start (log: $logf); its column shows n/a")
    return
  fi
  local args=("$mode" --port "$SRV_PORT" --clients "$clients" --workers "$workers" --size "$size"
    --batch "$batch" --jobs "$jobs" --seconds "$SECS" --grab "$grab" --server-pid "$SRV_PID")
  # Warm-up: the same load, unmeasured, so a JIT-compiled server is measured compiled (as it runs
  # after its first seconds in production) and gearmand gets the same treatment. Not for bg: it
  # would fill the queue the measured phase is about.
  if [[ $WARMUP != 0 && ($mode == fg || $mode == pipelined) ]]; then
    local warm=("${args[@]}") k
    for ((k = 0; k < ${#warm[@]}; k++)); do [[ ${warm[k]} == --seconds ]] && warm[k + 1]=$WARMUP; done
    timeout -k 5 $((3 * ${WARMUP%.*} + 60)) "$LOADGEN" "${warm[@]}" --func "warmup_${id}_$$" >/dev/null 2>&1 ||
      log "  $srv: warm-up run failed (measuring anyway)"
  fi
  log "scenario $id run $rep/$REPEAT: $srv on 127.0.0.1:$SRV_PORT: loadgen ${args[*]}"
  timeout -k 5 $((3 * SECS_INT + 60)) "$LOADGEN" "${args[@]}" >"$out" 2>"$err" &
  LG_PID=$!
  wait "$LG_PID"
  rc=$?
  LG_PID=""
  if ! kill -0 "$SRV_PID" 2>/dev/null; then
    NOTES+=("$srv died during scenario $id (log: $logf)")
  fi
  stop_server
  sed "s/^/$srv $id run=$rep /" "$out" >>"$RAW"
  grep '^loadgen: warning' "$err" >&2
  if ((rc != 0)); then
    msg=$(grep -m1 -v '^loadgen: warning' "$err")
    [[ -n $msg ]] || msg="loadgen exit status $rc"
    ((rc == 124 || rc == 137)) && msg="loadgen timed out"
    NOTES+=("$srv / $id run $rep: $msg")
    log "scenario $id: $srv FAILED: $msg"
    shift 10
    for r in "$@"; do ERRS[$r,$srv]=1; done
  fi
  # GC of the whole server run (start-up included). The bg run's two rows share
  # one server, so its allocation is per job submitted and drained.
  read -r gcn gcms gcb < <(gc_stats "$logf")
  gcjobs=$(grep -m1 '^RESULT' "$out" | sed -n 's/.* jobs=\([0-9]*\) .*/\1/p')
  kb=-
  [[ ${gcjobs:-0} -gt 0 ]] && kb=$(awk -v b="$gcb" -v j="$gcjobs" 'BEGIN { printf "%.2f", b / j / 1024 }')
  echo "$srv $id run=$rep GC collections=$gcn gc_ms=$gcms bytes_allocated=$gcb" >>"$RAW"
  while read -r line; do
    [[ $line == RESULT* ]] || continue
    m=$(field "$line" mode)
    [[ $m == bgsubmit || $m == drain ]] && r=$m || r=$id
    rate=$(field "$line" jobs_per_s)
    cpu=$(field "$line" server_cpu_us_per_job)
    old=${RES[$r,$srv]:-}
    if [[ -z $old ]] || ((rate > ${old%% *})); then
      RES[$r,$srv]="$rate $(field "$line" p50_ms) $(field "$line" p99_ms) ${cpu:--} $gcn $gcms $kb"
    fi
    log "  $srv $r: $(field "$line" jobs) jobs in $(field "$line" seconds)s = $rate jobs/s, p50 $(field "$line" p50_ms) ms, p99 $(field "$line" p99_ms) ms, server CPU ${cpu:--} us/job, GC $gcn / ${gcms} ms"
    if [[ $m == drain && $(field "$line" complete) == 0 ]]; then
      PARTIAL_DRAIN[$srv]="$(field "$line" jobs) of $(field "$line" queued)"
    fi
  done <"$out"
}

for s in "${SCENARIOS[@]}"; do
  IFS='|' read -r id mode clients workers size batch jobs grab <<<"$s"
  if [[ -n $ONLY && ",$ONLY," != *",$id,"* ]]; then continue; fi
  if [[ $mode == bgsubmit ]]; then rows=(bgsubmit drain); else rows=("$id"); fi
  ROWS+=("${rows[@]}")
  for ((rep = 1; rep <= REPEAT; rep++)); do
    # Rotate who goes first so slow drifts in machine load hit all alike.
    order=()
    for ((k = 0; k < ${#SERVERS[@]}; k++)); do order+=("${SERVERS[(k + rep - 1) % ${#SERVERS[@]}]}"); done
    for srv in "${order[@]}"; do
      run_once "$srv" "$id" "$mode" "$clients" "$workers" "$size" "$batch" "$jobs" "$grab" "$rep" "${rows[@]}"
    done
  done
done
for srv in "${SERVERS[@]}"; do
  if [[ -n ${PARTIAL_DRAIN[$srv]:-} ]]; then
    NOTES+=("$srv did not finish draining within ${SECS}s (e.g. ${PARTIAL_DRAIN[$srv]} jobs); drain jobs/s is over that window")
  fi
done

# ------------------------------------------------------------------ table
cell() { # the best result, else err if a run failed, else n/a
  if [[ -n ${RES[$1,$2]:-} ]]; then printf '%s' "${RES[$1,$2]}"
  elif [[ -n ${ERRS[$1,$2]:-} ]]; then printf 'err'
  else printf 'n/a'; fi
}
cell_rate() { local v; v=$(cell "$1" "$2"); printf '%s' "${v%% *}"; }
cell_lat() {
  local v p50 p99
  v=$(cell "$1" "$2")
  if [[ $v == n/a || $v == err ]]; then printf '%s' "$v"; return; fi
  read -r _ p50 p99 _ <<<"$v"
  if [[ $p50 == - ]]; then printf -- '-'; else printf '%s / %s' "$p50" "$p99"; fi
}
ratio() { # ratio ROW A B: B's jobs/s over A's
  local a b
  a=$(cell_rate "$1" "$2")
  b=$(cell_rate "$1" "$3")
  if [[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ && $a != 0 ]]; then
    awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }'
  else
    printf 'n/a'
  fi
}
cell_field() { # cell_field ROW SERVER N: the Nth word of the best run (4 cpu, 5 gc n, 6 gc ms, 7 KB/job)
  local v w
  v=$(cell "$1" "$2")
  if [[ $v == n/a || $v == err ]]; then printf '%s' "$v"; return; fi
  read -ra w <<<"$v"
  printf '%s' "${w[$(($3 - 1))]:--}"
}
cpu_ratio() {
  local a b
  a=$(cell_field "$1" floor 4)
  b=$(cell_field "$1" gearbox 4)
  if [[ $a =~ ^[0-9.]+$ && $b =~ ^[0-9.]+$ ]] && awk -v a="$a" 'BEGIN { exit !(a > 0) }'; then
    awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }'
  else
    printf 'n/a'
  fi
}
gc_cell() {
  local n
  n=$(cell_field "$1" gearbox 5)
  if [[ $n =~ ^[0-9]+$ ]]; then printf '%s / %s' "$n" "$(cell_field "$1" gearbox 6)"; else printf '%s' "$n"; fi
}
kb_cell() {
  local k
  k=$(cell_field "$1" gearbox 7)
  if [[ $k =~ ^[0-9.]+$ ]]; then printf '≈%s' "$k"; else printf '%s' "$k"; fi
}
# row CELL...: one table row; the first cell left-aligned, the rest right-aligned to WIDTHS.
row() {
  local LC_ALL=C.UTF-8 i c line="|"
  for ((i = 1; i <= $#; i++)); do
    c=${!i}
    if ((i == 1)); then line+=" $c$(printf '%*s' $((WIDTHS[0] - ${#c})) '') |"
    else line+=" $(printf '%*s' $((WIDTHS[i - 1] - ${#c})) '')$c |"; fi
  done
  printf '%s\n' "$line"
}

ELAPSED=$(($(date +%s) - T_START))
HAVE_FLOOR=0
[[ " ${SERVERS[*]} " == *" floor "* ]] && HAVE_FLOOR=1
HEAD=("scenario")
for srv in "${SERVERS[@]}"; do HEAD+=("$srv jobs/s"); done
HEAD+=("ratio g/g")
for srv in "${SERVERS[@]}"; do HEAD+=("$srv CPU us/job"); done
((HAVE_FLOOR)) && HEAD+=("gearbox CPU / floor CPU")
HEAD+=("gearbox GC n / ms" "gearbox KB/job")
for srv in "${SERVERS[@]}"; do HEAD+=("$srv p50/p99 ms"); done
WIDTHS=(8)
for r in "${ROWS[@]}"; do w=${#LABEL[$r]}; ((w > WIDTHS[0])) && WIDTHS[0]=$w; done
for ((k = 1; k < ${#HEAD[@]}; k++)); do w=${#HEAD[k]}; ((w < 9)) && w=9; ((k > ${#HEAD[@]} - ${#SERVERS[@]} - 1 && w < 17)) && w=17; WIDTHS+=("$w"); done
{
  echo
  echo "gearbox vs gearmand$( ((HAVE_FLOOR)) && echo " and the floor"): best of $REPEAT runs of ${SECS}s per phase, $(nproc) CPUs, $(date '+%Y-%m-%d %H:%M'), took ${ELAPSED}s"
  echo
  row "${HEAD[@]}"
  dashes=()
  for w in "${WIDTHS[@]}"; do dashes+=("$(printf -- '-%.0s' $(seq "$w"))"); done
  row "${dashes[@]}"
  for r in "${ROWS[@]}"; do
    cells=("${LABEL[$r]}")
    for srv in "${SERVERS[@]}"; do cells+=("$(cell_rate "$r" "$srv")"); done
    cells+=("$(ratio "$r" gearmand gearbox)")
    for srv in "${SERVERS[@]}"; do cells+=("$(cell_field "$r" "$srv" 4)"); done
    ((HAVE_FLOOR)) && cells+=("$(cpu_ratio "$r")")
    cells+=("$(gc_cell "$r")" "$(kb_cell "$r")")
    for srv in "${SERVERS[@]}"; do cells+=("$(cell_lat "$r" "$srv")"); done
    row "${cells[@]}"
  done
  echo
  # Rounds: run r of gearbox against run r of gearmand (the same round, next to each other in time).
  echo "ratio g/g per round (gearbox run r / gearmand run r), and their median:"
  for r in "${ROWS[@]}"; do
    awk -v row="$r" -v label="${LABEL[$r]}" '
      $1 == "gearmand" || $1 == "gearbox" {
        m = ""; rate = ""; run = ""
        for (i = 3; i <= NF; i++) {
          if ($i ~ /^run=/) run = substr($i, 5)
          if ($i ~ /^mode=/) m = substr($i, 6)
          if ($i ~ /^jobs_per_s=/) rate = substr($i, 12)
        }
        id = (row == "bgsubmit" || row == "drain") ? "bg" : row
        if (rate == "" || $2 != id) next
        if ((row == "bgsubmit" || row == "drain") ? m != row : (m == "bgsubmit" || m == "drain")) next
        v[$1, run] = rate; runs[run] = 1
      }
      END {
        n = 0
        for (k in runs) if (v["gearmand", k] > 0 && v["gearbox", k] != "") ratios[++n] = v["gearbox", k] / v["gearmand", k]
        if (n == 0) exit
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (ratios[j] < ratios[i]) { t = ratios[i]; ratios[i] = ratios[j]; ratios[j] = t }
        line = ""
        for (i = 1; i <= n; i++) line = line sprintf(" %.2f", ratios[i])
        med = n % 2 ? ratios[(n + 1) / 2] : (ratios[n / 2] + ratios[n / 2 + 1]) / 2
        printf "  %-42s%s  median %.2f\n", label, line, med
      }' "$RAW"
  done
  echo
  echo "ratio g/g = gearbox jobs/s / gearmand jobs/s (above 1.00: gearbox is faster)"
  echo "CPU us/job = the server process's CPU (user + system) over the measured phase / jobs, in the best run (loadgen --server-pid)"
  ((HAVE_FLOOR)) && echo "floor = scripts/bench/floor_server.ts, a bare Gearman server on Bun.listen: what the runtime allows; gearbox CPU / floor CPU is how far gearbox is from it"
  echo "gearbox GC n / ms = collections and their total time in gearbox's best run (BUN_JSC_logGC=1, start-up included);"
  echo "  KB/job = bytes allocated (sum over collections) / jobs, so ≈: start-up included and the last cycle not counted."
  echo "  bg submit and bg drain share one server run: both rows show that run's GC, its KB/job per job submitted and drained."
  echo "gearmand: ${GEARMAND_CMD:-none} ($GEARMAND_VERSION)"
  echo "gearbox:  ${GEARBOX_CMD:-none}"
  ((HAVE_FLOOR)) && echo "floor:    ${FLOOR_CMD:-none}"
  [[ -n $GEARMAND_NOTE ]] && echo "note: $GEARMAND_NOTE"
  [[ -n $GEARBOX_NOTE ]] && echo "note: $GEARBOX_NOTE"
  [[ -n $FLOOR_NOTE ]] && echo "note: $FLOOR_NOTE"
  for n in "${NOTES[@]}"; do echo "note: $n"; done
} | tee -a "$RAW"

# Non-zero only when nothing could be measured at all.
for r in "${ROWS[@]}"; do
  for srv in "${SERVERS[@]}"; do
    [[ $(cell_rate "$r" "$srv") =~ ^[0-9]+$ ]] && exit 0
  done
done
exit 1
