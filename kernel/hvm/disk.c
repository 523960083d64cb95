/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The disk of an hvm partition: glue between the config, the loader's
 * modules, the partition's memory and the virtio-blk model (see disk.h).
 */
#include "kernel/hvm/disk.h"
#include "boot/boot_info.h"
#include "kernel/config.h"
#include "kernel/errno.h"
#include "kernel/hvm/hvm.h"
#include "kernel/hvm/linux_boot.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/partition.h"

#define HVM_DISK_MIN_RAM MiB(4)

int hvm_disk_check(struct partition *p, const struct boot_info *bi, const char **why)
{
	const struct config_partition *c = p->cfg;

	p->disk = NULL;
	p->disk_layer_size = 0;
	if (!c->disk[0])
		return 0;
	if (!(p->disk = boot_find_module(bi, c->disk))) {
		*why = "its disk image was not loaded";
		return -E_NOENT;
	}
	if (!p->disk->size || p->disk->size % VIRTIO_BLK_SECTOR) {
		*why = "its disk image is not a whole number of 512-byte sectors";
		return -E_INVAL;
	}
	if (!c->disk_layer_on)
		return 0;
	if (c->disk_layer < blk_layer_map_bytes(p->disk->size) + VIRTIO_BLK_BLOCK) {
		*why = "disk_layer is too small for its disk's block map (4 bytes a 4K block) "
		       "and one block";
		return -E_RANGE;
	}
	if (p->ram_size < c->disk_layer + HVM_DISK_MIN_RAM) {
		*why = "memory minus disk_layer leaves less than 4 MiB of RAM";
		return -E_RANGE;
	}
	p->disk_layer_size = c->disk_layer;
	p->ram_size -= c->disk_layer;
	p->map_end = p->ram_size;
	return 0;
}

int hvm_disk_create(struct partition *p, const char **why)
{
	int err;

	p->disk_layer = hpa(0);
	if (!p->disk_layer_size)
		return 0;
	if ((err = page_alloc(p->disk_layer_size >> PAGE_SHIFT, 1, &p->disk_layer))) {
		p->disk_layer = hpa(0);
		*why = "no memory for its disk layer";
		return err;
	}
	return 0;
}

void hvm_disk_destroy(struct partition *p)
{
	if (p->disk_layer.v)
		page_free(p->disk_layer, p->disk_layer_size >> PAGE_SHIFT);
	p->disk_layer = hpa(0);
}

int hvm_disk_start(struct partition *p, const char **why)
{
	struct virtq_mem mem = {
		.ram = phys_to_virt(p->ram),
		.low_end = MIN(p->ram_size, HVM_BOOT_MMIO_HOLE),
		.high_end = p->ram_size > GiB(4) ? p->ram_size : 0,
	};
	int err;

	if (!p->disk)
		return 0;
	err = virtio_blk_attach(&p->hvm->blk, &p->hvm->pci, &mem, p->cfg->name,
				phys_to_virt(hpa(p->disk->phys)), p->disk->size,
				p->disk_layer.v ? phys_to_virt(p->disk_layer) : NULL,
				p->disk_layer_size);
	if (err)
		*why = "its virtio-blk device cannot be set up";
	return err;
}

u32 hvm_disk_crc32(const u8 *b, u64 len)
{
	static u32 table[256];
	u32 crc = 0xffffffffu;

	if (!table[1])
		for (u32 i = 0; i < 256; i++) {
			u32 c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	for (u64 i = 0; i < len; i++)
		crc = table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

void hvm_disk_report(struct partition *p)
{
	const struct virtio_blk *b;

	if (!p->disk || !p->hvm)
		return;
	b = &p->hvm->blk;
	/* Once per end of the partition, beside its "stopped" line (a life
	 * line, never dropped at its window's end). */
	log_guest(LOG_KIND_LIFE,
		  "hvm: partition %s: virtio-blk at its end: %llu reads, %llu writes, %llu "
		  "flushes, %llu errors, stopped %llu times; layer %llu of %llu blocks; base %s "
		  "crc32 %08x",
		  p->cfg->name, (unsigned long long)b->reads, (unsigned long long)b->writes,
		  (unsigned long long)b->flushes, (unsigned long long)b->errors,
		  (unsigned long long)b->vdev.stop_count,
		  (unsigned long long)b->disk.layer.slots_used,
		  (unsigned long long)b->disk.layer.slot_count, p->disk->name,
		  hvm_disk_crc32(phys_to_virt(hpa(p->disk->phys)), p->disk->size));
}
