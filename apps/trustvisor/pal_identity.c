/*
 * pal_identity: a PAL's identity (README.md "PAL identity") computed from the
 * program's ELF file by tv_identity.c, the code the hypervisor runs at
 * registration, so a verifier need not trust the guest to report it.
 *
 *   pal_identity ELF in=N out=N entry=WHERE KIND=WHERE:SIZE ...
 *
 * KIND is code, data, params or stack (one word per section, as in the PAL's
 * descriptor); WHERE a symbol of ELF's symbol table or a 0x address; SIZE
 * bytes (decimal or 0x). Code bytes come from the ELF's PT_LOAD segments
 * (zero past a segment's file size). Prints the 64 hex digits; exit 0, or 2 on
 * bad input (why on stderr).
 *
 * Example (apps/trustvisor/guest/pal_tpm):
 *   pal_identity pal_tpm in=32 out=32 entry=pal_entry code=pal_entry:4096 \
 *       params=pal_params:4096 stack=pal_stack:16384
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/trustvisor/tv_identity.h"

#define PAGE 4096u

struct elf_file {
	uint8_t *data;
	size_t size;
	const Elf64_Ehdr *eh;
	uint8_t page[PAGE];
};

static int fail(const char *msg, const char *what)
{
	fprintf(stderr, "pal_identity: %s%s%s\n", msg, what ? ": " : "", what ? what : "");
	return 2;
}

static bool load(struct elf_file *f, const char *path)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return false;
	fseek(fp, 0, SEEK_END);
	long n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	f->data = n > 0 ? malloc((size_t)n) : NULL;
	f->size = (size_t)n;
	bool ok = f->data && fread(f->data, 1, f->size, fp) == f->size;
	fclose(fp);
	f->eh = (const Elf64_Ehdr *)f->data;
	return ok && f->size >= sizeof(Elf64_Ehdr) &&
	       memcmp(f->eh->e_ident, ELFMAG, SELFMAG) == 0 &&
	       f->eh->e_ident[EI_CLASS] == ELFCLASS64 &&
	       f->eh->e_phoff + (uint64_t)f->eh->e_phnum * sizeof(Elf64_Phdr) <= f->size &&
	       f->eh->e_shoff + (uint64_t)f->eh->e_shnum * sizeof(Elf64_Shdr) <= f->size;
}

/* A symbol's value, from .symtab; false if absent. */
static bool symbol(const struct elf_file *f, const char *name, uint64_t *value)
{
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(f->data + f->eh->e_shoff);
	for (unsigned i = 0; i < f->eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= f->eh->e_shnum ||
		    sh[i].sh_offset + sh[i].sh_size > f->size)
			continue;
		const Elf64_Shdr *strtab = &sh[sh[i].sh_link];
		const Elf64_Sym *sym = (const Elf64_Sym *)(f->data + sh[i].sh_offset);
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*sym); k++) {
			if (sym[k].st_name >= strtab->sh_size)
				continue;
			const char *s = (const char *)f->data + strtab->sh_offset + sym[k].st_name;
			if (strcmp(s, name) == 0) {
				*value = sym[k].st_value;
				return true;
			}
		}
	}
	return false;
}

/* The page at gva as the loaded program holds it (tv_identity_page_fn). */
static const void *elf_page(void *arg, uint64_t gva)
{
	struct elf_file *f = arg;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(f->data + f->eh->e_phoff);
	bool found = false;

	memset(f->page, 0, PAGE);
	for (unsigned i = 0; i < f->eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_offset + ph[i].p_filesz > f->size)
			continue;
		if (gva + PAGE <= ph[i].p_vaddr || gva >= ph[i].p_vaddr + ph[i].p_memsz)
			continue;
		found = true;
		for (uint64_t a = gva; a < gva + PAGE; a++)
			if (a >= ph[i].p_vaddr && a < ph[i].p_vaddr + ph[i].p_filesz)
				f->page[a - gva] = f->data[ph[i].p_offset + (a - ph[i].p_vaddr)];
	}
	return found ? f->page : NULL;
}

