/*
 * e911 module - what an emergency call's transaction carries between routes
 *
 * Copyright (C) 2026 The kamailio-e911 authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include "../../core/xavp.h"

#include "e911_call_state.h"

static str state_name = str_init("e911");

/* The field name of the current transaction's state, or NULL. */
static sr_xavp_t *field(const char *name)
{
	sr_xavp_t *root = xavp_get(&state_name, NULL);
	str f;

	if(root == NULL || root->val.type != SR_XTYPE_XAVP)
		return NULL;
	f.s = (char *)name;
	f.len = strlen(name);
	return xavp_get(&f, root->val.v.xavp);
}

static int set_field(const char *name, sr_xval_t *val)
{
	sr_xavp_t *root = xavp_get(&state_name, NULL);
	str f;

	f.s = (char *)name;
	f.len = strlen(name);
	if(root == NULL || root->val.type != SR_XTYPE_XAVP)
		return xavp_add_xavp_value(&state_name, &f, val, NULL) ? 0 : -1;
	/* the newest value of a field comes first */
	return xavp_add_value(&f, val, &root->val.v.xavp) ? 0 : -1;
}

int e911_call_state_set_audit(void *entry)
{
	sr_xval_t v;

	memset(&v, 0, sizeof(v));
	v.type = SR_XTYPE_VPTR;
	v.v.vptr = entry;
	return set_field("audit", &v);
}

void *e911_call_state_audit(void)
{
	sr_xavp_t *x = field("audit");

	return (x && x->val.type == SR_XTYPE_VPTR) ? x->val.v.vptr : NULL;
}

int e911_call_state_set_str(const char *name, str *value)
{
	sr_xval_t v;

	memset(&v, 0, sizeof(v));
	v.type = SR_XTYPE_STR;
	v.v.s = *value;
	return set_field(name, &v);
}

int e911_call_state_str(const char *name, str *value)
{
	sr_xavp_t *x = field(name);

	if(x == NULL || x->val.type != SR_XTYPE_STR)
		return -1;
	*value = x->val.v.s;
	return 0;
}
