/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mbtest's checks of the interrupt controller and bus of the virtual PC
 * (kernel/hvm/vioapic.h, vpci.h, acpi_tables.h), as an OS would find them:
 *
 *   acpi-madt-ioapic   the MADT lists the I/O APIC at 0xfec00000 (GSI base
 *                      0) and the overrides IRQ0 -> GSI 2, SCI level/low
 *   acpi-mcfg          the MCFG gives ECAM for buses 0-255 at 0xe0000000
 *   ioapic-registers   ID, version 0x11 with 24 entries, entries masked at
 *                      reset, read-only bits, undefined registers
 *   ioapic-pit-edge    the PIT's IRQ0 arrives through pin 2, edge-triggered
 *   ioapic-level-eoi   the UART's IRQ4 as a level interrupt on pin 4:
 *                      remote IRR set until the local APIC's EOI, nothing
 *                      delivered while masked, the line held and re-sent
 *   pci-config-cf8     the host bridge through 0xcf8/0xcfc at every size and
 *                      offset, read-only IDs, absent functions all-ones
 *   pci-config-ecam    the same bytes through ECAM, absent buses all-ones
 *   x2apic             CPUID offers it; IA32_APIC_BASE.EXTD switches the
 *                      local APIC to x2APIC mode: ID, version, logical ID by
 *                      MSR, the xAPIC page gone, a self-IPI through MSR
 *                      0x83f, the PIT through the I/O APIC to x2APIC ID 0,
 *                      EOIs by MSR 0x80b (SDM Vol. 3A §11.12)
 *   x2apic-ir          the DMAR table's remapping unit (kernel/hvm/viommu.h)
 *                      over the I/O APIC: IR, EIM and QI offered; an IRTE
 *                      table set with SIRTP, an invalidation-wait status
 *                      written through the queue; with IRE the PIT arrives
 *                      in x2APIC mode through a remappable pin-2 entry
 *                      (32-bit destination), and an entry that is not
 *                      present drops it and records fault 0x22 (VT-d spec
 *                      5.1, 6.5.2, 7.1, 8.3, 9.10)
 *
 * Paging is off, so MMIO addresses are used as they are.
 */
#include "mbtest.h"

#define IOAPIC 0xfec00000u
#define ECAM 0xe0000000u
#define LAPIC 0xfee00000u
#define EDGE_VECTOR 0x41
#define LEVEL_VECTOR 0x42
#define X2APIC_IPI_VECTOR 0x43
#define X2APIC_IOAPIC_VECTOR 0x44

/* The PIT's channel 0 in mode 2 (rate generator) at about 100 Hz: 11932
 * ticks of its 1.193182 MHz clock.  Not faster: Bochs runs 4 instructions
 * per emulated microsecond, and on VMX each PIT interrupt costs three exits
 * (the interrupt window, the VMX-preemption timer at the tick, the EOI
 * emulated from an EPT violation: counted in vmx_run), more than the 4,000
 * instructions that a 1 kHz tick leaves.  The next interrupt was then
 * always pending at the handler's IRET, and the loop that waits for the
 * count never ran again, as on a PC whose CPU is too slow for its timer. */
#define PIT_DIVISOR 11932u
#define SPIN_LIMIT 200000000u

enum {
	CHECK_ACPI_MADT = 40,
	CHECK_ACPI_MCFG,
	CHECK_IOAPIC_REGS,
	CHECK_IOAPIC_PIT,
	CHECK_IOAPIC_LEVEL,
	CHECK_PCI_CF8,
	CHECK_PCI_ECAM,
	CHECK_X2APIC,
	CHECK_X2APIC_IR,
};
#define CHECK(n, name, cond) report(n, name, (cond), __FILE__, __LINE__)

