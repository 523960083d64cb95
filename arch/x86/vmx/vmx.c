/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Intel VMX back end: turns VMX on, keeps one VMCS per vCPU, runs guests
 * with EPT and VPID, and translates VM exits into struct vm_exit.  Intel SDM
 * Vol. 3C, chapters 25-31 (VMX), and Vol. 3D Appendix A (capability MSRs)
 * are the reference for every rule cited below.
 *
 * Controls are never constants: each control word is computed from the
 * capability MSRs ("true" ones where IA32_VMX_BASIC[55] says they exist) as
 * (wanted | allowed0) & allowed1, and a bit Partita needs that the CPU cannot
 * set refuses VMX with a log line (Appendix A.3 - A.5).
 *
 * The I/O and MSR bitmaps are shared by all vCPUs and are all ones: every
 * port and MSR access exits to the generic handlers, as with SVM.  External
 * interrupts exit without being acknowledged, so the interrupt stays pending
 * in the local APIC and the host takes it when it enables interrupts again
 * (the VMEXIT_EXTINT contract of virt.h).
 *
 * A vCPU's control state is two pages: the VMCS (arch_page) and, after it,
 * struct vmx_vcpu (v->arch).  One VMCS is current on the CPU at a time
 * (§25.11.3); the CPU's percpu vmcs_current tracks it so runs of one vCPU
 * skip VMPTRLD.
 *
 * Several CPUs (arch/x86/percpu.h): each CPU turns VMX on itself with its
 * own VMXON region and has its own current VMCS and lazy-MSR owner; VPIDs
 * are global (every vCPU its own).  A vCPU runs on one CPU (its partition's
 * `cpu`) but is made on the boot CPU: vcpu_create and vcpu_reset end with a
 * VMCLEAR (§25.11.3: a VMCS must be cleared before another CPU makes it
 * current), and the first VMPTRLD on a CPU writes that CPU's host state.
 *
 * Unmodified (hvm) vCPUs get their own MSR bitmap that lets the syscall,
 * segment-base, SYSENTER and PAT MSRs through, as svm.c does.  FS/GS base,
 * SYSENTER and PAT are guest-state fields of the VMCS (§26.4.1, §26.4.2);
 * KERNEL_GS_BASE, STAR, LSTAR, CSTAR and SFMASK are not, and the core never
 * uses them (no SYSCALL, no SWAPGS), so they are switched lazily, by hand,
 * when another vCPU than the last one runs on the CPU (guest_msrs_load): no
 * MSR-load/store area costs anything on the exit path.  Paravirtual vCPUs
 * switch them too, so SWAPGS in one shows only its own value.
 *
 * CR0 and CR4: the guest owns every bit but those VMX fixes (Appendix A.7,
 * A.8) and CR4.VMXE; those are in the guest/host masks, the guest reads its
 * own value from the read shadows, and a MOV that would change one exits and
 * is emulated here (handle_cr_access), with #GP for what a CPU without VMX
 * would refuse.  With unrestricted guest (hvm vCPUs, §26.6.2) PE and PG are
 * the guest's too, so Multiboot's flat protected mode with paging off runs
 * as it is.
 */
#include "arch/x86/vmx/vmx_ops.h"
#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/vmx/vmcs.h"
#include "kernel/errno.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/virt.h"

#define IO_BITMAP_PAGES 2  /* A: ports 0-0x7fff, B: 0x8000-0xffff (§26.6.4) */
#define MSR_BITMAP_PAGES 1 /* read low/high, write low/high (§26.6.9) */
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101

/* Controls Partita cannot do without. */
#define PIN_REQUIRED (PIN_EXTINT_EXITING | PIN_NMI_EXITING)
#define PIN_OPTIONAL (PIN_PREEMPT_TIMER | PIN_VIRTUAL_NMIS)
/* RDPMC exits: the counters count for the whole machine, across
 * partitions; the platform answers for them (kernel/vmexit.c). */
/* MONITOR and MWAIT exit: the CPU policy hides them, so they raise #UD as
 * on a CPU without them (issue 10). */
/* CR8 accesses exit too: without a TPR shadow a guest's MOV CR8 writes the
 * real local APIC's TPR (SDM Vol. 3A §11.8.6), which the VM exit does not
 * switch back: the next partition would read it, and a priority of 15
 * would block the hypervisor's own timer (issue 10, tprattack, isostate).
 * A pv vCPU keeps its own CR8 (struct vmx_vcpu.cr8); an hvm one's is its
 * local APIC's TPR, which the kind answers (VMEXIT_CR8, virt.h). */
#define CPU_REQUIRED                                                                               \
	(CPU_HLT_EXITING | CPU_USE_MSR_BITMAPS | CPU_SECONDARY_CONTROLS | CPU_RDPMC_EXITING |      \
	 CPU_USE_TSC_OFFSETTING | CPU_MONITOR_EXITING | CPU_MWAIT_EXITING | CPU_CR8_LOAD_EXITING | \
	 CPU_CR8_STORE_EXITING)
#define CPU2_REQUIRED (CPU2_ENABLE_EPT)
/* Instructions the guest's CPUID advertises (it is the host's, filtered):
 * without these enables they would raise #UD (§26.6.2). */
/* Not XSAVES/XRSTORS: the policy hides them (IA32_XSS holds supervisor
 * state nobody switches), and without the enable they raise #UD. */
#define CPU2_OPTIONAL (CPU2_ENABLE_VPID | CPU2_ENABLE_RDTSCP | CPU2_ENABLE_INVPCID)
#define EXIT_REQUIRED (EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_IA32_EFER | EXIT_LOAD_IA32_EFER)
#define ENTRY_REQUIRED (ENTRY_LOAD_IA32_EFER)
/* DR7 and IA32_DEBUGCTL switched with the guest's (§27.3.2.1, §28.3.1):
 * without them the guest's debug registers act on the host. */
#define EXIT_OPTIONAL (EXIT_SAVE_DEBUG_CONTROLS | EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT)
#define ENTRY_OPTIONAL (ENTRY_LOAD_DEBUG_CONTROLS | ENTRY_LOAD_IA32_PAT)
/* IA32_PAT's reset value (SDM Vol. 3A §12.12.4): WB, WT, UC-, UC twice. */
#define PAT_RESET 0x0007040600070406ULL
#define MSR_IA32_PAT 0x277
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
/* The primary controls whose default setting is 1 and that name nothing
 * (Appendix A.3.2: bits 1, 4-6, 8, 13-16, 26): forced on without effect. */
#define CPU_DEFAULT1_RESERVED 0x04006172u

static struct {
	u64 basic;	  /* IA32_VMX_BASIC */
	u64 ept_vpid_cap; /* IA32_VMX_EPT_VPID_CAP */
	u64 misc;	  /* IA32_VMX_MISC */
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u32 pin, cpu, cpu2, exit, entry; /* the computed control words */
	u32 cpu_allowed0, cpu_allowed1;	 /* processor-based, for irq_window */
	bool vpid;			 /* VPIDs in use (else every entry flushes) */
	bool unrestricted;		 /* unrestricted guest available (hvm vCPUs use it) */
	bool preempt_timer;		 /* VMX-preemption timer in use (vmx_run) */
	bool nmi_window;		 /* virtual NMIs and NMI-window exiting: NMIs
	                                  * for hvm guests (vmx_nmi_raise) */
	bool nmi_logged;		 /* their absence was reported */
	bool pat;			 /* IA32_PAT switched by the VMCS (load and save) */
	u16 next_vpid;
	bool ready; /* the shared part is set up (first vmx_cpu_enable) */
	hpa_t io_bitmaps;
	hpa_t msr_bitmap;
	/* Per CPU (percpu.h): virt_area, its VMXON region; vmcs_current, the
	 * physical address of its current VMCS (0: none); vmx_msr_owner, the
	 * vCPU whose syscall MSRs it holds (NULL: none). */
	bool write_failed; /* a VMWRITE failed since the flag was cleared */
} vmx;

#define vmx_current (this_cpu()->vmcs_current)
#define vmx_msr_owner (this_cpu()->vmx_msr_owner)

/* The MSRs the VMCS does not switch (see the top of the file). */
static const u32 lazy_msrs[] = { MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK };
#define LAZY_MSR_COUNT (sizeof(lazy_msrs) / sizeof(lazy_msrs[0]))

struct vmx_vcpu {
	hpa_t vmcs;
	u64 eptp;
	bool launched;	   /* VMLAUNCH done: the next entry is VMRESUME */
	bool unrestricted; /* runs with "unrestricted guest" (PE, PG its own) */
	enum vcpu_mode mode;
	u64 exit_rip;		  /* guest RIP at the last exit */
	u64 msrs[LAZY_MSR_COUNT]; /* its values of lazy_msrs, while not loaded */
	u64 dr6;		  /* its DR6, while not loaded (not in the VMCS) */
	hpa_t msr_bitmap;	  /* its own (vcpu_msr_bitmap), or 0: the shared one */
	u64 dr7;		  /* its DR7, without the debug-control VM controls */
	bool irq_injected;	  /* VM_ENTRY_INTR_INFO holds the offered interrupt */
	u8 irq_vector;		  /* ... this one */
	u64 cr8;		  /* its CR8 (task priority), emulated on CR8 exits */
	int host_cpu;		  /* the CPU whose host state the VMCS holds, -1: none */
};

#define DR6_RESET 0xffff0ff0ULL /* SDM Vol. 3B §18.2.3 */
#define DR7_RESET 0x400ULL

static inline u64 read_dr6(void)
{
	u64 v;
	asm volatile("mov %%db6, %0" : "=r"(v));
	return v;
}
static inline void write_dr6(u64 v)
{
	asm volatile("mov %0, %%db6" : : "r"(v));
}
static inline u64 read_dr7(void)
{
	u64 v;
	asm volatile("mov %%db7, %0" : "=r"(v));
	return v;
}
static inline void write_dr7(u64 v)
{
	asm volatile("mov %0, %%db7" : : "r"(v));
}

static struct vmx_vcpu *vmx_of(struct vcpu *v)
{
	return v->arch;
}

/* ---- VMCS access ----------------------------------------------------- */

static u64 vmcs_read(enum vmcs_field f)
{
	u64 v = 0;

	if (!vmx_read(f, &v))
		log_line("vmx: VMREAD of field %#x failed", (unsigned)f);
	return v;
}

