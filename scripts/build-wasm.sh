#!/usr/bin/env bash
# Build the wasm package the page and the Node tests load: pkg/glassbox.js + pkg/glassbox_bg.wasm,
# and pkg/glassbox_relaxed_bg.wasm (the same code with relaxed SIMD's fused multiply-add; the worker
# loads it where the engine has relaxed SIMD).
#
#   scripts/build-wasm.sh                release build, wasm-bindgen (web target), wasm-opt -Oz -> pkg/
#   scripts/build-wasm.sh --with-checks  also pkg-checks/: the same build plus the `checks` feature (the
#                                        kernel checks and benchmark handles the Node tests and bench/ use;
#                                        never shipped)
#   GLASSBOX_NO_OPT=1 scripts/...        skip wasm-opt (faster edit loop; same SIMD code)
#
# Safe to run twice. Installs nothing: a missing tool is an error that says what to install
# (scripts that set up a machine do the installing).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

die() { echo "build-wasm: $*" >&2; exit 1; }

need() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed. $2"
}
need cargo "Install Rust from https://rustup.rs, then: rustup target add wasm32-unknown-unknown"
need wasm-bindgen "Install it with: cargo install wasm-bindgen-cli --version 0.2.130 --locked"
need wasm-opt "Install binaryen (Debian/Ubuntu: apt-get install binaryen)"
need wasm-dis "Install binaryen (Debian/Ubuntu: apt-get install binaryen)"
need gzip "Install gzip"

if command -v rustup >/dev/null 2>&1; then
    rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
        || die "the Rust target wasm32-unknown-unknown is missing. Add it with: rustup target add wasm32-unknown-unknown"
fi

# The JS glue and the wasm-bindgen crate must agree exactly; the crate is pinned in crate/Cargo.toml.
want_wb="0.2.130"
have_wb="$(wasm-bindgen --version | awk '{print $2}')"
[ "$have_wb" = "$want_wb" ] \
    || die "wasm-bindgen CLI is $have_wb but the crate is pinned to $want_wb. Run: cargo install wasm-bindgen-cli --version $want_wb --locked"

# A RUSTFLAGS variable would replace the `+simd128` flag from .cargo/config.toml and silently build scalar kernels.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS

with_checks=0
for arg in "$@"; do
    case "$arg" in
        --with-checks) with_checks=1 ;;
        *) die "unknown option $arg (use --with-checks, or nothing)" ;;
    esac
done