static bool number(const char *s, uint64_t *v)
{
	char *end;
	if (!*s)
		return false;
	*v = strtoull(s, &end, 0);
	return *end == '\0';
}

/* WHERE: a 0x address or a symbol. */
static bool where(const struct elf_file *f, const char *s, uint64_t *v)
{
	return (strncmp(s, "0x", 2) == 0 && number(s, v)) || symbol(f, s, v);
}

int main(int argc, char **argv)
{
	static const char *const kinds[] = {"", "code", "data", "params", "stack"};
	struct elf_file f;
	struct tv_pal_desc d;
	uint8_t id[TV_IDENTITY_SIZE];
	bool have_in = false, have_out = false, have_entry = false;

	if (argc < 3)
		return fail("usage: pal_identity ELF in=N out=N entry=WHERE KIND=WHERE:SIZE ...",
		            NULL);
	if (!load(&f, argv[1]))
		return fail("not a readable ELF64 file", argv[1]);
	memset(&d, 0, sizeof(d));
	d.version = TV_DESC_VERSION;
	for (int i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '='), name[16];
		uint64_t v;
		if (!eq || (size_t)(eq - argv[i]) >= sizeof(name))
			return fail("not NAME=VALUE", argv[i]);
		memcpy(name, argv[i], (size_t)(eq - argv[i]));
		name[eq - argv[i]] = '\0';
		char *val = eq + 1;
		if (strcmp(name, "in") == 0 || strcmp(name, "out") == 0) {
			if (!number(val, &v) || v > TV_MAX_WORDS)
				return fail("a word count of 0..32", argv[i]);
			*(name[0] == 'i' ? &d.in_words : &d.out_words) = (uint32_t)v;
			*(name[0] == 'i' ? &have_in : &have_out) = true;
			continue;
		}
		if (strcmp(name, "entry") == 0) {
			if (!where(&f, val, &d.entry))
				return fail("unknown entry symbol or address", argv[i]);
			have_entry = true;
			continue;
		}
		uint32_t kind = 0;
		for (uint32_t k = TV_SEC_CODE; k <= TV_SEC_STACK; k++)
			if (strcmp(name, kinds[k]) == 0)
				kind = k;
		char *colon = strrchr(val, ':');
		if (!kind || !colon)
			return fail("not KIND=WHERE:SIZE (code, data, params, stack)", argv[i]);
		*colon = '\0';
		if (d.nsections == TV_MAX_SECTIONS)
			return fail("more than 8 sections", argv[i]);
		struct tv_section *s = &d.sec[d.nsections];
		if (!where(&f, val, &s->gva) || !number(colon + 1, &s->size))
			return fail("unknown symbol or bad size", argv[i]);
		if ((s->gva | s->size) % PAGE || s->size == 0)
			return fail("section address and size must be whole pages", argv[i]);
		s->kind = kind;
		d.nsections++;
	}
	bool entry_in_code = false;
	unsigned params = 0, stack = 0;
	for (uint32_t i = 0; i < d.nsections; i++) {
		entry_in_code |= d.sec[i].kind == TV_SEC_CODE && d.entry >= d.sec[i].gva &&
		                 d.entry < d.sec[i].gva + d.sec[i].size;
		params += d.sec[i].kind == TV_SEC_PARAMS;
		stack += d.sec[i].kind == TV_SEC_STACK;
	}
	/* The shape registration insists on (overlaps are its business). */
	if (!have_in || !have_out || !have_entry || !entry_in_code || params != 1 || stack != 1)
		return fail("need in=, out=, entry=, a code section holding the entry, one params "
		            "and one stack section",
		            NULL);
	if (!tv_identity_compute(&d, elf_page, &f, id))
		return fail("a code page is not in any loadable segment", NULL);
	for (size_t i = 0; i < sizeof(id); i++)
		printf("%02x", id[i]);
	printf("\n");
	free(f.data);
	return 0;
}
