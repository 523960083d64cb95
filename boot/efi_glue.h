/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Firmware glue shared by the loader's UEFI files (efi_main.c, efi_util.c):
 * messages on the console, page allocation with the loader's memory types,
 * and reading whole files from the ESP.  Every function here calls boot
 * services, so none may run after ExitBootServices().
 */
#ifndef PARTITA_BOOT_EFI_GLUE_H
#define PARTITA_BOOT_EFI_GLUE_H

/* gnu-efi tests these with #if; say what they are so -Wundef stays quiet. */
#define EFI_DEBUG 0
#define EFI_DEBUG_CLEAR_MEMORY 0
#include <efi.h>
#include <efilib.h>

#include "boot/loader.h"

/* Where the loader finds its files on the volume it was started from. */
#define LOADER_DIR "\\partita\\"
#define LOADER_CONFIG_PATH LOADER_DIR "partita.conf"

/* Seconds a person gets to read a fatal message before the firmware resumes. */
#define LOADER_ERROR_STALL_US 3000000

/** Prints "partita loader: <message>" and a newline on the console. */
void efi_say(const char *fmt, ...) __printf(1, 2);

/** Prints "partita loader: warning: <message>: <status text>". */
void efi_warn(EFI_STATUS st, const char *fmt, ...) __printf(2, 3);

/**
 * Prints "partita loader: error: <message>: <status text>", waits
 * LOADER_ERROR_STALL_US so a person can read it, and returns st (or
 * EFI_LOAD_ERROR if st is not an error) for the loader to hand back to the
 * firmware.
 */
EFI_STATUS efi_fail(EFI_STATUS st, const char *fmt, ...) __printf(2, 3);

/**
 * Allocates size bytes (at least one page) of whole pages of memory type
 * type anywhere, or below max_addr if max_addr is not 0.  Returns the
 * status; *phys is set on success.
 */
EFI_STATUS efi_alloc_pages(u32 type, u64 size, u64 max_addr, u64 *phys);

/** Frees what efi_alloc_pages() allocated (size as given to it). */
void efi_free_pages(u64 phys, u64 size);

/** Opens the root directory of the volume the loader image came from. */
EFI_STATUS efi_open_boot_volume(EFI_HANDLE image, EFI_FILE_HANDLE *root);

/**
 * Reads the whole file at the ASCII path (e.g. "\\partita\\a.elf") below
 * root into fresh pages of memory type type.  Files larger than max_size are
 * refused with EFI_BAD_BUFFER_SIZE, directories with EFI_NOT_FOUND.  On
 * success *phys and *size describe the file; on failure nothing stays
 * allocated.
 */
EFI_STATUS efi_read_file(EFI_FILE_HANDLE root, const char *path, u32 type, u64 max_size, u64 *phys,
			 u64 *size);

#endif
