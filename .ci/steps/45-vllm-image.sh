#!/usr/bin/env bash
# A Docker image that runs the real vLLM CPU server of 40-vllm.sh as a Compose service, for the
# tests that bring vLLM up and down through Compose (sddd grid run). Registries are
# unreachable and a 3.4 GB environment is too big to copy into an image on every fresh machine,
# so the image holds no files of its own: a few empty folders and links, imported from a
# tarball in under a second (about 100 bytes). The container gets, bind-mounted read-only at the
# same paths as here:
#   /usr                  the host's programs and libraries (libnuma for vLLM's kernels, lscpu,
#                         busybox for the healthcheck); /bin, /lib, /lib64 are links into it,
#                         as on this merged-/usr Debian 12
#   the base Python       /root/.pyenv/versions/3.11.7 here (the venv's bin/python is an
#                         absolute link to it and pyvenv.cfg names it)
#   /opt/sddd-vllm        the vLLM environment
# The image's labels list those paths (sddd.vllm.mounts), so a test can write the volumes:
#   docker image inspect -f '{{index .Config.Labels "sddd.vllm.mounts"}}' sddd-test/vllm-cpu:local
# Its entrypoint is `python -m vllm.entrypoints.openai.api_server`, so a profile's `command:`
# holds only vLLM flags, as with vllm/vllm-openai (`vllm serve` fails with vllm-cpu, see 40-vllm.sh).
#
# - /sbin is a real folder, not a link into /usr: Docker mounts its init (tini) at
#   /sbin/docker-init for `init: true`, which fails under a read-only /usr.
# - The healthcheck is busybox's wget from the host's /usr (busybox-static, 20-docker.sh):
#   curl is not on a fresh machine. The container also needs `shm_size:` of 1gb or so: with
#   Docker's 64 MB /dev/shm vLLM stops with "Insufficient space in /dev/shm".
# - A `debootstrap --variant=minbase` rootfs instead (87 MB, about 60 s with the download from
#   the Debian mirror) starts vLLM no faster, and its libraries must match the Debian release
#   the host's Python was built on; mounting the host's /usr keeps them the same by construction.
# Cost, measured on the 2-core dev machine: under 1 s to build, then 14-25 s to check that
# vLLM's kernels load in the container. The tiny model is then healthy ~95 s after `up -d`.
# Idempotent: an image whose recipe label matches is left alone (well under a second).
set -euo pipefail
IMAGE="${SDDD_VLLM_IMAGE:-sddd-test/vllm-cpu:local}"
VENV="${SDDD_VLLM_VENV:-/opt/sddd-vllm}"
RECIPE=1  # bump when the layout below changes

[ -f "$VENV/.sddd-vllm-ready" ] || { echo "no vLLM environment at $VENV: run .ci/steps/40-vllm.sh first"; exit 1; }
docker info >/dev/null 2>&1 || { echo "no Docker engine: run .ci/steps/20-docker.sh first"; exit 1; }
for d in bin lib lib64 sbin; do
    [ "$(readlink -f "/$d")" = "/usr/$d" ] || { echo "/$d is not a link to /usr/$d: the image needs a merged /usr"; exit 1; }
done
busybox --list 2>/dev/null | grep -x wget >/dev/null || { echo "busybox with wget missing (busybox-static, 20-docker.sh)"; exit 1; }
PYHOME=$("$VENV/bin/python" -c 'import sys; print(sys.base_prefix)')
# Host paths to mount at the same place; a Python under /usr comes with /usr.
MOUNTS="/usr"
case "$PYHOME/" in /usr/*) ;; *) MOUNTS+=" $PYHOME" ;; esac
MOUNTS+=" $VENV"
KEY="$RECIPE $MOUNTS"

if [ "$(docker image inspect -f '{{index .Config.Labels "sddd.vllm.recipe"}}' "$IMAGE" 2>/dev/null)" = "$KEY" ]; then
    echo "vLLM test image $IMAGE ready (mounts: $MOUNTS)"
    exit 0
fi

start=$(date +%s)
previous=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)  # an older recipe's
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{usr,sbin,etc,root,tmp,var/tmp,proc,sys,dev,models}
chmod 1777 "$root/tmp" "$root/var/tmp"
for d in bin lib lib64; do ln -s "usr/$d" "$root/$d"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"  # getpass.getuser() in torch
echo 'root:x:0:' > "$root/etc/group"
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' > "$root/etc/nsswitch.conf"
args=()
for m in $MOUNTS; do args+=(-v "$m:$m:ro"); done
tar --numeric-owner -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8 HF_HUB_OFFLINE=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1 VLLM_CPU_KVCACHE_SPACE=1' \
    -c "ENTRYPOINT [\"$VENV/bin/python\", \"-m\", \"vllm.entrypoints.openai.api_server\"]" \
    -c 'EXPOSE 8000' \
    -c "LABEL sddd.vllm.recipe=\"$KEY\" sddd.vllm.mounts=\"$MOUNTS\"" \
    - "$IMAGE" >/dev/null

# vLLM imports its kernels (the AVX2 or AVX512 build, with libnuma) only as a warning on
# failure, so load them here, inside the container, and fail the step instead.
check='import ctypes, ssl, sqlite3; ctypes.CDLL("libnuma.so.1")
import torch
from vllm.platforms.cpu import CpuPlatform
CpuPlatform.import_kernels()
print("vllm kernels load in the container: torch", torch.__version__, torch.ops._C.rms_norm)'
if ! docker run --rm --network none "${args[@]}" --entrypoint "$VENV/bin/python" "$IMAGE" -c "$check" \
        || ! docker run --rm --network none "${args[@]}" --entrypoint busybox "$IMAGE" true; then
    docker rmi -f "$IMAGE" >/dev/null 2>&1 || true
    echo "the vLLM test image $IMAGE does not work; removed"
    exit 1
fi
[ -z "$previous" ] || docker rmi "$previous" >/dev/null 2>&1 || true
echo "vLLM test image $IMAGE built in $(( $(date +%s) - start )) s (mounts: $MOUNTS)"
