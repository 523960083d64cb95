/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The core's C entry: brings the machine up in order (console, CPU tables,
 * memory, own page tables, ACPI, clocks, local APIC, the other CPUs), then
 * reads the partition config the loader handed over, turns SVM or VMX on on
 * every CPU, creates the partitions and runs every CPU's schedule.
 *
 * Boot order matters: the log needs only the UART; the exception dump needs
 * the IDT; page allocation needs the memory map; everything after paging_init
 * runs on the core's own tables.
 */
#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/fpu.h"
#include "arch/x86/gdt.h"
#include "arch/x86/lapic.h"
#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/traps.h"
#include "boot/boot_info.h"
#include "drivers/acpi.h"
#include "drivers/iommu.h"
#include "drivers/pci.h"
#include "drivers/uart16550.h"
#include "kernel/config.h"
#include "kernel/control_info.h"
#include "kernel/cpu_policy.h"
#include "kernel/errno.h"
#include "kernel/hvm/platform.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/partition.h"
#include "kernel/sched.h"
#include "kernel/screen.h"
#include "kernel/virt.h"

#define PARTITA_VERSION "0.1.0"
#define TIMER_VECTOR 0x20
#define TIMER_TEST_HZ 1000
#define TIMER_TEST_MS 50

void core_main(u64 boot_info_phys) __noreturn;

static struct acpi_info acpi;
static struct config config;
static volatile u64 timer_ticks;

static const struct boot_info *check_boot_info(u64 phys)
{
	const struct boot_info *bi = phys_to_virt(hpa(phys));

	if (!phys || bi->magic != BOOT_INFO_MAGIC) {
		log_line("boot: no valid boot_info at %#llx (bad magic)", (unsigned long long)phys);
		return NULL;
	}
	if (bi->version != BOOT_INFO_VERSION || bi->size != sizeof(*bi)) {
		log_line("boot: boot_info version %u size %u, this core expects version %u size %zu",
			 bi->version, bi->size, BOOT_INFO_VERSION, sizeof(*bi));
		return NULL;
	}
	if (bi->mem_count > BOOT_MAX_MEM_REGIONS || bi->module_count > BOOT_MAX_MODULES) {
		log_line("boot: boot_info tables overflow (%u memory regions, %u modules)",
			 bi->mem_count, bi->module_count);
		return NULL;
	}
	return bi;
}

static void cpu_report(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	char vendor[13], brand[49] = "";

	memcpy(vendor + 0, &r.ebx, 4);
	memcpy(vendor + 4, &r.edx, 4);
	memcpy(vendor + 8, &r.ecx, 4);
	vendor[12] = '\0';
	if (cpuid(0x80000000, 0).eax >= 0x80000004) {
		for (u32 i = 0; i < 3; i++) {
			r = cpuid(0x80000002 + i, 0);
			memcpy(brand + 16 * i + 0, &r.eax, 4);
			memcpy(brand + 16 * i + 4, &r.ebx, 4);
			memcpy(brand + 16 * i + 8, &r.ecx, 4);
			memcpy(brand + 16 * i + 12, &r.edx, 4);
		}
		brand[48] = '\0';
	}
	const char *b = brand;
	while (*b == ' ')
		b++;

	bool vmx = cpuid(1, 0).ecx & (1u << 5);
	bool svm = cpuid(0x80000001, 0).ecx & (1u << 2);
	char features[96];
	if (svm) {
		/* AMD APM Vol. 3, CPUID Fn8000_000A: SVM features. */
		u32 edx = cpuid(0x8000000a, 0).edx;
		snprintf(features, sizeof(features), "SVM (NPT %s, NRIP-save %s)",
			 edx & 1 ? "yes" : "no", edx & 8 ? "yes" : "no");
	} else if (vmx) {
		snprintf(features, sizeof(features), "VMX");
	} else {
		snprintf(features, sizeof(features), "none");
	}
	log_line("cpu: %s '%s', virtualization: %s", vendor, b, features);
}

static void host_cpuid(u32 leaf, u32 subleaf, u32 out[4])
{
	struct cpuid_regs r = cpuid(leaf, subleaf);

	out[0] = r.eax;
	out[1] = r.ebx;
	out[2] = r.ecx;
	out[3] = r.edx;
}

static void timer_tick(struct trap_frame *f)
{
	(void)f;
	timer_ticks++;
	lapic_eoi();
}

/* Shows that the LAPIC timer really interrupts: count its ticks over a
 * stretch measured by the TSC. */
