/*
 * The hypercall ABI of kernel/abi/partita.h.  Each call first checks every
 * argument without side effects, then acts; a call that returns an error has
 * changed nothing.  Pointers are guest-physical and must lie inside the
 * caller's RAM (guest_range_check); lengths are bounded.
 */
#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"
#include "drivers/pci.h"
#include "kernel/channel.h"
#include "kernel/errno.h"
#include "kernel/guest_mem.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/partition.h"
#include "kernel/sched.h"
#include "kernel/vmexit.h"

#define VECTOR_UD 6
#define CONSOLE_WRITE_MAX 4096 /* bytes taken by one HC_CONSOLE_WRITE */

/* Returns a pointer to [gpa, gpa+len) of p's RAM, or NULL. */
static void *guest_buffer(struct partition *p, u64 gpa, u64 len)
{
	if (guest_range_check(gpa, len, PV_RAM_START, p->ram_size))
		return NULL;
	return partition_gpa_ptr(p, gpa);
}

/*
 * Takes what the partition's console queue has room for; the lines go out
 * in its own windows (the scheduler sends them before it re-enters the
 * partition) or in idle time, never in another's.  A full queue takes nothing:
 * -E_AGAIN, and the partition gives up the rest of its window.  The cost of
 * the call is bounded by CONSOLE_WRITE_MAX bytes copied, not by the UART.
 */
static s64 hc_console_write(struct partition *p, u64 buf, u64 len)
{
	u64 n = MIN(len, (u64)CONSOLE_WRITE_MAX);
	const char *data = guest_buffer(p, buf, n);

	if (!data)
		return -E_FAULT;
	u64 taken = console_write(&p->console, data, n, sched_exit_budget_tsc());
	p->stats.console_bytes += taken;
	if (n && !taken) {
		p->yielded = true;
		return -E_AGAIN;
	}
	return (s64)taken;
}

static s64 hc_wait(struct partition *p, u64 deadline)
{
	if (p->pending_events) {
		u32 ev = p->pending_events;
		p->pending_events = 0;
		return ev;
	}
	if (deadline && clock_now_ns() >= deadline)
		return 0;
	p->state = PARTITA_STATE_WAITING;
	p->wait_deadline = deadline;
	return 0; /* replaced by the pending events when it wakes */
}

static s64 hc_partition_info(struct partition *p, u64 buf)
{
	struct partita_partition_info *out = guest_buffer(p, buf, sizeof(*out));

	if (!out)
		return -E_FAULT;
	partition_info(p, out);
	return 0;
}

static s64 hc_partition_list(struct partition *p, u64 buf, u64 count)
{
	if (count == 0)
		return partition_count;
	count = MIN(count, (u64)partition_count);
	struct partita_partition_info *out = guest_buffer(p, buf, count * sizeof(*out));
	if (!out)
		return -E_FAULT;
	for (u64 i = 0; i < count; i++)
		partition_info(&partitions[i], &out[i]);
	return (s64)count;
}

static s64 hc_partition_stats(struct partition *p, u64 id, u64 buf)
{
	struct partition *t = id < partition_count ? &partitions[id] : NULL;
	struct partita_partition_stats *out;

	if (!t)
		return -E_NOENT;
	out = guest_buffer(p, buf, sizeof(*out));
	if (!out)
		return -E_FAULT;
	*out = t->stats;
	out->cpu_time_ns = clock_tsc_to_ns(t->cpu_tsc);
	return 0;
}

static s64 hc_console_read(struct partition *p, u64 id, u64 buf, u64 len)
{
	struct partition *t = id < partition_count ? &partitions[id] : NULL;
	char *out;

	if (!t)
		return -E_NOENT;
	len = MIN(len, (u64)CONSOLE_TAIL);
	out = guest_buffer(p, buf, len);
	if (!out)
		return -E_FAULT;
	return (s64)console_read_tail(&t->console, out, len);
}

