/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tprattack: raises its task priority to the highest class (MOV CR8 <- 15,
 * which blocks every maskable interrupt below vector 0xf0 while it holds,
 * Intel SDM Vol. 3A 11.8.6.1) and then spins forever.  The priority must be
 * the partition's own (SVM: V_TPR with V_INTR_MASKING; VMX: a TPR shadow
 * or CR8 exits), never the real APIC's: else the hypervisor's own timer is
 * blocked and the partition keeps the CPU.  Beside it a ticker must keep
 * every window on time.
 */
#include "guests/lib/guest.h"

int guest_main(const struct partita_start_info *si)
{
	u64 cr8;
	(void)si;

	asm volatile("mov %0, %%cr8" : : "r"(15ULL));
	asm volatile("mov %%cr8, %0" : "=r"(cr8));
	printf("CR8 is %llu; spinning with every interrupt class blocked\n",
	       (unsigned long long)cr8);
	for (;;)
		asm volatile("pause" ::: "memory");
}
