/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * irqlat: device interrupt latency, from the device raising its MSI to this
 * partition learning of it (its HC_WAIT returning the device's event bit).
 * It owns QEMU's `edu` device (1234:11e8; QEMU docs/specs/edu.rst), whose
 * interrupts the hypervisor routes to it (kernel/devirq.h).  Two cases, each
 * `samples` times (cmdline `samples=N`, default 20):
 *
 *   running  the partition runs in its window and raises the interrupt
 *            itself (a write to edu's interrupt raise register, 0x60, which
 *            sends the MSI at once), then calls HC_WAIT: raise -> the exit
 *            the interrupt causes -> the hypervisor's handler -> back in
 *            the guest -> HC_WAIT returns the bit.  Measured from the TSC
 *            read just before the write.
 *   waiting  the partition starts a DMA with "raise an interrupt when done"
 *            (edu's DMA command 0x98, bit 2) and waits in HC_WAIT; its CPU
 *            halts.  edu finishes the DMA on a QEMU_CLOCK_VIRTUAL timer
 *            armed at (the clock in whole ms) + 100 ms, so the raise time is
 *            known: under -icount the TSC is that clock (both are QEMU's
 *            instruction count in ns), and the raise is at
 *            (floor(t_cmd / 1 ms) + 100) ms.  A sample whose command was
 *            written within 2 us of a ms boundary is left out.
 *
 * TSC cycles under `-icount shift=0` are instructions (1 ns each); under
 * shift=N, 2^N ns each.  Prints `[irqlat] running: median ... max ...` and
 * the same for waiting, the interrupt count, and ends with 0 (or 1 when an
 * interrupt did not arrive).
 */
#include "guests/lib/cpu.h"
#include "guests/lib/guest.h"

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_ID 0x00
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK 0x64
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_COUNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_DMA_START 1u
#define EDU_DMA_IRQ 4u /* raise interrupt 0x100 when done */
#define EDU_DMA_BUF 0x40000
#define PCI_COMMAND 0x04
#define MAX_SAMPLES 64

static volatile u32 *edu;
static u64 dma_src[8] __attribute__((aligned(64)));

static u32 rd(unsigned off)
{
	return edu[off / 4];
}

static void wr(unsigned off, u32 v)
{
	edu[off / 4] = v;
}

static void wr64(unsigned off, u64 v)
{
	*(volatile u64 *)((volatile u8 *)edu + off) = v;
}

static unsigned cmd_value(const char *cmdline, const char *key, unsigned dflt)
{
	for (const char *p = cmdline; *p; p++) {
		const char *k = key, *q = p;
		while (*k && *q == *k)
			k++, q++;
		if (*k || *q != '=' || (p != cmdline && p[-1] != ' '))
			continue;
		unsigned v = 0;
		for (q++; *q >= '0' && *q <= '9'; q++)
			v = v * 10 + (unsigned)(*q - '0');
		return v;
	}
	return dflt;
}

static void sort(u64 *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
			u64 t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

static void report(const char *what, u64 *v, unsigned n)
{
	if (!n) {
		printf("%s: no samples\n", what);
		return;
	}
	sort(v, n);
	printf("%s: %u samples, median %llu, min %llu, max %llu TSC cycles\n", what, n,
	       (unsigned long long)v[n / 2], (unsigned long long)v[0],
	       (unsigned long long)v[n - 1]);
}

/* HC_WAIT until the device's bit (other bits are kept waiting), or -1
 * after deadline_ns (HC_TIME's clock). */
static long wait_device(u32 bit, u64 deadline_ns)
{
	for (;;) {
		long ev = hc_wait(deadline_ns);
		if (ev < 0)
			return ev;
		if ((u32)ev & bit)
			return 0;
		if (hc_time() >= deadline_ns)
			return -1;
	}
}

int guest_main(const struct partita_start_info *si)
{
	static u64 running[MAX_SAMPLES], waiting[MAX_SAMPLES];
	unsigned n = cmd_value(si->cmdline, "samples", 20), k = 0, nr = 0, nw = 0, lost = 0;

	if (n > MAX_SAMPLES)
		n = MAX_SAMPLES;
	while (k < si->device_count &&
	       !(si->devices[k].vendor_id == EDU_VENDOR && si->devices[k].device_id == EDU_DEVICE))
		k++;
	GUEST_ASSERT(k < si->device_count);
	const struct partita_device_info *d = &si->devices[k];
	u32 bit = PARTITA_DEVICE_EVENT(k);
	printf("edu %02x:%02x.%x, BAR0 at %#llx, interrupts: %s, event bit %#x\n", d->bus, d->dev,
	       d->fn, (unsigned long long)d->bars[0].gpa,
	       d->irq == PARTITA_DEVICE_IRQ_MSI	 ? "MSI" :
	       d->irq == PARTITA_DEVICE_IRQ_MSIX ? "MSI-X" :
						   "none",
	       bit);
	GUEST_ASSERT(d->irq == PARTITA_DEVICE_IRQ_MSI);
	edu = (volatile u32 *)(uintptr_t)d->bars[0].gpa;
	/* Memory space and bus mastering: an MSI is a memory write. */
	hc_call(HC_PCI_WRITE, (long)k, PCI_COMMAND, 2, 0x6, 0);
	GUEST_ASSERT((rd(EDU_ID) & 0xff) == 0xed);
	/* The MSI capability is the hypervisor's: the write is refused. */
	GUEST_ASSERT(hc_call(HC_PCI_WRITE, (long)k, 0x40, 4, 0, 0) == -PARTITA_E_PERM ||
		     hc_call(HC_PCI_READ, (long)k, 0x40, 1, 0, 0) != 0x05);

	/* running */
	for (unsigned i = 0; i < n; i++) {
		u64 t0 = rdtsc();
		wr(EDU_IRQ_RAISE, 1);
		long r = wait_device(bit, hc_time() + 50000000ULL);
		u64 t1 = rdtsc();
		wr(EDU_IRQ_ACK, rd(EDU_IRQ_STATUS));
		if (r) {
			lost++;
			continue;
		}
		running[nr++] = t1 - t0;
	}
	/* waiting */
	for (unsigned i = 0; i < n; i++) {
		wr64(EDU_DMA_SRC, (u64)(uintptr_t)dma_src + si->dma_offset);
		wr64(EDU_DMA_DST, EDU_DMA_BUF);
		wr64(EDU_DMA_COUNT, sizeof(dma_src));
		u64 t0 = rdtsc();
		wr64(EDU_DMA_CMD, EDU_DMA_START | EDU_DMA_IRQ);
		u64 t0b = rdtsc();
		long r = wait_device(bit, hc_time() + 500000000ULL);
		u64 t1 = rdtsc();
		wr(EDU_IRQ_ACK, rd(EDU_IRQ_STATUS));
		if (r) {
			lost++;
			continue;
		}
		u64 ms0 = t0 / 1000000ULL, ms1 = t0b / 1000000ULL;
		if (ms0 != ms1 || t0 % 1000000ULL < 2000)
			continue; /* the raise time is ambiguous */
		u64 raise = (ms0 + 100) * 1000000ULL;
		if (t1 < raise) {
			printf("FAIL: woken %llu cycles before the raise (TSC is not the "
			       "virtual clock: run under -icount)\n",
			       (unsigned long long)(raise - t1));
			return 1;
		}
		waiting[nw++] = t1 - raise;
	}
	report("running", running, nr);
	report("waiting", waiting, nw);
	printf("%u interrupts lost\n", lost);
	printf("done\n");
	return lost ? 1 : 0;
}