static void vmcs_write(enum vmcs_field f, u64 value)
{
	if (vmx_write(f, value))
		return;
	u64 err = 0;
	vmx_read(VM_INSTRUCTION_ERROR, &err);
	log_line("vmx: VMWRITE of %#llx to field %#x failed (VM-instruction error %llu)",
		 (unsigned long long)value, (unsigned)f, (unsigned long long)err);
	vmx.write_failed = true;
}

static void write_host_state(void);

/* Makes v's VMCS the current one (§31.3 "VMPTRLD"). */
static bool vmcs_load(struct vcpu *v)
{
	hpa_t vmcs = vmx_of(v)->vmcs;

	if (vmx_current == vmcs.v)
		return true;
	if (!vmx_ptrld(vmcs.v)) {
		log_line("vmx: VMPTRLD of %#llx failed", (unsigned long long)vmcs.v);
		vmx_current = 0;
		return false;
	}
	vmx_current = vmcs.v;
	/* The first load on this CPU: the exit must come back to its own
	 * stack tables, TSS and GS base (see the top of the file). */
	if (vmx_of(v)->host_cpu != (int)cpu_index()) {
		write_host_state();
		vmx_of(v)->host_cpu = (int)cpu_index();
	}
	return true;
}

/* ---- Turning VMX on ---------------------------------------------------- */

/*
 * Computes a control word from its capability MSR (Appendix A.3 - A.5): bits
 * 31:0 are the allowed 0-settings (a 1 there forces the control on), bits
 * 63:32 the allowed 1-settings.  Returns 0, or -E_NOTSUP with a log line
 * naming the required controls the CPU cannot set.
 */
static int adjust_controls(const char *what, u32 msr, u32 required, u32 optional, u32 *out)
{
	u64 cap = rdmsr(msr);
	u32 allowed0 = (u32)cap, allowed1 = (u32)(cap >> 32);
	u32 v = (required | optional | allowed0) & allowed1;

	if ((v & required) != required) {
		log_line("vmx: %s controls %#x are needed but this CPU cannot set them (MSR %#x allows %#x)",
			 what, required & ~allowed1, msr, allowed1);
		return -E_NOTSUP;
	}
	*out = v;
	return 0;
}

static int setup_controls(void)
{
	bool true_ctls = vmx.basic & VMX_BASIC_TRUE_CTLS;
	u32 io, cpu_allowed1 = (u32)(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32);
	int err;

	/* I/O bitmaps (all ones) where the CPU has them, else unconditional
	 * I/O exiting: both make every port access exit (§26.6.4). */
	io = cpu_allowed1 & CPU_USE_IO_BITMAPS ? CPU_USE_IO_BITMAPS : CPU_UNCOND_IO_EXITING;

	if ((err = adjust_controls("pin-based",
				   true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
					       MSR_IA32_VMX_PINBASED_CTLS,
				   PIN_REQUIRED, PIN_OPTIONAL, &vmx.pin)) ||
	    (err = adjust_controls("processor-based",
				   true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
					       MSR_IA32_VMX_PROCBASED_CTLS,
				   CPU_REQUIRED | io, 0, &vmx.cpu)) ||
	    (err = adjust_controls("secondary processor-based", MSR_IA32_VMX_PROCBASED_CTLS2,
				   CPU2_REQUIRED, CPU2_OPTIONAL, &vmx.cpu2)) ||
	    (err = adjust_controls("VM-exit",
				   true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS,
				   EXIT_REQUIRED, EXIT_OPTIONAL, &vmx.exit)) ||
	    (err = adjust_controls("VM-entry",
				   true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
					       MSR_IA32_VMX_ENTRY_CTLS,
				   ENTRY_REQUIRED | ENTRY_IA32E_MODE_GUEST, ENTRY_OPTIONAL,
				   &vmx.entry)))
		return err;
	u64 cpu_cap =
		rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
	vmx.cpu_allowed0 = (u32)cpu_cap;
	vmx.cpu_allowed1 = (u32)(cpu_cap >> 32);
	/* IA-32e mode guest follows the guest's EFER.LMA at each entry. */
	vmx.entry &= ~ENTRY_IA32E_MODE_GUEST;

	/* Controls the CPU forces on that Partita does not ask for (without
	 * the true MSRs, CR3 load/store exiting): such exits would end a
	 * paravirtual guest as unexpected ones. */
	u32 forced = vmx.cpu & ~(CPU_REQUIRED | io | CPU_DEFAULT1_RESERVED);
	if (forced)
		log_line("vmx: processor-based controls %#x are forced on by this CPU", forced);

	u32 allowed2 = (u32)(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32);
	vmx.vpid = vmx.cpu2 & CPU2_ENABLE_VPID;
	vmx.unrestricted = allowed2 & CPU2_UNRESTRICTED_GUEST;
	vmx.preempt_timer = vmx.pin & PIN_PREEMPT_TIMER;
	/* NMI-window exiting needs virtual NMIs ("Processor-Based
	 * VM-Execution Controls"). */
	vmx.nmi_window = (vmx.pin & PIN_VIRTUAL_NMIS) &&
			 (vmx.cpu_allowed1 & CPU_NMI_WINDOW_EXITING);
	/* PAT is switched only with all three controls (§26.7.1, §26.8.1);
	 * without them the guest's PAT accesses exit to the platform. */
	vmx.pat = (vmx.exit & EXIT_SAVE_IA32_PAT) && (vmx.exit & EXIT_LOAD_IA32_PAT) &&
		  (vmx.entry & ENTRY_LOAD_IA32_PAT);
	if (!vmx.pat) {
		vmx.exit &= ~(EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT);
		vmx.entry &= ~ENTRY_LOAD_IA32_PAT;
	}
	return 0;
}

/* EPT as Partita builds it (§29.3.2, Appendix A.10): a 4-level walk,
 * write-back tables and leaves, 2 MiB leaves, and INVEPT. */
static int check_ept(void)
{
	u64 cap = vmx.ept_vpid_cap;

	if (!(cap & EPT_CAP_WALK_4)) {
		log_line("vmx: EPT without a 4-level page walk is not supported");
		return -E_NOTSUP;
	}
	if (!(cap & EPT_CAP_WB)) {
		log_line("vmx: EPT without write-back memory type is not supported");
		return -E_NOTSUP;
	}
	if (!(cap & EPT_CAP_2M)) {
		log_line("vmx: EPT without 2 MiB pages is not supported yet");
		return -E_NOTSUP;
	}
	if (!(cap & EPT_CAP_INVEPT) || !(cap & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
		log_line("vmx: EPT without INVEPT is not supported");
		return -E_NOTSUP;
	}
	if (vmx.vpid && (!(cap & VPID_CAP_INVVPID) ||
			 !(cap & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL)))) {
		log_line("vmx: VPID without INVVPID: running without VPIDs");
		vmx.cpu2 &= ~CPU2_ENABLE_VPID;
		vmx.vpid = false;
	}
	return 0;
}

/* §25.7 and §25.8: IA32_FEATURE_CONTROL must be locked with VMXON outside
 * SMX allowed; the firmware may have locked it without. */
static int check_feature_control(void)
{
	u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);

	if (!(fc & FEATURE_CONTROL_LOCK)) {
		wrmsr(MSR_IA32_FEATURE_CONTROL,
		      fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMXON_OUTSIDE_SMX);
		return 0;
	}
	if (!(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX)) {
		log_line(
			"vmx: disabled by the firmware (IA32_FEATURE_CONTROL locked without VMXON outside SMX); enable VT-x in the setup menu");
		return -E_NOTSUP;
	}
	return 0;
}

/* The part all CPUs share, set up by the first one: capabilities (the
 * same on every CPU of a machine), controls, the I/O and MSR bitmaps. */
static int vmx_setup_shared(void)
{
	u32 size;
	int err;

	vmx.basic = rdmsr(MSR_IA32_VMX_BASIC);
	vmx.misc = rdmsr(MSR_IA32_VMX_MISC);
	size = VMX_BASIC_REGION_SIZE(vmx.basic);
	/* Appendix A.1: the VMXON region and VMCS are at most 4 KiB, and the
	 * structures Partita hands the CPU are write-back. */
	if (size == 0 || size > PAGE_SIZE || VMX_BASIC_MEMTYPE(vmx.basic) != 6) {
		log_line("vmx: unsupported VMCS (%u bytes, memory type %u)", size,
			 VMX_BASIC_MEMTYPE(vmx.basic));
		return -E_NOTSUP;
	}
	if ((err = setup_controls()))
		return err;
	vmx.ept_vpid_cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	if ((err = check_ept()))
		return err;

	/* §25.8: CR0 and CR4 must respect the fixed bits in VMX operation
	 * (Appendix A.7, A.8), and CR4.VMXE must be set before VMXON. */
	vmx.cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	vmx.cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	vmx.cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	vmx.cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	if (!(vmx.cr4_fixed1 & CR4_VMXE)) {
		log_line("vmx: CR4.VMXE cannot be set (IA32_VMX_CR4_FIXED1 %#llx)",
			 (unsigned long long)vmx.cr4_fixed1);
		return -E_NOTSUP;
	}
	/* Bit 48 of IA32_VMX_BASIC limits VMX structures to 4 GiB: take low
	 * pages then (the allocator hands out low pages first). */
	if ((err = page_alloc(IO_BITMAP_PAGES, 1, &vmx.io_bitmaps)) ||
	    (err = page_alloc(MSR_BITMAP_PAGES, 1, &vmx.msr_bitmap)))
		return err;
	if ((vmx.basic & VMX_BASIC_32BIT_ADDR) &&
	    (vmx.io_bitmaps.v >> 32 || vmx.msr_bitmap.v >> 32)) {
		log_line("vmx: this CPU needs VMX structures below 4 GiB");
		return -E_NOTSUP;
	}
	memset(phys_to_virt(vmx.io_bitmaps), 0xff, IO_BITMAP_PAGES * PAGE_SIZE);
	memset(phys_to_virt(vmx.msr_bitmap), 0xff, MSR_BITMAP_PAGES * PAGE_SIZE);
	vmx.next_vpid = 1; /* VPID 0 is the host's (§29.1) */

	log_line("vmx: enabled, EPT (2 MiB pages), %s, %s, %s",
		 vmx.vpid ? "VPID" : "no VPID (the TLB is flushed at every entry and exit)",
		 vmx.unrestricted ? "unrestricted guest" : "no unrestricted guest",
		 vmx.preempt_timer ? "preemption timer" :
				     "no preemption timer (windows end by the LAPIC timer only)");
	log_line("vmx: VMCS revision %#x, %s controls: pin %#x, cpu %#x, cpu2 %#x, exit %#x, entry %#x",
		 VMX_BASIC_REVISION(vmx.basic),
		 vmx.basic & VMX_BASIC_TRUE_CTLS ? "true" : "default", vmx.pin, vmx.cpu, vmx.cpu2,
		 vmx.exit, vmx.entry);
	return 0;
}

