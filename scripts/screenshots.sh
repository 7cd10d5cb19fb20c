#!/usr/bin/env bash
# Screenshots of every tab, natively (under Xvfb) and in headless Chromium, at 1024 and
# 1600 px wide, each after a small sweep of both backends: target/screenshots/.
# Needs the release binary, dist/ (trunk build --release), xvfb-run, ImageMagick's import
# and web/node_modules (npm ci in web/).
set -euo pipefail
cd "$(dirname "$0")/.."
# `cargo build --release` puts the binary in ./target; scripts/dev.sh in its shared target
# directory (CARGO_TARGET_DIR, else ~/.cache/paraformer/target).
APP=target/release/paraformer
shared=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/paraformer/target}/release/paraformer
[ -x "$APP" ] || APP=$shared
SHOTS=target/screenshots
mkdir -p "$SHOTS"
for width in 1024 1600; do
    for tab in latency speedup profile live adapter classify accuracy; do
        results=$(mktemp --suffix=.json)
        rm -f "$results"
        shot="$SHOTS/native-$tab-$width.png"
        # The live view runs its loop instead of a sweep (a sweep would stop it).
        if [ "$tab" = live ]; then live=1 run=(--live); else live=0 run=(--autorun --results "$results" --exit); fi
        xvfb-run -a -s "-screen 0 ${width}x900x24" bash -c '
            app=$1 shot=$2 results=$3 live=$4; shift 4
            "$app" app --preset mnist --depths 1..=3 --samples 3 --warmup 1 --backends gpu,cpu \
                --profile "$@" &
            pid=$!
            if [ "$live" = 1 ]; then
                sleep 6
            else
                for i in $(seq 1 600); do
                    [ -s "$results" ] && break
                    kill -0 $pid 2>/dev/null || break
                    sleep 0.2
                done
            fi
            sleep 0.5
            import -window root "$shot"
            [ "$live" = 1 ] && kill $pid
            wait $pid || true' bash "$APP" "$shot" "$results" "$live" --tab "$tab" --window-size "${width}x900" "${run[@]}"
        echo "wrote $shot"
        rm -f "$results"
    done
done
node web/screenshots.mjs 1024,1600
