/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hardware check (see hwcheck.h): what a PC offers that Partita needs,
 * read while the firmware's boot services still run, printed as a report
 * and closed by one verdict line.
 *
 * It asks the CPU (CPUID, and the capability MSRs that CPUID says exist, so
 * no RDMSR can fault), the ACPI tables the firmware publishes (MADT, IVRS,
 * DMAR) and the UEFI memory map.  The rules of the verdict are the core's
 * own: the SVM back end wants SVM not disabled by VM_CR.SVMDIS and NPT
 * (arch/x86/svm/svm.c); the VMX back end wants IA32_FEATURE_CONTROL to allow
 * VMXON outside SMX, secondary controls with EPT, and EPT with a 4-level
 * walk, write-back, 2 MiB pages and INVEPT (arch/x86/vmx/vmx.c); both want
 * a local APIC and a TSC; the loader refuses 5-level paging.  What the core
 * can do without (VPID, unrestricted guest, an IOMMU, an invariant TSC) is
 * reported with what its absence costs.
 *
 * Every line goes to the firmware's console (the screen, and on OVMF the
 * serial port too) and, when the console has no serial device in it (the
 * ConOut variable names no UART, UEFI 2.10 section 10.4.4), straight to
 * COM1 if a 16550 answers there.
 */
#include "boot/hwcheck.h"
#include "arch/x86/cpu.h"
#include "drivers/uart16550.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

#define LINE_MAX 200
#define MIN_USABLE_MIB 32 /* the core, its tables and a small partition */

/* MSRs (Intel SDM Vol. 4; AMD APM Vol. 2 section 15.30). */
#define MSR_FEATURE_CONTROL 0x3a
#define MSR_VMX_BASIC 0x480
#define MSR_VMX_PINBASED 0x481
#define MSR_VMX_PROCBASED 0x482
#define MSR_VMX_PROCBASED2 0x48b
#define MSR_VMX_EPT_VPID_CAP 0x48c
#define MSR_VM_CR 0xc0010114

struct check {
	bool uart; /* also write to COM1 */
	bool can_run;
	char reason[LINE_MAX];
	u64 rsdp;
};

static struct check ck;

static void emit(const char *line)
{
	Print(L"%a\n", (CHAR8 *)line);
	if (!ck.uart)
		return;
	for (const char *s = line;; s++) {
		u8 b = *s ? (u8)*s : '\r';
		unsigned room = uart_tx_wait_room();
		(void)room;
		uart_tx_put(b);
		if (!*s)
			break;
	}
	uart_tx_wait_room();
	uart_tx_put('\n');
}

static void __printf(1, 2) say(const char *fmt, ...)
{
	char line[LINE_MAX];
	va_list ap;
	int n = snprintf(line, sizeof(line), "check: ");

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	emit(line);
}

/* The first reason wins: it is the one to fix first. */
static void __printf(1, 2) cannot(const char *fmt, ...)
{
	va_list ap;

	if (!ck.can_run)
		return;
	ck.can_run = false;
	va_start(ap, fmt);
	vsnprintf(ck.reason, sizeof(ck.reason), fmt, ap);
	va_end(ap);
}

static const char *yn(bool b)
{
	return b ? "yes" : "no";
}

/* True if the firmware's console has a serial device (a UART node,
 * MESSAGING_DEVICE_PATH subtype MSG_UART_DP, in any ConOut instance). */
static bool console_has_serial(void)
{
	EFI_GUID global = EFI_GLOBAL_VARIABLE;
	UINTN size = 0;
	u8 *buf = LibGetVariableAndSize(L"ConOut", &global, &size);
	bool found = false;

	if (!buf)
		return false;
	for (UINTN at = 0; at + 4 <= size;) {
		u8 type = buf[at], sub = buf[at + 1];
		u16 len = (u16)(buf[at + 2] | buf[at + 3] << 8);
		if (type == MESSAGING_DEVICE_PATH && sub == MSG_UART_DP)
			found = true;
		if (len < 4 ||
		    (type == END_DEVICE_PATH_TYPE && sub == END_ENTIRE_DEVICE_PATH_SUBTYPE))
			break;
		at += len;
	}
	FreePool(buf);
	return found;
}

/* ------------------------------------------------------------------ CPU -- */

