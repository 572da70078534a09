/* Reads words from the multiboot command line (bench, nmi-storm, pal, sweep and fuzz modes). */
#include "guest/cmdline.h"

#define MB_INFO_CMDLINE (1u << 2)
#define CMDLINE_MAX     256

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\0';
}

/*
 * Index just past `word` where it starts a whole word of the command line and
 * is followed by `end` ('=' for key=value; '\0' for a word of its own, which
 * matches any separator), or -1; *line is the command line.
 */
static int32_t find(uint32_t mbi_pa, const char *word, char end, const volatile char **line)
{
	const volatile uint32_t *mbi = (const volatile uint32_t *)(uintptr_t)mbi_pa;

	if (!(mbi[0] & MB_INFO_CMDLINE))
		return -1;
	const volatile char *s = (const volatile char *)(uintptr_t)mbi[4];
	*line = s;
	for (uint32_t i = 0; i < CMDLINE_MAX && s[i]; i++) {
		if (i > 0 && !is_space(s[i - 1]))
			continue;
		uint32_t k = 0;
		while (word[k] && s[i + k] == word[k])
			k++;
		if (!word[k] && (end ? s[i + k] == end : is_space(s[i + k])))
			return (int32_t)(i + k);
	}
	return -1;
}

bool cmdline_has_word(uint32_t mbi_pa, const char *word)
{
	const volatile char *s;
	return find(mbi_pa, word, '\0', &s) >= 0;
}

bool cmdline_value(uint32_t mbi_pa, const char *key, char *out, uint32_t size)
{
	const volatile char *s;
	int32_t at = size ? find(mbi_pa, key, '=', &s) : -1;

	if (at < 0)
		return false;
	uint32_t n = 0;
	for (uint32_t i = (uint32_t)at + 1; n + 1 < size && i < CMDLINE_MAX && !is_space(s[i]); i++)
		out[n++] = s[i];
	out[n] = '\0';
	return true;
}

uint32_t cmdline_uint(uint32_t mbi_pa, const char *key, uint32_t fallback)
{
	char buf[12];
	if (!cmdline_value(mbi_pa, key, buf, sizeof(buf)) || !buf[0])
		return fallback;
	uint32_t v = 0;
	for (const char *p = buf; *p; p++) {
		if (*p < '0' || *p > '9')
			return fallback;
		v = v * 10 + (uint32_t)(*p - '0');
	}
	return v;
}
