/* The 64-bit stage's probe state and its exception hook (probe64.h). */
#include "guest/pal64/probe64.h"

struct probe64_state probe64;

bool probe64_catch(uint64_t vector, uint64_t error, uint64_t *rip, uint64_t *rsp)
{
	if (!probe64.armed)
		return false;
	probe64.vector = vector;
	probe64.error = error;
	probe64.rip = *rip;
	probe64.armed = 0;
	*rip = probe64.resume_at;
	*rsp = probe64.resume_rsp;
	return true;
}