static void cpu_identity(bool *amd)
{
	struct cpuid_regs r = cpuid(0, 0);
	char vendor[13], brand[49] = "";

	memcpy(vendor + 0, &r.ebx, 4);
	memcpy(vendor + 4, &r.edx, 4);
	memcpy(vendor + 8, &r.ecx, 4);
	vendor[12] = 0;
	*amd = !strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine");
	if (cpuid(0x80000000, 0).eax >= 0x80000004) {
		for (u32 i = 0; i < 3; i++) {
			r = cpuid(0x80000002 + i, 0);
			memcpy(brand + 16 * i + 0, &r.eax, 4);
			memcpy(brand + 16 * i + 4, &r.ebx, 4);
			memcpy(brand + 16 * i + 8, &r.ecx, 4);
			memcpy(brand + 16 * i + 12, &r.edx, 4);
		}
		brand[48] = 0;
	}
	const char *b = brand;
	while (*b == ' ')
		b++;
	say("cpu: %s, '%s', family %u", vendor, b, (cpuid(1, 0).eax >> 8) & 0xf);
	if (cpuid(1, 0).ecx & (1u << 31)) {
		r = cpuid(0x40000000, 0);
		char sig[13];
		memcpy(sig + 0, &r.ebx, 4);
		memcpy(sig + 4, &r.ecx, 4);
		memcpy(sig + 8, &r.edx, 4);
		sig[12] = 0;
		say("cpu: running under a hypervisor ('%s'): what it passes on is checked", sig);
	}
}

/* AMD APM Vol. 2 section 15.4 (enabling SVM), 15.30.1 (VM_CR), Vol. 3
 * CPUID Fn8000_000A (SVM features). */
static void check_svm(void)
{
	u64 vm_cr = rdmsr(MSR_VM_CR);
	struct cpuid_regs r = cpuid(0x8000000a, 0);
	bool disabled = vm_cr & (1u << 4);

	say("virtualization: AMD SVM, revision %u, %u ASIDs", r.eax & 0xff, r.ebx);
	say("firmware: SVM %s (VM_CR.SVMDIS %u, VM_CR.LOCK %u)",
	    disabled ? "DISABLED by the firmware" : "enabled", disabled,
	    (unsigned)(vm_cr >> 3 & 1));
	say("nested paging: NPT %s", yn(r.edx & 1));
	say("svm features: NRIP-save %s, flush by ASID %s, VMCB clean bits %s, decode assists %s, "
	    "pause filter %s, AVIC %s",
	    yn(r.edx & (1u << 3)), yn(r.edx & (1u << 6)), yn(r.edx & (1u << 5)),
	    yn(r.edx & (1u << 7)), yn(r.edx & (1u << 10)), yn(r.edx & (1u << 13)));
	if (!(r.edx & (1u << 3)))
		say("note: without NRIP-save the core decodes the length of each exiting instruction");
	if (disabled)
		cannot("SVM is disabled by the firmware (VM_CR.SVMDIS): enable SVM in the setup menu");
	else if (!(r.edx & 1))
		cannot("this CPU has SVM without nested paging (NPT)");
}

/* Intel SDM Vol. 3C section 24.7 (IA32_FEATURE_CONTROL), Appendix A.3
 * (processor-based controls: bit 31 activates the secondary ones), A.3.3
 * (secondary: EPT bit 1, VPID bit 5, unrestricted guest bit 7), A.10
 * (IA32_VMX_EPT_VPID_CAP, present if EPT or VPID can be set). */