static void timer_check(void)
{
	if (irq_register(TIMER_VECTOR, timer_tick)) {
		log_line("lapic: cannot register the timer vector");
		return;
	}
	timer_ticks = 0;
	lapic_timer_periodic(TIMER_TEST_HZ, TIMER_VECTOR);
	irq_enable();
	clock_delay_us(TIMER_TEST_MS * 1000);
	irq_disable();
	lapic_timer_stop();
	log_line("lapic: timer ticking, %llu interrupts in %u ms at %u Hz",
		 (unsigned long long)timer_ticks, TIMER_TEST_MS, TIMER_TEST_HZ);
}

static __noreturn void config_refused(const struct config_error *err)
{
	char msg[256];

	config_error_format(err, msg, sizeof(msg));
	log_line("config error: %s", msg);
	log_line("boot stopped: the configuration was refused");
	hv_stop(HV_EXIT_CONFIG, "config refused");
}

/* Every file the config names must have been loaded by the loader. */
static void check_files(const struct boot_info *bi, const char *path)
{
	struct config_error err = { .line = 0 };

	strlcpy(err.file, path, sizeof(err.file));
	for (unsigned i = 0; i < config.partition_count; i++) {
		const char *names[CONFIG_PARTITION_FILES];
		unsigned lines[CONFIG_PARTITION_FILES];
		unsigned n = config_partition_files(&config.partitions[i], names, lines);
		for (unsigned k = 0; k < n; k++) {
			if (boot_find_module(bi, names[k]))
				continue;
			err.line = lines[k];
			if (bi->source == BOOT_SOURCE_MULTIBOOT2)
				snprintf(err.reason, sizeof(err.reason),
					 "file '%s' not loaded (no Multiboot2 module named '%s')",
					 names[k], names[k]);
			else
				snprintf(err.reason, sizeof(err.reason),
					 "file '%s' not found on the boot volume (\\partita\\%s)",
					 names[k], names[k]);
			config_refused(&err);
		}
	}
}

/* Every partition's CPU must have come up (and, once virtualization is on,
 * run SVM/VMX): refused with the line of its `cpu =`. */
static void check_cpus(const char *path, bool virt_on)
{
	struct config_error err = { .line = 0 };

	strlcpy(err.file, path, sizeof(err.file));
	for (unsigned i = 0; i < config.partition_count; i++) {
		const struct config_partition *p = &config.partitions[i];
		bool ok = virt_on ? smp_cpu_virt(p->cpu) : smp_cpu_up(p->cpu);
		if (ok)
			continue;
		err.line = p->cpu_line ? p->cpu_line : p->line;
		if (p->cpu >= smp_cpu_count())
			snprintf(err.reason, sizeof(err.reason),
				 "cpu %u of '%s': this machine has %u CPU%s up (0..%u)", p->cpu,
				 p->name, smp_cpu_count(), smp_cpu_count() == 1 ? "" : "s",
				 smp_cpu_count() - 1);
		else
			snprintf(err.reason, sizeof(err.reason), "cpu %u of '%s' (APIC ID %u) %s",
				 p->cpu, p->name, smp_apic_id(p->cpu),
				 virt_on ? "cannot run partitions (no SVM/VMX on it)" :
					   "did not come up");
		config_refused(&err);
	}
}

static void format_ns(char *buf, size_t size, u64 ns)
{
	if (ns % 1000000 == 0)
		snprintf(buf, size, "%llums", (unsigned long long)(ns / 1000000));
	else if (ns % 1000 == 0)
		snprintf(buf, size, "%lluus", (unsigned long long)(ns / 1000));
	else
		snprintf(buf, size, "%lluns", (unsigned long long)ns);
}

static void report_partition(const struct boot_info *bi, const struct config_partition *p)
{
	char windows[128] = "", t1[24], t2[24];
	size_t len = 0;

	for (unsigned w = 0; w < p->window_count && len < sizeof(windows); w++) {
		format_ns(t1, sizeof(t1), p->windows[w].offset_ns);
		format_ns(t2, sizeof(t2), p->windows[w].length_ns);
		len += snprintf(windows + len, sizeof(windows) - len, "%s%s+%s", w ? " " : "", t1,
				t2);
	}
	log_line("partition %s: %s, %llu MiB, image %s (%llu KiB), cpu %u, windows %s, caps %s, on fault %s",
		 p->name, p->kind == PARTITION_PV ? "pv" : "hvm",
		 (unsigned long long)(p->memory >> 20), p->image,
		 (unsigned long long)((boot_find_module(bi, p->image)->size + 1023) >> 10), p->cpu,
		 p->window_count ? windows : "none", p->caps & CAP_CONTROL ? "control" : "none",
		 p->on_fault == FAULT_RESTART ? "restart" : "halt");
}

