/*
 * The image's wpmon_sync_all_cpus() (wpmon.h): an empty quiesce round makes
 * every online CPU leave the guest (libquiesce's NMI) and park; on its way
 * back in, each runs hv_app.before_entry after libquiesce's hook, where
 * wpmon_before_entry() sees the new generation and INVEPTs the guest's view.
 */
#include "apps/wpmon/wpmon.h"

#include <stddef.h>

#include "libquiesce/quiesce.h"

static void nothing(void *arg)
{
	(void)arg;
}

void wpmon_sync_all_cpus(void)
{
	quiesce_run(nothing, NULL);
}
