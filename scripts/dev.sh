#!/usr/bin/env bash
# One entry point for people and CI; each command installs what it needs first (idempotent).
#   bash scripts/dev.sh app    build and open the desktop app (lavapipe when there is no GPU)
#   bash scripts/dev.sh web    build the web page and serve it on http://127.0.0.1:8080
#   bash scripts/dev.sh test   every check: fmt, clippy (native + wasm32), cargo test (GPU tests on
#                              lavapipe, the app under Xvfb), the web build and the browser test
#   bash scripts/dev.sh report [--quick]
#                              sweeps of cifar, mnist and vit-tiny-224 on this machine's adapter (a
#                              GPU, else lavapipe; no display needed), then `paraformer report` into
#                              target/report/ (--quick: a few minutes on lavapipe, what CI runs)
#   bash scripts/dev.sh setup  only install the prerequisites
# Builds go to one target directory per machine (see "Build cache" below); test and report end
# with a table of their stages and seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# Build cache: every checkout on this machine (a person's, CI's clean clone) builds into one
# target directory, so a clean clone compiles only this crate, not its ~400 dependencies, in
# each of the test command's profiles. PARAFORMER_SHARED_TARGET=0 builds into ./target instead;
# a CARGO_TARGET_DIR of your own wins over both. Cargo judges a crate fresh by file times, and
# two checkouts of different commits can hold files older than the other's build:
# PARAFORMER_CHECKOUT (build.rs reruns when it changes) makes a build from another checkout
# recompile this crate, so a result never depends on which checkout built last.
if [ -z "${CARGO_TARGET_DIR:-}" ] && [ "${PARAFORMER_SHARED_TARGET:-1}" != 0 ]; then
    export CARGO_TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/paraformer/target"
fi
TARGET_DIR=${CARGO_TARGET_DIR:-target}
export PARAFORMER_CHECKOUT="$PWD"

# One test or report run at a time per target directory: two checkouts building at once would
# overwrite each other's binaries (target/release/paraformer has one name for every checkout).
lock_target() {
    mkdir -p "$TARGET_DIR"
    exec 9>"$TARGET_DIR/.paraformer-dev.lock"
    if ! flock -n 9; then
        log "waiting (at most 1 h) for another dev.sh test/report to finish with $TARGET_DIR"
        flock -w 3600 9 || {
            echo "$TARGET_DIR/.paraformer-dev.lock is still held by another dev.sh run (or a" \
                "process it left behind: fuser -v that file); PARAFORMER_SHARED_TARGET=0 builds" \
                "into ./target instead" >&2
            return 1
        }
    fi
}

# Stages and their seconds, printed as a table when the command ends (also when a stage fails:
# the table then names it).
STAGE_NAMES=() STAGE_SECS=() STAGE_STATUS=() STAGE_NOW="" STAGE_START=0 RUN_START=$SECONDS
stage() {
    local name=$1
    shift
    STAGE_NOW=$name STAGE_START=$SECONDS
    log "$name"
    "$@"
    STAGE_NAMES+=("$name") STAGE_SECS+=($((SECONDS - STAGE_START))) STAGE_STATUS+=(ok)
    STAGE_NOW=""
}
stage_table() {
    local rc=$? i
    if [ -n "$STAGE_NOW" ]; then
        STAGE_NAMES+=("$STAGE_NOW") STAGE_SECS+=($((SECONDS - STAGE_START))) STAGE_STATUS+=("FAILED")
    fi
    [ ${#STAGE_NAMES[@]} -gt 0 ] || return "$rc"
    printf '\n== stages (build cache: %s)\n' "$TARGET_DIR"
    printf '%-44s %8s  %s\n' stage seconds status
    for i in "${!STAGE_NAMES[@]}"; do
        printf '%-44s %8d  %s\n' "${STAGE_NAMES[$i]}" "${STAGE_SECS[$i]}" "${STAGE_STATUS[$i]}"
    done
    printf '%-44s %8d  %s\n' total $((SECONDS - RUN_START)) "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)")"
    return "$rc"
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages: a GPU driver on the CPU (lavapipe) and the loader.
apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "apt-get install ${missing[*]}"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}"
    fi
}

TRUNK_VERSION=0.21.14
WASM_BINDGEN_VERSION=0.2.130

cargo_install() {
    local bin=$1 version=$2
    shift 2
    if ! "$bin" --version 2>/dev/null | grep -q "$version"; then
        log "cargo install $* (version $version)"
        cargo install "$@" --version "$version"
    fi
}

setup_runtime() {
    # lavapipe (Vulkan on the CPU) and what a window needs on a bare machine.
    apt_install mesa-vulkan-drivers libvulkan1 libegl1 libgl1-mesa-dri libx11-xcb1 libxcursor1 \
        libxi6 libxrandr2 libxkbcommon-x11-0 libfontconfig1
    # Mesa warns without a private runtime dir.
    if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "$XDG_RUNTIME_DIR" ]; then
        export XDG_RUNTIME_DIR="${TMPDIR:-/tmp}/paraformer-xdg-$(id -u)"
        mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
    fi
}

