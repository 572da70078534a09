/* Options on the hypervisor's command line (boot_option.h). */
#include "rt/boot_option.h"

#include "rt/string.h"

const char *boot_option(const char *cmdline, const char *name, size_t *len)
{
	size_t n = strlen(name);
	const char *found = NULL;

	for (const char *p = cmdline; p != NULL && *p != '\0'; p++) {
		if ((p != cmdline && p[-1] != ' ') || strncmp(p, name, n) != 0 || p[n] != '=')
			continue;
		found = p + n + 1;
	}
	if (found != NULL && len != NULL) {
		size_t l = 0;
		while (found[l] != '\0' && found[l] != ' ')
			l++;
		*len = l;
	}
	return found;
}

bool boot_option_is(const char *value, size_t len, const char *word)
{
	return value != NULL && strlen(word) == len && strncmp(value, word, len) == 0;
}

bool boot_option_u64(const char *value, size_t len, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (value == NULL || len == 0)
		return false;
	if (len > 2 && value[0] == '0' && (value[1] == 'x' || value[1] == 'X')) {
		base = 16;
		value += 2;
		len -= 2;
	}
	for (size_t i = 0; i < len; i++) {
		char c = value[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}