static void check_vmx(void)
{
	u64 fc = rdmsr(MSR_FEATURE_CONTROL);
	bool locked = fc & 1, outside_smx = fc & 4;
	u64 basic = rdmsr(MSR_VMX_BASIC);
	u32 pin1 = (u32)(rdmsr(MSR_VMX_PINBASED) >> 32);
	u32 proc1 = (u32)(rdmsr(MSR_VMX_PROCBASED) >> 32);
	u32 proc2 = proc1 & (1u << 31) ? (u32)(rdmsr(MSR_VMX_PROCBASED2) >> 32) : 0;
	bool ept = proc2 & (1u << 1), vpid = proc2 & (1u << 5), ug = proc2 & (1u << 7);
	u64 cap = ept || vpid ? rdmsr(MSR_VMX_EPT_VPID_CAP) : 0;

	say("virtualization: Intel VMX, VMCS revision %#x, %u-byte regions",
	    (unsigned)(basic & 0x7fffffff), (unsigned)(basic >> 32 & 0x1fff));
	if (!locked)
		say("firmware: IA32_FEATURE_CONTROL unlocked (the core locks it with VMX on)");
	else
		say("firmware: VMX %s (IA32_FEATURE_CONTROL locked, VMXON outside SMX %s)",
		    outside_smx ? "enabled" : "DISABLED by the firmware", yn(outside_smx));
	say("nested paging: EPT %s", yn(ept));
	if (ept)
		say("ept features: 4-level walk %s, write-back %s, 2 MiB pages %s, 1 GiB pages %s, "
		    "INVEPT %s, accessed/dirty bits %s",
		    yn(cap & (1ull << 6)), yn(cap & (1ull << 14)), yn(cap & (1ull << 16)),
		    yn(cap & (1ull << 17)), yn(cap & (1ull << 20)), yn(cap & (1ull << 21)));
	say("vmx features: VPID %s (INVVPID %s), unrestricted guest %s, preemption timer %s",
	    yn(vpid), yn(cap & (1ull << 32)), yn(ug), yn(pin1 & (1u << 6)));
	if (!vpid)
		say("note: without VPID the TLB is flushed at every VM entry and exit");
	if (!ug)
		say("note: without unrestricted guest, hvm partitions (Linux, Multiboot) cannot start; "
		    "pv partitions can");
	if (locked && !outside_smx)
		cannot("VMX is disabled by the firmware (IA32_FEATURE_CONTROL): enable VT-x in the "
		       "setup menu");
	else if (!ept)
		cannot("this CPU has VMX without EPT");
	else if (!(cap & (1ull << 6)) || !(cap & (1ull << 14)) || !(cap & (1ull << 16)) ||
		 !(cap & (1ull << 20)))
		cannot("this CPU's EPT lacks a 4-level walk, write-back, 2 MiB pages or INVEPT");
}

static void check_cpu(void)
{
	struct cpuid_regs l1 = cpuid(1, 0);
	bool amd, svm = cpuid(0x80000001, 0).ecx & (1u << 2), vmx = l1.ecx & (1u << 5);
	bool invariant = cpuid(0x80000000, 0).eax >= 0x80000007 &&
			 (cpuid(0x80000007, 0).edx & (1u << 8));

	cpu_identity(&amd);
	/* The core picks SVM when the CPU has it (kernel/virt.c). */
	if (svm)
		check_svm();
	else if (vmx)
		check_vmx();
	else {
		say("virtualization: none (CPUID shows neither VMX nor SVM)");
		cannot("this CPU has neither Intel VMX nor AMD SVM%s",
		       cpuid(1, 0).ecx & (1u << 31) ? " (the hypervisor it runs under hides them)" :
						      "");
	}
	say("tsc: invariant %s, TSC-deadline timer %s, local APIC %s, x2APIC %s", yn(invariant),
	    yn(l1.ecx & (1u << 24)), yn(l1.edx & (1u << 9)), yn(l1.ecx & (1u << 21)));
	if (!invariant)
		say("note: without an invariant TSC the windows' timing follows the CPU's frequency");
	if (!(l1.edx & (1u << 4)))
		cannot("this CPU has no time-stamp counter");
	if (!(l1.edx & (1u << 9)))
		cannot("this CPU has no local APIC");
	u64 cr4;
	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	if (cr4 & (1ull << 12))
		cannot("the firmware runs with 5-level paging (CR4.LA57), which the loader does not build");
}

/* ----------------------------------------------------------------- ACPI -- */

struct sdt {
	char sig[4];
	u32 length;
	u8 revision, checksum;
	char oem[6], oem_table[8];
	u32 oem_rev, creator, creator_rev;
} __packed;

static bool sig_is(const struct sdt *t, const char *sig)
{
	return t->sig[0] == sig[0] && t->sig[1] == sig[1] && t->sig[2] == sig[2] &&
	       t->sig[3] == sig[3];
}

static bool sum_ok(const void *p, u32 len)
{
	u8 s = 0;
	for (u32 i = 0; i < len; i++)
		s += ((const u8 *)p)[i];
	return s == 0;
}

static void find_rsdp(void)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;

	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
		if (!CompareGuid(&t->VendorGuid, &acpi20)) {
			ck.rsdp = (u64)(uintptr_t)t->VendorTable;
			return;
		}
		if (!CompareGuid(&t->VendorGuid, &acpi10) && !ck.rsdp)
			ck.rsdp = (u64)(uintptr_t)t->VendorTable;
	}
}

