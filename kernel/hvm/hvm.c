/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The virtual platform of an hvm partition (see hvm.h): dispatch of port
 * I/O, MMIO and MSRs to the device models, interrupt routing (ISA lines to
 * both the 8259 and the I/O APIC; the APIC first, the 8259 through LINT0
 * or I/O APIC pin 0 in ExtINT mode), device timers, and the "unknown access"
 * policy: reads of all-ones, writes ignored, one log line per port or page.
 * Pure logic: the time of every access comes in as an argument.
 */
#include "kernel/hvm/hvm.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"

#define PIT_IRQ 0
#define PIT_IOAPIC_PIN 2 /* the MADT's override: IRQ0 -> GSI 2 */
#define SCI_IOAPIC_PIN 9 /* active low (the MADT's override for the SCI) */
#define PCI_INTX_PINS (((1u << VPCI_INTX_GSI_COUNT) - 1) << VPCI_INTX_GSI_BASE) /* active low */
#define UNKNOWN_PORT_TAG (1u << 31)
#define UNKNOWN_WRITE_TAG (1u << 30)

/* The local APIC's EOI of a level vector reaches the I/O APIC. */
static void lapic_eoi(void *ctx, u8 vector)
{
	vioapic_eoi(ctx, vector);
}

/* A PCI INTx line (wired-OR on the bus) reaches its I/O APIC pin. */
static void pci_intx(void *ctx, unsigned gsi, bool asserted)
{
	vioapic_set_pin(ctx, gsi, asserted);
}

/* An ISA interrupt line: the 8259 sees it on its IRQ input, the I/O APIC
 * on its pin (IRQ0 on pin 2: the 8259's INTR holds pin 0). */
static void isa_irq(struct hvm *h, unsigned irq, bool level)
{
	vpic_set_irq(&h->pic, irq, level);
	vioapic_set_pin(&h->ioapic, irq == PIT_IRQ ? PIT_IOAPIC_PIN : irq, level);
}

void hvm_reset(struct hvm *h, const struct hvm_setup *s)
{
	memset(h, 0, sizeof(*h));
	h->name = s->name ? s->name : "?";
	vlapic_reset(&h->lapic, h->name, s->tsc_hz, s->tsc_at_zero);
	vioapic_reset(&h->ioapic, &h->lapic, (1u << SCI_IOAPIC_PIN) | PCI_INTX_PINS);
	vlapic_set_eoi_hook(&h->lapic, lapic_eoi, &h->ioapic);
	vpic_reset(&h->pic);
	vpit_reset(&h->pit);
	vpci_reset(&h->pci, &h->lapic, h->name);
	vpci_set_intx_hook(&h->pci, pci_intx, &h->ioapic);
	viommu_reset(&h->iommu, &h->lapic, s->ram, s->ram_size, h->name);
	vioapic_set_iommu(&h->ioapic, &h->iommu);
	vpci_set_iommu(&h->pci, &h->iommu);
	vuart_reset(&h->uart, s->console);
	vcmos_reset(&h->cmos, s->wall_epoch);
}

/* True if key was not logged yet and may be (up to HVM_UNKNOWN_LOG_MAX). */
static bool not_yet_logged(const struct hvm *h, u32 key)
{
	for (unsigned i = 0; i < h->unknown_count; i++)
		if (h->unknown_seen[i] == key)
			return false;
	return h->unknown_count < HVM_UNKNOWN_LOG_MAX;
}

/* Remembers key once its line was printed (a line the log suppressed is
 * tried again at the next access). */
static void logged(struct hvm *h, u32 key)
{
	h->unknown_seen[h->unknown_count++] = key;
	if (h->unknown_count == HVM_UNKNOWN_LOG_MAX)
		log_guest(LOG_KIND_IO,
			  "hvm: partition %s: %u unknown ports/pages seen, no more are logged",
			  h->name, HVM_UNKNOWN_LOG_MAX);
}

static void unknown_port(struct hvm *h, u16 port, bool in)
{
	u32 key = UNKNOWN_PORT_TAG | (in ? 0 : UNKNOWN_WRITE_TAG) | port;

	if (not_yet_logged(h, key) &&
	    log_guest(LOG_KIND_IO, "hvm: partition %s: unknown port 0x%x (%s), answered as absent",
		      h->name, port, in ? "read" : "write"))
		logged(h, key);
}

static void uart_irq_update(struct hvm *h)
{
	isa_irq(h, VUART_IRQ, vuart_irq(&h->uart));
}

/* One byte at one port.  False if no device answers there. */
static bool port_byte(struct hvm *h, u64 now, u16 port, bool in, u8 *v)
{
	switch (port) {
	case 0x20:
	case 0x21:
	case 0xa0:
	case 0xa1:
	case 0x4d0:
	case 0x4d1:
		if (in)
			*v = vpic_read(&h->pic, port);
		else
			vpic_write(&h->pic, port, *v);
		return true;
	case 0x40:
	case 0x41:
	case 0x42:
	case 0x43:
	case 0x61:
		if (in)
			*v = vpit_read(&h->pit, now, port);
		else
			vpit_write(&h->pit, now, port, *v);
		return true;
	case 0x70:
	case 0x71:
		if (in)
			*v = vcmos_read(&h->cmos, now, port);
		else
			vcmos_write(&h->cmos, now, port, *v);
		return true;
	case 0x80:
		/* POST code / I/O delay port (Linux's outb_p): absent, but
		 * too common to log */
		if (in)
			*v = 0xff;
		return true;
	default:
		break;
	}
	if (port >= VUART_BASE && port < VUART_BASE + 8) {
		unsigned off = port - VUART_BASE;
		if (in) {
			*v = vuart_read(&h->uart, off);
		} else {
			/* A THR write clears the THRE interrupt and the empty
			 * transmitter sets it again: lower the line first so
			 * the edge-triggered IRQ4 sees a new edge. */
			if (off == 0 && !(h->uart.lcr & 0x80))
				isa_irq(h, VUART_IRQ, false);
			vuart_write(&h->uart, off, *v);
		}
		uart_irq_update(h);
		return true;
	}
	return false;
}

