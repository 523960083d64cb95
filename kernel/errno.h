/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Error codes of the core.  Functions return 0 or one of these, negated.
 * They are the ABI's numbers (kernel/abi/errno.h), so a hypercall can return
 * them to a guest as they are.
 */
#ifndef PARTITA_ERRNO_H
#define PARTITA_ERRNO_H

#include "kernel/abi/errno.h"

#define E_PERM PARTITA_E_PERM
#define E_NOENT PARTITA_E_NOENT
#define E_IO PARTITA_E_IO
#define E_AGAIN PARTITA_E_AGAIN
#define E_NOMEM PARTITA_E_NOMEM
#define E_FAULT PARTITA_E_FAULT
#define E_BUSY PARTITA_E_BUSY
#define E_EXIST PARTITA_E_EXIST
#define E_INVAL PARTITA_E_INVAL
#define E_NOSPC PARTITA_E_NOSPC
#define E_RANGE PARTITA_E_RANGE
#define E_NOSYS PARTITA_E_NOSYS
#define E_NOTSUP PARTITA_E_NOTSUP

const char *errno_name(int err);

#endif