static void madt_cpus(const struct sdt *t)
{
	const u8 *p = (const u8 *)t + 44, *end = (const u8 *)t + t->length;
	unsigned enabled = 0, capable = 0, len = 0;
	char ids[96] = "";

	/* ACPI 6.5 section 5.2.12: entries after the 44-byte header; type 0
	 * local APIC (flags bit 0 enabled, bit 1 online capable), type 9
	 * local x2APIC. */
	for (; p + 2 <= end && p[1] >= 2 && p + p[1] <= end; p += p[1]) {
		u32 id, flags;
		if (p[0] == 0 && p[1] >= 8) {
			id = p[3];
			flags = p[4] | p[5] << 8 | (u32)p[6] << 16 | (u32)p[7] << 24;
		} else if (p[0] == 9 && p[1] >= 16) {
			id = p[4] | p[5] << 8 | (u32)p[6] << 16 | (u32)p[7] << 24;
			flags = p[8] | p[9] << 8 | (u32)p[10] << 16 | (u32)p[11] << 24;
		} else {
			continue;
		}
		if (flags & 1) {
			enabled++;
			if (len + 12 < sizeof(ids))
				len += (unsigned)snprintf(ids + len, sizeof(ids) - len, "%s%u",
							  len ? " " : "", id);
		} else if (flags & 2) {
			capable++;
		}
	}
	say("cpus: %u enabled in the MADT (APIC IDs %s)%s", enabled, enabled ? ids : "none",
	    capable ? ", more can be brought online" : "");
	if (capable)
		say("cpus: %u more online-capable", capable);
}

static unsigned count_entries(const struct sdt *t, u32 first, bool ivrs, unsigned *kinds)
{
	const u8 *p = (const u8 *)t + first, *end = (const u8 *)t + t->length;
	unsigned n = 0;

	/* IVRS (AMD IOMMU spec 48882, section 5.2): IVHD blocks of type 10h,
	 * 11h, 40h with a 16-bit length at offset 2.  DMAR (VT-d spec section
	 * 8.1): remapping structures, type and length 16 bits each; type 0 is
	 * a DRHD (one remapping unit). */
	while (p + 4 <= end) {
		u16 type = ivrs ? p[0] : (u16)(p[0] | p[1] << 8);
		u16 len = (u16)(p[2] | p[3] << 8);
		if (len < 4 || p + len > end)
			break;
		if (ivrs ? (type == 0x10 || type == 0x11 || type == 0x40) : type == 0)
			n++;
		*kinds |= 1u << (type & 31);
		p += len;
	}
	return n;
}

static void check_acpi(void)
{
	find_rsdp();
	if (!ck.rsdp) {
		say("acpi: no RSDP: the core runs on one CPU, without an IOMMU");
		return;
	}
	const u8 *rsdp = (const u8 *)(uintptr_t)ck.rsdp;
	u32 rsdt;
	u64 xsdt = 0;
	memcpy(&rsdt, rsdp + 16, 4);
	if (rsdp[15] >= 2)
		memcpy(&xsdt, rsdp + 24, 8);
	const struct sdt *root = (const struct sdt *)(uintptr_t)(xsdt ? xsdt : rsdt);
	unsigned width = xsdt ? 8 : 4, count = (root->length - 36) / width;
	char sigs[LINE_MAX] = "";
	unsigned len = 0, iommus = 0;
	const char *iommu = NULL;
	bool madt = false;

	if (!sum_ok(root, root->length))
		say("acpi: warning: the %s checksum is wrong", xsdt ? "XSDT" : "RSDT");
	for (unsigned i = 0; i < count; i++) {
		u64 a = 0;
		memcpy(&a, (const u8 *)root + 36 + i * width, width);
		const struct sdt *t = (const struct sdt *)(uintptr_t)a;
		if (!a)
			continue;
		if (len + 6 < sizeof(sigs))
			len += (unsigned)snprintf(sigs + len, sizeof(sigs) - len, "%s%.4s",
						  len ? " " : "", t->sig);
		unsigned kinds = 0;
		if (sig_is(t, "APIC")) {
			madt = true;
			madt_cpus(t);
		} else if (sig_is(t, "IVRS")) {
			iommu = "AMD-Vi (IVRS)";
			iommus = count_entries(t, 48, true, &kinds);
		} else if (sig_is(t, "DMAR")) {
			iommu = "Intel VT-d (DMAR)";
			iommus = count_entries(t, 48, false, &kinds);
		}
	}
	say("acpi: ACPI %s, %s with %u tables: %s", rsdp[15] >= 2 ? "2.0+" : "1.0",
	    xsdt ? "XSDT" : "RSDT", count, sigs);
	if (!madt)
		say("cpus: no MADT: the core runs on one CPU");
	if (iommu)
		say("iommu: %s found, %u remapping unit%s: devices passed through are fenced",
		    iommu, iommus, iommus == 1 ? "" : "s");
	else
		say("iommu: none found (no IVRS, no DMAR): a device can be passed through only to a "
		    "partition marked trusted");
}

