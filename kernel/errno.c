/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Names of the core's error codes (kernel/errno.h), for log lines and the
 * management API: errno_name(-E_INVAL) is "E_INVAL".
 */
#include "kernel/errno.h"

const char *errno_name(int err)
{
	/* Negate only small codes: -INT_MIN would overflow. */
	if (err < 0)
		err = err >= -255 ? -err : 0;
	switch (err) {
	case E_PERM:
		return "E_PERM";
	case E_NOENT:
		return "E_NOENT";
	case E_IO:
		return "E_IO";
	case E_AGAIN:
		return "E_AGAIN";
	case E_NOMEM:
		return "E_NOMEM";
	case E_FAULT:
		return "E_FAULT";
	case E_BUSY:
		return "E_BUSY";
	case E_EXIST:
		return "E_EXIST";
	case E_INVAL:
		return "E_INVAL";
	case E_NOSPC:
		return "E_NOSPC";
	case E_RANGE:
		return "E_RANGE";
	case E_NOSYS:
		return "E_NOSYS";
	case E_NOTSUP:
		return "E_NOTSUP";
	default:
		return "E_?";
	}
}
