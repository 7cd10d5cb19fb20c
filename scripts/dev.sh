#!/usr/bin/env bash
# One entry point for people and CI; each command installs what it needs first (idempotent).
#   bash scripts/dev.sh app    build and open the app (desktop; lavapipe when there is no GPU)
#   bash scripts/dev.sh test   every check: fmt, clippy (native + wasm32), cargo test (GPU tests on lavapipe)
#   bash scripts/dev.sh setup  only install the prerequisites
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

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

setup_runtime() {
    apt_install mesa-vulkan-drivers libvulkan1
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
}

run_tests() {
    log "cargo fmt --check"
    cargo fmt --check
    log "cargo clippy (native)"
    cargo clippy --all-targets --locked -- -D warnings
    log "cargo clippy (wasm32)"
    cargo clippy --lib --bin paraformer --target wasm32-unknown-unknown --locked -- -D warnings
    log "cargo test (GPU tests run on $(command -v vulkaninfo >/dev/null && vulkaninfo --summary 2>/dev/null | grep -m1 deviceName | sed 's/.*= //' || echo 'the default adapter'))"
    cargo test --locked
}

case "${1:-}" in
    setup) setup_dev ;;
    app)
        setup_runtime
        shift
        # Until the desktop app exists (issue 4), the default is one inference on the built-in model.
        if [ $# -eq 0 ]; then set -- infer; fi
        cargo run --release --locked -- "$@"
        ;;
    test)
        setup_dev
        run_tests
        ;;
    *)
        echo "usage: bash scripts/dev.sh app|test|setup" >&2
        exit 2
        ;;
esac
