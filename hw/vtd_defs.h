/*
 * Intel VT-d remapping-unit registers and table formats (Intel Virtualization
 * Technology for Directed I/O, Architecture Specification, rev. 4.x: register
 * layout ch. 10.4, root/context entries 9.1-9.4, second-level paging entries
 * 9.8, fault recording 7.2 and 10.4.14). Shared by libiommu and the fake unit
 * in hw/fake/, so both read the same numbers.
 */
#ifndef HW_VTD_DEFS_H
#define HW_VTD_DEFS_H

#include <stdint.h>

/* ---- register offsets (10.4) ---- */
#define VTD_REG_VER    0x00u /* 32 */
#define VTD_REG_CAP    0x08u /* 64 */
#define VTD_REG_ECAP   0x10u /* 64 */
#define VTD_REG_GCMD   0x18u /* 32, write-only */
#define VTD_REG_GSTS   0x1cu /* 32, read-only */
#define VTD_REG_RTADDR 0x20u /* 64 */
#define VTD_REG_CCMD   0x28u /* 64 */
#define VTD_REG_FSTS   0x34u /* 32 */
#define VTD_REG_FECTL  0x38u /* 32 */
/* The IOTLB registers sit at ECAP.IRO * 16: IVA (+0) then IOTLB (+8). */
#define VTD_REG_IOTLB_IVA 0x0u
#define VTD_REG_IOTLB     0x8u
/* The unit's register page (one 4 KiB page; the spec allows more, see README). */
#define VTD_REG_PAGE 0x1000u

/* ---- CAP (10.4.2) ---- */
#define VTD_CAP_ND(c)    ((unsigned)((c)&7u))
#define VTD_CAP_RWBF     (1ull << 4)
#define VTD_CAP_CM       (1ull << 7)
#define VTD_CAP_SAGAW(c) ((unsigned)(((c) >> 8) & 0x1fu))
#define VTD_SAGAW_39     (1u << 1) /* 3-level tables */
#define VTD_SAGAW_48     (1u << 2) /* 4-level tables */
#define VTD_CAP_MGAW(c)  ((unsigned)(((c) >> 16) & 0x3fu) + 1u)
#define VTD_CAP_FRO(c)   ((unsigned)(((c) >> 24) & 0x3ffu) * 16u)
#define VTD_CAP_SLLPS_2M (1ull << 34)
#define VTD_CAP_NFR(c)   ((unsigned)(((c) >> 40) & 0xffu) + 1u)

/* ---- ECAP (10.4.3) ---- */
#define VTD_ECAP_C      (1ull << 0) /* page walks snoop the CPU caches */
#define VTD_ECAP_QI     (1ull << 1)
#define VTD_ECAP_IRO(e) ((unsigned)(((e) >> 8) & 0x3ffu) * 16u)

/* ---- GCMD / GSTS (10.4.4, 10.4.5): the same bit positions ---- */
#define VTD_GCMD_TE   (1u << 31)
#define VTD_GCMD_SRTP (1u << 30)
#define VTD_GCMD_WBF  (1u << 27)
#define VTD_GCMD_QIE  (1u << 26)
/* GSTS bits that are states, not one-shot commands: software writes
 * GCMD = (GSTS & VTD_GSTS_KEEP) | command so it changes one thing only. */
#define VTD_GSTS_KEEP 0x96ffffffu

/* ---- CCMD (10.4.7) ---- */
#define VTD_CCMD_ICC         (1ull << 63)
#define VTD_CCMD_CIRG_GLOBAL (1ull << 61)
#define VTD_CCMD_CAIG(v)     ((unsigned)(((v) >> 59) & 3u))

/* ---- IOTLB invalidate register (10.4.8.1) ---- */
#define VTD_IOTLB_IVT         (1ull << 63)
#define VTD_IOTLB_IIRG_GLOBAL (1ull << 60)
#define VTD_IOTLB_DR          (1ull << 49)
#define VTD_IOTLB_DW          (1ull << 48)
#define VTD_IOTLB_IAIG(v)     ((unsigned)(((v) >> 57) & 3u))

/* ---- FSTS / FECTL (10.4.9, 10.4.10) ---- */
#define VTD_FSTS_PFO    (1u << 0)
#define VTD_FSTS_PPF    (1u << 1)
#define VTD_FSTS_FRI(f) ((unsigned)(((f) >> 8) & 0xffu))
#define VTD_FECTL_IM    (1u << 31)

/* ---- fault recording register, 128 bits (10.4.14) ---- */
#define VTD_FRCD_LEN        16u
#define VTD_FRCD_HI_F       (1ull << 63) /* bit 127: fault; write 1 to clear */
#define VTD_FRCD_HI_T       (1ull << 62) /* bit 126: 1 = read request, 0 = write */
#define VTD_FRCD_HI_FR(h)   ((unsigned)(((h) >> 32) & 0xffu))
#define VTD_FRCD_HI_SID(h)  ((unsigned)((h)&0xffffu))
#define VTD_FRCD_LO_ADDR(l) ((l) & ~0xfffull)

/* ---- root and context entries, 128 bits each (9.1, 9.3) ---- */
#define VTD_ENTRY_P         (1ull << 0)
#define VTD_ADDR_MASK       0x000ffffffffff000ull
#define VTD_CTX_TT_SHIFT    2 /* 00: untranslated requests through second-level tables */
#define VTD_CTX_HI_AW(aw)   ((uint64_t)(aw))
#define VTD_CTX_HI_DID(did) ((uint64_t)(did) << 8)
#define VTD_AW_39           1u /* 3-level */
#define VTD_AW_48           2u /* 4-level */

/* ---- second-level paging entries (9.8) ---- */
#define VTD_SL_R  (1ull << 0)
#define VTD_SL_W  (1ull << 1)
#define VTD_SL_PS (1ull << 7)

/* A source id: PCI bus, device, function (the requester id). */
#define VTD_SID(bus, dev, fn) ((uint16_t)(((bus) << 8) | ((dev) << 3) | (fn)))

#endif /* HW_VTD_DEFS_H */
