/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The C library functions mbedTLS calls that the guest runtime does not
 * have: calloc and free, over a static arena of TLS_ARENA_SIZE bytes, and
 * strstr (PEM parsing).
 *
 * The allocator: first fit over a free list kept in address order, whose
 * neighbours are merged on free, so that the arena does not fragment over
 * thousands of connections (every TLS connection allocates and frees its
 * record buffers and handshake state, some 30 KiB).  Every block has a
 * 16-byte header holding its size; sizes are multiples of 16, so every
 * pointer handed out is 16-byte aligned.  NO_SYS guests have one thread:
 * no locking.  Running out returns NULL, which mbedTLS turns into an error
 * for that connection only.
 */
#include "guests/lib/tls/tls.h"
#include "kernel/lib/string.h"

#include <stdlib.h>

#define TLS_ARENA_SIZE (1536 * 1024)
#define ALIGN 16

struct block {
	size_t size;	    /* of the whole block, header included */
	struct block *next; /* free blocks only: the next one, by address */
};

static u8 arena[TLS_ARENA_SIZE] __aligned(ALIGN);
static struct block *free_list;
static bool ready;
static size_t in_use, peak, failures;

static void arena_init(void)
{
	free_list = (struct block *)arena;
	free_list->size = sizeof(arena);
	free_list->next = NULL;
	ready = true;
}

void *calloc(size_t count, size_t size)
{
	struct block **link, *b;
	size_t need;

	if (!ready)
		arena_init();
	if (size && count > (sizeof(arena) - ALIGN) / size)
		goto fail;
	need = ALIGN_UP(count * size, ALIGN) + ALIGN; /* the header */
	for (link = &free_list; (b = *link); link = &b->next) {
		if (b->size < need)
			continue;
		if (b->size - need >= 2 * ALIGN) { /* split: the tail stays free */
			struct block *rest = (struct block *)((u8 *)b + need);
			rest->size = b->size - need;
			rest->next = b->next;
			*link = rest;
			b->size = need;
		} else {
			*link = b->next;
		}
		in_use += b->size;
		peak = MAX(peak, in_use);
		memset((u8 *)b + ALIGN, 0, b->size - ALIGN);
		return (u8 *)b + ALIGN;
	}
fail:
	failures++;
	return NULL;
}

void free(void *p)
{
	struct block *b, *prev = NULL, *cur;

	if (!p)
		return;
	b = (struct block *)((u8 *)p - ALIGN);
	in_use -= b->size;
	for (cur = free_list; cur && cur < b; prev = cur, cur = cur->next)
		;
	b->next = cur;
	if (cur && (u8 *)b + b->size == (u8 *)cur) { /* merge with the next */
		b->size += cur->size;
		b->next = cur->next;
	}
	if (prev && (u8 *)prev + prev->size == (u8 *)b) { /* and the previous */
		prev->size += b->size;
		prev->next = b->next;
	} else if (prev) {
		prev->next = b;
	} else {
		free_list = b;
	}
}

void tls_alloc_stats(struct tls_alloc_stats *out)
{
	out->in_use = in_use;
	out->peak = peak;
	out->size = sizeof(arena);
	out->failures = failures;
}

char *strstr(const char *haystack, const char *needle);
char *strstr(const char *haystack, const char *needle)
{
	size_t n = strlen(needle);

	for (; *haystack; haystack++)
		if (!strncmp(haystack, needle, n))
			return (char *)haystack;
	return n ? NULL : (char *)haystack;
}