# build OUT FLAVOUR [cargo args...]: one wasm build into OUT/, SIMD proven. FLAVOUR `simd128` writes
# glassbox.js + glassbox_bg.wasm; `relaxed` writes glassbox_relaxed_bg.wasm beside them, the same
# code built with `+relaxed-simd` as well (fused multiply-adds in the kernels), which the worker
# loads where the engine validates relaxed SIMD (www/worker.js) and the SIMD128 one elsewhere. The
# two share one glassbox.js: this checks that wasm-bindgen writes the same glue for both.
build() {
    local out=$1 flavour=$2; shift 2
    target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
    [ -n "$target_dir" ] || target_dir="$root/target"
    # features: what wasm-opt and wasm-dis may read and write.
    features=(--enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
        --enable-mutable-globals --enable-multivalue --enable-reference-types)
    local cargo_target="$target_dir" opt=wasm-opt dis=wasm-dis
    if [ "$flavour" = relaxed ]; then
        # Debian's binaryen 108 predates relaxed SIMD's final opcodes and cannot read this build;
        # binaryen 132 comes from npm (a dev dependency, build time only).
        opt="$root/node_modules/.bin/wasm-opt"
        dis="$root/node_modules/.bin/wasm-dis"
        if [ ! -x "$opt" ] || [ ! -x "$dis" ]; then
            # The page still runs (the worker falls back to the SIMD128 build); the tests ask for this one.
            echo "build-wasm: node_modules/.bin/wasm-opt (npm binaryen) is missing: no relaxed-SIMD build in $out/" \
                "(the page runs the SIMD128 one). Run npm ci, then this script again, to build it." >&2
            rm -f "$out/glassbox_relaxed_bg.wasm"
            return 0
        fi
        echo "build-wasm: cargo build $* (wasm32, profile wasm, +simd128 +relaxed-simd)"
        # Its own target directory, so that neither build's flags invalidate the other's artefacts.
        cargo_target="$target_dir/relaxed"
        RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" \
            cargo build --profile wasm --target wasm32-unknown-unknown --lib -p glassbox --target-dir "$cargo_target" "$@"
        features+=(--enable-relaxed-simd)
    else
        echo "build-wasm: cargo build $* (wasm32, profile wasm = release + LTO, size-optimised non-hot crates, +simd128)"
        cargo build --profile wasm --target wasm32-unknown-unknown --lib -p glassbox "$@"
    fi
    raw="$cargo_target/wasm32-unknown-unknown/wasm/glassbox.wasm"
    [ -f "$raw" ] || die "cargo did not produce $raw"

    # wasm-opt runs before wasm-bindgen: binaryen 108 (Debian's) re-encodes the
    # externref table that wasm-bindgen adds as `anyref`, which V8 then rejects at instantiation.
    # wasm-bindgen only adds thin adapters around the optimised code.
    # LLVM leaves `base + C` address additions in front of the SIMD loads that broadcast or widen
    # (v128.load32_splat, v128.load8x8_s, ...) and binaryen folds them into plain loads only; this
    # build step folds them into the loads' offsets, as --low-memory-unused does for the rest (the
    # same assumption; see crate/wasm-fold), before wasm-opt (3 more found there than after it, and
    # 200 bytes smaller). V8 then reads `[base + C]` in one instruction: all-MiniLM-L6-v2 x1.01-1.04
    # at 16 tokens and x1.03-1.06 at 128, f32 GEMM at M = 128 x1.03-1.07 (AMD EPYC, 2026-12-07).
    echo "build-wasm: fold constant address additions into SIMD load offsets"
    cargo build --release --quiet -p glassbox-wasm-fold
    fold_dir="$target_dir/wasm-fold/$out-$flavour"
    mkdir -p "$fold_dir"
    "$target_dir/release/glassbox-wasm-fold" "$raw" "$fold_dir/glassbox.wasm"
    input="$fold_dir/glassbox.wasm"

    if [ "${GLASSBOX_NO_OPT:-0}" != "1" ]; then
        echo "build-wasm: wasm-opt -Oz ($("$opt" --version))"
        opt_dir="$target_dir/wasm-opt/$out-$flavour"
        mkdir -p "$opt_dir"
        # -Oz: the kernels arrive already unrolled and inlined by LLVM (glassbox-kernels at opt-level 3),
        # so binaryen sizes the rest down; measured no slower than -O3 on bench/kernels.mjs.
        # --low-memory-unused lets binaryen fold constant address offsets into loads and stores (9 KB
        # smaller). It assumes nothing lives in the first 1 KB of memory, which holds for Rust's wasm32
        # layout: the stack comes first and grows down from 1 MB, statics and the heap sit above it, and
        # no Rust pointer is null-near; a folded offset changes behaviour only for an address that
        # wraps past 4 GB into that first kilobyte. --ignore-implicit-traps (2 KB) lets it move or drop
        # loads and divisions as if none could trap: Rust code never relies on such a trap (indexes and
        # divisors are checked by explicit branches that panic; float-to-int conversions saturate).
        # --converge repeats the passes until nothing shrinks (under 1 KB more; left out for the relaxed
        # build, whose binaryen runs as JavaScript: about 30 s for one round of passes).
        local converge=(--converge)
        [ "$flavour" = relaxed ] && converge=()
        "$opt" -Oz --low-memory-unused --ignore-implicit-traps "${converge[@]}" "${features[@]}" "$input" -o "$opt_dir/glassbox.wasm"
        input="$opt_dir/glassbox.wasm"
    fi

    echo "build-wasm: wasm-bindgen --target web -> $out/"
    mkdir -p "$out"
    local bindgen_out="$out"
    [ "$flavour" = relaxed ] && bindgen_out="$target_dir/wasm-bindgen/$out-relaxed"
    # The name section (function names, ~10% of the file) is only for stack traces: not shipped.
    wasm-bindgen --target web --remove-name-section --remove-producers-section --out-dir "$bindgen_out" "$input"
    wasm="$out/glassbox_bg.wasm"
    if [ "$flavour" = relaxed ]; then
        cmp -s "$bindgen_out/glassbox.js" "$out/glassbox.js" \
            || die "wasm-bindgen wrote different glue for the relaxed-SIMD build than for $out/glassbox.js: the two wasm files cannot share it"
        wasm="$out/glassbox_relaxed_bg.wasm"
        cp "$bindgen_out/glassbox_bg.wasm" "$wasm"
    fi

    # Prove the SIMD is in the binary rather than trusting the flags.
    text="$("$dis" "${features[@]}" "$wasm")"
    count() { { grep -oE "\(($1)[.a-z0-9_]*" <<<"$text" || true; } | wc -l; }
    simd_total="$(count 'v128|f32x4|i32x4|i64x2|f64x2|i16x8|i8x16')"
    simd_f32="$(count 'f32x4')"
    simd_mem="$(count 'v128\.load|v128\.store')"
    fused="$(count 'f32x4\.relaxed_madd')"
    bytes="$(wc -c <"$wasm")"
    gz="$(gzip -9 -c "$wasm" | wc -c)"

    echo "build-wasm: $wasm"
    printf '  size:          %d bytes (%d KiB), gzip -9: %d bytes (%d KiB)\n' "$bytes" $((bytes / 1024)) "$gz" $((gz / 1024))
    printf '  SIMD opcodes:  %d total, %d f32x4.* (%d fused multiply-adds), %d v128 loads/stores\n' "$simd_total" "$simd_f32" "$fused" "$simd_mem"
    [ "$simd_total" -gt 0 ] || die "the binary has no SIMD instructions: was +simd128 dropped (RUSTFLAGS? .cargo/config.toml?)"
    if [ "$flavour" = relaxed ]; then
        [ "$fused" -gt 0 ] || die "the relaxed-SIMD build has no f32x4.relaxed_madd: was +relaxed-simd dropped?"
    fi
}

build pkg simd128
build pkg relaxed
if [ "$with_checks" = 1 ]; then
    build pkg-checks simd128 --features checks
    build pkg-checks relaxed --features checks
fi
