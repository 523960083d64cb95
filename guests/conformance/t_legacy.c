/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sub-tests of the legacy devices and of what is not there: the two 8259s
 * (Intel 8259A data sheet; ELCR as on the PIIX/ICH), the 8254 PIT (Intel
 * 82C54 data sheet; channel 2's gate and output at port 0x61 as on a PC),
 * the MC146818 CMOS RTC, the 16550 UART (scratch register, loopback),
 * unknown ports (all-ones, string I/O included), and MMIO where nothing is
 * (all-ones, as a PC's bus gives on a master abort): a plain access, one
 * that straddles the end of RAM, a page-table walk and an IDT read from it.
 */
#include "guests/conformance/conf.h"
#include "kernel/lib/string.h"

static const char *vname(int e)
{
	return e >= 0 ? vector_names[e] : "no exception";
}

/* ---- 8259 PICs. */

static void pic_init(u8 master_mask, u8 slave_mask)
{
	outb(0x20, 0x11); /* ICW1: edge, cascade, ICW4 */
	outb(0xa0, 0x11);
	outb(0x21, VEC_PIC_BASE); /* ICW2: vector base */
	outb(0xa1, VEC_PIC_BASE + 8);
	outb(0x21, 0x04); /* ICW3: slave on IRQ2 */
	outb(0xa1, 0x02); /*       slave ID 2 */
	outb(0x21, 0x01); /* ICW4: 8086 mode, normal EOI */
	outb(0xa1, 0x01);
	outb(0x21, master_mask);
	outb(0xa1, slave_mask);
}

static void t_pic_registers(void)
{
	pic_init(0xff, 0xff);
	check_eq("master IMR after masking all", inb(0x21), 0xff);
	outb(0x21, 0xa5);
	check_eq("master IMR read back", inb(0x21), 0xa5);
	outb(0xa1, 0x5a);
	check_eq("slave IMR read back", inb(0xa1), 0x5a);
	outb(0x20, 0x0b); /* OCW3: read ISR */
	check_eq("master ISR (nothing in service)", inb(0x20), 0);
	outb(0x20, 0x0a); /* OCW3: read IRR */
	(void)inb(0x20);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

/* ELCR (0x4d0, 0x4d1): IRQ 0, 1, 2, 8 and 13 are edge only, their bits
 * read 0; the others can be set to level. */
static void t_pic_elcr(void)
{
	u8 m0 = inb(0x4d0), s0 = inb(0x4d1);
	outb(0x4d0, 0xff);
	outb(0x4d1, 0xff);
	u8 m = inb(0x4d0), s = inb(0x4d1);
	outb(0x4d0, m0);
	outb(0x4d1, s0);
	check_eq("ELCR1 after writing 0xff (IRQ 0-2 edge only)", m, 0xf8);
	check_eq("ELCR2 after writing 0xff (IRQ 8, 13 edge only)", s, 0xde);
}

/* IRQ 0 from the PIT through the master 8259, through LINT0 in ExtINT
 * mode (the BIOS's virtual-wire setup, MP spec 3.6.2.2). */
static volatile u32 isr_seen;
static void hook_irq0(struct frame *f)
{
	(void)f;
	outb(0x20, 0x0b);
	isr_seen = inb(0x20);
	irq_count[VEC_PIC_BASE]++;
	outb(0x20, 0x20);
}

static void t_pic_pit_irq0(void)
{
	if (apic_setup_xapic())
		lapic_write(0x350, 0x700); /* LINT0 ExtINT, unmasked */
	pic_init(0xfe, 0xff);
	isr_hooks[VEC_PIC_BASE] = hook_irq0;
	outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 */
	outb(0x40, (u8)11932);
	outb(0x40, (u8)(11932 >> 8)); /* 10 ms */
	u32 n = irq_count[VEC_PIC_BASE];
	bool ok = wait_count(&irq_count[VEC_PIC_BASE], n + 3, 200000000);
	outb(0x21, 0xff);
	check(ok, "IRQ 0 at vector %#x: %u interrupts in 200 ms, expected 3", VEC_PIC_BASE,
	      irq_count[VEC_PIC_BASE] - n);
	if (ok)
		check(isr_seen & 1, "master ISR bit 0 in the handler: got %#x", isr_seen);
	outb(0x20, 0x0b);
	check_eq("master ISR after EOI", inb(0x20), 0);
	outb(0x43, 0x30); /* channel 0, mode 0: one count, then quiet */
	outb(0x40, 1);
	outb(0x40, 0);
	isr_hooks[VEC_PIC_BASE] = NULL;
}

/* ---- 8254 PIT. */

static u64 tsc_to_us(u64 t)
{
	return t / (pf.tsc_hz / 1000000);
}

/* Channel 2 in mode 0: OUT (port 0x61 bit 5) low from the count's load,
 * high at the terminal count, 10 ms later; not earlier. */
static void t_pit_channel2(void)
{
	outb(0x61, (u8)((inb(0x61) & ~0x02) | 0x01));
	outb(0x43, 0xb0);
	outb(0x42, (u8)11932);
	outb(0x42, (u8)(11932 >> 8));
	u64 t0 = rdtsc();
	bool low = !(inb(0x61) & 0x20);
	u32 i;
	for (i = 0; i < 200000000 && !(inb(0x61) & 0x20); i++)
		if (tsc_to_us(rdtsc() - t0) > 200000)
			break;
	u64 us = tsc_to_us(rdtsc() - t0);
	check(low, "OUT2 just after loading the count: expected low");
	check(us >= 9000 && us < 100000, "OUT2 high after %llu us, expected 10000",
	      (unsigned long long)us);
}

/* Counter latch (command 00b) and read-back (11b): the count falls at
 * 1.193182 MHz, and the status byte shows the programmed mode. */
/* Latches channel 0 and reads it; *tsc is the TSC at the latch: of ten
 * tries, the one whose RDTSCs just before and after the latch are closest
 * (a try split by a window end would put the latch in the middle of the
 * gap; under Bochs every port exit takes hundreds of microseconds, so no
 * fixed threshold tells the two apart). */
static u16 pit_latch(u64 *tsc)
{
	u64 best = ~0ULL;
	u16 count = 0;

	for (int i = 0; i < 10; i++) {
		u64 a = rdtsc();
		outb(0x43, 0x00);
		u64 b = rdtsc();
		u16 c = inb(0x40);
		c |= (u16)(inb(0x40) << 8);
		if (b - a < best) {
			best = b - a;
			*tsc = a + (b - a) / 2;
			count = c;
		}
	}
	return count;
}

static void t_pit_latch_readback(void)
{
	outb(0x43, 0x34); /* channel 0, mode 2 */
	outb(0x40, 0xff);
	outb(0x40, 0xff);
	u64 t0, t1;
	u16 c0 = pit_latch(&t0);
	delay_ns(25000000); /* 25 ms: across at least two ends of the window */
	u16 c1 = pit_latch(&t1);
	u64 want = (t1 - t0) * 1193182ULL / pf.tsc_hz, got = (u16)(c0 - c1);
	check(got + got / 50 + 20 >= want && got <= want + want / 50 + 20,
	      "count fell by %llu in %llu us of the TSC, expected about %llu",
	      (unsigned long long)got, (unsigned long long)tsc_to_us(t1 - t0),
	      (unsigned long long)want);
	outb(0x43, 0xe2); /* read-back: status only, channel 0 */
	u8 st = inb(0x40);
	check_eq("read-back status: access mode (5:4) and mode (3:1) of channel 0", st & 0x3e,
		 0x34);
	outb(0x43, 0x30);
	outb(0x40, 1);
	outb(0x40, 0);
}

/* ---- CMOS RTC (MC146818: register A bit 7 update in progress, B format,
 * D bit 7 valid RAM and time). */

static u8 cmos(u8 reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static u8 bcd(u8 v, u8 b)
{
	return b & 4 ? v : (u8)((v >> 4) * 10 + (v & 15));
}

static void t_cmos_rtc(void)
{
	u32 i;
	for (i = 0; i < 10000000 && (cmos(0x0a) & 0x80); i++)
		;
	check(!(cmos(0x0a) & 0x80), "register A: update-in-progress never clears");
	u8 b = cmos(0x0b);
	check(b != 0xff && (b & 0x02), "register B %#x: expected the 24-hour format", b);
	check(cmos(0x0d) & 0x80, "register D: VRT (valid RAM and time) expected set");
	u8 s0 = bcd(cmos(0x00), b), m = bcd(cmos(0x02), b), h = bcd(cmos(0x04), b);
	u8 day = bcd(cmos(0x07), b), mon = bcd(cmos(0x08), b);
	check(s0 < 60 && m < 60 && h < 24 && day >= 1 && day <= 31 && mon >= 1 && mon <= 12,
	      "time %u:%u:%u date %u/%u out of range", h, m, s0, day, mon);
	delay_ns(1300000000ULL);
	u8 s1 = bcd(cmos(0x00), b);
	u8 d = (u8)((s1 + 60 - s0) % 60);
	check(d == 1 || d == 2, "seconds %u -> %u over 1.3 s", s0, s1);
}

static void t_cmos_nvram(void)
{
	outb(0x70, 0x40);
	u8 old = inb(0x71);
	outb(0x70, 0x40);
	outb(0x71, 0xa5);
	check_eq("CMOS byte 0x40 after writing 0xa5", cmos(0x40), 0xa5);
	outb(0x70, 0x40 | 0x80); /* bit 7 of the index: NMI disable, same register */
	check_eq("CMOS byte 0x40 through index 0xc0", inb(0x71), 0xa5);
	outb(0x70, 0x40);
	outb(0x71, old);
}

/* ---- 16550 UART: scratch register, loopback (MCR bit 4: THR goes to
 * RBR, MCR's outputs to MSR's inputs). */
static void t_uart_16550(void)
{
	outb(COM1 + 7, 0x5a);
	check_eq("scratch register", inb(COM1 + 7), 0x5a);
	u8 ier = inb(COM1 + 1), mcr = inb(COM1 + 4);
	outb(COM1 + 1, 0);
	outb(COM1 + 4, 0x10 | 0x0f);
	check_eq("MSR inputs in loopback with DTR, RTS, OUT1, OUT2 set", inb(COM1 + 6) & 0xf0,
		 0xf0);
	while (inb(COM1 + 5) & 1)
		(void)inb(COM1);
	outb(COM1, 'Z');
	u32 i;
	for (i = 0; i < 1000 && !(inb(COM1 + 5) & 1); i++)
		;
	check(inb(COM1 + 5) & 1, "loopback: no data ready after writing THR");
	check_eq("loopback: RBR", inb(COM1), 'Z');
	outb(COM1 + 4, mcr);
	outb(COM1 + 1, ier);
}

/* ---- Unknown ports: all-ones on reads, writes ignored, for every
 * access size and for string I/O (SDM Vol. 2 INS/OUTS: RDI/RSI advance,
 * RCX counts down). */
static void t_ports_unknown(void)
{
	static const u16 ports[] = { UNKNOWN_PORT, 0x2e8, 0x6f0 };
	for (unsigned i = 0; i < ARRAY_SIZE(ports); i++) {
		u16 p = ports[i];
		outb(p, 0x12);
		outw(p, 0x1234);
		outl(p, 0x12345678);
		check(inb(p) == 0xff && inw(p) == 0xffff && inl(p) == 0xffffffff,
		      "port %#x: expected all-ones got %#x %#x %#x", p, inb(p), inw(p), inl(p));
	}
}

static void t_ports_string_io(void)
{
	static u8 buf[64];
	u64 rcx, rdi, rsi;

	memset(buf, 0, sizeof(buf));
	asm volatile("cld; rep insb"
		     : "=c"(rcx), "=D"(rdi)
		     : "c"(16), "D"(buf), "d"(UNKNOWN_PORT)
		     : "memory");
	check_eq("REP INSB: RCX after", rcx, 0);
	check_eq("REP INSB: RDI advanced by", rdi - (u64)(uintptr_t)buf, 16);
	bool ones = true;
	for (int i = 0; i < 16; i++)
		ones &= buf[i] == 0xff;
	check(ones && buf[16] == 0,
	      "REP INSB from an unknown port: buffer %02x %02x .. %02x | %02x", buf[0], buf[1],
	      buf[15], buf[16]);
	memset(buf, 0, sizeof(buf));
	asm volatile("cld; rep insl"
		     : "=c"(rcx), "=D"(rdi)
		     : "c"(4), "D"(buf), "d"(UNKNOWN_PORT)
		     : "memory");
	check(rcx == 0 && rdi - (u64)(uintptr_t)buf == 16 && *(u32 *)&buf[12] == 0xffffffff,
	      "REP INSL: RCX %llu, RDI +%llu, last dword %#x", (unsigned long long)rcx,
	      (unsigned long long)(rdi - (u64)(uintptr_t)buf), *(u32 *)&buf[12]);
	asm volatile("cld; rep outsb"
		     : "=c"(rcx), "=S"(rsi)
		     : "c"(8), "S"(buf), "d"(UNKNOWN_PORT)
		     : "memory");
	check(rcx == 0 && rsi - (u64)(uintptr_t)buf == 8, "REP OUTSB: RCX %llu, RSI +%llu",
	      (unsigned long long)rcx, (unsigned long long)(rsi - (u64)(uintptr_t)buf));
	memset(buf, 0, sizeof(buf));
	asm volatile("std; insb; cld" : "=D"(rdi) : "D"(&buf[8]), "d"(UNKNOWN_PORT) : "memory");
	check(buf[8] == 0xff && rdi == (u64)(uintptr_t)&buf[7],
	      "INSB with DF=1: byte %#x, RDI %+lld", buf[8],
	      (long long)(rdi - (u64)(uintptr_t)&buf[8]));
	/* OUTS to the UART in loopback comes back on RBR. */
	u8 mcr = inb(COM1 + 4);
	outb(COM1 + 4, 0x10 | 0x03);
	while (inb(COM1 + 5) & 1)
		(void)inb(COM1);
	static const char q = 'Q';
	asm volatile("outsb" : "=S"(rsi) : "S"(&q), "d"(COM1) : "memory");
	for (int i = 0; i < 1000 && !(inb(COM1 + 5) & 1); i++)
		;
	u8 got = inb(COM1 + 5) & 1 ? inb(COM1) : 0;
	outb(COM1 + 4, mcr);
	check_eq("OUTSB to the UART in loopback, read back from RBR", got, 'Q');
}

/* ---- MMIO where nothing is.  A physical address above RAM and below the
 * APIC and firmware windows: 512 MiB if RAM ends below it. */
#define MMIO_NOTHING 0x20000000ULL

static void need_hole(void)
{
	if (pf.ram_top > MMIO_NOTHING)
		skip("RAM reaches 512 MiB; no hole to probe");
}

static void t_mmio_unknown(void)
{
	need_hole();
	volatile u8 *p = (volatile u8 *)(uintptr_t)MMIO_NOTHING;
	u8 b = p[0x10];
	u16 w = *(volatile u16 *)(p + 0x20);
	u32 d = *(volatile u32 *)(p + 0x40);
	u64 q = *(volatile u64 *)(p + 0x80);
	check(b == 0xff && w == 0xffff && d == 0xffffffff && q == ~0ULL,
	      "reads at %#llx: expected all-ones got %#x %#x %#x %#llx",
	      (unsigned long long)MMIO_NOTHING, b, w, d, (unsigned long long)q);
	*(volatile u32 *)(p + 0x40) = 0;
	d = *(volatile u32 *)(p + 0x40);
	check_eq("read after a write of 0 (ignored)", d, 0xffffffff);
}

/* A dword at the end of RAM - 2: two bytes of RAM and two of nothing. */
static void t_mmio_straddle(void)
{
	need_hole();
	u64 top = pf.ram_top;
	if (top & 0xfff)
		skip("RAM does not end on a page");
	volatile u16 *ram_half = (volatile u16 *)(uintptr_t)(top - 2);
	*ram_half = 0x3c5a;
	u32 d = *(volatile u32 *)(uintptr_t)(top - 2);
	check_eq("dword read at RAM end - 2", d, 0xffff3c5a);
	*(volatile u32 *)(uintptr_t)(top - 2) = 0x11224488;
	check_eq("RAM half of a straddling dword write", *ram_half, 0x4488);
	*ram_half = 0;
}

/* The final group: what may stop a partition whose hypervisor gets it
 * wrong.  Each prints "RUN: name" first, so a log that ends there shows
 * where. */

/* A page table in MMIO: the walk reads an all-ones PTE, which has
 * reserved bits set: #PF with P and RSVD in the error code (SDM Vol. 3A
 * 4.7), CR2 the address. */
static void t_mmio_page_walk(void)
{
	need_hole();
	extern u64 pd_tables[4][512];
	const u64 va = 0x3fe00000; /* PD 0, entry 511 */
	u64 saved = pd_tables[0][511];
	pd_tables[0][511] = MMIO_NOTHING | 3; /* a PT at MMIO_NOTHING */
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
	u32 v = 0x12345678;
	fault_vector = -1;
	asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
		     "movl (%1), %0\n1: movq $0, fixup_rip(%%rip)"
		     : "+r"(v)
		     : "r"(va)
		     : "r11", "memory");
	int e = fault_vector;
	u64 err = fault_error, cr2;
	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	pd_tables[0][511] = saved;
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
	check(e == 14, "load through a PTE in MMIO: expected #PF got %s (value %#x)", vname(e), v);
	if (e == 14) {
		check((err & 0x9) == 0x9, "#PF error code: expected P and RSVD (0x9) got %#llx",
		      (unsigned long long)err);
		check_eq("CR2", cr2, va);
	}
}

/* INT n through an IDT gate that is not valid (here: all zeros, a
 * reserved type) raises #GP with the error code n << 3 | 2: IDT bit set,
 * the index the vector (SDM Vol. 3A 6.13, 6.14.1). */
static int int_through_bad_gate(u64 idt_base, u8 vector, u64 *err)
{
	struct __packed {
		u16 limit;
		u64 base;
	} old, idtr = { 0xfff, idt_base };

	asm volatile("sidt %0" : "=m"(old));
	asm volatile("lidt %0" : : "m"(idtr));
	fault_vector = -1;
	if (vector == 0x80)
		asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
			     "int $0x80\n1: movq $0, fixup_rip(%%rip)" ::
				     : "r11", "memory");
	else
		asm volatile("leaq 1f(%%rip), %%r11; movq %%r11, fixup_rip(%%rip)\n"
			     "int $0x81\n1: movq $0, fixup_rip(%%rip)" ::
				     : "r11", "memory");
	asm volatile("lidt %0" : : "m"(old));
	*err = fault_error;
	return fault_vector;
}

static u64 ram_idt[256][2] __aligned(16);

static int ram_bad_gate(u8 vector, u64 *err)
{
	struct __packed {
		u16 limit;
		u64 base;
	} cur;
	asm volatile("sidt %0" : "=m"(cur));
	memcpy(ram_idt, (void *)(uintptr_t)cur.base, sizeof(ram_idt));
	ram_idt[vector][0] = ram_idt[vector][1] = 0;
	return int_through_bad_gate((u64)(uintptr_t)ram_idt, vector, err);
}

static void t_idt_gate_error_code(void)
{
	u64 err;
	int e = ram_bad_gate(0x81, &err);

	check(e == 13, "INT 0x81 through a zeroed gate: expected #GP got %s", vname(e));
	if (e == 13)
		check_eq("#GP error code (IDT, vector 0x81)", err, 0x81 * 8 + 2);
}

/* An IDT whose gate for vector 0x80 lies in MMIO: INT 0x80 reads an
 * all-ones gate, which is not valid in long mode (the upper type bits
 * must be 0): #GP with the IDT error code, the same as the CPU gives for
 * a bad gate in RAM (measured first, so that a CPU's own error-code
 * quirk does not count here). */
static void t_mmio_idt_gate(void)
{
	need_hole();
	u64 ram_err = 0, err = 0;
	if (ram_bad_gate(0x80, &ram_err) != 13)
		skip("INT through a bad gate in RAM does not raise #GP (see idt-gate-error-code)");
	struct __packed {
		u16 limit;
		u64 base;
	} cur;
	asm volatile("sidt %0" : "=m"(cur));
	u64 base = pf.ram_top - 0x80 * 16;
	memcpy((void *)(uintptr_t)base, (void *)(uintptr_t)cur.base, 0x80 * 16);
	int e = int_through_bad_gate(base, 0x80, &err);
	check(e == 13, "INT 0x80 through a gate in MMIO: expected #GP got %s", vname(e));
	if (e == 13)
		check(err == ram_err,
		      "#GP error code: expected %#llx (as for a bad gate in RAM) got %#llx",
		      (unsigned long long)ram_err, (unsigned long long)err);
}

const struct subtest tests_legacy[] = {
	{ "pic-registers", t_pic_registers, NULL, NULL },
	{ "pic-elcr", t_pic_elcr, NULL, NULL },
	{ "pic-pit-irq0", t_pic_pit_irq0, NULL, NULL },
	{ "pit-channel2", t_pit_channel2, NULL, NULL },
	{ "pit-latch-readback", t_pit_latch_readback, NULL, NULL },
	{ "cmos-rtc", t_cmos_rtc, NULL, NULL },
	{ "cmos-nvram", t_cmos_nvram, NULL, NULL },
	{ "uart-16550", t_uart_16550, NULL, NULL },
	{ "ports-unknown", t_ports_unknown, NULL, NULL },
	{ "ports-string-io", t_ports_string_io, NULL, NULL },
	{ "mmio-unknown-all-ones", t_mmio_unknown,
	  "QEMU reads unassigned physical memory as 0, a PC as all-ones", NULL },
	{ "mmio-straddle-ram-top", t_mmio_straddle,
	  "QEMU reads unassigned physical memory as 0, a PC as all-ones", NULL },
	{ "idt-gate-error-code", t_idt_gate_error_code, NULL,
	  "TCG's #GP error code for a bad IDT gate in long mode is vector * 16 + 2, not vector * 8 + 2" },
};
const unsigned tests_legacy_count = ARRAY_SIZE(tests_legacy);

const struct subtest tests_final[] = {
	{ "mmio-page-walk", t_mmio_page_walk,
	  "QEMU reads unassigned physical memory as 0 (a PTE not present), a PC as all-ones (reserved bits)",
	  NULL },
	{ "mmio-idt-gate", t_mmio_idt_gate, NULL, NULL },
};
const unsigned tests_final_count = ARRAY_SIZE(tests_final);