/* Each CPU turns VMX on itself, with its own VMXON region (§25.7, §25.8). */
static int vmx_cpu_enable(void)
{
	struct percpu *c = this_cpu();
	hpa_t vmxon;
	int err;

	if (!(cpuid(1, 0).ecx & (1u << 5))) {
		log_line("vmx: this CPU has no VMX");
		return -E_NOTSUP;
	}
	if ((err = check_feature_control()))
		return err;
	if (!vmx.ready) {
		if ((err = vmx_setup_shared()))
			return err;
	} else if (rdmsr(MSR_IA32_VMX_BASIC) != vmx.basic) {
		log_line("vmx: cpu %u has another VMX revision than cpu 0", c->index);
		return -E_NOTSUP;
	}
	write_cr0((read_cr0() | vmx.cr0_fixed0) & vmx.cr0_fixed1);
	write_cr4((read_cr4() | vmx.cr4_fixed0 | CR4_VMXE) & vmx.cr4_fixed1);
	if ((err = page_alloc(1, 1, &vmxon)))
		return err;
	if ((vmx.basic & VMX_BASIC_32BIT_ADDR) && vmxon.v >> 32) {
		log_line("vmx: this CPU needs VMX structures below 4 GiB");
		return -E_NOTSUP;
	}
	/* §25.11.5: the VMXON region starts with the VMCS revision id. */
	*(u32 *)phys_to_virt(vmxon) = VMX_BASIC_REVISION(vmx.basic);
	if (!vmx_on(vmxon.v)) {
		log_line("vmx: VMXON failed on cpu %u (CR0 %#llx, CR4 %#llx)", c->index,
			 (unsigned long long)read_cr0(), (unsigned long long)read_cr4());
		return -E_IO;
	}
	c->virt_area = vmxon.v;
	vmx_current = 0;
	vmx_msr_owner = NULL;
	if (vmx.ready)
		log_line("vmx: enabled on cpu %u (APIC ID %u)", c->index, c->apic_id);
	vmx.ready = true;
	return 0;
}

/* ---- VMCS set-up --------------------------------------------------------- */

struct desc_ptr {
	u16 limit;
	u64 base;
} __packed;

/* The base of the 16-byte system descriptor at sel in the GDT at gdt_base
 * (Intel SDM Vol. 3A §8.2.3, "TSS Descriptor in 64-bit mode"). */
static u64 system_desc_base(u64 gdt_base, u16 sel)
{
	const u64 *d = (const u64 *)(uintptr_t)(gdt_base + (sel & ~7u));

	return ((d[0] >> 16) & 0xffffff) | (((d[0] >> 56) & 0xff) << 24) | (d[1] << 32);
}

static u16 read_sel(int which)
{
	u16 s = 0;

	switch (which) {
	case 0:
		asm volatile("mov %%cs, %0" : "=r"(s));
		break;
	case 1:
		asm volatile("mov %%ss, %0" : "=r"(s));
		break;
	case 2:
		asm volatile("mov %%ds, %0" : "=r"(s));
		break;
	case 3:
		asm volatile("mov %%es, %0" : "=r"(s));
		break;
	case 4:
		asm volatile("mov %%fs, %0" : "=r"(s));
		break;
	case 5:
		asm volatile("mov %%gs, %0" : "=r"(s));
		break;
	default:
		asm volatile("str %0" : "=r"(s));
		break;
	}
	return s;
}

/* The host state the VM exit loads (§26.5, checked by §27.2.3): the core's
 * own control registers, segments and descriptor tables, read live. */
static void write_host_state(void)
{
	struct desc_ptr gdtr, idtr;
	u16 tr = read_sel(6);

	asm volatile("sgdt %0" : "=m"(gdtr));
	asm volatile("sidt %0" : "=m"(idtr));
	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CR3, read_cr3());
	vmcs_write(HOST_CR4, read_cr4());
	/* §27.2.3: selector RPL and TI must be 0. */
	vmcs_write(HOST_CS_SELECTOR, read_sel(0) & ~7u);
	vmcs_write(HOST_SS_SELECTOR, read_sel(1) & ~7u);
	vmcs_write(HOST_DS_SELECTOR, read_sel(2) & ~7u);
	vmcs_write(HOST_ES_SELECTOR, read_sel(3) & ~7u);
	vmcs_write(HOST_FS_SELECTOR, read_sel(4) & ~7u);
	vmcs_write(HOST_GS_SELECTOR, read_sel(5) & ~7u);
	vmcs_write(HOST_TR_SELECTOR, tr & ~7u);
	vmcs_write(HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmcs_write(HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmcs_write(HOST_TR_BASE, system_desc_base(gdtr.base, tr));
	vmcs_write(HOST_GDTR_BASE, gdtr.base);
	vmcs_write(HOST_IDTR_BASE, idtr.base);
	vmcs_write(HOST_IA32_SYSENTER_CS, 0);
	vmcs_write(HOST_IA32_SYSENTER_ESP, 0);
	vmcs_write(HOST_IA32_SYSENTER_EIP, 0);
	vmcs_write(HOST_IA32_EFER, rdmsr(MSR_EFER));
	if (vmx.pat)
		vmcs_write(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmcs_write(HOST_RIP, (u64)(uintptr_t)vmx_exit_stub);
	/* HOST_RSP is written by vmx_enter on every entry. */
}

static void write_controls(struct vcpu *v)
{
	struct vmx_vcpu *st = vmx_of(v);

	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx.pin);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmx.cpu);
	vmcs_write(SECONDARY_VM_EXEC_CONTROL,
		   vmx.cpu2 | (st->unrestricted ? CPU2_UNRESTRICTED_GUEST : 0));
	vmcs_write(VM_EXIT_CONTROLS, vmx.exit);
	vmcs_write(VM_ENTRY_CONTROLS, vmx.entry);
	vmcs_write(EXCEPTION_BITMAP, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_INTR_INFO, 0);
	vmcs_write(TSC_OFFSET, 0);
	if (vmx.cpu & CPU_USE_IO_BITMAPS) {
		vmcs_write(IO_BITMAP_A, vmx.io_bitmaps.v);
		vmcs_write(IO_BITMAP_B, vmx.io_bitmaps.v + PAGE_SIZE);
	}
	vmcs_write(MSR_BITMAP,
		   vmx_of(v)->msr_bitmap.v ? vmx_of(v)->msr_bitmap.v : vmx.msr_bitmap.v);
	if (vmx.cpu2 & CPU2_ENABLE_XSAVES)
		vmcs_write(XSS_EXIT_BITMAP, 0);
	if (vmx.vpid)
		vmcs_write(VIRTUAL_PROCESSOR_ID, v->asid);
	vmcs_write(EPT_POINTER, st->eptp);
	vmcs_write(VMCS_LINK_POINTER, ~0ULL); /* §27.3.1.5: no shadow VMCS */
}

static void write_seg(enum vmcs_field sel, u16 selector, u32 ar, u32 limit, u64 base)
{
	/* Selector, base, limit and access-rights fields of one segment are
	 * at the same offsets from ES's in each width group (Appendix B). */
	unsigned i = (sel - GUEST_ES_SELECTOR) / 2;

	vmcs_write(sel, selector);
	vmcs_write(GUEST_ES_AR + 2 * i, ar);
	vmcs_write(GUEST_ES_LIMIT + 2 * i, limit);
	vmcs_write(GUEST_ES_BASE + 2 * i, base);
}

/* Segment access rights (§26.4.1) for the start states, the same as
 * svm.c's: 64-bit or 32-bit code, flat read/write data, a busy TSS (type 11
 * serves 64-bit and 32-bit guests, §27.3.1.2), and real mode's 64 KiB
 * segments. */
#define AR_CODE64 (0xbu | AR_S | AR_P | AR_L | AR_G) /* execute/read, accessed */
#define AR_CODE32 (0xbu | AR_S | AR_P | AR_DB | AR_G)
#define AR_DATA (0x3u | AR_S | AR_P | AR_DB | AR_G) /* read/write, accessed */
#define AR_TSS64_BUSY (0xbu | AR_P)
#define AR_CODE16 (0xbu | AR_S | AR_P)
#define AR_DATA16 (0x3u | AR_S | AR_P)

/* The guest-state area for a vCPU start in the given mode (§26.4), and
 * v->regs to match. */
static void init_guest_state(struct vcpu *v, enum vcpu_mode mode)
{
	struct vmx_vcpu *st = vmx_of(v);
	const struct vcpu_boot_segments *b = &v->boot_segments;
	u16 cs = b->cs ? b->cs : 0x08, ds = b->ds ? b->ds : 0x10;
	static const enum vmcs_field data_segs[] = { GUEST_SS_SELECTOR, GUEST_DS_SELECTOR,
						     GUEST_ES_SELECTOR, GUEST_FS_SELECTOR,
						     GUEST_GS_SELECTOR };

	memset(&v->regs, 0, sizeof(v->regs));

	if (mode == VCPU_MODE_REAL) {
		/* The state after RESET (SDM Vol. 3A §10.1.1, Table 10-1). */
		write_seg(GUEST_CS_SELECTOR, 0xf000, AR_CODE16, 0xffff, 0xffff0000);
		for (unsigned i = 0; i < ARRAY_SIZE(data_segs); i++)
			write_seg(data_segs[i], 0, AR_DATA16, 0xffff, 0);
	} else {
		write_seg(GUEST_CS_SELECTOR, cs, mode == VCPU_MODE_LONG ? AR_CODE64 : AR_CODE32,
			  0xffffffff, 0);
		for (unsigned i = 0; i < ARRAY_SIZE(data_segs); i++)
			write_seg(data_segs[i], ds, AR_DATA, 0xffffffff, 0);
	}
	write_seg(GUEST_TR_SELECTOR, 0, AR_TSS64_BUSY, 0x67, 0);
	write_seg(GUEST_LDTR_SELECTOR, 0, AR_UNUSABLE, 0, 0);
	/* No descriptor tables until the guest loads its own (as svm.c): an
	 * exception before then is a triple fault, reported as one. */
	vmcs_write(GUEST_GDTR_BASE, b->gdt_limit ? b->gdt_base : 0);
	vmcs_write(GUEST_GDTR_LIMIT, b->gdt_limit);
	vmcs_write(GUEST_IDTR_BASE, 0);
	vmcs_write(GUEST_IDTR_LIMIT, 0);
	vmcs_write(GUEST_DR7, 0x400);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(GUEST_INTERRUPTIBILITY, 0);
	vmcs_write(GUEST_ACTIVITY_STATE, 0); /* active */
	vmcs_write(VM_ENTRY_INTR_INFO, 0);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmx.cpu); /* no interrupt window */
	v->nmi_pending = false;
	if (vmx.pat)
		vmcs_write(GUEST_IA32_PAT, PAT_RESET);
	/* The syscall MSRs start at their reset value 0; the CPU's copies
	 * are this vCPU's no more. */
	memset(st->msrs, 0, sizeof(st->msrs));
	st->dr6 = DR6_RESET;
	st->dr7 = DR7_RESET;
	st->cr8 = 0;
	if (vmx_msr_owner == v)
		vmx_msr_owner = NULL;

	if (mode == VCPU_MODE_LONG) {
		v->regs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
		v->regs.cr4 = CR4_PAE;
		v->regs.efer = EFER_LME | EFER_LMA | EFER_NXE;
	} else if (mode == VCPU_MODE_PROT32) {
		v->regs.cr0 = CR0_PE | CR0_ET | CR0_NE;
	} else {
		v->regs.cr0 = CR0_ET | (1ULL << 29) | (1ULL << 30); /* NW, CD */
		v->regs.rip = 0xfff0;
		v->regs.rdx = 0x600; /* family 6 */
	}
	v->regs.rflags = 0x2;
	v->regs.cpl = 0;
	st->exit_rip = v->regs.rip;
}

