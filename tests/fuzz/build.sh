#!/usr/bin/env bash
# build.sh OUT_DIR [SECONDS] — build every libFuzzer target in tests/fuzz/ with
# clang (ASan + UBSan) into OUT_DIR; with SECONDS, also run each for that long
# (one at a time, corpora in OUT_DIR/corpus-<target>). `make fuzz` calls this.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-build-fuzz}
SECS=${2:-}
CC=${CC_FUZZ:-$(command -v clang-14 || command -v clang)}
mkdir -p "$OUT"
FLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iengine -Iserver -Istorage"
ENGINE=$(ls engine/*.c)
declare -A SRC=(
  [fuzz_fold]="engine/fold.c -lutf8proc"
  [fuzz_filter_parse]="engine/filter_parse.c"
  [fuzz_csv]="engine/csv.c"
  [fuzz_resp]="server/resp.c"
  [fuzz_wal_scan]="storage/vfs.c storage/wal.c -lxxhash -llz4 -lpthread"
  [fuzz_snapshot_load]="$ENGINE -lroaring -lutf8proc -lm"
  [fuzz_import]="$ENGINE -lroaring -lutf8proc -lm"
  [fuzz_snapshot_file]="storage/snapshot.c storage/vfs.c $ENGINE -lroaring -lutf8proc -lm -lxxhash -llz4 -lpthread"
)
for t in "${!SRC[@]}"; do
  [ -f "tests/fuzz/$t.c" ] || continue
  echo "building $OUT/$t"
  # shellcheck disable=SC2086
  $CC $FLAGS "tests/fuzz/$t.c" ${SRC[$t]} -o "$OUT/$t"
done
if [ -n "$SECS" ]; then
  for t in "${!SRC[@]}"; do
    [ -x "$OUT/$t" ] || continue
    mkdir -p "$OUT/corpus-$t"
    dict=""
    [ -f "tests/fuzz/$t.dict" ] && dict="-dict=$PWD/tests/fuzz/$t.dict" # the run cds into OUT
    case "$t" in
      fuzz_snapshot_load|fuzz_snapshot_file) SEGDB_FUZZ_SEED_OUT="$OUT/corpus-$t" "$OUT/$t" -runs=0 >/dev/null 2>&1 || true ;;
    esac
    echo "running $t for ${SECS}s"
    (cd "$OUT" && "./$t" -max_total_time="$SECS" $dict "corpus-$t" 2>&1 | tail -3)
  done
fi
