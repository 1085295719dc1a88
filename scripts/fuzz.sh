#!/bin/sh
# Run every fuzz target of fuzz/ for SECONDS each (default 60), one after
# the other; fail on the first crash (or failed build).
#
#   scripts/fuzz.sh [SECONDS]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). On a stable
# toolchain RUSTC_BOOTSTRAP=1 lets cargo-fuzz use the sanitizer flags it
# needs. The committed corpus (fuzz/corpus/<target>) seeds each run but is
# not written to: new inputs go to a scratch directory (FUZZ_WORK, default a
# temp dir), so merging them is a separate, deliberate step (see
# fuzz/README.md). Each target's regression inputs (fuzz/regressions/<target>)
# are run first. Crash inputs land in fuzz/artifacts/<target>/.
set -eu

secs=${1:-60}
case $secs in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
fuzz=$root/fuzz
work=${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/catbox-fuzz.XXXXXX")}
work=$(mkdir -p "$work" && cd "$work" && pwd) # absolute: the paths target chdirs
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "$0: cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

cd "$fuzz"
cargo fuzz build
bin=$fuzz/target/x86_64-unknown-linux-gnu/release
targets=$(cargo fuzz list)

for t in $targets; do
    if [ -d "regressions/$t" ]; then
        echo "== $t: regression inputs"
        "$bin/$t" "$fuzz/regressions/$t"/*  # absolute: the paths target chdirs
    fi
done

for t in $targets; do
    echo "== $t: ${secs}s"
    mkdir -p "$work/$t" "corpus/$t"
    dict=
    if [ -f "dict/$t.dict" ]; then
        dict=-dict=$fuzz/dict/$t.dict
    fi
    # The first corpus directory is the one libFuzzer writes to.
    if ! cargo fuzz run "$t" "$work/$t" "$fuzz/corpus/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 $dict; then
        echo "$0: target $t crashed; the input is in fuzz/artifacts/$t/" >&2
        exit 1
    fi
done
echo "fuzz: all targets ran ${secs}s without a crash (new inputs: $work)"