/* MSR bitmap (§26.6.9): read bits of MSRs 0-0x1fff at byte 0, of
 * 0xc0000000-0xc0001fff at 1024; the write bits 2048 bytes further.  A
 * clear bit lets the access through. */
static void msr_bitmap_allow(u8 *bm, u32 msr)
{
	u32 base;

	if (msr < 0x2000)
		base = 0;
	else if (msr >= 0xc0000000 && msr < 0xc0002000)
		base = 1024, msr -= 0xc0000000;
	else
		return;
	bm[base + msr / 8] &= (u8) ~(1u << (msr % 8));
	bm[base + 2048 + msr / 8] &= (u8) ~(1u << (msr % 8));
}

/* The MSRs this back end switches for a guest (§26.4.1, §26.4.2: guest-state
 * fields of the VMCS; the syscall MSRs by guest_msrs_load): these alone may
 * be passed through, and the guest then sees only its own values. */
static bool vmx_switches(u32 msr)
{
	switch (msr) {
	case MSR_STAR:
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_SFMASK:
	case MSR_KERNEL_GS_BASE: /* guest_msrs_load */
	case MSR_FS_BASE:
	case MSR_GS_BASE: /* GUEST_FS/GS_BASE */
	case 0x174:
	case 0x175:
	case 0x176: /* GUEST_SYSENTER_* */
		return true;
	case MSR_IA32_PAT: /* GUEST_IA32_PAT */
		return vmx.pat;
	default:
		return false;
	}
}

/* A vCPU's own MSR bitmap: everything exits but the MSRs of cfg's direct
 * list that this back end switches. */
static int vcpu_msr_bitmap(struct vcpu *v, const struct vcpu_config *cfg, hpa_t *out)
{
	int err;

	if ((err = page_alloc(MSR_BITMAP_PAGES, 1, out)))
		return err;
	u8 *bm = phys_to_virt(*out);
	memset(bm, 0xff, MSR_BITMAP_PAGES * PAGE_SIZE);
	v->direct_msrs = 0;
	for (unsigned i = 0; i < cfg->direct_msr_count && i < 32; i++) {
		if (!vmx_switches(cfg->direct_msrs[i]))
			continue;
		msr_bitmap_allow(bm, cfg->direct_msrs[i]);
		v->direct_msrs |= 1u << i;
	}
	return 0;
}

/* Makes the CPU hold v's values of lazy_msrs, saving the previous owner's
 * (they change only by the guest's own WRMSR or SWAPGS, while it runs). */
/* The state VM entry and exit leave alone and the host does not use: the
 * syscall MSRs and DR6 (§27.3.1.1 loads DR7 only; DR6 stays the guest's
 * after an exit, §28.3.3), and DR7 too where the CPU lacks the debug-control
 * VM controls (then the host's DR7 would be the guest's; the host never
 * arms a breakpoint).  Switched when another vCPU runs on this CPU. */
static void guest_msrs_load(struct vcpu *v)
{
	struct vcpu *prev = vmx_msr_owner;
	bool dr7_by_hand = !(vmx.entry & ENTRY_LOAD_DEBUG_CONTROLS);

	if (prev == v)
		return;
	for (unsigned i = 0; i < LAZY_MSR_COUNT; i++) {
		if (prev)
			vmx_of(prev)->msrs[i] = rdmsr(lazy_msrs[i]);
		wrmsr(lazy_msrs[i], vmx_of(v)->msrs[i]);
	}
	if (prev) {
		vmx_of(prev)->dr6 = read_dr6();
		if (dr7_by_hand)
			vmx_of(prev)->dr7 = read_dr7();
	}
	write_dr6(vmx_of(v)->dr6);
	if (dr7_by_hand)
		write_dr7(vmx_of(v)->dr7);
	vmx_msr_owner = v;
}

static int vmx_vcpu_create(struct vcpu *v, const struct vcpu_config *cfg, struct slat *slat)
{
	enum vcpu_mode mode = cfg->mode;
	struct vmx_vcpu *st;
	hpa_t bitmap = { 0 };
	int err;

	v->hvm = cfg->hvm;
	/* §27.3.1.1: without unrestricted guest, CR0.PE and PG must be 1. */
	if (mode != VCPU_MODE_LONG && !vmx.unrestricted) {
		log_line(
			"vmx: a vCPU with paging off needs \"unrestricted guest\", which this CPU lacks");
		return -E_NOTSUP;
	}
	if (vmx.next_vpid == 0) {
		log_line("vmx: out of VPIDs");
		return -E_NOSPC;
	}
	if (cfg->direct_msr_count && (err = vcpu_msr_bitmap(v, cfg, &bitmap)))
		return err;
	if ((err = page_alloc(2, 1, &v->arch_page)))
		goto err_bitmap;
	if ((vmx.basic & VMX_BASIC_32BIT_ADDR) && v->arch_page.v >> 32) {
		log_line("vmx: no memory below 4 GiB left for a VMCS");
		err = -E_NOMEM;
		goto err_vmcs;
	}
	st = v->arch = phys_to_virt(hpa(v->arch_page.v + PAGE_SIZE));
	memset(st, 0, sizeof(*st));
	st->vmcs = v->arch_page;
	st->msr_bitmap = bitmap;
	st->mode = mode;
	st->launched = false;
	st->host_cpu = -1;
	st->unrestricted = vmx.unrestricted && (v->hvm || mode != VCPU_MODE_LONG);
	/* §26.6.11: EPTP = PML4 address, 4-level walk, write-back. */
	st->eptp = slat->pt.root_phys | EPTP_WALK_4 | EPTP_WB;

	/* §25.11.3: VMCLEAR initialises the region (launch state "clear"),
	 * after the revision id is in place; VMPTRLD makes it current. */
	*(u32 *)phys_to_virt(st->vmcs) = VMX_BASIC_REVISION(vmx.basic);
	if (!vmx_clear(st->vmcs.v) || !vmcs_load(v)) {
		log_line("vmx: cannot initialise the VMCS at %#llx",
			 (unsigned long long)st->vmcs.v);
		err = -E_IO;
		goto err_vmcs;
	}
	v->asid = vmx.next_vpid++;
	vmx.write_failed = false;
	write_controls(v);
	init_guest_state(v, mode);
	/* Inactive again, for the CPU that will run it (top of the file). */
	vmx_clear(st->vmcs.v);
	vmx_current = 0;
	if (vmx.write_failed) {
		err = -E_IO;
		goto err_vmcs;
	}
	v->tlb_flush = true;
	return 0;

err_vmcs:
	page_free(v->arch_page, 2);
	v->arch = NULL;
err_bitmap:
	if (bitmap.v)
		page_free(bitmap, MSR_BITMAP_PAGES);
	return err;
}

static void vmx_vcpu_reset(struct vcpu *v, enum vcpu_mode mode)
{
	struct vmx_vcpu *st = vmx_of(v);

	if (!vmcs_load(v))
		return;
	/* A restart may start in another mode than the vCPU was made for. */
	if (mode != VCPU_MODE_LONG && !vmx.unrestricted) {
		log_line(
			"vmx: a vCPU with paging off needs \"unrestricted guest\"; left in 64-bit mode");
		mode = VCPU_MODE_LONG;
	}
	st->mode = mode;
	st->unrestricted = vmx.unrestricted && (v->hvm || mode != VCPU_MODE_LONG);
	vmcs_write(SECONDARY_VM_EXEC_CONTROL,
		   vmx.cpu2 | (st->unrestricted ? CPU2_UNRESTRICTED_GUEST : 0));
	init_guest_state(v, mode);
	st->irq_injected = false;
	/* The first start is made on the boot CPU: inactive again, so the
	 * partition's own CPU can load it (top of the file). */
	vmx_clear(st->vmcs.v);
	vmx_current = 0;
	st->launched = false;
	v->tlb_flush = true;
}

static void vmx_vcpu_destroy(struct vcpu *v)
{
	struct vmx_vcpu *st = vmx_of(v);

	if (!st)
		return;
	vmx_clear(st->vmcs.v);
	if (vmx_current == st->vmcs.v)
		vmx_current = 0;
	if (vmx_msr_owner == v)
		vmx_msr_owner = NULL;
	if (st->msr_bitmap.v)
		page_free(st->msr_bitmap, MSR_BITMAP_PAGES);
	page_free(v->arch_page, 2);
	v->arch = NULL;
}

