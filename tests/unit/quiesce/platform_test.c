/*
 * The production path (quiesce_init, not quiesce_init_ops) against the fake
 * hardware: CPU index from rt's per-CPU data (GS base), the NMI IPI through
 * libsmp's local APIC code to the APIC ID the MADT gave, recorded by the fake.
 * Two host threads are CPU 0 (the quiescer) and CPU 1 (the target).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hw/fake/fake_hw.h"
#include "libquiesce/quiesce.h"
#include "libsmp/phys.h"
#include "libsmp/smp.h"
#include "rt/percpu.h"

#define CPU1_APIC_ID 5u

/*
 * Just enough firmware for smp_discover(): RSDP v0 in the BIOS area -> RSDT ->
 * MADT with two enabled local APIC entries (ACPI 6.5 5.2.5, 5.2.7, 5.2.12).
 */
#define LOWMEM_SIZE (2u << 20)
#define RSDP_PA     0xe0000u
#define RSDT_PA     0x100000u
#define MADT_PA     0x101000u

static uint8_t lowmem[LOWMEM_SIZE];

static void *lowmem_view(uint64_t pa, size_t len)
{
	if (pa == 0 || len > LOWMEM_SIZE || pa > LOWMEM_SIZE - len)
		return NULL;
	return lowmem + pa;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void sum_to_zero(uint8_t *p, size_t len, uint8_t *csum)
{
	uint8_t sum = 0;

	*csum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	*csum = (uint8_t)(0x100 - sum);
}

static void sdt_header(uint8_t *p, const char *sig, uint32_t len)
{
	memcpy(p, sig, 4);
	put32(p + 4, len);
	p[8] = 1; /* revision */
	memcpy(p + 10, "QTEST ", 6);
}

static void put_two_cpu_machine(uint8_t apic0, uint8_t apic1)
{
	memset(lowmem, 0, sizeof(lowmem));
	smp_set_phys_view(lowmem_view);

	uint8_t *rsdp = lowmem + RSDP_PA;
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "QTEST ", 6);
	put32(rsdp + 16, RSDT_PA);
	sum_to_zero(rsdp, 20, rsdp + 8);

	uint8_t *rsdt = lowmem + RSDT_PA;
	sdt_header(rsdt, "RSDT", 40);
	put32(rsdt + 36, MADT_PA);
	sum_to_zero(rsdt, 40, rsdt + 9);

	uint8_t *madt = lowmem + MADT_PA;
	uint32_t len = 44 + 2 * 8;
	sdt_header(madt, "APIC", len);
	put32(madt + 36, 0xfee00000u);
	const uint8_t ids[2] = {apic0, apic1};
	for (int i = 0; i < 2; i++) {
		uint8_t *e = madt + 44 + 8 * i;
		e[0] = 0; /* processor local APIC */
		e[1] = 8;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = ids[i];
		put32(e + 4, 1); /* enabled */
	}
	sum_to_zero(madt, len, madt + 9);
}

/*
 * libsmp's smp.c (linked in for smp_discover) names rt_ap_init, which rt builds
 * only into images. Never called here; weak so a host rt_ap_init, once rt has
 * one, takes over without a clash.
 */
__attribute__((weak)) void rt_ap_init(uint32_t cpu_index, uint32_t apic_id);
__attribute__((weak)) void rt_ap_init(uint32_t cpu_index, uint32_t apic_id)
{
	(void)cpu_index;
	(void)apic_id;
	fail_msg("rt_ap_init called in a quiesce test");
}

static uint32_t target_ready;
static uint32_t target_saw_quiesce;
static uint32_t fn_ran_on;

/* CPU 1: running, until "the NMI" (an NMI IPI in the fake's log) arrives. */
static void *cpu1(void *arg)
{
	(void)arg;
	fake_set_cpu(1);
	percpu_init(1, CPU1_APIC_ID);
	quiesce_cpu_online(1);
	__atomic_store_n(&target_ready, 1, __ATOMIC_SEQ_CST);
	while (fake_ipi_count() == 0)
		;
	/* What the NMI-exit handler does first; parks until the round ends. */
	__atomic_store_n(&target_saw_quiesce, quiesce_handle_nmi(1) ? 1 : 2, __ATOMIC_SEQ_CST);
	return NULL;
}

static void record_cpu(void *arg)
{
	(void)arg;
	fn_ran_on = this_cpu_index();
}

static void nmi_ipi_goes_to_the_targets_apic_id(void **state)
{
	(void)state;
	pthread_t t;

	fake_hw_reset();
	fake_set_apic_id(1, CPU1_APIC_ID);
	put_two_cpu_machine(0, CPU1_APIC_ID);
	assert_int_equal(smp_discover(), 2);
	percpu_init(0, 0);
	quiesce_init(smp_cpu_count());
	quiesce_cpu_online(0);

	fn_ran_on = 99;
	pthread_create(&t, NULL, cpu1, NULL);
	while (!__atomic_load_n(&target_ready, __ATOMIC_SEQ_CST))
		;
	quiesce_run(record_cpu, NULL);
	pthread_join(t, NULL);

	assert_int_equal(fn_ran_on, 0);
	assert_int_equal(target_saw_quiesce, 1);
	assert_int_equal(quiesce_rounds(), 1);
	assert_int_equal(quiesce_nmis_consumed(1), 1);
	assert_int_equal(fake_ipi_count(), 1);
	struct fake_ipi ipi = fake_ipi_log(0);

	assert_int_equal(ipi.src_cpu, 0);
	assert_int_equal(ipi.dest, CPU1_APIC_ID);
	assert_int_equal(ipi.delivery_mode, 4); /* NMI (SDM Vol. 3A 10.6.1) */
	assert_int_equal(ipi.shorthand, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(nmi_ipi_goes_to_the_targets_apic_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
