/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * attack: a hostile paravirtual guest, for a partition with on_fault =
 * restart.  Each boot runs one attack, attack k = boot_count - 1, after the
 * line "attack k: <what>"; the hypervisor must stop the partition with a
 * reason naming what it did ("[hv] partition NAME stopped: ...") and restart
 * it, which starts the next attack.  From boot 2 on, the guest yields first,
 * so each attack starts at one of its window starts and the other partitions
 * run between attacks.
 *
 * Boot 1 first checks the hypercall ABI's argument errors in the guest: bad
 * pointers and lengths (-PARTITA_E_FAULT), unknown numbers (-PARTITA_E_NOSYS), control calls
 * without the capability (-PARTITA_E_PERM), and prints "ok: ..." per check, or
 * "FAIL ..." with file and line.
 *
 * The attacks, in order:
 *    0  read just beyond its memory (through a mapping it adds itself)
 *    1  write at 1 GiB, far outside its memory
 *    2  write its read-only start-info page
 *    3  port I/O: write the UART's data port 0x3f8
 *    4  port I/O: write the PIC's command port 0x20
 *    5  wrmsr EFER (clearing SVME)
 *    6  rdmsr VM_HSAVE_PA
 *    7  wrmsr VM_HSAVE_PA
 *    8  rdmsr VM_CR
 *    9  wrmsr VM_CR (setting SVMDIS)
 *   10  the SVM instructions under its own IDT, each of which must raise #UD
 *       ("ok: VMRUN raised #UD"), then VMRUN once more with the IDT it was
 *       started with (none): the #UD cannot be delivered
 *   11  a triple fault: a zero-limit IDT and int3
 *   12  CLI then HLT forever: never stopped, it keeps only its own windows
 *       (the last attack; the run must be ended by another partition)
 */
#include "guests/lib/cpu.h"
#include "guests/lib/guest.h"
#include "kernel/lib/string.h"

#define PTE_P (1ULL << 0)
#define PTE_W (1ULL << 1)
#define PTE_PS (1ULL << 7)
#define PTE_ADDR 0x000ffffffffff000ULL

#define MSR_EFER 0xc0000080u
#define MSR_VM_CR 0xc0010114u
#define MSR_VM_HSAVE_PA 0xc0010117u
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)
#define VM_CR_SVMDIS (1ULL << 4)

static unsigned failures;

static void expect(long got, long want, const char *what, const char *file, int line)
{
	if (got == want) {
		printf("ok: %s -> %ld\n", what, got);
		return;
	}
	failures++;
	printf("FAIL %s:%d: %s -> %ld, expected %ld\n", file, line, what, got, want);
}
#define EXPECT(call, want, what) expect((call), (want), (what), __FILE__, __LINE__)

