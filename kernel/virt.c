/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Picks the virtualization back end and builds second-level tables in its
 * format (see virt.h).
 */
#include "kernel/virt.h"
#include "arch/x86/cpu.h"
#include "kernel/errno.h"
#include "kernel/log.h"
#include "kernel/mm.h"

extern const struct virt_ops svm_ops;
extern const struct virt_ops vmx_ops __attribute__((weak));

const struct virt_ops *virt;

int virt_init(void)
{
	bool svm = cpuid(0x80000001, 0).ecx & (1u << 2);
	bool vmx = cpuid(1, 0).ecx & (1u << 5);
	int err;

	if (svm)
		virt = &svm_ops;
	else if (vmx && &vmx_ops)
		virt = &vmx_ops;
	else if (vmx) {
		log_line("virt: this CPU has VMX, but this build has no VMX back end");
		return -E_NOTSUP;
	} else {
		log_line("virt: this CPU has neither SVM nor VMX; partitions cannot run");
		return -E_NOTSUP;
	}
	err = virt->cpu_enable();
	if (err)
		virt = NULL;
	return err;
}

static void *slat_alloc_table(void *ctx, u64 *phys)
{
	hpa_t pa;

	(void)ctx;
	if (page_alloc(1, 1, &pa))
		return NULL;
	*phys = pa.v;
	return phys_to_virt(pa);
}

static void *slat_table_virt(void *ctx, u64 phys)
{
	(void)ctx;
	return phys_to_virt(hpa(phys));
}

static void slat_free_table(void *ctx, void *table, u64 phys)
{
	(void)ctx;
	(void)table;
	page_free(hpa(phys), 1);
}

int slat_init(struct slat *s)
{
	static const struct pt_ops ops = {
		.alloc_table = slat_alloc_table,
		.table_virt = slat_table_virt,
		.free_table = slat_free_table,
	};

	return pt_init(&s->pt, virt->slat_format, &ops);
}

int slat_map(struct slat *s, gpa_t g, hpa_t h, u64 size, unsigned rights)
{
	return pt_map(&s->pt, g.v, h.v, size, virt->slat_leaf_flags(rights), true);
}

int slat_unmap(struct slat *s, gpa_t g, u64 size)
{
	return pt_unmap(&s->pt, g.v, size);
}

void slat_destroy(struct slat *s)
{
	pt_destroy(&s->pt);
}
