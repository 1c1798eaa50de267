/*
 * e911 module - network membership for the "moved" hint
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * A location record may carry the networks its device was registered from
 * (IPv4 and IPv6 CIDR prefixes). A REGISTER from an address outside all of
 * them suggests the device moved, so the user should confirm the location.
 * Part of the module's pure core: no Kamailio headers. (Kamailio's core has
 * network matching - ip_addr.h, the permissions module's address trees -
 * but the core is plain C so the record parser that validates `networks`
 * is unit-tested and fuzzed without Kamailio; inet_pton does the parsing.)
 */

#ifndef E911_CIDR_H
#define E911_CIDR_H

#include <stddef.h>

/* Checks a comma-separated list of CIDR prefixes ("192.0.2.0/24,2001:db8::/32";
 * a bare address is a /32 or /128). Returns the number of prefixes, or -1
 * with a reason in err when one is malformed. */
int e911_cidr_list_check(const char *list, char *err, size_t errlen);

/* 1 when the address addr (text, IPv4 or IPv6, optionally in [ ]) is inside
 * one of the prefixes of list, 0 when it is in none, -1 when addr or the
 * list is malformed. */
int e911_cidr_contains(const char *list, const char *addr, size_t alen);

#endif