/* Exceptions and NMIs; external interrupts come through vmx_irq_offer. */
static void vmx_inject(struct vcpu *v, enum event_kind kind, u8 vector, bool has_error,
		       u32 error_code)
{
	u32 type = kind == EVENT_EXCEPTION ? INTR_TYPE_HW_EXCEPTION :
		   kind == EVENT_NMI	   ? INTR_TYPE_NMI :
					     INTR_TYPE_EXT_INTR;
	u32 info = INTR_INFO_VALID | type << 8 | vector;

	if (!vmcs_load(v))
		return;
	/* §26.8.3: the event is delivered through the guest's IDT at the
	 * next VM entry; the error code is pushed if bit 11 is set. */
	if (has_error) {
		info |= INTR_INFO_DELIVER_CODE;
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, error_code);
	}
	vmcs_write(VM_ENTRY_INTR_INFO, info);
}

#define PENDING_DBG_BS (1ULL << 14) /* §24.4.2: a single-step trap pending */

/* §26.7.3: a debug exception pending in the guest state is delivered right
 * after VM entry, with DR6 updated by the CPU, as the trap of the
 * instruction before would have been. */
static void vmx_single_step(struct vcpu *v)
{
	if (!vmcs_load(v) || (vmcs_read(VM_ENTRY_INTR_INFO) & INTR_INFO_VALID))
		return;
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS,
		   vmcs_read(GUEST_PENDING_DBG_EXCEPTIONS) | PENDING_DBG_BS);
}

static u64 vmx_segment_base(struct vcpu *v, unsigned seg)
{
	static const u32 field[] = { GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE,
				     GUEST_DS_BASE, GUEST_FS_BASE, GUEST_GS_BASE };

	if (seg >= ARRAY_SIZE(field) || !vmcs_load(v))
		return 0;
	return vmcs_read(field[seg]);
}

/* §26.4.2 interruptibility state: blocking by STI (bit 0) or MOV SS (1).
 * (After an instruction the generic code completed, write_guest_state
 * clears them at the next entry; until then they count, at the price of
 * one interrupt-window exit.) */
static bool vmx_interruptible(struct vcpu *v)
{
	return (v->regs.rflags & RFLAGS_IF) &&
	       !(vmcs_read(GUEST_INTERRUPTIBILITY) & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS)) &&
	       !(vmcs_read(VM_ENTRY_INTR_INFO) & INTR_INFO_VALID);
}

/* "Interrupt-window exiting" (SDM Vol. 3C §26.6.5 in the numbering of
 * the 2023 edition) exits at the first instruction boundary where the
 * guest can take an external interrupt. */
static void vmx_irq_window(bool enable)
{
	u32 cpu = (u32)vmcs_read(CPU_BASED_VM_EXEC_CONTROL);

	if (enable)
		cpu |= CPU_INTR_WINDOW_EXITING & vmx.cpu_allowed1;
	else
		cpu &= ~CPU_INTR_WINDOW_EXITING | vmx.cpu_allowed0;
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, cpu);
}

/*
 * An external interrupt for the next entry.  VMX without APIC
 * virtualization has no pending virtual interrupt the CPU would deliver
 * by itself, as SVM's V_IRQ is: an injected event (VM-entry
 * interruption information, §27.6 "Event Injection", 2023 numbering) is
 * delivered as part of the entry whatever the guest's RFLAGS.IF, and the
 * entry checks refuse an external interrupt with IF clear or blocking by
 * STI or MOV SS ("Checks on Guest RIP and RFLAGS", "Checks on Guest
 * Non-Register State").  So it is injected only when the guest can take
 * it now; else the interrupt-window exit comes when it can, and the next
 * offer injects it.  An injected interrupt counts as taken by the entry
 * that delivers it: if an exit cuts its delivery short, it is in the
 * IDT-vectoring information and injected again (vmx_run), as the SDM
 * asks.  Bochs 2.7 delivers the injected event within its VM
 * entry (VMenterInjectEvents) and keeps nothing of it for later, unlike
 * QEMU's SVM (see svm_irq_offer).
 */
static void vmx_irq_offer(struct vcpu *v, int vector)
{
	struct vmx_vcpu *st = vmx_of(v);
	bool window = false;

	if (!vmcs_load(v))
		return;
	if (st->irq_injected) { /* an earlier offer, not run yet */
		vmcs_write(VM_ENTRY_INTR_INFO, 0);
		st->irq_injected = false;
	}
	if (vector >= 0) {
		if (vmx_interruptible(v)) {
			vmcs_write(VM_ENTRY_INTR_INFO,
				   INTR_INFO_VALID | INTR_TYPE_EXT_INTR << 8 | (u8)vector);
			st->irq_injected = true;
			st->irq_vector = (u8)vector;
		} else {
			window = true;
		}
	}
	vmx_irq_window(window);
}

/*
 * NMIs (vcpu.nmi_pending, latched by vmx_nmi_raise).  With virtual NMIs the
 * CPU keeps the guest's NMI blocking itself: an injected NMI sets
 * blocking by NMI in the interruptibility state and the handler's IRET
 * clears it (SDM Vol. 3C "Virtual NMIs", "Event Injection");
 * NMI-window exiting exits at the first instruction boundary where that
 * blocking and blocking by MOV SS are gone.
 */
static void vmx_nmi_raise(struct vcpu *v)
{
	v->nmi_pending = true;
}

static void vmx_nmi_window(bool enable)
{
	u32 cpu = (u32)vmcs_read(CPU_BASED_VM_EXEC_CONTROL);

	if (enable)
		cpu |= CPU_NMI_WINDOW_EXITING;
	else
		cpu &= ~CPU_NMI_WINDOW_EXITING | vmx.cpu_allowed0;
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, cpu);
}

/* Before an entry: the latched NMI is injected (type 2, vector 2) when
 * nothing blocks it, blocking by STI included (the entry checks may refuse
 * an NMI under it), and no other event is queued, else the NMI window is
 * opened.  It displaces an offered external interrupt, which is offered
 * again after it (the interrupt window).  Returns whether it displaced
 * one. */
static bool nmi_before_entry(struct vcpu *v, bool offered)
{
	if (!v->nmi_pending)
		return false;
	if (!vmx.nmi_window) {
		if (!vmx.nmi_logged)
			log_line("vmx: no virtual NMIs or NMI-window exiting: NMIs for hvm guests "
				 "are dropped");
		vmx.nmi_logged = true;
		v->nmi_pending = false;
		return false;
	}
	u64 intr = vmcs_read(GUEST_INTERRUPTIBILITY);
	bool other = (vmcs_read(VM_ENTRY_INTR_INFO) & INTR_INFO_VALID) && !offered;

	if (other || (intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS | INTR_BLOCK_NMI))) {
		vmx_nmi_window(true);
		return false;
	}
	vmcs_write(VM_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI << 8 | VECTOR_NMI);
	v->nmi_pending = false;
	vmx_nmi_window(false);
	if (offered)
		vmx_irq_window(true);
	return offered;
}

/* ---- Diagnosis of failed entries ----------------------------------------- */

