#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Builds the stock-Linux test guest from Debian's packages, without installing
# anything on this machine:
#   - the kernel package that linux-image-amd64 depends on, and busybox-static,
#     fetched with `apt-get download` and unpacked with `dpkg -x` into
#     BUILD/linux/;
#   - an initramfs (newc cpio, gzip) holding busybox, a /bin/sh link to it and
#     guests/linux/init, packed with busybox's own cpio (this machine has no
#     cpio command).
#   - the kernel modules for virtio-blk and ext2 (virtio, virtio_ring,
#     virtio_pci and its modern/legacy helpers, virtio_blk; ext4, which
#     serves ext2, with jbd2, mbcache, crc16, crc32c) from the same kernel
#     package, with their dependencies in load order (read from each .ko's
#     depends= field: the package has no modules.dep), in /lib/modules;
#   - BUILD/guests/disk.img, an 8 MiB ext2 image made with e2fsprogs'
#     `mke2fs -d` from a small tree (no root needed), the base disk of the
#     virtio-blk cases.
# Produces BUILD/guests/vmlinuz, BUILD/guests/initrd.gz and
# BUILD/guests/disk.img.
#
# usage: guests/linux/build.sh [BUILD]      (BUILD defaults to ./build)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(mkdir -p "${1:-build}" && cd "${1:-build}" && pwd)
work=$build/linux
out=$build/guests
mkdir -p "$work/debs" "$out"

die() { echo "error: $*" >&2; exit 1; }
command -v apt-get >/dev/null || die "apt-get not found (a Debian system is needed)"
command -v dpkg >/dev/null || die "dpkg not found"

# The versioned package behind the linux-image-amd64 meta-package.
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '/^ *Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$kpkg" ] || die "cannot resolve linux-image-amd64 (run apt-get update?)"

# Download once: the .deb files stay in BUILD/linux/debs.  As root, apt's
# sandbox user cannot write here, so it is turned off for this call.
fetch() {
	local pkg=$1
	if ! ls "$work/debs/${pkg}_"*.deb >/dev/null 2>&1; then
		echo "  APT     download $pkg" >&2
		(cd "$work/debs" && apt-get -q -o APT::Sandbox::User=root download "$pkg" \
			>"$work/download-$pkg.log" 2>&1) ||
			{ cat "$work/download-$pkg.log"; die "apt-get download $pkg failed"; }
	fi
	ls "$work/debs/${pkg}_"*.deb | head -n1
}
kdeb=$(fetch "$kpkg")
bdeb=$(fetch busybox-static)

rm -rf "$work/kernel" "$work/busybox"
echo "  DPKG    -x $(basename "$kdeb")"
dpkg -x "$kdeb" "$work/kernel"
dpkg -x "$bdeb" "$work/busybox"

vmlinuz=$(ls "$work"/kernel/boot/vmlinuz-* | head -n1)
[ -f "$vmlinuz" ] || die "no /boot/vmlinuz-* in $kdeb"
busybox=$work/busybox/bin/busybox
[ -x "$busybox" ] || die "no /bin/busybox in $bdeb"

# The initramfs tree.
root=$work/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root}
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"     # /init is a #!/bin/sh script
install -m 0755 "$here/init" "$root/init"
# The kernel opens /dev/console for init's output before /init can mount
# devtmpfs; the node needs root to create (the kernel's built-in initramfs
# usually has one anyway).
if [ "$(id -u)" = 0 ]; then
	mknod -m 600 "$root/dev/console" c 5 1
fi

# Modules, each after what it depends on.
kmod=$(ls -d "$work"/kernel/lib/modules/* | head -n1)
[ -d "$kmod" ] || die "no /lib/modules/* in $kdeb"
mkdir -p "$root/lib/modules"
: >"$root/lib/modules/load.order"
declare -A module_done
add_module() {
	local name=${1//-/_} ko dep
	[ -n "${module_done[$name]:-}" ] && return 0
	module_done[$name]=1
	ko=$(find "$kmod/kernel" -name "$name.ko" -o -name "${name//_/-}.ko" | head -n1)
	[ -n "$ko" ] || die "module $name not in $kdeb"
	for dep in $(strings -a "$ko" | sed -n 's/^depends=//p' | tr ',' ' '); do
		add_module "$dep"
	done
	cp "$ko" "$root/lib/modules/"
	echo "$(basename "$ko")" >>"$root/lib/modules/load.order"
}
for m in virtio_pci virtio_blk crc32c_generic ext4; do
	add_module "$m"
done
echo "  MODULES $(tr '\n' ' ' <"$root/lib/modules/load.order")"

# The base disk image of the virtio-blk cases.
command -v mke2fs >/dev/null || PATH=$PATH:/usr/sbin:/sbin
command -v mke2fs >/dev/null || die "mke2fs not found (apt-get install e2fsprogs)"
disk_tree=$work/disk-tree
rm -rf "$disk_tree"
mkdir -p "$disk_tree"
echo "partita base image" >"$disk_tree/hello.txt"
# The same bytes at every build (the cases compare the image's CRC-32 with
# the hypervisor's): fixed times, UUID and directory hash seed.
touch -d @1700000000 "$disk_tree/hello.txt" "$disk_tree"
rm -f "$out/disk.img.tmp"
E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext2 -b 4096 -L partita \
	-U 7061722d-7469-7461-2d64-69736b000001 \
	-E root_owner=0:0,hash_seed=7061722d-7469-7461-2d68-617368000001 \
	-d "$disk_tree" "$out/disk.img.tmp" 8M || die "mke2fs -d failed"
# mke2fs -d copies each file's ctime, which touch cannot set: debugfs does.
for f in / /hello.txt; do
	E2FSPROGS_FAKE_TIME=1700000000 debugfs -w -R "set_inode_field $f ctime 20231114221320" \
		"$out/disk.img.tmp" >/dev/null 2>&1 || die "debugfs failed"
done
mv "$out/disk.img.tmp" "$out/disk.img"
echo "  MKE2FS  $out/disk.img"

echo "  CPIO    $out/initrd.gz"
(cd "$root" && find . | sort | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -9 >"$out/initrd.gz.tmp"
mv "$out/initrd.gz.tmp" "$out/initrd.gz"
cp "$vmlinuz" "$out/vmlinuz"
echo "  LINUX   $out/vmlinuz ($(basename "$vmlinuz")), $out/initrd.gz"
