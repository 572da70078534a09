/* The PALs' params, stack and data pages (pal_code.h): page aligned, whole pages. */
#include "guest/pal64/pal_code.h"

uint8_t pal_params_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
uint8_t pal_stack_pages[2 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
uint8_t pal_big_code[PAL_BIG_CODE_PAGES * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
union pal_data_page pal_data_page __attribute__((aligned(PAGE_SIZE)));

_Static_assert(sizeof(struct pal_utpm_data) <= PAGE_SIZE, "utpm data fits its page");