volatile uint32_t ioapic_edge_count, ioapic_level_count, x2apic_count;
void ioapic_edge_stub(void);
void ioapic_level_stub(void);
void x2apic_stub(void);

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t mmio32(uint32_t a)
{
	return *(volatile uint32_t *)a;
}
static inline void mmio32_write(uint32_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | (uint64_t)hi << 32;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint32_t ioapic_read(uint32_t index)
{
	mmio32_write(IOAPIC, index);
	return mmio32(IOAPIC + 0x10);
}
static void ioapic_write(uint32_t index, uint32_t v)
{
	mmio32_write(IOAPIC, index);
	mmio32_write(IOAPIC + 0x10, v);
}

static void pit_start_periodic(void)
{
	outb(0x43, 0x34);
	outb(0x40, PIT_DIVISOR & 0xff);
	outb(0x40, PIT_DIVISOR >> 8);
}

/* ---- ACPI: the RSDP in 0xe0000-0xfffff, the RSDT's tables. */

static bool same(const volatile uint8_t *p, const char *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (p[i] != (uint8_t)s[i])
			return false;
	return true;
}

static uint32_t rd32(const volatile uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const volatile uint8_t *acpi_table(const char sig[4])
{
	for (uint32_t a = 0xe0000; a < 0x100000; a += 16) {
		const volatile uint8_t *p = (const volatile uint8_t *)a;
		if (!same(p, "RSD PTR ", 8))
			continue;
		const volatile uint8_t *rsdt = (const volatile uint8_t *)rd32(p + 16);
		uint32_t len = rd32(rsdt + 4);
		for (uint32_t off = 36; off + 4 <= len; off += 4) {
			const volatile uint8_t *t = (const volatile uint8_t *)rd32(rsdt + off);
			if (same(t, sig, 4))
				return t;
		}
		return 0;
	}
	return 0;
}

static void check_acpi(void)
{
	const volatile uint8_t *madt = acpi_table("APIC");
	bool ioapic = false, irq0 = false, sci = false;
	if (madt) {
		uint32_t len = rd32(madt + 4);
		for (uint32_t off = 44; off + 2 <= len && madt[off + 1] >= 2;
		     off += madt[off + 1]) {
			const volatile uint8_t *e = madt + off;
			if (e[0] == 1 && rd32(e + 4) == IOAPIC && rd32(e + 8) == 0)
				ioapic = true;
			if (e[0] == 2 && e[3] == 0 && rd32(e + 4) == 2)
				irq0 = true;
			if (e[0] == 2 && e[3] == 9 && rd32(e + 4) == 9 && (e[8] & 0xf) == 0xf)
				sci = true;
		}
	}
	CHECK(CHECK_ACPI_MADT, "acpi-madt-ioapic", ioapic && irq0 && sci);
	const volatile uint8_t *mcfg = acpi_table("MCFG");
	CHECK(CHECK_ACPI_MCFG, "acpi-mcfg",
	      mcfg && rd32(mcfg + 4) >= 60 && rd32(mcfg + 44) == ECAM && rd32(mcfg + 48) == 0 &&
		      mcfg[52] == 0 && mcfg[53] == 0 && mcfg[54] == 0 && mcfg[55] == 255);
}

/* ---- The I/O APIC. */

static void check_ioapic_registers(void)
{
	bool masked = true;
	for (uint32_t pin = 0; pin < 24; pin++)
		masked &= (ioapic_read(0x10 + 2 * pin) & (1u << 16)) != 0;
	uint32_t ver = ioapic_read(0x01), id = ioapic_read(0x00);
	/* remote IRR (14) and delivery status (12) are read-only; the high
	 * dword keeps only the destination and the extended destination
	 * (55:48, which a PC's I/O APIC passes on for interrupt remapping) */
	ioapic_write(0x1a, 0xffffffff);
	ioapic_write(0x1b, 0xffffffff);
	uint32_t lo = ioapic_read(0x1a), hi = ioapic_read(0x1b);
	ioapic_write(0x1a, 1u << 16);
	ioapic_write(0x1b, 0);
	ioapic_write(0x01, 0);
	bool ro = ioapic_read(0x01) == ver;
	/* IOREGSEL reads back */
	mmio32_write(IOAPIC, 0x11);
	bool sel = mmio32(IOAPIC) == 0x11;
	if (ver != 0x00170011 || !masked) {
		puts("mbtest: ioapic version ");
		puthex(ver);
		puts(" id ");
		puthex(id);
		puts("\n");
	}
	CHECK(CHECK_IOAPIC_REGS, "ioapic-registers",
	      ver == 0x00170011 && (id & 0xf0ffffff) == 0 && masked && lo == 0x1afff &&
		      hi == 0xffff0000 && ro && sel);
}

static void check_ioapic_pit(void)
{
	/* Pin 2 (IRQ0 by the override): fixed, physical to APIC 0, edge,
	 * active high.  The PIT at about 100 Hz. */
	ioapic_write(0x15, 0);
	ioapic_write(0x14, EDGE_VECTOR);
	ioapic_edge_count = 0;
	pit_start_periodic();
	__asm__ volatile("sti");
	for (uint32_t i = 0; i < SPIN_LIMIT && ioapic_edge_count < 3; i++)
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	ioapic_write(0x14, (1u << 16) | EDGE_VECTOR);
	outb(0x43, 0x30); /* mode 0, not started: OUT0 stays low */
	CHECK(CHECK_IOAPIC_PIT, "ioapic-pit-edge", ioapic_edge_count >= 3);
}

/* The UART's THRE interrupt (IER bit 1) holds IRQ4 high until IIR is read;
 * as a level interrupt on pin 4 it shows remote IRR.  Nothing is printed
 * while it runs (a THR write would raise the line again). */
static void check_ioapic_level(void)
{
	const uint32_t level = 1u << 15, mask = 1u << 16, remote_irr = 1u << 14;
	ioapic_level_count = 0;
	ioapic_write(0x19, 0);
	ioapic_write(0x18, mask | level | LEVEL_VECTOR);
	outb(0x3f8 + 1, 0x02); /* IER: THRE interrupt; the line goes high */
	__asm__ volatile("sti");
	for (uint32_t i = 0; i < 100000; i++)
		__asm__ volatile("pause");
	bool none_masked = ioapic_level_count == 0 && !(ioapic_read(0x18) & remote_irr);
	ioapic_write(0x18, level | LEVEL_VECTOR); /* unmask: sent at once */
	for (uint32_t i = 0; i < SPIN_LIMIT && !ioapic_level_count; i++)
		__asm__ volatile("pause");
	/* in service, no EOI yet: remote IRR holds further messages */
	bool once = ioapic_level_count == 1 && (ioapic_read(0x18) & remote_irr);
	/* EOI with the line still high: sent again */
	mmio32_write(LAPIC + 0xb0, 0);
	for (uint32_t i = 0; i < SPIN_LIMIT && ioapic_level_count < 2; i++)
		__asm__ volatile("pause");
	bool again = ioapic_level_count == 2 && (ioapic_read(0x18) & remote_irr);
	/* the device lowers its line (IIR read), then the EOI: done */
	(void)inb(0x3f8 + 2);
	outb(0x3f8 + 1, 0x00);
	mmio32_write(LAPIC + 0xb0, 0);
	for (uint32_t i = 0; i < 100000; i++)
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	bool done = ioapic_level_count == 2 && !(ioapic_read(0x18) & remote_irr);
	ioapic_write(0x18, mask | LEVEL_VECTOR);
	if (!(none_masked && once && again && done)) {
		puts("mbtest: level ");
		putu(none_masked);
		putu(once);
		putu(again);
		putu(done);
		puts(" count ");
		putu(ioapic_level_count);
		puts("\n");
	}
	CHECK(CHECK_IOAPIC_LEVEL, "ioapic-level-eoi", none_masked && once && again && done);
}

/* ---- PCI configuration space. */

static uint32_t cf8(unsigned dev, unsigned fn, unsigned reg)
{
	return 0x80000000u | dev << 11 | fn << 8 | (reg & 0xfc);
}

static void check_pci(void)
{
	outl(0xcf8, 0x80000000u);
	bool ca = inl(0xcf8) == 0x80000000u;
	uint32_t id = inl(0xcfc);
	bool sizes = inw(0xcfc) == 0x8086 && inw(0xcfe) == 0x29c0 && inb(0xcfd) == 0x80 &&
		     inb(0xcff) == 0x29;
	outl(0xcf8, cf8(0, 0, 8));
	uint32_t class = inl(0xcfc) >> 8;
	/* IDs are read-only */
	outl(0xcf8, cf8(0, 0, 0));
	outl(0xcfc, 0);
	outw(0xcfe, 0);
	bool ro = inl(0xcfc) == id;
	/* absent: 00:1d.0, a function of the host bridge, bus 1 */
	outl(0xcf8, cf8(0x1d, 0, 0));
	bool absent = inl(0xcfc) == 0xffffffffu;
	outl(0xcf8, cf8(0, 3, 0));
	absent &= inw(0xcfc) == 0xffff;
	outl(0xcf8, cf8(0, 0, 0) | 1u << 16);
	absent &= inl(0xcfc) == 0xffffffffu;
	/* enable bit clear: no configuration cycle */
	outl(0xcf8, 0);
	absent &= inl(0xcfc) == 0xffffffffu;
	if (id != 0x29c08086u) {
		puts("mbtest: host bridge ");
		puthex(id);
		puts("\n");
	}
	CHECK(CHECK_PCI_CF8, "pci-config-cf8",
	      ca && id == 0x29c08086u && sizes && class == 0x060000 && ro && absent);

	bool ecam = mmio32(ECAM) == id && *(volatile uint16_t *)(ECAM + 2) == 0x29c0 &&
		    *(volatile uint8_t *)(ECAM + 0xb) == 0x06 && (mmio32(ECAM + 8) >> 8) == class;
	/* the same dwords of the header both ways */
	for (unsigned reg = 0; reg < 0x40; reg += 4) {
		outl(0xcf8, cf8(0, 0, reg));
		ecam &= inl(0xcfc) == mmio32(ECAM + reg);
	}
	bool ecam_absent = mmio32(ECAM + (1u << 20)) == 0xffffffffu &&
			   mmio32(ECAM + (0x1d << 15)) == 0xffffffffu &&
			   mmio32(ECAM + (255u << 20) + 0xffc) == 0xffffffffu;
	CHECK(CHECK_PCI_ECAM, "pci-config-ecam", ecam && ecam_absent);
}

static void check_x2apic(void)
{
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(c & (1u << 21))) {
		CHECK(CHECK_X2APIC, "x2apic", false);
		return;
	}
	/* §11.12.1: xAPIC -> x2APIC by setting EXTD with EN set */
	uint64_t base = rdmsr(0x1b);
	wrmsr(0x1b, base | (1u << 10));
	bool mode = (rdmsr(0x1b) & 0xc00) == 0xc00;
	bool regs = rdmsr(0x802) == 0 && (rdmsr(0x803) & 0xff) == 0x14 &&
		    rdmsr(0x80d) == 1; /* logical ID: cluster 0, bit 0 */
	/* the xAPIC page is not there in x2APIC mode (§11.12.2) */
	bool page_gone = mmio32(LAPIC + 0x30) == 0xffffffffu;
	wrmsr(0x80f, 0x1ff); /* SVR: software enabled */
	x2apic_count = 0;
	__asm__ volatile("sti");
	wrmsr(0x83f, X2APIC_IPI_VECTOR); /* self-IPI (§11.12.11) */
	for (uint32_t i = 0; i < SPIN_LIMIT && !x2apic_count; i++)
		__asm__ volatile("pause");
	bool ipi = x2apic_count == 1;
	/* the PIT through pin 2, physical destination x2APIC ID 0 */
	ioapic_write(0x15, 0);
	ioapic_write(0x14, X2APIC_IOAPIC_VECTOR);
	pit_start_periodic();
	for (uint32_t i = 0; i < SPIN_LIMIT && x2apic_count < 4; i++)
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	ioapic_write(0x14, (1u << 16) | X2APIC_IOAPIC_VECTOR);
	outb(0x43, 0x30);
	bool ioapic = x2apic_count >= 4;
	bool isr_clear = true;
	for (uint32_t r = 0; r < 8; r++)
		isr_clear &= rdmsr(0x810 + r) == 0;
	/* back: x2APIC -> disabled -> xAPIC (§11.12.5) */
	wrmsr(0x1b, base & ~(uint64_t)0xc00);
	wrmsr(0x1b, base);
	bool back = (rdmsr(0x1b) & 0xc00) == 0x800 && mmio32(LAPIC + 0x30) != 0xffffffffu;
	if (!(mode && regs && page_gone && ipi && ioapic && isr_clear && back)) {
		puts("mbtest: x2apic ");
		putu(mode);
		putu(regs);
		putu(page_gone);
		putu(ipi);
		putu(ioapic);
		putu(isr_clear);
		putu(back);
		puts(" count ");
		putu(x2apic_count);
		puts("\n");
	}
	CHECK(CHECK_X2APIC, "x2apic",
	      mode && regs && page_gone && ipi && ioapic && isr_clear && back);
}

/* ---- interrupt remapping (the VT-d registers at the DRHD's base). */

#define VTD_ECAP 0x10
#define VTD_GCMD 0x18
#define VTD_GSTS 0x1c
#define VTD_FSTS 0x34
#define VTD_IQT 0x88
#define VTD_IQA 0x90
#define VTD_IRTA 0xb8
#define GCMD_QIE (1u << 26)
#define GCMD_IRE (1u << 25)
#define GCMD_SIRTP (1u << 24)
#define IR_WAIT_STATUS 0x600du

/* 256 IRTEs (S = 7) and a 256-entry queue, each one 4 KiB page */
static volatile uint64_t ir_table[512] __attribute__((aligned(4096)));
static volatile uint64_t ir_queue[512] __attribute__((aligned(4096)));
static volatile uint32_t ir_status;

/* The PIT at 100 Hz until count interrupts came or the unit recorded a
 * fault (FSTS.PPF), bounded. */
static void pit_run(uint32_t base, uint32_t count)
{
	__asm__ volatile("sti");
	pit_start_periodic();
	for (uint32_t i = 0;
	     i < SPIN_LIMIT && x2apic_count < count && !(mmio32(base + VTD_FSTS) & 2); i++)
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	ioapic_write(0x14, (1u << 16) | 2);
	outb(0x43, 0x30);
}

static void check_x2apic_ir(void)
{
	const volatile uint8_t *dmar = acpi_table("DMAR");
	/* DMAR (VT-d 8.1): INTR_REMAP, not X2APIC_OPT_OUT; one DRHD (8.3)
	 * with INCLUDE_PCI_ALL, its scope the I/O APIC (type 3, ID 1) */
	bool table = dmar && (dmar[37] & 3) == 1 && dmar[48] == 0 && dmar[49] == 0 &&
		     (dmar[52] & 1) && dmar[64] == 3 && dmar[68] == 1 && dmar[70] == 0x1f &&
		     dmar[71] == 0;
	if (!table) {
		CHECK(CHECK_X2APIC_IR, "x2apic-ir", false);
		return;
	}
	uint32_t base = rd32(dmar + 56);
	bool caps = (mmio32(base + VTD_ECAP) & 0x1a) == 0x1a; /* QI, IR, EIM */

	uint64_t apic_base = rdmsr(0x1b);
	wrmsr(0x1b, apic_base | (1u << 10));
	wrmsr(0x80f, 0x1ff);
	/* IRTE 3: present, the vector, x2APIC ID 0, edge, fixed; source-id
	 * verified against the I/O APIC's 00:1f.0 */
	ir_table[6] = 1 | ((uint64_t)X2APIC_IOAPIC_VECTOR << 16);
	ir_table[7] = 0xf8 | (1ull << 18);
	ir_table[8] = ir_table[9] = 0; /* IRTE 4: not present */
	mmio32_write(base + VTD_IRTA, (uint32_t)ir_table | (1u << 11) | 7); /* EIME, S = 7 */
	mmio32_write(base + VTD_IRTA + 4, 0);
	mmio32_write(base + VTD_GCMD, GCMD_SIRTP);
	bool irtps = mmio32(base + VTD_GSTS) & GCMD_SIRTP;
	mmio32_write(base + VTD_IQT, 0);
	mmio32_write(base + VTD_IQA, (uint32_t)ir_queue);
	mmio32_write(base + VTD_IQA + 4, 0);
	mmio32_write(base + VTD_GCMD, GCMD_QIE);
	/* interrupt entry cache invalidation, then a wait with status */
	ir_status = 0;
	ir_queue[0] = 4;
	ir_queue[1] = 0;
	ir_queue[2] = 5 | (1u << 5) | ((uint64_t)IR_WAIT_STATUS << 32);
	ir_queue[3] = (uint32_t)&ir_status;
	mmio32_write(base + VTD_IQT, 2 << 4);
	for (uint32_t i = 0; i < SPIN_LIMIT && ir_status != IR_WAIT_STATUS; i++)
		__asm__ volatile("pause");
	bool qi = ir_status == IR_WAIT_STATUS && mmio32(base + VTD_FSTS) == 0;
	mmio32_write(base + VTD_GCMD, GCMD_QIE | GCMD_IRE);
	bool ires = mmio32(base + VTD_GSTS) & GCMD_IRE;

	/* pin 2 remappable (bit 48), handle 3 in 63:49, vector field = pin */
	x2apic_count = 0;
	ioapic_write(0x15, (1u << 16) | (3u << 17));
	ioapic_write(0x14, 2);
	pit_run(base, 4);
	bool remapped = x2apic_count >= 4 && mmio32(base + VTD_FSTS) == 0;
	/* A tick taken into IRR after the last count is delivered now, before
	 * the count starts again. */
	__asm__ volatile("sti; nop; nop; cli");
	/* handle 4: not present, dropped, fault 0x22 from 00:1f.0, index 4;
	 * the PIT runs until the fault is recorded */
	x2apic_count = 0;
	ioapic_write(0x15, (1u << 16) | (4u << 17));
	ioapic_write(0x14, 2);
	pit_run(base, 0xffffffffu);
	uint32_t frcd_hi = mmio32(base + 0x20c), frcd_sid = mmio32(base + 0x208);
	uint32_t frcd_fi = mmio32(base + 0x204);
	bool fault = x2apic_count == 0 && (frcd_hi >> 31) && (frcd_hi & 0xff) == 0x22 &&
		     (frcd_sid & 0xffff) == 0xf8 && (frcd_fi >> 16) == 4;
	mmio32_write(base + 0x20c, 1u << 31); /* clear F, and the overflow */
	mmio32_write(base + VTD_FSTS, 1);
	bool cleared = (mmio32(base + VTD_FSTS) & 3) == 0;

	/* everything off again: IR and QI, the entry, x2APIC (§11.12.5) */
	mmio32_write(base + VTD_GCMD, 0);
	ioapic_write(0x15, 0);
	wrmsr(0x1b, apic_base & ~(uint64_t)0xc00);
	wrmsr(0x1b, apic_base);
	if (!(caps && irtps && qi && ires && remapped && fault && cleared)) {
		puts("mbtest: x2apic-ir ");
		putu(caps);
		putu(irtps);
		putu(qi);
		putu(ires);
		putu(remapped);
		putu(fault);
		putu(cleared);
		puts(" count ");
		putu(x2apic_count);
		puts(" frcd ");
		puthex(frcd_hi);
		puts("\n");
	}
	CHECK(CHECK_X2APIC_IR, "x2apic-ir",
	      caps && irtps && qi && ires && remapped && fault && cleared);
}

void check_platform(void)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	idt_set(EDGE_VECTOR, ioapic_edge_stub, cs);
	idt_set(LEVEL_VECTOR, ioapic_level_stub, cs);
	idt_set(X2APIC_IPI_VECTOR, x2apic_stub, cs);
	idt_set(X2APIC_IOAPIC_VECTOR, x2apic_stub, cs);
	check_acpi();
	check_ioapic_registers();
	check_ioapic_pit();
	check_ioapic_level();
	check_pci();
	check_x2apic();
	check_x2apic_ir();
}
