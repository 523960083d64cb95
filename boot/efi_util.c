/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Boot-services helpers of the UEFI loader (see efi_glue.h): console
 * messages formatted with the project's snprintf and printed through
 * gnu-efi's Print (OVMF mirrors the console to the serial port), page
 * allocation, and whole-file reads through EFI_SIMPLE_FILE_SYSTEM_PROTOCOL
 * (UEFI 2.10 sections 13.4 and 13.5).
 */
#include "boot/efi_glue.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

#define MSG_MAX 256
/* Some firmware FAT drivers misbehave on huge single reads: read in pieces. */
#define READ_CHUNK MiB(4)

static void vprint(const char *kind, EFI_STATUS st, bool with_status, const char *fmt, va_list ap)
{
	char msg[MSG_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_status)
		Print(L"partita loader: %a%a: %r\n", (CHAR8 *)kind, (CHAR8 *)msg, st);
	else
		Print(L"partita loader: %a%a\n", (CHAR8 *)kind, (CHAR8 *)msg);
}

void efi_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("", 0, false, fmt, ap);
	va_end(ap);
}

void efi_warn(EFI_STATUS st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("warning: ", st, true, fmt, ap);
	va_end(ap);
}

EFI_STATUS efi_fail(EFI_STATUS st, const char *fmt, ...)
{
	va_list ap;

	if (!EFI_ERROR(st))
		st = EFI_LOAD_ERROR;
	va_start(ap, fmt);
	vprint("error: ", st, true, fmt, ap);
	va_end(ap);
	Print(L"partita loader: returning to the firmware\n");
	BS->Stall(LOADER_ERROR_STALL_US);
	return st;
}

EFI_STATUS efi_alloc_pages(u32 type, u64 size, u64 max_addr, u64 *phys)
{
	EFI_PHYSICAL_ADDRESS addr = max_addr;
	UINTN pages = MAX(1, ALIGN_UP(size, PAGE_SIZE) / PAGE_SIZE);
	EFI_STATUS st;

	st = BS->AllocatePages(max_addr ? AllocateMaxAddress : AllocateAnyPages,
			       (EFI_MEMORY_TYPE)type, pages, &addr);
	if (!EFI_ERROR(st))
		*phys = addr;
	return st;
}

void efi_free_pages(u64 phys, u64 size)
{
	BS->FreePages(phys, MAX(1, ALIGN_UP(size, PAGE_SIZE) / PAGE_SIZE));
}

EFI_STATUS efi_open_boot_volume(EFI_HANDLE image, EFI_FILE_HANDLE *root)
{
	EFI_LOADED_IMAGE *loaded;
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs;
	EFI_STATUS st;

	st = BS->HandleProtocol(image, &LoadedImageProtocol, (void **)&loaded);
	if (EFI_ERROR(st))
		return st;
	st = BS->HandleProtocol(loaded->DeviceHandle, &FileSystemProtocol, (void **)&fs);
	if (EFI_ERROR(st))
		return st;
	return fs->OpenVolume(fs, root);
}

/* ASCII to UCS-2; returns false if path does not fit. */
static bool to_ucs2(const char *path, CHAR16 *out, size_t max)
{
	size_t i;

	for (i = 0; path[i]; i++) {
		if (i + 1 >= max)
			return false;
		out[i] = (unsigned char)path[i];
	}
	out[i] = 0;
	return true;
}

static EFI_STATUS file_size(EFI_FILE_HANDLE file, u64 *size)
{
	EFI_FILE_INFO *info = LibFileInfo(file);

	if (!info)
		return EFI_DEVICE_ERROR;
	*size = info->FileSize;
	if (info->Attribute & EFI_FILE_DIRECTORY) {
		FreePool(info);
		return EFI_NOT_FOUND;
	}
	FreePool(info);
	return EFI_SUCCESS;
}

static EFI_STATUS read_all(EFI_FILE_HANDLE file, u8 *dst, u64 size)
{
	u64 done = 0;

	while (done < size) {
		UINTN chunk = MIN(size - done, READ_CHUNK);
		EFI_STATUS st = file->Read(file, &chunk, dst + done);

		if (EFI_ERROR(st))
			return st;
		if (chunk == 0)
			return EFI_END_OF_FILE; /* shorter than it said */
		done += chunk;
	}
	return EFI_SUCCESS;
}

EFI_STATUS efi_read_file(EFI_FILE_HANDLE root, const char *path, u32 type, u64 max_size, u64 *phys,
			 u64 *size)
{
	CHAR16 wpath[256];
	EFI_FILE_HANDLE file;
	EFI_STATUS st;
	u64 bytes, addr;

	if (!to_ucs2(path, wpath, ARRAY_SIZE(wpath)))
		return EFI_INVALID_PARAMETER;
	st = root->Open(root, &file, wpath, EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st))
		return st;
	st = file_size(file, &bytes);
	if (EFI_ERROR(st))
		goto out_close;
	if (bytes > max_size) {
		st = EFI_BAD_BUFFER_SIZE;
		goto out_close;
	}
	st = efi_alloc_pages(type, bytes, 0, &addr);
	if (EFI_ERROR(st))
		goto out_close;
	st = read_all(file, (u8 *)(uintptr_t)addr, bytes);
	if (EFI_ERROR(st)) {
		efi_free_pages(addr, bytes);
		goto out_close;
	}
	*phys = addr;
	*size = bytes;
out_close:
	file->Close(file);
	return st;
}
