#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Boots the Linux test guest (BUILD/guests/vmlinuz and initrd.gz) directly in
# QEMU, no hypervisor, and prints the wall-clock seconds from QEMU's start to
# the first "partita-test:" line on the serial port: the reference for the
# boot time of the same kernel and initramfs in a partition.
#
# usage: guests/linux/direct-boot-time.sh [BUILD]
# environment: QEMU_EXTRA  more QEMU options (e.g. "-cpu qemu64,+svm,+npt,+rdrand" to
#                          match the partition's CPU model, or "-icount shift=0")
#              TIMEOUT     seconds before giving up (default 120)
# Prints one line, e.g. "7.91"; exits 1 (printing nothing) if the line never
# came.
set -euo pipefail

build=${1:-build}
kernel=$build/guests/vmlinuz
initrd=$build/guests/initrd.gz
[ -f "$kernel" ] && [ -f "$initrd" ] || { echo "error: $kernel or $initrd missing (make linux)" >&2; exit 2; }

start=$(date +%s%N)
found=
# QEMU's serial goes to stdout; the loop notes the time of the first marker
# and keeps reading until QEMU ends (the guest powers off), so no QEMU is left
# behind; timeout bounds a guest that hangs.
while IFS= read -r line; do
	if [ -z "$found" ] && [[ $line == *partita-test:* ]]; then
		found=$(date +%s%N)
	fi
done < <(timeout "${TIMEOUT:-120}" qemu-system-x86_64 -nodefaults -machine q35 -m 256M -accel tcg \
	${QEMU_EXTRA:-} -kernel "$kernel" -initrd "$initrd" -append 'console=ttyS0' \
	-serial stdio -display none -no-reboot -monitor none </dev/null 2>/dev/null)
[ -n "$found" ] || exit 1
awk -v ns=$((found - start)) 'BEGIN { printf "%.2f\n", ns / 1e9 }'
