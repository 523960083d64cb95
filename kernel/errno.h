/*
 * Error codes of the core.  Functions return 0 or one of these, negated.
 * The same numbers are returned to paravirtual guests by hypercalls, so they
 * are part of the ABI: never renumber one.
 */
#ifndef PARTITA_ERRNO_H
#define PARTITA_ERRNO_H

#define E_PERM 1     /* not allowed (missing capability, wrong CPL) */
#define E_NOENT 2    /* no such partition, file, channel */
#define E_IO 5       /* device or firmware error */
#define E_NOMEM 12   /* out of memory */
#define E_FAULT 14   /* a pointer outside the caller's memory */
#define E_BUSY 16    /* resource in use */
#define E_EXIST 17   /* already exists */
#define E_INVAL 22   /* bad argument */
#define E_NOSPC 28   /* no space left in a fixed table */
#define E_RANGE 34   /* a number out of range */
#define E_NOSYS 38   /* unknown call */
#define E_AGAIN 11   /* try again later */
#define E_NOTSUP 95  /* not supported on this machine */

const char *errno_name(int err);

#endif
