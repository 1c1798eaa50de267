/*
 * e911 module - edits of the SIP message (lumps)
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include "../../core/data_lump.h"
#include "../../core/mem/mem.h"

#include "e911_msg_edit.h"

int e911_replace_at(
		sip_msg_t *msg, int off, int dlen, const char *s, size_t len)
{
	struct lump *anchor;
	char *buf;

	if(dlen > 0)
		anchor = del_lump(msg, off, dlen, 0);
	else
		anchor = anchor_lump(msg, off, 0, 0);
	if(anchor == NULL)
		return -1;
	if(len == 0)
		return 0;
	buf = pkg_malloc(len);
	if(buf == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	memcpy(buf, s, len);
	if(insert_new_lump_after(anchor, buf, (int)len, 0) == NULL) {
		pkg_free(buf);
		return -1;
	}
	return 0;
}

int e911_replace_header(
		sip_msg_t *msg, hdr_field_t *hf, const char *v, int vlen)
{
	char *line;
	size_t n;
	int r;

	if(vlen < 0)
		return -1;
	n = (size_t)hf->name.len + 2 + (size_t)vlen + 2;
	line = pkg_malloc(n);
	if(line == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	memcpy(line, hf->name.s, hf->name.len);
	memcpy(line + hf->name.len, ": ", 2);
	memcpy(line + hf->name.len + 2, v, vlen);
	memcpy(line + n - 2, "\r\n", 2);
	r = e911_replace_at(msg, hf->name.s - msg->buf, hf->len, line, n);
	pkg_free(line);
	return r;
}

int e911_header_deleted(sip_msg_t *msg, hdr_field_t *hf)
{
	struct lump *l;
	int off = hf->name.s - msg->buf;

	for(l = msg->add_rm; l; l = l->next) {
		if(l->op == LUMP_DEL && (int)l->u.offset == off)
			return 1;
	}
	return 0;
}
