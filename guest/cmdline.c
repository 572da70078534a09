/* Reads words from the multiboot command line (bench, nmi-storm and fuzz modes). */
#include "guest/cmdline.h"

#define MB_INFO_CMDLINE (1u << 2)
#define CMDLINE_MAX     256

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\0';
}

bool cmdline_has_word(uint32_t mbi_pa, const char *word)
{
	const volatile uint32_t *mbi = (const volatile uint32_t *)(uintptr_t)mbi_pa;

	if (!(mbi[0] & MB_INFO_CMDLINE))
		return false;
	const volatile char *s = (const volatile char *)(uintptr_t)mbi[4];
	for (uint32_t i = 0; i < CMDLINE_MAX && s[i]; i++) {
		if (i > 0 && !is_space(s[i - 1]))
			continue;
		uint32_t k = 0;
		while (word[k] && s[i + k] == word[k])
			k++;
		if (!word[k] && is_space(s[i + k]))
			return true;
	}
	return false;
}

bool cmdline_value(uint32_t mbi_pa, const char *key, uint32_t *value)
{
	const volatile uint32_t *mbi = (const volatile uint32_t *)(uintptr_t)mbi_pa;

	if (!(mbi[0] & MB_INFO_CMDLINE))
		return false;
	const volatile char *s = (const volatile char *)(uintptr_t)mbi[4];
	for (uint32_t i = 0; i < CMDLINE_MAX && s[i]; i++) {
		if (i > 0 && !is_space(s[i - 1]))
			continue;
		uint32_t k = 0;
		while (key[k] && s[i + k] == key[k])
			k++;
		if (key[k] || s[i + k] != '=')
			continue;
		uint32_t v = 0, digits = 0;
		for (k++; s[i + k] >= '0' && s[i + k] <= '9' && digits < 10; k++, digits++)
			v = v * 10 + (uint32_t)(s[i + k] - '0');
		if (digits == 0 || !is_space(s[i + k]))
			return false;
		*value = v;
		return true;
	}
	return false;
}
