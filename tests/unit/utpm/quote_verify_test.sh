#!/bin/sh
# quote_verify accepts a genuine quote and rejects each kind of wrong input,
# with the documented exit status (0 valid, 1 invalid, 2 bad input).
set -u
MAKE_QUOTE=$1
VERIFY=$2
T=${TEST_TMPDIR:-$(mktemp -d)}
fails=0

expect() { # expect STATUS DESCRIPTION ARGS...
	want=$1 what=$2
	shift 2
	"$VERIFY" "$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL: $what: exit $got, expected $want"
		cat "$T/out" "$T/err"
		fails=$((fails + 1))
	else
		echo "ok: $what (exit $got) $(cat "$T/err")"
	fi
}

"$MAKE_QUOTE" 00112233445566778899aabbccddeeff00112233 0x25 >"$T/quote" || exit 1
field() { sed -n "s/^$1=//p" "$T/quote"; }
PUB=$(field pubkey) PAL=$(field pal) NONCE=$(field nonce) SIG=$(field sig)
P0=$(field pcr0) P2=$(field pcr2) P5=$(field pcr5)

expect 0 "genuine quote from a file" -f "$T/quote"
expect 0 "genuine quote on the command line" pubkey=$PUB pal=$PAL nonce=$NONCE sig=$SIG pcr0=$P0 pcr2=$P2 pcr5=$P5
# The quote of another PAL (same key, PCRs and nonce) is not this PAL's.
"$MAKE_QUOTE" 00112233445566778899aabbccddeeff00112233 0x25 0x42 0x2e >"$T/pal_b" || exit 1
PAL_B=$(sed -n 's/^pal=//p' "$T/pal_b")
[ "$PAL_B" != "$PAL" ] || { echo "FAIL: make_quote gave the same identity twice"; exit 1; }
expect 1 "PAL B's quote against PAL A's identity" -f "$T/pal_b" pal=$PAL
expect 0 "PAL B's quote against its own identity" -f "$T/pal_b"
expect 1 "PAL A's quote against PAL B's identity" -f "$T/quote" pal=$PAL_B
expect 2 "missing PAL identity" pubkey=$PUB nonce=$NONCE sig=$SIG pcr0=$P0 pcr2=$P2 pcr5=$P5
expect 2 "PAL identity of the wrong length" -f "$T/quote" pal=0011
expect 1 "another nonce" -f "$T/quote" nonce=00112233445566778899aabbccddeeff00112234
expect 1 "another PCR value" -f "$T/quote" pcr2=$P0
expect 1 "a quoted PCR left out" pubkey=$PUB pal=$PAL nonce=$NONCE sig=$SIG pcr0=$P0 pcr2=$P2
expect 1 "an extra PCR" -f "$T/quote" pcr1=$P0
BADSIG=$(echo "$SIG" | sed 's/^./0/; t; s/^/0/')
[ "$BADSIG" = "$SIG" ] && BADSIG=$(echo "$SIG" | sed 's/^./1/')
expect 1 "a modified signature" -f "$T/quote" sig=$BADSIG
"$MAKE_QUOTE" 00 0x01 0x43 >"$T/other" || exit 1
expect 1 "another key" -f "$T/quote" pubkey=$(sed -n 's/^pubkey=//p' "$T/other")
NOTPOINT=04$(printf '%0128d' 1)
expect 1 "a public key off the curve" -f "$T/quote" pubkey=$NOTPOINT
expect 2 "missing signature" pubkey=$PUB pal=$PAL nonce=$NONCE
expect 2 "odd-length hex" -f "$T/quote" nonce=abc
expect 2 "signature of the wrong length" -f "$T/quote" sig=0011
expect 2 "unknown name" -f "$T/quote" pcr8=$P0
expect 2 "missing file" -f "$T/no-such-file"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all quote_verify checks passed"
