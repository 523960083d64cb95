/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The two kinds of partition (kernel/kind.h): each is its image hooks and
 * its exit policy.
 */
#include "kernel/kind.h"
#include "kernel/config.h"
#include "kernel/hvm/platform.h"
#include "kernel/pv_image.h"

const struct partition_kind pv_kind = { "pv", &pv_image, &pv_exits };
const struct partition_kind hvm_kind = { "hvm", &hvm_image, &hvm_exits };

const struct partition_kind *kind_of(int config_kind)
{
	return config_kind == PARTITION_HVM ? &hvm_kind : &pv_kind;
}
