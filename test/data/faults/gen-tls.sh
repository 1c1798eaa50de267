#!/bin/sh
# kamailio-e911: throw-away TLS material for the fault tests (test_faults.py).
#
#   gen-tls.sh <outdir>
#
# Writes, for a location service on 127.0.0.1 (nothing here is a real secret; the
# keys are generated at every run and never committed):
#   ca.crt / ca.key            a test CA (what the module gets as tls_ca_file)
#   good.crt / good.key        for 127.0.0.1 and localhost, signed by the test CA
#   wrongname.crt / .key       for wrong-name.invalid only, signed by the test CA
#   selfsigned.crt / .key      for 127.0.0.1, self-signed (not signed by the test CA)
#
# Copyright (C) 2026 The kamailio-e911 authors
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
out=${1:?usage: gen-tls.sh <outdir>}
mkdir -p "$out"
cd "$out"
umask 077
ossl() { openssl "$@" 2>/dev/null; }

ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=e911 fault-test CA" -keyout ca.key -out ca.crt \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

leaf() { # name cn san
	ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
		-keyout "$1.key" -out "$1.csr"
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$3" > "$1.ext"
	ossl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile "$1.ext" -out "$1.crt"
	rm -f "$1.csr" "$1.ext"
}
leaf good 127.0.0.1 "IP:127.0.0.1,DNS:localhost"
leaf wrongname wrong-name.invalid "DNS:wrong-name.invalid"

ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
	-keyout selfsigned.key -out selfsigned.crt
chmod 644 ca.crt good.crt wrongname.crt selfsigned.crt