static s64 hc_partition_ctl(struct partition *p, u64 id, u64 op)
{
	struct partition *t = id < partition_count ? &partitions[id] : NULL;
	bool running;

	if (!t)
		return -E_NOENT;
	if (op != PARTITION_CTL_STOP && op != PARTITION_CTL_START && op != PARTITION_CTL_RESTART)
		return -E_INVAL;
	if (t == p)
		return -E_INVAL; /* a partition ends itself with HC_SHUTDOWN */
	if (!t->vcpu.arch)
		return -E_NOTSUP; /* it could not be created */
	running = t->state == PARTITA_STATE_RUNNING || t->state == PARTITA_STATE_WAITING;
	if (op == PARTITION_CTL_START && running)
		return -E_BUSY;

	if (running && op != PARTITION_CTL_START) {
		char why[64];
		snprintf(why, sizeof(why), "%s by partition %s",
			 op == PARTITION_CTL_STOP ? "stopped" : "restarted", p->cfg->name);
		partition_stop(t, PARTITA_STATE_STOPPED, why);
	}
	if (op != PARTITION_CTL_STOP) {
		if (op == PARTITION_CTL_RESTART)
			t->restarts++;
		partition_request_start(t, p->cfg->name);
	}
	return 0;
}

/* Configuration space of the caller's own devices only.  The BARs and the
 * expansion ROM stay where the firmware put them: they are mapped into the
 * partition at those addresses. */
static s64 hc_pci_access(struct partition *p, u64 index, u64 offset, u64 size, u64 value,
			 bool write)
{
	unsigned limit = pci_has_ecam() ? 4096 : 256;

	if (index >= p->device_count)
		return -E_NOENT;
	if ((size != 1 && size != 2 && size != 4) || offset >= limit || offset % size)
		return -E_INVAL;
	const struct pci_device *d = p->devices[index];
	if (!write)
		return pci_read(d, (unsigned)offset, (unsigned)size);
	if ((d->header_type & 0x7f) == 0 &&
	    ((offset >= 0x10 && offset < 0x28) || (offset >= 0x30 && offset < 0x34)))
		return -E_PERM;
	pci_write(d, (unsigned)offset, (unsigned)size, (u32)value);
	return 0;
}

void hypercall_handle(struct partition *p, const struct vm_exit *e)
{
	struct guest_regs *r = &p->vcpu.regs;
	u64 a0 = r->rdi, a1 = r->rsi, a2 = r->rdx;
	s64 ret;

	/* DESIGN.md: hypercalls from guest user mode are undefined. */
	if (r->cpl != 0) {
		virt->inject(&p->vcpu, EVENT_EXCEPTION, VECTOR_UD, false, 0);
		return;
	}
	if (r->rax >= HC_PARTITION_LIST && !(p->cfg->caps & CAP_CONTROL) &&
	    r->rax <= HC_PARTITION_CTL) {
		ret = -E_PERM;
		goto done;
	}
	switch (r->rax) {
	case HC_VERSION:
		ret = PARTITA_ABI_VERSION;
		break;
	case HC_CONSOLE_WRITE:
		ret = hc_console_write(p, a0, a1);
		break;
	case HC_TIME:
		ret = (s64)clock_now_ns();
		break;
	case HC_YIELD:
		p->yielded = true;
		ret = 0;
		break;
	case HC_WAIT:
		ret = hc_wait(p, a0);
		break;
	case HC_EVENT_SIGNAL:
		ret = channel_signal(p, a0);
		break;
	case HC_PARTITION_INFO:
		ret = hc_partition_info(p, a0);
		break;
	case HC_SHUTDOWN: {
		char why[48];
		p->exit_code = (s64)a0;
		snprintf(why, sizeof(why), "exited with code %lld", (long long)(s64)a0);
		partition_stop(p, PARTITA_STATE_EXITED, why);
		sched_end_on_exit(p);
		return;
	}
	case HC_PCI_READ:
		ret = hc_pci_access(p, a0, a1, a2, 0, false);
		break;
	case HC_PCI_WRITE:
		ret = hc_pci_access(p, a0, a1, a2, r->r10, true);
		break;
	case HC_PARTITION_LIST:
		ret = hc_partition_list(p, a0, a1);
		break;
	case HC_PARTITION_STATS:
		ret = hc_partition_stats(p, a0, a1);
		break;
	case HC_CONSOLE_READ:
		ret = hc_console_read(p, a0, a1, a2);
		break;
	case HC_PARTITION_CTL:
		ret = hc_partition_ctl(p, a0, a1);
		break;
	default:
		ret = -E_NOSYS;
		break;
	}
done:
	r->rax = (u64)ret;
	r->rip += e->insn_len;
}
