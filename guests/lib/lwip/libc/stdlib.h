/*
 * The stdlib.h of lwIP's freestanding build.  lwIP allocates from its own
 * pools (MEM_LIBC_MALLOC = 0), so only atoi is needed; the port defines it.
 */
#ifndef PARTITA_LWIP_STDLIB_H
#define PARTITA_LWIP_STDLIB_H

#include <stddef.h>

int atoi(const char *s);

#endif
