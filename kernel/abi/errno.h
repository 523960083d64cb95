/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The error codes hypercalls return to guests, negated (part of the ABI:
 * never renumber one).  The core uses the same numbers internally
 * (kernel/errno.h names them E_*).
 */
#ifndef PARTITA_ABI_ERRNO_H
#define PARTITA_ABI_ERRNO_H

#define PARTITA_E_PERM 1    /* not allowed (missing capability, wrong CPL) */
#define PARTITA_E_NOENT 2   /* no such partition, file, channel */
#define PARTITA_E_IO 5	    /* device or firmware error */
#define PARTITA_E_AGAIN 11  /* try again later */
#define PARTITA_E_NOMEM 12  /* out of memory */
#define PARTITA_E_FAULT 14  /* a pointer outside the caller's memory */
#define PARTITA_E_BUSY 16   /* resource in use */
#define PARTITA_E_EXIST 17  /* already exists */
#define PARTITA_E_INVAL 22  /* bad argument */
#define PARTITA_E_NOSPC 28  /* no space left in a fixed table */
#define PARTITA_E_RANGE 34  /* a number out of range */
#define PARTITA_E_NOSYS 38  /* unknown call */
#define PARTITA_E_NOTSUP 95 /* not supported on this machine */

#endif
