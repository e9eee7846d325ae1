#!/usr/bin/env bash
# Packs what bench/device_check.py and the workflow need on the lent GPU machine (Python 3.12,
# torch with CUDA, numpy, h5py, scikit-image, opencv-python-headless WITHOUT contrib, no
# snakemake, no jsonschema, no PyMaxflow, no pydensecrf; nothing can be downloaded there) into
# .devenv/ of the checkout the device tool sends (at most 64 MiB travel per call):
#
#   .devenv/site.tar.xz          cp312 wheels installed with --target, xz'd (~42 MiB):
#                                opencv-contrib-python-headless 4.10 (cv2.optflow, cv2.ximgproc;
#                                its wheel alone is 53 MiB), PyMaxflow, jsonschema, snakemake 9.27.1
#                                and their dependencies the GPU image lacks (pulp left out:
#                                device_check runs snakemake with --scheduler greedy without it)
#   .devenv/pydensecrf2-1.1.tar.gz  sdist, built there (no cp312 wheel exists) with
#   .devenv/Cython-0.29.36-*.whl    the Cython it pins, the image's numpy and a C++ compiler
#
# Run here, in the repository root of that checkout, with its virtual environment active:
#   bash bench/device_env.sh            (network to PyPI; xz -6 took 9 min on a loaded 2-core machine)
# then see docs/results.md, "GPU check", for the device command.
set -euo pipefail
OUT=.devenv
TMP=$(mktemp -d /tmp/device_env.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
EXCLUDE=$(git rev-parse --git-path info/exclude)  # .devenv/ never gets committed
grep -qx '/.devenv/' "$EXCLUDE" 2>/dev/null || echo '/.devenv/' >> "$EXCLUDE"
mkdir -p "$OUT" "$TMP/local" "$TMP/dl" "$TMP/keep"
PLAT=(--only-binary=:all: --python-version 3.12 --implementation cp
      --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_5_x86_64
      --platform manylinux1_x86_64)
# connection_pool (a snakemake dependency) is published as an sdist only: a pure-Python wheel.
python -m pip wheel -q --no-deps connection_pool==0.0.3 -w "$TMP/local"
python -m pip download -q "${PLAT[@]}" --find-links "$TMP/local" -d "$TMP/dl" \
    snakemake==9.27.1 jsonschema==4.26.0 PyMaxflow==1.3.2 opencv-contrib-python-headless==4.10.0.84
# Left out: what the GPU image already holds (KINDS.md's package list) and pulp (16 MB; optional).
for f in "$TMP"/dl/*.whl; do
    case "$(basename "$f")" in
        numpy-*|pulp-*|jinja2-*|markupsafe-*|pyyaml-*|requests-*|urllib3-*|certifi-*|idna-*|\
        charset_normalizer-*|psutil-*|tabulate-*|wrapt-*|typing_extensions-*|attrs-*) ;;
        *) cp "$f" "$TMP/keep/" ;;
    esac
done
python -m pip install -q --no-deps --no-compile --no-index --target "$TMP/site" "${PLAT[@]}" "$TMP"/keep/*.whl
tar -C "$TMP/site" -cf - . | xz -T2 -6 > "$OUT/site.tar.xz.tmp"
mv "$OUT/site.tar.xz.tmp" "$OUT/site.tar.xz"
# pydensecrf2: its sdist (only it from source; its metadata step installs Cython 0.29 here) and
# the Cython 0.29.36 it pins for its build (the image's Cython is newer), a cp312 wheel.
python -m pip download -q --no-deps --no-binary pydensecrf2 -d "$OUT" pydensecrf2==1.1
python -m pip download -q --no-deps "${PLAT[@]}" -d "$OUT" Cython==0.29.36
ls -la "$OUT"
du -sh "$OUT"