static void load_config(const struct boot_info *bi)
{
	static struct config_error err;
	const char *path = bi->config_path[0] ? bi->config_path : "partita.conf";
	char t[24];

	if (!bi->config_phys || !bi->config_size) {
		strlcpy(err.file, path, sizeof(err.file));
		err.line = 0;
		strlcpy(err.reason, "no configuration was loaded", sizeof(err.reason));
		config_refused(&err);
	}
	if (config_parse(phys_to_virt(hpa(bi->config_phys)), bi->config_size, path, &config,
			 &err) ||
	    config_check(&config, path, &err))
		config_refused(&err);
	if (config.debug_exit_port >= 0)
		hv_set_debug_exit(config.debug_exit_port);
	check_files(bi, path);
	for (unsigned i = 0; i < config.partition_count; i++)
		if (hvm_boot_check_config(&config.partitions[i], bi, &err))
			config_refused(&err);
	check_cpus(path, false);

	format_ns(t, sizeof(t), config.frame_ns);
	log_line("config: %s, %u partitions, %u channels, frame %s", path, config.partition_count,
		 config.channel_count, t);
	for (unsigned i = 0; i < config.partition_count; i++)
		if (!config.partitions[i].slot) /* slots: partitions_create */
			report_partition(bi, &config.partitions[i]);
}

void core_main(u64 boot_info_phys)
{
	const struct boot_info *bi;
	u64 tsc_start = rdtsc();

	bool uart = uart_init();
	log_init();
	gdt_init();
	percpu_init_cpu(0); /* GS: the log's per-CPU context, before its first line */
	traps_init();

	/* The screen first, so that it shows the log from its first line. */
	bi = check_boot_info(boot_info_phys);
	if (bi)
		screen_init(bi);
	log_line("Partita %s, x86-64 microhypervisor", PARTITA_VERSION);
	if (!uart)
		log_line("serial: no 16550 UART at %#x (its scratch register does not answer)",
			 UART_COM1);
	if (!bi)
		hv_stop(HV_EXIT_BOOT, "bad boot_info");
	screen_log();
	core_phys_base = bi->core_phys;
	log_line("boot: firmware '%s' rev %u.%u, core at %#llx (%llu KiB), %u modules",
		 bi->firmware_vendor, bi->firmware_revision >> 16, bi->firmware_revision & 0xffff,
		 (unsigned long long)bi->core_phys, (unsigned long long)(bi->core_size >> 10),
		 bi->module_count);
	cpu_report();

	if (memory_init(bi))
		hv_stop(HV_EXIT_BOOT, "no memory");
	if (paging_init())
		hv_stop(HV_EXIT_BOOT, "no page tables");

	if (acpi_init(hpa(bi->rsdp_phys), &acpi)) {
		log_line("acpi: unusable, continuing with one CPU");
		acpi.cpu_count = 1;
	}
	if (clock_init(&acpi))
		hv_stop(HV_EXIT_BOOT, "no clock");
	if (lapic_init(&acpi) || lapic_timer_calibrate())
		hv_stop(HV_EXIT_BOOT, "no local APIC");
	timer_check();
	pci_init(&acpi);
	iommu_init(&acpi); /* DMA isolation; without an IOMMU, `trusted` rules */
	smp_init(&acpi, bi);
	log_set_stop_others(smp_stop_others);

	load_config(bi);

	log_line("boot done in %llu ms",
		 (unsigned long long)((rdtsc() - tsc_start) / (clock_tsc_hz() / 1000)));
	if (config.exit_after_boot)
		hv_stop(HV_EXIT_OK, "exit_after_boot");

	fpu_init();
	cpu_policy_init(host_cpuid, fpu_xcr0_supported());
	if (virt_init())
		hv_stop(HV_EXIT_BOOT, "partitions cannot run on this machine");
	smp_enable_virt();
	check_cpus(bi->config_path[0] ? bi->config_path : "partita.conf", true);
	sched_init(&config);
	control_info_init(&config, bi);
	if (!partitions_create(&config, bi))
		log_line("no partition could be created");
	screen_check_devices();
	sched_run();
}