setup_dev() {
    setup_runtime
    if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
        log "rustup target add wasm32-unknown-unknown"
        rustup target add wasm32-unknown-unknown
    fi
    rustup component list --installed | grep -q '^clippy' || rustup component add clippy
    rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
    # Xvfb and ImageMagick for the desktop app test, Chromium for the browser test.
    apt_install xvfb imagemagick chromium
    # The machine's Node.js may come from elsewhere than Debian; only add Debian's when there is none.
    command -v npm >/dev/null || apt_install nodejs npm
}

setup_web() {
    if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
        log "rustup target add wasm32-unknown-unknown"
        rustup target add wasm32-unknown-unknown
    fi
    # trunk 0.22 needs a newer rustc; wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock
    # (installed without --locked: its own lock file names a crate version the registry lacks).
    cargo_install trunk "$TRUNK_VERSION" --locked trunk
    cargo_install wasm-bindgen "$WASM_BINDGEN_VERSION" wasm-bindgen-cli
}

CARGO_FUZZ_VERSION=0.13.2
FUZZ_SECONDS=${FUZZ_SECONDS:-60}

setup_fuzz() {
    cargo_install cargo-fuzz "$CARGO_FUZZ_VERSION" --locked cargo-fuzz
}

# A bounded pass of the checkpoint fuzzer from the committed seeds. libFuzzer on stable Rust:
# RUSTC_BOOTSTRAP lets cargo-fuzz pass its -Z flags; no sanitizer is needed for safe code
# (panics, hangs and runaway memory are what it looks for).
run_fuzz() {
    echo "fuzzing the checkpoint loader for ${FUZZ_SECONDS} s (fuzz/, seeds in fuzz/seeds)"
    local corpus=fuzz/corpus/checkpoint log status=0
    mkdir -p "$corpus"
    for seed in fuzz/seeds/*; do
        [ -e "$corpus/$(basename "$seed")" ] || cp "$seed" "$corpus/"
    done
    log=$(mktemp)
    RUSTC_BOOTSTRAP=1 cargo fuzz run checkpoint --sanitizer none "$corpus" -- \
        -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=4096 -timeout=10 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    grep -E '^(stat::|Done|INFO: Seed)|panicked|ERROR|SUMMARY|artifact' "$log" || true
    [ "$status" -eq 0 ] || tail -n 40 "$log"
    rm -f "$log"
    # A crash makes libFuzzer exit non-zero and leave an artifact; either fails the run.
    if [ "$status" -ne 0 ] || ls fuzz/artifacts/checkpoint/* >/dev/null 2>&1; then
        echo "fuzzing found a crash: see fuzz/artifacts/checkpoint (keep it in fuzz/regressions)" >&2
        return 1
    fi
}

# One preset's sweep into $1.json: run_sweep OUT PRESET DEPTHS SERIAL_UP_TO SAMPLES WARMUP.
run_sweep() {
    local out=$1 preset=$2 depths=$3 serial=$4 samples=$5 warmup=$6
    log "bench $preset: depths $depths (serial up to $serial), $samples samples"
    "$REPORT_BIN" bench --preset "$preset" --depths "$depths" --serial-up-to "$serial" \
        --samples "$samples" --warmup "$warmup" --profile --no-progress --json "$out.json"
}

# "flat" when a results file's parallel latency is flat to its deepest point (no knee yet).
still_flat() {
    python3 -c 'import json,sys; f=json.load(open(sys.argv[1])).get("fit") or {}; sys.exit(0 if any("no knee yet" in n for n in f.get("notes", [])) else 1)' "$1"
}

# Sweeps that tell the story on this machine's adapter, and their report. The full form goes
# deeper in parallel mode while no knee has shown, as long as REPORT_BUDGET_S allows.
run_report() {
    local quick=$1
    stage "report: cargo build --release" cargo build --release --locked
    REPORT_BIN=$TARGET_DIR/release/paraformer
    stage "report: sweeps and paraformer report" run_report_sweeps "$quick"
}

run_report_sweeps() {
    local quick=$1 dir=target/report start=$SECONDS
    local budget=${REPORT_BUDGET_S:-1800}
    rm -rf "$dir"
    mkdir -p "$dir/json"
    local presets=(mnist cifar vit-tiny-224)
    for preset in "${presets[@]}"; do
        local out="$dir/json/$preset" depths serial samples warmup
        if [ "$quick" = 1 ]; then
            case $preset in
                mnist) depths=1,2,3,4,6,8,12,16,24,32 serial=16 samples=9 warmup=2 ;;
                cifar) depths=1,2,3,4,6,8,12,16 serial=8 samples=5 warmup=2 ;;
                # Its branches are d = 2 blocks deep: every L is even.
                *) depths=2,4,6,8 serial=8 samples=3 warmup=1 ;;
            esac
            run_sweep "$out" "$preset" "$depths" "$serial" "$samples" "$warmup"
            continue
        fi
        depths=1,2,3,4,6,8,10,12,16,20,24,32,40,48,56,64 serial=24 samples=10 warmup=3
        [ "$preset" = vit-tiny-224 ] && depths=2,4,6,8,10,12,16,20,24,32,40,48,56,64
        run_sweep "$out" "$preset" "$depths" "$serial" "$samples" "$warmup"
        local max=64
        while still_flat "$out.json" && [ $((SECONDS - start)) -lt "$budget" ]; do
            depths="$depths,$((max * 3 / 2)),$((max * 2))"
            max=$((max * 2))
            log "$preset: no knee up to L = $((max / 2)) yet, going to L = $max"
            # A depth the adapter cannot hold fails before measuring: keep the last sweep.
            run_sweep "$out.deeper" "$preset" "$depths" "$serial" "$samples" "$warmup" || break
            mv "$out.deeper.json" "$out.json"
        done
    done
    "$REPORT_BIN" report "$dir"/json/*.json --out "$dir"
    log "report in $dir/report.md ($((SECONDS - start)) s)"
}

# The files a report must hold, each non-empty, with every preset's section.
check_report() {
    local dir=target/report
    for f in latency.svg speedup.svg profile.svg report.md; do
        [ -s "$dir/$f" ] || { echo "report: $dir/$f is missing or empty" >&2; return 1; }
    done
    for preset in mnist cifar vit-tiny-224; do
        grep -q ", $preset, " "$dir/report.md" \
            || { echo "report: no section for $preset in $dir/report.md" >&2; return 1; }
    done
    grep -q '<svg' "$dir/latency.svg" || { echo "report: latency.svg is not SVG" >&2; return 1; }
}

# binaryen's wasm-opt (the npm package, pinned in tools/binaryen; Debian's is too old and
# breaks the page) on PATH for trunk, which must not download one.
setup_wasm_opt() {
    if [ ! -x tools/binaryen/node_modules/.bin/wasm-opt ]; then
        log "npm ci (tools/binaryen: wasm-opt)"
        (cd tools/binaryen && npm ci --no-audit --no-fund)
    fi
    export PATH="$PWD/tools/binaryen/node_modules/.bin:$PATH"
}

build_web() {
    setup_wasm_opt
    stage "web build (trunk build --release)" trunk build --release
    # Precompressed copies for servers that send them (scripts/serve.py does).
    find dist -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.html' -o -name '*.css' \
        -o -name '*.svg' -o -name '*.safetensors' \) -exec gzip -9 -k -f {} \;
}

browser_test() {
    (cd web && npm ci --no-audit --no-fund && node --test tests/)
}

run_tests() {
    stage "cargo fmt --check" cargo fmt --check
    stage "cargo clippy (native)" cargo clippy --all-targets --locked -- -D warnings
    stage "cargo clippy (wasm32)" \
        cargo clippy --lib --bin paraformer --target wasm32-unknown-unknown --locked -- -D warnings
    stage "cargo clippy (library without the GPU)" \
        cargo clippy --lib --no-default-features --locked -- -D warnings
    local out
    out=$(mktemp)
    # GPU tests run on the default adapter: lavapipe on a machine without a GPU.
    stage "cargo test" eval 'cargo test --locked 2>&1 | tee "$out"'
    stage "fuzz (${FUZZ_SECONDS} s)" eval 'run_fuzz 2>&1 | tee -a "$out"'
    run_report 1
    stage "report check" check_report
    build_web
    stage "browser test (headless Chromium, SwiftShader)" eval 'browser_test 2>&1 | tee -a "$out"'
    echo "screenshots: target/screenshots/native.png, target/screenshots/web.png"
    # One closing line over both runners (cargo: "N passed; M failed", node: "# pass N" / "# fail M").
    awk '/^test result:/ { p += $4; f += $6 } /^# pass / { p += $3 } /^# fail / { f += $3 }
         END { printf "summary: %d passed, %d failed\n", p, f }' "$out"
    rm -f "$out"
}

case "${1:-}" in
    setup)
        setup_dev
        setup_web
        setup_fuzz
        ;;
    app)
        setup_runtime
        shift
        cargo run --release --locked -- "$@"
        ;;
    web)
        setup_runtime
        setup_web
        build_web
        log "serving dist/ on http://127.0.0.1:8080, gzip where the browser takes it (Ctrl-C to stop)"
        python3 scripts/serve.py 8080 dist
        ;;
    report)
        trap stage_table EXIT
        stage setup setup_runtime
        lock_target
        quick=0
        [ "${2:-}" = "--quick" ] && quick=1
        run_report "$quick"
        [ "$quick" = 0 ] || stage "report check" check_report
        ;;
    test)
        trap stage_table EXIT
        stage setup eval 'setup_dev; setup_web; setup_fuzz'
        lock_target
        run_tests
        ;;
    *)
        echo "usage: bash scripts/dev.sh app|web|test|report [--quick]|setup" >&2
        exit 2
        ;;
esac
