#!/usr/bin/env bash
# Builds digitd for the board and packs it: stripped binary, model, config, init script.
#
#   board/build.sh [--target uclibc|gnueabihf] [--cpu] [--out DIR]
#
#   --target uclibc     the RV1106 board (default): armv7-unknown-linux-uclibceabihf, nightly
#                       with -Zbuild-std, the vendor SDK's arm-rockchip830-linux-uclibcgnueabihf-gcc
#                       on PATH (Luckfox SDK: tools/linux/toolchain/arm-rockchip830-linux-uclibcgnueabihf/bin)
#   --target gnueabihf  glibc ARM (Debian's arm-linux-gnueabihf-gcc), for qemu-arm on a PC
#   --cpu               also build the CPU classifier (tract): bigger binary, no NPU needed
#
# Output: DIR/digitd-<target>.tar.gz (default DIR: target/board) holding
#   bin/digitd, share/digitd/{MANIFEST.json,digits.rknn,golden.json[,digits.onnx][,large/ with the same]},
#   etc/digitd.toml, init.d/S99digitd — the layout board/deploy.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."

target=uclibc
cpu=0
out=target/board
while [ $# -gt 0 ]; do
    case "$1" in
        --target) target=$2; shift 2 ;;
        --cpu) cpu=1; shift ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

features=npu,camera,web
[ "$cpu" = 1 ] && features=npu,camera,web,cpu
case "$target" in
    uclibc)
        triple=armv7-unknown-linux-uclibceabihf
        linker=arm-rockchip830-linux-uclibcgnueabihf-gcc
        cargo=(cargo +nightly build -Zbuild-std=std,panic_abort)
        ;;
    gnueabihf)
        triple=armv7-unknown-linux-gnueabihf
        linker=arm-linux-gnueabihf-gcc
        cargo=(cargo build)
        ;;
    *) echo "build.sh: --target is uclibc or gnueabihf, not $target" >&2; exit 2 ;;
esac
if ! command -v "$linker" >/dev/null; then
    echo "build.sh: the cross linker $linker is not on PATH (see board/README.md, 'Toolchain')" >&2
    exit 1
fi
if [ "$target" = uclibc ] && [ -z "${BINDGEN_EXTRA_CLANG_ARGS_armv7_unknown_linux_uclibceabihf:-}" ]; then
    # bindgen (RKNN header, linux/videodev2.h) must parse the board's own C headers: hard
    # float, and the vendor toolchain's sysroot for the uClibc and kernel headers.
    export BINDGEN_EXTRA_CLANG_ARGS_armv7_unknown_linux_uclibceabihf="-mfloat-abi=hard --sysroot=$("$linker" -print-sysroot)"
fi

"${cargo[@]}" --profile board --target "$triple" --no-default-features --features "$features"
bin=target/$triple/board/digitd
size=$(wc -c < "$bin")
echo "binary: $bin ($size bytes, stripped)"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/share/digitd" "$stage/etc" "$stage/init.d"
cp "$bin" "$stage/bin/digitd"
cp model/artifacts/MANIFEST.json model/artifacts/digits.rknn model/artifacts/golden.json "$stage/share/digitd/"
# The manifest lists the ONNX model too; ship it so the CPU fallback works when built in.
cp model/artifacts/digits.onnx "$stage/share/digitd/"
# A larger model the manifest pairs with the shipped one for unsure digits (second_opinion),
# with its own golden vectors for `digitd selftest`.
if [ -d model/artifacts/large ]; then
    mkdir -p "$stage/share/digitd/large"
    cp model/artifacts/large/MANIFEST.json model/artifacts/large/digits.rknn model/artifacts/large/digits.onnx \
        model/artifacts/large/golden.json "$stage/share/digitd/large/"
fi
# Replayed by the board config until the V4L2 camera source exists.
cp assets/sample/clip.y4m.gz "$stage/share/digitd/clip.y4m.gz"
cp board/digitd-board.toml "$stage/etc/digitd.toml"
cp board/S99digitd "$stage/init.d/S99digitd"
mkdir -p "$out"
tar -C "$stage" -czf "$out/digitd-$target.tar.gz" .
echo "package: $out/digitd-$target.tar.gz"