/* --------------------------------------------------------------- memory -- */

static void check_memory(void)
{
	UINTN entries = 0, key, dsize;
	UINT32 dver;
	EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &dsize, &dver);
	u64 usable = 0, reserved = 0, acpi = 0, mmio = 0, runtime = 0, top = 0;

	if (!map) {
		say("memory: GetMemoryMap() failed");
		cannot("the firmware gives no memory map");
		return;
	}
	for (UINTN i = 0; i < entries; i++) {
		const EFI_MEMORY_DESCRIPTOR *d =
			(const EFI_MEMORY_DESCRIPTOR *)((const u8 *)map + i * dsize);
		u64 size = d->NumberOfPages << 12;
		switch (d->Type) {
		case EfiConventionalMemory:
		case EfiBootServicesCode:
		case EfiBootServicesData:
		case EfiLoaderCode:
		case EfiLoaderData:
			usable += size; /* free once boot services have exited */
			break;
		case EfiACPIReclaimMemory:
		case EfiACPIMemoryNVS:
			acpi += size;
			break;
		case EfiRuntimeServicesCode:
		case EfiRuntimeServicesData:
			runtime += size;
			break;
		case EfiMemoryMappedIO:
		case EfiMemoryMappedIOPortSpace:
			mmio += size;
			continue;
		default:
			reserved += size;
			continue;
		}
		if (d->PhysicalStart + size > top)
			top = d->PhysicalStart + size;
	}
	FreePool(map);
	say("memory: %llu MiB usable after boot, %llu KiB ACPI, %llu KiB firmware runtime, "
	    "%llu KiB reserved, %llu regions, top of RAM %#llx",
	    (unsigned long long)(usable >> 20), (unsigned long long)(acpi >> 10),
	    (unsigned long long)(runtime >> 10), (unsigned long long)(reserved >> 10),
	    (unsigned long long)entries, (unsigned long long)top);
	if (usable < MiB(MIN_USABLE_MIB))
		cannot("only %llu MiB of usable memory (at least %u MiB)",
		       (unsigned long long)(usable >> 20), MIN_USABLE_MIB);
}

static void check_screen(void)
{
	EFI_GUID guid = EFI_GRAPHICS_OUTPUT_PROTOCOL_GUID;
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop = NULL;

	if (EFI_ERROR(BS->LocateProtocol(&guid, NULL, (void **)&gop)) || !gop || !gop->Mode ||
	    !gop->Mode->Info) {
		say("screen: no graphics output: the core's console is the serial line only");
		return;
	}
	const EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *i = gop->Mode->Info;
	static const char *const formats[] = { "RGBX", "BGRX", "bit mask", "blt only" };
	say("screen: %ux%u, framebuffer at %#llx, %s pixels%s", i->HorizontalResolution,
	    i->VerticalResolution, (unsigned long long)gop->Mode->FrameBufferBase,
	    i->PixelFormat < 4 ? formats[i->PixelFormat] : "unknown",
	    i->PixelFormat < 2 ? ": the core draws its console on it" :
				 ": the core's console is the serial line only");
}

bool hwcheck_run(void)
{
	memset(&ck, 0, sizeof(ck));
	ck.can_run = true;
	bool serial = console_has_serial();
	if (!serial && uart_init())
		ck.uart = true;
	say("Partita hardware check (the firmware's console%s)", serial ? " and its serial port" :
								 ck.uart ?
									  ", and COM1" :
									  "; no serial port found");
	check_cpu();
	check_acpi();
	check_memory();
	check_screen();
	if (ck.can_run)
		say("verdict: this machine can run Partita");
	else
		say("verdict: this machine cannot run Partita: %s", ck.reason);
	return ck.can_run;
}

void hwcheck_wait(unsigned seconds)
{
	EFI_EVENT timer, events[2];
	UINTN index;

	say("press a key to return to the firmware (or wait %u s)", seconds);
	if (EFI_ERROR(BS->CreateEvent(EVT_TIMER, 0, NULL, NULL, &timer)))
		return;
	BS->SetTimer(timer, TimerRelative, (UINT64)seconds * 10000000ULL);
	events[0] = ST->ConIn->WaitForKey;
	events[1] = timer;
	ST->ConIn->Reset(ST->ConIn, FALSE);
	BS->WaitForEvent(2, events, &index);
	BS->CloseEvent(timer);
	if (index == 0) {
		EFI_INPUT_KEY key;
		ST->ConIn->ReadKeyStroke(ST->ConIn, &key);
	}
	say("returning to the firmware");
}
