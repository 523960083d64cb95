/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * CHECK.EFI: the hardware check alone (boot/hwcheck.h), as a UEFI
 * application to start from a firmware's boot menu or shell.  It loads
 * nothing, changes nothing and returns to the firmware: EFI_SUCCESS if the
 * machine can run Partita, EFI_UNSUPPORTED if not.
 */
#include "boot/hwcheck.h"

#define CHECK_WAIT_S 30

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

/** The entry point (gnu-efi's crt0 calls it, System V convention). */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	InitializeLib(image, systab);
	bool ok = hwcheck_run();
	hwcheck_wait(CHECK_WAIT_S);
	return ok ? EFI_SUCCESS : EFI_UNSUPPORTED;
}
