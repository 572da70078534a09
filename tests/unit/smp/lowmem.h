/*
 * Test support: a host buffer standing for physical memory [0, LOWMEM_SIZE),
 * installed as libsmp's view of physical memory, plus builders for the ACPI
 * tables firmware would leave there (ACPI 6.5 5.2.5 RSDP, 5.2.6 SDT header,
 * 5.2.12 MADT). Checksums are computed here from the bytes, as firmware does.
 */
#ifndef TESTS_UNIT_SMP_LOWMEM_H
#define TESTS_UNIT_SMP_LOWMEM_H

#include <stddef.h>
#include <stdint.h>

#define LOWMEM_SIZE (2u << 20)

/* The bytes of "physical" memory. */
extern uint8_t *lowmem;

/* Zeroes the buffer (allocating it once) and installs it with smp_set_phys_view. */
void lowmem_reset(void);

/* RSDP at `pa`: revision 0 (20 bytes) or >= 2 (36 bytes, with XSDT). */
void acpi_put_rsdp(uint64_t pa, uint8_t revision, uint32_t rsdt, uint64_t xsdt);
/* A system description table: 36-byte header with `sig`, then `body`. */
void acpi_put_sdt(uint64_t pa, const char *sig, const void *body, uint32_t body_len);
/* RSDT (4-byte entries) / XSDT (8-byte entries) listing `n` tables. */
void acpi_put_rsdt(uint64_t pa, const uint64_t *tables, size_t n);
void acpi_put_xsdt(uint64_t pa, const uint64_t *tables, size_t n);
/* Recomputes the checksum byte of the table at `pa` after a test edited it. */
void acpi_fix_checksum(uint64_t pa);

/* MADT body under construction (entries after the 8-byte APIC address + flags). */
struct madt_body {
	uint8_t bytes[1024];
	uint32_t len;
};
void madt_begin(struct madt_body *m);
void madt_add_lapic(struct madt_body *m, uint8_t uid, uint8_t apic_id, uint32_t flags);
void madt_add_x2apic(struct madt_body *m, uint32_t apic_id, uint32_t flags, uint32_t uid);
/* An I/O APIC entry (type 1): something the parser must step over. */
void madt_add_ioapic(struct madt_body *m, uint8_t id, uint32_t address);
void madt_put(uint64_t pa, const struct madt_body *m);

/* Fixed places the tests use. */
#define RSDP_PA 0xf0010u
#define RSDT_PA 0x100000u
#define XSDT_PA 0x101000u
#define FACP_PA 0x102000u
#define MADT_PA 0x103000u

/* A whole machine: RSDP v0 -> RSDT -> {FACP, MADT} with enabled local APIC
 * entries for `ids`. */
void acpi_put_machine(const uint8_t *ids, size_t n);

#endif /* TESTS_UNIT_SMP_LOWMEM_H */