/* Hypercall argument errors: nothing here may stop the partition. */
static void check_hypercalls(const struct partita_start_info *si)
{
	static const char msg[] = "hypercall checks\n";
	struct partita_partition_info info;
	u64 top = si->mem_size;

	EXPECT(hc_version(), PARTITA_ABI_VERSION, "HC_VERSION");
	EXPECT(hc_call(HC_CONSOLE_WRITE, (long)msg, 0, 0, 0, 0), 0, "console write of 0 bytes");
	EXPECT(hc_call(HC_CONSOLE_WRITE, 0, 16, 0, 0, 0), -PARTITA_E_FAULT,
	       "console write from gpa 0");
	EXPECT(hc_call(HC_CONSOLE_WRITE, 0x1000, 16, 0, 0, 0), -PARTITA_E_FAULT,
	       "console write from the start-info page");
	EXPECT(hc_call(HC_CONSOLE_WRITE, (long)top, 1, 0, 0, 0), -PARTITA_E_FAULT,
	       "console write from just beyond its memory");
	EXPECT(hc_call(HC_CONSOLE_WRITE, (long)(top - 8), 64, 0, 0, 0), -PARTITA_E_FAULT,
	       "console write running past the end of its memory");
	EXPECT(hc_call(HC_CONSOLE_WRITE, (long)(top - 16), -1L, 0, 0, 0), -PARTITA_E_FAULT,
	       "console write of length 2^64-1");
	EXPECT(hc_call(HC_CONSOLE_WRITE, -16L, 64, 0, 0, 0), -PARTITA_E_FAULT,
	       "console write whose gpa+len wraps around");
	EXPECT(hc_call(HC_CONSOLE_WRITE, 0x40000000L, 1, 0, 0, 0), -PARTITA_E_FAULT,
	       "console write from 1 GiB");
	EXPECT(hc_partition_info(NULL), -PARTITA_E_FAULT, "partition info to gpa 0");
	EXPECT(hc_partition_info((void *)0x1000), -PARTITA_E_FAULT,
	       "partition info into the read-only start-info page");
	EXPECT(hc_partition_info((void *)(top - 8)), -PARTITA_E_FAULT,
	       "partition info running past the end of its memory");
	EXPECT(hc_partition_info(&info), 0, "partition info to its own memory");
	EXPECT(info.id == si->partition_id && !strcmp(info.name, si->name), 1,
	       "partition info names this partition");
	EXPECT(hc_call(1000, 0, 0, 0, 0, 0), -PARTITA_E_NOSYS, "unknown hypercall 1000");
	EXPECT(hc_call(0x7fffffff, 0, 0, 0, 0, 0), -PARTITA_E_NOSYS,
	       "unknown hypercall 0x7fffffff");
	EXPECT(hc_call(-1L, 0, 0, 0, 0, 0), -PARTITA_E_NOSYS, "unknown hypercall -1");
	EXPECT(hc_event_signal(99), -PARTITA_E_NOENT, "event signal on channel 99");
	EXPECT(hc_wait(1), 0, "wait with a deadline in the past");
	EXPECT(hc_call(HC_PARTITION_LIST, (long)&info, 1, 0, 0, 0), -PARTITA_E_PERM,
	       "partition list without the control capability");
	EXPECT(hc_call(HC_PARTITION_STATS, 0, (long)&info, 0, 0, 0), -PARTITA_E_PERM,
	       "partition stats without the control capability");
	EXPECT(hc_call(HC_CONSOLE_READ, 0, (long)&info, 16, 0, 0), -PARTITA_E_PERM,
	       "console read without the control capability");
	EXPECT(hc_call(HC_PARTITION_CTL, 0, PARTITION_CTL_RESTART, 0, 0, 0), -PARTITA_E_PERM,
	       "partition restart without the control capability");
	EXPECT(hc_call(HC_PARTITION_CTL, 999, PARTITION_CTL_STOP, 0, 0, 0), -PARTITA_E_PERM,
	       "partition stop of bad id 999 without the control capability");
	EXPECT(hc_call(HC_PARTITION_CTL, si->partition_id, 77, 0, 0, 0), -PARTITA_E_PERM,
	       "partition ctl with bad op 77 without the control capability");
	EXPECT((long)(si->flags & PARTITA_FEATURE_CONTROL), 0,
	       "start info shows no control capability");
	if (failures)
		printf("FAIL %u hypercall checks failed\n", failures);
	else
		printf("ok: all hypercall argument checks passed\n");
}

/* Page-table pages for the mappings attacks add (guest RAM, identity). */
static u64 pt_pool[4][512] __aligned(4096);
static unsigned pt_used;

static u64 *next_table(u64 *entry)
{
	if (!(*entry & PTE_P)) {
		u64 *t = pt_pool[pt_used++];
		memset(t, 0, 4096);
		*entry = (u64)(uintptr_t)t | PTE_P | PTE_W;
	}
	return (u64 *)(uintptr_t)(*entry & PTE_ADDR);
}

/* Identity-maps the 2 MiB page holding addr in the guest's own tables: the
 * guest may map what it likes; the second level decides what is there. */
static void map_2m(u64 addr)
{
	u64 *pml4 = (u64 *)(uintptr_t)(read_cr3() & PTE_ADDR);
	u64 *pdpt = next_table(&pml4[addr >> 39 & 511]);
	u64 *pd = next_table(&pdpt[addr >> 30 & 511]);

	pd[addr >> 21 & 511] = (addr & ~((2ULL << 20) - 1)) | PTE_P | PTE_W | PTE_PS;
	write_cr3(read_cr3());
}