int hvm_port_io(struct hvm *h, u64 now, u16 port, unsigned size, bool in, u32 *value, int *code)
{
	u32 result = 0;
	bool unknown = false;

	if (size != 1 && size != 2 && size != 4)
		size = 1;
	if (port == HVM_DEBUG_EXIT_PORT) {
		if (in) {
			*value = size == 4 ? 0xffffffff : (1u << (8 * size)) - 1;
			return 0;
		}
		*code = (int)(*value & 0xff);
		return HVM_EXIT_REQUESTED;
	}
	/* The PCI configuration ports; then the fixed devices, byte by byte;
	 * what none of them answers may be a PCI device's I/O BAR. */
	if (port + size > VPCI_CONFIG_ADDRESS && port < VPCI_CONFIG_DATA + 4 &&
	    vpci_port_io(&h->pci, port, size, in, value))
		return 0;
	for (unsigned i = 0; i < size; i++) {
		u8 b = in ? 0xff : (u8)(*value >> (8 * i));
		u16 p = (u16)(port + i);
		if (!port_byte(h, now, p, in, &b)) {
			b = 0xff;
			unknown = true;
		}
		result |= (u32)b << (8 * i);
	}
	if (unknown && vpci_port_io(&h->pci, port, size, in, value))
		return 0;
	if (unknown)
		unknown_port(h, port, in);
	if (in)
		*value = result;
	return 0;
}

void hvm_mmio(struct hvm *h, u64 now, u64 gpa, unsigned size, bool write, u64 *value)
{
	u64 page = gpa & PAGE_MASK;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		size = 4;
	/* The xAPIC page; in x2APIC mode or disabled it is not there
	 * (SDM Vol. 3A §11.12.2, §11.4.3). */
	if (page == HVM_LAPIC_BASE && vlapic_hw_enabled(&h->lapic) && !vlapic_x2apic(&h->lapic)) {
		if (write)
			vlapic_mmio_write(&h->lapic, now, (u32)(gpa & 0xfff), size, *value);
		else
			*value = vlapic_mmio_read(&h->lapic, now, (u32)(gpa & 0xfff), size);
		return;
	}
	if (page == HVM_IOAPIC_BASE) {
		if (write)
			vioapic_mmio_write(&h->ioapic, (u32)(gpa & 0xfff), size, *value);
		else
			*value = vioapic_mmio_read(&h->ioapic, (u32)(gpa & 0xfff), size);
		return;
	}
	if (page == VIOMMU_BASE) {
		if (write)
			viommu_mmio_write(&h->iommu, (u32)(gpa & 0xfff), size, *value);
		else
			*value = viommu_mmio_read(&h->iommu, (u32)(gpa & 0xfff), size);
		return;
	}
	if (vpci_mmio(&h->pci, gpa, size, write, value))
		return;
	if (!write)
		*value = size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
	u32 key = (u32)(page >> PAGE_SHIFT) & ~(UNKNOWN_PORT_TAG | UNKNOWN_WRITE_TAG);
	if (not_yet_logged(h, key) &&
	    log_guest(LOG_KIND_MMIO,
		      "hvm: partition %s: unknown MMIO page 0x%llx (%s), answered as absent",
		      h->name, (unsigned long long)page, write ? "write" : "read"))
		logged(h, key);
}

int hvm_msr(struct hvm *h, u64 now, u32 index, bool write, u64 *value)
{
	if (write)
		return vlapic_msr_write(&h->lapic, now, index, *value);
	return vlapic_msr_read(&h->lapic, now, index, value);
}

/* The 8259's INTR reaches the CPU through LINT0 or I/O APIC pin 0. */
static bool pic_reaches_cpu(const struct hvm *h)
{
	return vlapic_accepts_pic(&h->lapic) || vioapic_passes_pic(&h->ioapic);
}

int hvm_pending_vector(struct hvm *h)
{
	int v = vlapic_pending(&h->lapic);

	if (v >= 0)
		return v;
	if (pic_reaches_cpu(h))
		return vpic_pending(&h->pic);
	return -1;
}

bool hvm_take_nmi(struct hvm *h)
{
	return vlapic_take_nmi(&h->lapic);
}

void hvm_ack_vector(struct hvm *h, int vector)
{
	if (vector < 0)
		return;
	if (vlapic_pending(&h->lapic) == vector) {
		vlapic_ack(&h->lapic, vector);
		return;
	}
	if (pic_reaches_cpu(h) && vpic_pending(&h->pic) == vector)
		vpic_ack(&h->pic);
}

u64 hvm_update_timers(struct hvm *h, u64 now)
{
	bool irq0;
	u64 pit_next = vpit_update(&h->pit, now, &irq0);
	u64 apic_next = vlapic_update_timer(&h->lapic, now);

	vuart_poll(&h->uart);
	uart_irq_update(h);
	if (irq0) {
		/* IRQ0 is edge-triggered: one pulse per rising OUT0 */
		isa_irq(h, PIT_IRQ, true);
		isa_irq(h, PIT_IRQ, false);
	}
	if (!pit_next)
		return apic_next;
	if (!apic_next)
		return pit_next;
	return MIN(pit_next, apic_next);
}
