#!/bin/sh
# A VMCS field used with the accessor of another width must not compile, the
# right accessor must; and every field constant in hw/vmcs_fields.h must be in
# its static-assertion list, with no encoding used twice.
set -u

root="${TEST_SRCDIR:?run under bazel test}/${TEST_WORKSPACE:?}"
fields="$root/hw/vmcs_fields.h"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
fail=0

compilers=""
for c in cc gcc clang; do
	command -v "$c" >/dev/null 2>&1 && compilers="$compilers $c"
done
[ -n "$compilers" ] || { echo "no C compiler found"; exit 1; }

# $1: expected result (ok|error), $2: statement inside a function body.
check() {
	printf '#include "hw/hw.h"\nvoid f(void);\nvoid f(void)\n{\n\t%s;\n}\n' "$2" >"$tmp/case.c"
	for c in $compilers; do
		if $c -std=c11 -DHV_HOST=1 -Wall -Werror -fsyntax-only -I"$root" "$tmp/case.c" \
			>"$tmp/out.txt" 2>&1; then
			got=ok
		else
			got=error
		fi
		if [ "$got" != "$1" ]; then
			echo "FAIL ($c): '$2' gave $got, expected $1"
			cat "$tmp/out.txt"
			fail=1
		fi
	done
}

check error 'vmcs_write16(VMCS_GUEST_RIP, 0)'
check ok 'vmcs_writenat(VMCS_GUEST_RIP, 0)'
check error 'vmcs_write32(VMCS_EPT_POINTER, 0)'
check ok 'vmcs_write64(VMCS_EPT_POINTER, 0)'
check error '(void)vmcs_read64(VMCS_EXIT_REASON)'
check ok '(void)vmcs_read32(VMCS_EXIT_REASON)'
check error '(void)vmcs_readnat(VMCS_VPID)'
check ok '(void)vmcs_read16(VMCS_VPID)'
check error 'vmcs_write32(0x4002, 0)'

# Every "#define VMCS_X VMCS_F..(enc)" has a VMCS_CHECK(VMCS_X) line.
defined=$(sed -n 's/^#define \(VMCS_[A-Z0-9_]*\)[[:space:]]*VMCS_F[0-9NAT]*(0x[0-9A-Fa-f]*)$/\1/p' "$fields" | sort)
checked=$(sed -n 's/^VMCS_CHECK(\(VMCS_[A-Z0-9_]*\));$/\1/p' "$fields" | sort)
if [ -z "$defined" ] || [ "$defined" != "$checked" ]; then
	echo "FAIL: field constants and VMCS_CHECK list differ:"
	printf '%s\n' "$defined" >"$tmp/defined"
	printf '%s\n' "$checked" >"$tmp/checked"
	diff "$tmp/defined" "$tmp/checked"
	fail=1
fi
count=$(printf '%s\n' "$defined" | wc -l)
dups=$(sed -n 's/^#define VMCS_[A-Z0-9_]*[[:space:]]*VMCS_F[0-9NAT]*(\(0x[0-9A-Fa-f]*\))$/\1/p' "$fields" | tr a-f A-F | sort | uniq -d)
if [ -n "$dups" ]; then
	echo "FAIL: encodings defined twice: $dups"
	fail=1
fi

[ "$fail" = 0 ] && echo "PASS: $count field constants checked, width errors caught by:$compilers"
exit "$fail"