static void svm_insn(void *arg)
{
	switch ((int)(uintptr_t)arg) {
	case 0:
		asm volatile("vmrun" : : "a"(0x10000) : "memory");
		break;
	case 1:
		asm volatile("vmload" : : "a"(0x10000) : "memory");
		break;
	case 2:
		asm volatile("vmsave" : : "a"(0x10000) : "memory");
		break;
	case 3:
		asm volatile("stgi" ::: "memory");
		break;
	case 4:
		asm volatile("clgi" ::: "memory");
		break;
	case 5:
		asm volatile("skinit" : : "a"(0x10000) : "memory");
		break;
	case 6:
		asm volatile("invlpga" : : "a"(0), "c"(0) : "memory");
		break;
	}
}

static void svm_instructions(void)
{
	static const char *const names[] = { "VMRUN", "VMLOAD", "VMSAVE", "STGI",
					     "CLGI",  "SKINIT", "INVLPGA" };
	struct desc_ptr start_idt;
	struct trap_info ti;

	sidt(&start_idt);
	trap_init();
	for (unsigned i = 0; i < ARRAY_SIZE(names); i++) {
		int v = trap_try(svm_insn, (void *)(uintptr_t)i, &ti);
		if (v == 6)
			printf("ok: %s raised #UD at rip %#llx\n", names[i],
			       (unsigned long long)ti.rip);
		else {
			failures++;
			printf("FAIL %s:%d: %s gave %s %d, expected #UD (6)\n", __FILE__, __LINE__,
			       names[i], v < 0 ? "no exception" : "vector", v);
		}
	}
	printf("VMRUN again, without an IDT\n");
	lidt(&start_idt);
	svm_insn((void *)0);
	printf("FAIL %s:%d: VMRUN without an IDT went on\n", __FILE__, __LINE__);
}

int guest_main(const struct partita_start_info *si)
{
	u64 k = si->boot_count - 1;

	if (k == 0)
		check_hypercalls(si);
	else
		hc_yield(); /* start this attack at a window start */

	switch (k) {
	case 0:
		printf("attack 0: read just beyond its memory, at %#llx\n",
		       (unsigned long long)si->mem_size);
		map_2m(si->mem_size);
		(void)*(volatile u64 *)(uintptr_t)si->mem_size;
		break;
	case 1:
		printf("attack 1: write at 1 GiB, outside its memory\n");
		map_2m(0x40000000);
		*(volatile u64 *)0x40000000 = 0xbad;
		break;
	case 2:
		printf("attack 2: write its read-only start-info page\n");
		*(volatile u32 *)(uintptr_t)si = 0;
		break;
	case 3:
		printf("attack 3: port I/O, write to the UART at 0x3f8\n");
		outb(0x3f8, 'X');
		break;
	case 4:
		printf("attack 4: port I/O, write to the PIC at 0x20\n");
		outb(0x20, 0x20);
		break;
	case 5:
		printf("attack 5: wrmsr EFER, clearing SVME\n");
		wrmsr(MSR_EFER, EFER_LME | EFER_LMA | EFER_NXE);
		break;
	case 6:
		printf("attack 6: rdmsr VM_HSAVE_PA\n");
		printf("VM_HSAVE_PA = %#llx\n", (unsigned long long)rdmsr(MSR_VM_HSAVE_PA));
		break;
	case 7:
		printf("attack 7: wrmsr VM_HSAVE_PA\n");
		wrmsr(MSR_VM_HSAVE_PA, 0x1000);
		break;
	case 8:
		printf("attack 8: rdmsr VM_CR\n");
		printf("VM_CR = %#llx\n", (unsigned long long)rdmsr(MSR_VM_CR));
		break;
	case 9:
		printf("attack 9: wrmsr VM_CR, setting SVMDIS\n");
		wrmsr(MSR_VM_CR, VM_CR_SVMDIS);
		break;
	case 10:
		printf("attack 10: VMRUN, VMLOAD, VMSAVE, STGI, CLGI, SKINIT, INVLPGA\n");
		svm_instructions();
		break;
	case 11:
		printf("attack 11: triple fault (zero-limit IDT, int3)\n");
		trap_triple_fault();
	case 12:
		printf("attack 12: cli, then hlt forever\n");
		console_flush();
		for (;;)
			asm volatile("cli; hlt" ::: "memory");
	default:
		printf("all attacks done (boot %llu)\n", (unsigned long long)si->boot_count);
		return 0;
	}
	printf("FAIL attack %llu was not stopped\n", (unsigned long long)k);
	return 1;
}
