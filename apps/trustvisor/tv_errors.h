/*
 * The names of the TV_ERR_* codes of tv_hypercall.h, for messages. Header only
 * and freestanding: used by the Linux guest library (guest/tv_guest.c) and by
 * the test guest's 64-bit PAL stage (guest/pal64/tv64.c).
 */
#ifndef APPS_TRUSTVISOR_TV_ERRORS_H
#define APPS_TRUSTVISOR_TV_ERRORS_H

#include <stdint.h>

#include "apps/trustvisor/tv_hypercall.h"

/* "TV_OK", "TV_ERR_OVERLAP", ...; "TV_ERR_?" for any other value. */
static inline const char *tv_err_name(int64_t s)
{
	static const char *const names[] = {
	    "TV_OK",
	    "TV_ERR_INVALID",
	    "TV_ERR_ALIGN",
	    "TV_ERR_OVERLAP",
	    "TV_ERR_RANGE",
	    "TV_ERR_TOO_LARGE",
	    "TV_ERR_EXISTS",
	    "TV_ERR_NOT_REGISTERED",
	    "TV_ERR_WRONG_PROCESS",
	    "TV_ERR_PAL_FAULT",
	    "TV_ERR_PAL_TIMEOUT",
	    "TV_ERR_NO_MEMORY",
	    "TV_ERR_FAULT",
	    "TV_ERR_UNSUPPORTED",
	    "TV_ERR_BUSY",
	    "TV_ERR_NOT_IN_PAL",
	    "TV_ERR_TPM",
	    "TV_ERR_NO_DMA_PROTECTION",
	    "TV_ERR_QUOTA",
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) == 1 - TV_ERR_LOWEST,
	               "a name for every TV_ERR_* code");
	if (s <= 0 && -s < (int64_t)(sizeof(names) / sizeof(names[0])))
		return names[-s];
	return "TV_ERR_?";
}

#endif /* APPS_TRUSTVISOR_TV_ERRORS_H */
