/*
 * Host builds only: stand-ins for the entry points of rt/idt_stubs.S, so
 * cpu_tables.c links and tests can check where each gate points.
 */
#include <stdint.h>

#define HOST_STUB(v) (0xFFFF800000100000ULL + (v)*16)

const uint64_t rt_idt_stubs[32] = {
    HOST_STUB(0),  HOST_STUB(1),  HOST_STUB(2),  HOST_STUB(3),  HOST_STUB(4),  HOST_STUB(5),
    HOST_STUB(6),  HOST_STUB(7),  HOST_STUB(8),  HOST_STUB(9),  HOST_STUB(10), HOST_STUB(11),
    HOST_STUB(12), HOST_STUB(13), HOST_STUB(14), HOST_STUB(15), HOST_STUB(16), HOST_STUB(17),
    HOST_STUB(18), HOST_STUB(19), HOST_STUB(20), HOST_STUB(21), HOST_STUB(22), HOST_STUB(23),
    HOST_STUB(24), HOST_STUB(25), HOST_STUB(26), HOST_STUB(27), HOST_STUB(28), HOST_STUB(29),
    HOST_STUB(30), HOST_STUB(31),
};