/* §31.4, "VM-Instruction Error Numbers". */
static const char *const insn_errors[] = {
	[1] = "VMCALL executed in VMX root operation",
	[2] = "VMCLEAR with invalid physical address",
	[3] = "VMCLEAR with VMXON pointer",
	[4] = "VMLAUNCH with non-clear VMCS",
	[5] = "VMRESUME with non-launched VMCS",
	[6] = "VMRESUME after VMXOFF",
	[7] = "VM entry with invalid control field(s)",
	[8] = "VM entry with invalid host-state field(s)",
	[9] = "VMPTRLD with invalid physical address",
	[10] = "VMPTRLD with VMXON pointer",
	[11] = "VMPTRLD with incorrect VMCS revision identifier",
	[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
	[13] = "VMWRITE to read-only VMCS component",
	[15] = "VMXON executed in VMX root operation",
	[16] = "VM entry with invalid executive-VMCS pointer",
	[17] = "VM entry with non-launched executive VMCS",
	[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
	[19] = "VMCALL with non-clear VMCS",
	[20] = "VMCALL with invalid VM-exit control fields",
	[22] = "VMCALL with incorrect MSEG revision identifier",
	[23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
	[24] = "VMCALL with invalid SMM-monitor features",
	[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
	[26] = "VM entry with events blocked by MOV SS",
	[28] = "invalid operand to INVEPT/INVVPID",
};

static const char *insn_error_name(u64 n)
{
	if (n < ARRAY_SIZE(insn_errors) && insn_errors[n])
		return insn_errors[n];
	return "unknown error number";
}

/* Checks one control word against its capability MSR (Appendix A). */
static void check_control(const char *what, enum vmcs_field f, u32 msr)
{
	u64 cap = rdmsr(msr), v = vmcs_read(f);
	u32 allowed0 = (u32)cap, allowed1 = (u32)(cap >> 32);

	if ((v & allowed0) != allowed0)
		log_line("vmx:   %s controls %#llx: bits %#llx must be 1", what,
			 (unsigned long long)v, (unsigned long long)(allowed0 & ~v));
	if (v & ~(u64)allowed1)
		log_line("vmx:   %s controls %#llx: bits %#llx must be 0", what,
			 (unsigned long long)v, (unsigned long long)(v & ~(u64)allowed1));
}

/* §27.2.1: the checks on control fields that software can redo. */
static void diagnose_controls(void)
{
	bool t = vmx.basic & VMX_BASIC_TRUE_CTLS;
	u64 eptp = vmcs_read(EPT_POINTER);

	check_control("pin-based", PIN_BASED_VM_EXEC_CONTROL,
		      t ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS);
	check_control("processor-based", CPU_BASED_VM_EXEC_CONTROL,
		      t ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
	check_control("secondary", SECONDARY_VM_EXEC_CONTROL, MSR_IA32_VMX_PROCBASED_CTLS2);
	check_control("VM-exit", VM_EXIT_CONTROLS,
		      t ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
	check_control("VM-entry", VM_ENTRY_CONTROLS,
		      t ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);
	if ((eptp & 7) != EPTP_WB || ((eptp >> 3) & 7) != 3 || (eptp & 0xf80))
		log_line("vmx:   EPT pointer %#llx: want write-back, 4 levels, reserved bits 0",
			 (unsigned long long)eptp);
	if (vmx.vpid && vmcs_read(VIRTUAL_PROCESSOR_ID) == 0)
		log_line("vmx:   VPID 0 with \"enable VPID\" set");
}

/* §27.2.2: the checks on host state that software can redo. */
static void diagnose_host(void)
{
	u64 cr0 = vmcs_read(HOST_CR0), cr4 = vmcs_read(HOST_CR4);

	if ((cr0 & vmx.cr0_fixed0) != vmx.cr0_fixed0 || (cr0 & ~vmx.cr0_fixed1))
		log_line("vmx:   host CR0 %#llx breaks the fixed bits (fixed0 %#llx, fixed1 %#llx)",
			 (unsigned long long)cr0, (unsigned long long)vmx.cr0_fixed0,
			 (unsigned long long)vmx.cr0_fixed1);
	if ((cr4 & vmx.cr4_fixed0) != vmx.cr4_fixed0 || (cr4 & ~vmx.cr4_fixed1))
		log_line("vmx:   host CR4 %#llx breaks the fixed bits (fixed0 %#llx, fixed1 %#llx)",
			 (unsigned long long)cr4, (unsigned long long)vmx.cr4_fixed0,
			 (unsigned long long)vmx.cr4_fixed1);
	if (!vmcs_read(HOST_CS_SELECTOR) || !vmcs_read(HOST_TR_SELECTOR))
		log_line("vmx:   host CS or TR selector is 0");
}

static bool canonical(u64 a)
{
	u64 top = a >> 47;
	return top == 0 || top == 0x1ffff;
}

static const char *const seg_names[] = { "ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR" };

/* §27.3.1: the guest-state checks that software can redo: control
 * registers against the fixed bits, EFER against IA-32e mode, and the
 * basics of the segment access rights. */
static void diagnose_guest(void)
{
	u64 cr0 = vmcs_read(GUEST_CR0), cr4 = vmcs_read(GUEST_CR4);
	u64 efer = vmcs_read(GUEST_IA32_EFER), rflags = vmcs_read(GUEST_RFLAGS);
	u32 cpu2 = (u32)vmcs_read(SECONDARY_VM_EXEC_CONTROL);
	bool ia32e = vmcs_read(VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST;
	u64 fixed0 = vmx.cr0_fixed0;
	int problems = 0;

	/* §27.3.1.1: unrestricted guests may clear PE and PG. */
	if (cpu2 & CPU2_UNRESTRICTED_GUEST)
		fixed0 &= ~(CR0_PE | CR0_PG);
	if ((cr0 & fixed0) != fixed0 || (cr0 & ~vmx.cr0_fixed1)) {
		log_line("vmx:   guest CR0 %#llx breaks the fixed bits (must set %#llx, may set %#llx)",
			 (unsigned long long)cr0, (unsigned long long)fixed0,
			 (unsigned long long)vmx.cr0_fixed1);
		problems++;
	}
	if ((cr4 & vmx.cr4_fixed0) != vmx.cr4_fixed0 || (cr4 & ~vmx.cr4_fixed1)) {
		log_line("vmx:   guest CR4 %#llx breaks the fixed bits (must set %#llx, may set %#llx)",
			 (unsigned long long)cr4, (unsigned long long)vmx.cr4_fixed0,
			 (unsigned long long)vmx.cr4_fixed1);
		problems++;
	}
	if (ia32e != !!(efer & EFER_LMA) || (ia32e && !(efer & EFER_LME)) ||
	    (ia32e && !(cr0 & CR0_PG)) || (ia32e && !(cr4 & CR4_PAE))) {
		log_line("vmx:   guest EFER %#llx, CR0.PG, CR4.PAE and \"IA-32e mode guest\" (%d) disagree",
			 (unsigned long long)efer, ia32e);
		problems++;
	}
	if (!(rflags & 2) || (rflags & 0xffffffffffc08028ULL)) {
		log_line("vmx:   guest RFLAGS %#llx: bit 1 must be 1, reserved bits 0",
			 (unsigned long long)rflags);
		problems++;
	}
	if (!canonical(vmcs_read(GUEST_RIP)) && ia32e) {
		log_line("vmx:   guest RIP %#llx is not canonical",
			 (unsigned long long)vmcs_read(GUEST_RIP));
		problems++;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(seg_names); i++) {
		u32 ar = (u32)vmcs_read(GUEST_ES_AR + 2 * i);
		u32 limit = (u32)vmcs_read(GUEST_ES_LIMIT + 2 * i);
		bool code = i == 1, tr = i == 7, ldtr = i == 6;

		if (ar & AR_UNUSABLE) {
			if (code || tr) {
				log_line("vmx:   guest %s is unusable", seg_names[i]);
				problems++;
			}
			continue;
		}
		if (ar & 0xfffe0f00u) {
			log_line("vmx:   guest %s access rights %#x: reserved bits set",
				 seg_names[i], ar);
			problems++;
		}
		if (!(ar & AR_P)) {
			log_line("vmx:   guest %s access rights %#x: not present", seg_names[i],
				 ar);
			problems++;
		}
		if (tr || ldtr) {
			u32 want = ldtr ? 2 : ia32e ? 11 : AR_TYPE(ar) == 3 ? 3 : 11;
			if (AR_TYPE(ar) != want || (ar & AR_S)) {
				log_line("vmx:   guest %s access rights %#x: want a system segment of type %u",
					 seg_names[i], ar, want);
				problems++;
			}
		} else if (!(ar & AR_S)) {
			log_line("vmx:   guest %s access rights %#x: S must be 1", seg_names[i],
				 ar);
			problems++;
		} else if (code && !(AR_TYPE(ar) & 8)) {
			log_line("vmx:   guest CS access rights %#x: not a code segment", ar);
			problems++;
		} else if (code && ia32e && (ar & AR_L) && (ar & AR_DB)) {
			log_line("vmx:   guest CS access rights %#x: L and D/B both set", ar);
			problems++;
		}
		/* §27.3.1.2: the granularity must agree with the limit. */
		if (((limit & 0xfff) != 0xfff && (ar & AR_G)) ||
		    ((limit & 0xfff00000) && !(ar & AR_G))) {
			log_line("vmx:   guest %s limit %#x disagrees with G in %#x", seg_names[i],
				 limit, ar);
			problems++;
		}
	}
	if (!(cpu2 & CPU2_UNRESTRICTED_GUEST) &&
	    AR_DPL((u32)vmcs_read(GUEST_SS_AR)) != AR_DPL((u32)vmcs_read(GUEST_CS_AR))) {
		log_line("vmx:   guest SS.DPL differs from CS.DPL");
		problems++;
	}
	if (vmcs_read(VMCS_LINK_POINTER) != ~0ULL) {
		log_line("vmx:   VMCS link pointer is not all ones");
		problems++;
	}
	if (vmcs_read(GUEST_ACTIVITY_STATE) > 3) {
		log_line("vmx:   guest activity state is invalid");
		problems++;
	}
	if (!problems)
		log_line("vmx:   none of the checks done in software failed");
}

/* VMLAUNCH/VMRESUME failed without entering the guest (§31.2: VMfailValid
 * or VMfailInvalid). */
static void report_entry_failure(struct vcpu *v, int rc, struct vm_exit *e)
{
	u64 err = 0;

	memset(e, 0, sizeof(*e));
	e->reason = VMEXIT_INVALID;
	if (rc == 1) {
		log_line("vmx: %s failed with VMfailInvalid (no current VMCS)",
			 vmx_of(v)->launched ? "VMRESUME" : "VMLAUNCH");
		e->raw = ~0ULL;
		return;
	}
	vmx_read(VM_INSTRUCTION_ERROR, &err);
	log_line("vmx: %s failed, VM-instruction error %llu: %s",
		 vmx_of(v)->launched ? "VMRESUME" : "VMLAUNCH", (unsigned long long)err,
		 insn_error_name(err));
	if (err == 7)
		diagnose_controls();
	else if (err == 8)
		diagnose_host();
	e->raw = err;
}

/* ---- Running a guest ----------------------------------------------------- */

static inline void write_cr2(u64 v)
{
	asm volatile("mov %0, %%cr2" : : "r"(v) : "memory");
}

/* The bits of CR0/CR4 the guest may not change (§26.6.6): the fixed ones,
 * and VMXE, which the guest sees as 0 through the read shadow. */
static u64 cr0_fixed0(const struct vmx_vcpu *st)
{
	u64 fixed0 = vmx.cr0_fixed0;

	/* §27.3.1.1: unrestricted guests may clear PE and PG. */
	if (st->unrestricted)
		fixed0 &= ~(CR0_PE | CR0_PG);
	return fixed0;
}

static u64 cr0_mask(const struct vmx_vcpu *st)
{
	return cr0_fixed0(st) | ~vmx.cr0_fixed1;
}

static u64 cr4_mask(void)
{
	return vmx.cr4_fixed0 | ~vmx.cr4_fixed1 | CR4_VMXE;
}

static void write_guest_state(struct vcpu *v)
{
	const struct vmx_vcpu *st = vmx_of(v);
	u64 m0 = cr0_mask(st), m4 = cr4_mask();
	u32 entry = vmx.entry;

	vmcs_write(GUEST_RIP, v->regs.rip);
	vmcs_write(GUEST_RSP, v->regs.rsp);
	vmcs_write(GUEST_RFLAGS, v->regs.rflags);
	vmcs_write(GUEST_CR3, v->regs.cr3);
	/* The guest's view of CR0/CR4 is its own value (the read shadow); the
	 * CPU runs it with the fixed bits applied (§26.3, §27.3.1.1). */
	vmcs_write(CR0_GUEST_HOST_MASK, m0);
	vmcs_write(CR0_READ_SHADOW, v->regs.cr0);
	vmcs_write(GUEST_CR0, (v->regs.cr0 | (vmx.cr0_fixed0 & m0)) & vmx.cr0_fixed1);
	vmcs_write(CR4_GUEST_HOST_MASK, m4);
	vmcs_write(CR4_READ_SHADOW, v->regs.cr4);
	vmcs_write(GUEST_CR4, (v->regs.cr4 | vmx.cr4_fixed0) & vmx.cr4_fixed1);
	vmcs_write(GUEST_IA32_EFER, v->regs.efer);
	/* An instruction the generic code completed (it moved RIP) ends the
	 * blocking by STI or MOV SS it began under (§26.4.2, §27.3.1.5). */
	if (st->launched && v->regs.rip != st->exit_rip) {
		u64 intr = vmcs_read(GUEST_INTERRUPTIBILITY);
		if (intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS))
			vmcs_write(GUEST_INTERRUPTIBILITY,
				   intr & ~(u64)(INTR_BLOCK_STI | INTR_BLOCK_MOV_SS));
	}
	/* §27.3.1.1: "IA-32e mode guest" must equal EFER.LMA. */
	if (v->regs.efer & EFER_LMA)
		entry |= ENTRY_IA32E_MODE_GUEST;
	vmcs_write(VM_ENTRY_CONTROLS, entry);
	write_cr2(v->regs.cr2); /* CR2 is not part of the VMCS (§27.3.2.1) */
}

static void read_guest_state(struct vcpu *v)
{
	struct vmx_vcpu *st = vmx_of(v);
	u64 m0 = cr0_mask(st), m4 = cr4_mask();

	v->regs.rip = st->exit_rip = vmcs_read(GUEST_RIP);
	v->regs.rsp = vmcs_read(GUEST_RSP);
	v->regs.rflags = vmcs_read(GUEST_RFLAGS);
	v->regs.cr2 = read_cr2();
	v->regs.cr3 = vmcs_read(GUEST_CR3);
	v->regs.cr0 = (vmcs_read(GUEST_CR0) & ~m0) | (vmcs_read(CR0_READ_SHADOW) & m0);
	v->regs.cr4 = (vmcs_read(GUEST_CR4) & ~m4) | (vmcs_read(CR4_READ_SHADOW) & m4);
	v->regs.efer = vmcs_read(GUEST_IA32_EFER);
	/* §26.4.1: the CPL is the DPL of SS. */
	v->regs.cpl = (u8)AR_DPL((u32)vmcs_read(GUEST_SS_AR));
	u32 cs_ar = (u32)vmcs_read(GUEST_CS_AR);
	v->regs.cs_base = vmcs_read(GUEST_CS_BASE);
	v->regs.cs_bits = (cs_ar & AR_L) && (v->regs.efer & EFER_LMA) ? 64 :
			  cs_ar & AR_DB				      ? 32 :
									16;
}

#define X2APIC_TIMER_CURRENT 0x839 /* x2APIC MSR of the current count */

/*
 * The VMX-preemption timer value that ends the run when the LAPIC one-shot
 * timer the scheduler armed would fire (§26.5.1: it counts down at the TSC
 * rate divided by 2^IA32_VMX_MISC[4:0], and 0 exits before the guest's first
 * instruction).
 *
 * External-interrupt exiting alone should do (§26.2: it exits whatever the
 * guest's RFLAGS.IF), but Bochs 2.7 only exits on an interrupt while the
 * guest has IF=1: a guest spinning with interrupts off keeps the CPU.  The
 * preemption timer does not depend on IF, so it ends the window there too.
 * Without x2APIC the count is not read here (MMIO is lapic.c's) and only the
 * interrupt ends the run.
 */
static u32 preempt_ticks(void)
{
	u64 hz = lapic_timer_hz(), count, tsc;

	if (!lapic_x2apic_mode() || !hz)
		return 0xffffffffu;
	count = rdmsr(X2APIC_TIMER_CURRENT);
	if (!count)
		return 0; /* it fired, or is not armed: back to the scheduler */
	tsc = clock_ns_to_tsc(count * 1000000000ULL / hz);
	tsc = (tsc >> VMX_MISC_PREEMPT_RATE(vmx.misc)) + 1;
	return tsc > 0xffffffffu ? 0xffffffffu : (u32)tsc;
}

static void flush_tlb(struct vcpu *v)
{
	u64 cap = vmx.ept_vpid_cap;

	/* §29.4.3: INVEPT drops guest-physical and combined mappings of this
	 * EPTP; INVVPID the linear mappings tagged with the vCPU's VPID. */
	if (cap & EPT_CAP_INVEPT_SINGLE)
		vmx_invept(INVEPT_SINGLE, vmx_of(v)->eptp);
	else
		vmx_invept(INVEPT_ALL, 0);
	if (vmx.vpid) {
		if (cap & VPID_CAP_INVVPID_SINGLE)
			vmx_invvpid(INVVPID_SINGLE, (u16)v->asid);
		else
			vmx_invvpid(INVVPID_ALL, 0);
	}
}

static void decode_exit(struct vm_exit *e)
{
	u32 reason = (u32)vmcs_read(VM_EXIT_REASON);
	u64 q = vmcs_read(EXIT_QUALIFICATION);
	u32 insn_len = (u32)vmcs_read(VM_EXIT_INSTRUCTION_LEN);

	memset(e, 0, sizeof(*e));
	e->raw = reason;
	e->qualification = q;

	switch (EXIT_REASON_BASIC(reason)) {
	case EXIT_REASON_EXCEPTION_NMI: {
		u32 info = (u32)vmcs_read(VM_EXIT_INTR_INFO);
		if (INTR_INFO_TYPE(info) == INTR_TYPE_NMI) {
			/* NMI exiting took the host's NMI (§26.2): hand it to
			 * the host's own handler, as if it had struck here. */
			asm volatile("int $2");
			e->reason = VMEXIT_EXTINT;
			break;
		}
		e->reason = VMEXIT_EXCEPTION;
		e->exception.vector = (u8)INTR_INFO_VECTOR(info);
		if (info & INTR_INFO_DELIVER_CODE)
			e->exception.error_code = (u32)vmcs_read(VM_EXIT_INTR_ERROR_CODE);
		break;
	}
	case EXIT_REASON_EXTERNAL_INTERRUPT:
	case EXIT_REASON_INIT:
		e->reason = VMEXIT_EXTINT;
		break;
	case EXIT_REASON_TRIPLE_FAULT:
		e->reason = VMEXIT_SHUTDOWN;
		break;
	case EXIT_REASON_NMI_WINDOW:
		e->reason = VMEXIT_NMI_WINDOW;
		break;
	case EXIT_REASON_INTERRUPT_WINDOW:
		e->reason = VMEXIT_INTR_WINDOW;
		break;
	case EXIT_REASON_CPUID:
		e->reason = VMEXIT_CPUID;
		e->insn_len = insn_len;
		break;
	case EXIT_REASON_HLT:
		e->reason = VMEXIT_HLT;
		e->insn_len = insn_len;
		break;
	case EXIT_REASON_VMCALL:
		e->reason = VMEXIT_HYPERCALL;
		e->insn_len = insn_len;
		break;
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE:
	case EXIT_REASON_VMXOFF:
	case EXIT_REASON_VMXON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
	case EXIT_REASON_MONITOR:
	case EXIT_REASON_MWAIT:
		e->reason = VMEXIT_VIRT_INSN;
		e->insn_len = insn_len;
		break;
	case EXIT_REASON_IO_INSTRUCTION:
		/* §28.2.1, "Exit Qualification for I/O Instructions": size-1
		 * in 2:0, IN in 3, string 4, REP 5, port 31:16. */
		e->reason = VMEXIT_IO;
		e->io.port = (u16)(q >> 16);
		e->io.size = (u8)((q & 7) + 1);
		e->io.in = q & 8;
		e->io.string = q & 16;
		e->io.rep = q & 32;
		e->insn_len = insn_len;
		break;
	case EXIT_REASON_MSR_READ:
	case EXIT_REASON_MSR_WRITE:
		e->reason = VMEXIT_MSR;
		e->msr.write = EXIT_REASON_BASIC(reason) == EXIT_REASON_MSR_WRITE;
		e->insn_len = insn_len;
		break;
	case EXIT_REASON_EPT_VIOLATION:
		/* §28.2.1, "Exit Qualification for EPT Violations": the access
		 * in bits 0-2 (read, write, fetch), the rights the translation
		 * gave in bits 3-5 (none: nothing was mapped). */
		e->reason = VMEXIT_NPF;
		e->npf.gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
		e->npf.write = q & 2;
		e->npf.fetch = q & 4;
		e->npf.present = q & 0x38;
		break;
	case EXIT_REASON_EPT_MISCONFIG:
		/* §29.3.3.1: an EPT entry with reserved or contradictory bits:
		 * a bug in the tables the hypervisor built. */
		log_line("vmx: EPT misconfiguration at guest-physical %#llx",
			 (unsigned long long)vmcs_read(GUEST_PHYSICAL_ADDRESS));
		e->reason = VMEXIT_INVALID;
		break;
	case EXIT_REASON_PREEMPTION_TIMER:
		/* The timer mirrors the scheduler's LAPIC one-shot
		 * (preempt_ticks): when it expires, that interrupt is pending,
		 * and the generic code takes it after an EXTINT exit. */
		e->reason = VMEXIT_EXTINT;
		break;
	case EXIT_REASON_RDPMC:
		e->reason = VMEXIT_RDPMC;
		break;
	case EXIT_REASON_XSETBV:
		e->reason = VMEXIT_XSETBV;
		e->insn_len = insn_len;
		break;
	case EXIT_REASON_CR_ACCESS:
		/* MOV CR8 of an hvm guest (handle_cr_access emulates the
		 * rest, and a pv guest's CR8, in place). */
		if (CR_QUAL_CR(q) == 8 && CR_QUAL_TYPE(q) <= CR_ACCESS_MOV_FROM) {
			e->reason = VMEXIT_CR8;
			e->cr8.write = CR_QUAL_TYPE(q) == CR_ACCESS_MOV_TO;
			e->cr8.gpr = (s8)CR_QUAL_GPR(q);
			e->insn_len = insn_len;
		} else {
			e->reason = VMEXIT_OTHER;
		}
		break;
	case EXIT_REASON_INVALID_STATE:
		/* §27.8: the entry failed while checking or loading the guest
		 * state; the qualification narrows it down (0: a check of
		 * §27.3.1 failed, 2: PDPTEs, 3: NMI injection, 4: link
		 * pointer). */
		log_line("vmx: VM entry failed: invalid guest state (exit reason 33, qualification %llu)",
			 (unsigned long long)q);
		diagnose_guest();
		e->reason = VMEXIT_INVALID;
		break;
	case EXIT_REASON_MSR_LOADING:
		log_line("vmx: VM entry failed loading MSR entry %llu", (unsigned long long)q);
		e->reason = VMEXIT_INVALID;
		break;
	case EXIT_REASON_MCE_DURING_ENTRY:
		log_line("vmx: VM entry failed: machine check");
		e->reason = VMEXIT_INVALID;
		break;
	default:
		e->reason = VMEXIT_OTHER;
		break;
	}
}

/* ---- Control-register accesses ------------------------------------------ */

#define CR0_TS (1ULL << 3)
#define CR0_NW (1ULL << 29)
#define CR0_CD (1ULL << 30)

/* MOV to CR0 (SDM Vol. 2B "MOV—Move to/from Control Registers", Vol. 3A
 * §2.5): false if the CPU would raise #GP. */
static bool guest_write_cr0(struct vcpu *v, u64 val)
{
	struct guest_regs *r = &v->regs;
	const struct vmx_vcpu *st = vmx_of(v);

	if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) ||
	    ((val & CR0_NW) && !(val & CR0_CD)))
		return false;
	if ((val & CR0_PG) && !(r->cr0 & CR0_PG) && (r->efer & EFER_LME) && !(r->cr4 & CR4_PAE))
		return false;
	if (!(val & CR0_PG) && (r->efer & EFER_LMA) && r->cs_bits == 64)
		return false;
	/* Without unrestricted guest, PE and PG cannot leave their fixed
	 * setting: refusing is better than running a state the guest did not
	 * ask for. */
	if ((val ^ r->cr0) & (CR0_PE | CR0_PG) & cr0_fixed0(st))
		return false;
	/* §2.5: paging with EFER.LME set activates IA-32e mode, and turning
	 * it off leaves it; write_guest_state derives "IA-32e mode guest". */
	if ((val ^ r->cr0) & CR0_PG) {
		if ((val & CR0_PG) && (r->efer & EFER_LME))
			r->efer |= EFER_LMA;
		else
			r->efer &= ~EFER_LMA;
	}
	r->cr0 = val | CR0_ET;
	return true;
}

/* MOV to CR4: the bits this CPU cannot set in VMX operation, and VMXE
 * (the guest's CPUID has no VMX), raise #GP. */
static bool guest_write_cr4(struct vcpu *v, u64 val)
{
	struct guest_regs *r = &v->regs;

	if ((val & ~vmx.cr4_fixed1) || (val & CR4_VMXE))
		return false;
	if (!(val & CR4_PAE) && (r->efer & EFER_LMA))
		return false;
	r->cr4 = val;
	return true;
}

/*
 * A CR-access exit (reason 28): a MOV to CR0/CR4 that would change a bit of
 * the guest/host mask, LMSW, CLTS, a CR3 access that a CPU without the
 * "true" controls forces to exit, or any CR8 access (§26.6.6, §26.6.2).
 * Emulated in place:
 * true if the guest can go on (its RIP advanced, or #GP queued), false for
 * an access this back end does not emulate.
 */
static bool handle_cr_access(struct vcpu *v, u64 q, u32 insn_len)
{
	struct guest_regs *r = &v->regs;
	unsigned cr = CR_QUAL_CR(q);
	bool ok = true;
	u64 val;

	if (cr == 8 && v->hvm)
		return false; /* the kind's: the local APIC's TPR (VMEXIT_CR8) */
	switch (CR_QUAL_TYPE(q)) {
	case CR_ACCESS_MOV_TO:
		val = *guest_reg(r, CR_QUAL_GPR(q));
		if (r->cs_bits != 64)
			val = (u32)val;
		if (cr == 0)
			ok = guest_write_cr0(v, val);
		else if (cr == 4)
			ok = guest_write_cr4(v, val);
		else if (cr == 3)
			r->cr3 = val;
		else if (cr == 8 && !(val >> 4))
			vmx_of(v)->cr8 = val;
		else if (cr == 8)
			ok = false; /* SDM Vol. 3A §2.5: CR8 bits 63:4 are reserved */
		else
			return false;
		break;
	case CR_ACCESS_MOV_FROM:
		if (cr == 8)
			*guest_reg(r, CR_QUAL_GPR(q)) = vmx_of(v)->cr8;
		else if (cr == 3)
			*guest_reg(r, CR_QUAL_GPR(q)) = r->cr3;
		else
			return false;
		break;
	case CR_ACCESS_CLTS:
		r->cr0 &= ~CR0_TS;
		break;
	default: /* LMSW: PE, MP, EM and TS; it cannot clear PE */
		ok = guest_write_cr0(v, (r->cr0 & ~0xeULL) | (CR_QUAL_LMSW_DATA(q) & 0xf));
		break;
	}
	if (!ok) {
		vmcs_write(VM_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION << 8 |
						       INTR_INFO_DELIVER_CODE | VECTOR_GP);
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
		return true;
	}
	r->rip += insn_len;
	return true;
}

/* ---- Running a guest (continued) ---------------------------------------- */

static void vmx_run(struct vcpu *v, struct vm_exit *exit)
{
	struct vmx_vcpu *st = vmx_of(v);
	bool offered, taken = false;
	int rc;

	if (!vmcs_load(v)) {
		memset(exit, 0, sizeof(*exit));
		exit->reason = VMEXIT_INVALID;
		return;
	}
	offered = st->irq_injected;
	st->irq_injected = false; /* the entry consumes it */
	guest_msrs_load(v);
again:
	write_guest_state(v);
	if (v->hvm && nmi_before_entry(v, offered))
		offered = false; /* the NMI took the offered interrupt's place */
	/* §25.3: with TSC offsetting, RDTSC, RDTSCP and RDMSR of the TSC
	 * return the host TSC plus this offset. */
	vmcs_write(TSC_OFFSET, (u64)v->tsc_offset);
	if (vmx.preempt_timer)
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE, preempt_ticks());
	if (v->tlb_flush)
		flush_tlb(v);
	v->tlb_flush = false;

	/* Host interrupts stay off: with external-interrupt exiting they end
	 * the guest's run whatever the host's RFLAGS.IF (§26.2), and the VM
	 * exit clears IF again (§28.5.3). */
	rc = vmx_enter(&v->regs, st->launched);
	if (rc) {
		report_entry_failure(v, rc, exit);
		return;
	}
	u32 reason = (u32)vmcs_read(VM_EXIT_REASON);
	/* §31.3 "VMLAUNCH": an entry that fails on the guest state or MSR
	 * loading leaves the VMCS clear. */
	if (!(reason & EXIT_REASON_ENTRY_FAILURE)) {
		st->launched = true;
		taken = taken || offered;
	}
	offered = false;

	read_guest_state(v);
	decode_exit(exit);
	if (EXIT_REASON_BASIC(reason) == EXIT_REASON_NMI_WINDOW) {
		/* The CPU can take the NMI now: blocking by STI, which it
		 * does not count, does not hold it back at the next entry. */
		vmcs_write(GUEST_INTERRUPTIBILITY,
			   vmcs_read(GUEST_INTERRUPTIBILITY) & ~(u64)INTR_BLOCK_STI);
		vmx_nmi_window(false);
	}
	/* An exit inside an IRET that had ended NMI blocking, which runs
	 * again: the blocking is restored ("NMI unblocking due to IRET" in
	 * the exit qualification of an EPT violation and in the exit
	 * interruption information, SDM Vol. 3C). */
	if (vmx.nmi_window &&
	    ((EXIT_REASON_BASIC(reason) == EXIT_REASON_EPT_VIOLATION &&
	      (exit->qualification & NMI_UNBLOCKED_BY_IRET)) ||
	     (EXIT_REASON_BASIC(reason) == EXIT_REASON_EXCEPTION_NMI &&
	      (vmcs_read(VM_EXIT_INTR_INFO) & NMI_UNBLOCKED_BY_IRET))) &&
	    !(vmcs_read(IDT_VECTORING_INFO) & INTR_INFO_VALID))
		vmcs_write(GUEST_INTERRUPTIBILITY,
			   vmcs_read(GUEST_INTERRUPTIBILITY) | INTR_BLOCK_NMI);
	exit->irq_taken = taken;
	exit->irq_vector = taken ? st->irq_vector : 0;
	/* CR accesses but an hvm guest's CR8 are this back end's business
	 * (virt.h has no such exit): emulate and go on, unless an event was
	 * being delivered. */
	if (EXIT_REASON_BASIC(reason) == EXIT_REASON_CR_ACCESS &&
	    !(vmcs_read(IDT_VECTORING_INFO) & INTR_INFO_VALID) &&
	    handle_cr_access(v, exit->qualification, (u32)vmcs_read(VM_EXIT_INSTRUCTION_LEN)))
		goto again;

	/* §28.2.4: an event whose delivery the exit interrupted is in the
	 * IDT-vectoring information and must be injected again (§27.6.1.1);
	 * a software event also needs its instruction length. */
	u32 idt = (u32)vmcs_read(IDT_VECTORING_INFO);
	if ((idt & INTR_INFO_VALID) && !(reason & EXIT_REASON_ENTRY_FAILURE)) {
		vmcs_write(VM_ENTRY_INTR_INFO, idt & ~(1u << 12));
		if (idt & INTR_INFO_DELIVER_CODE)
			vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE,
				   vmcs_read(IDT_VECTORING_ERROR_CODE));
		vmcs_write(VM_ENTRY_INSTRUCTION_LEN, vmcs_read(VM_EXIT_INSTRUCTION_LEN));
	}
}

/* ---- EPT ------------------------------------------------------------------ */

/* EPT entries (§29.3.2): R, W, X in bits 0-2; a table entry grants all
 * three and lets the leaf decide; present means any of them is set. */
static const struct pt_format pt_format_ept = {
	.table_flags = EPT_R | EPT_W | EPT_X,
	.present_mask = EPT_R | EPT_W | EPT_X,
	.large_bit = EPT_LARGE,
};

/* Leaves are write-back (bits 5:3 = 6), combined with the guest's PAT
 * (bit 6 "ignore PAT" clear); device memory (SLAT_UC) is uncached whatever
 * the guest's PAT says (§29.3.7.2).  Write without read is a
 * misconfiguration (§29.3.3.1), so W implies R. */
static u64 ept_leaf_flags(unsigned rights)
{
	u64 f = rights & SLAT_UC ? EPT_MT_UC | EPT_IGNORE_PAT : EPT_MT_WB;

	if (rights & (SLAT_R | SLAT_W))
		f |= EPT_R;
	if (rights & SLAT_W)
		f |= EPT_W;
	if (rights & SLAT_X)
		f |= EPT_X;
	/* Execute-only needs EPT_VPID_CAP bit 0 (Appendix A.10). */
	if ((rights & SLAT_X) && !(vmx.ept_vpid_cap & EPT_CAP_EXEC_ONLY))
		f |= EPT_R;
	return f;
}

const struct virt_ops vmx_ops = {
	.name = "VMX",
	.cpu_enable = vmx_cpu_enable,
	.vcpu_create = vmx_vcpu_create,
	.vcpu_destroy = vmx_vcpu_destroy,
	.vcpu_reset = vmx_vcpu_reset,
	.run = vmx_run,
	.inject = vmx_inject,
	.irq_offer = vmx_irq_offer,
	.nmi_raise = vmx_nmi_raise,
	.single_step = vmx_single_step,
	.segment_base = vmx_segment_base,
	.slat_format = &pt_format_ept,
	.slat_leaf_flags = ept_leaf_flags,
};
