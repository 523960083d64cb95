/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the config parser: any bytes go through
 * config_parse() and, when accepted, config_check().  Beyond the sanitizers,
 * it asserts the parser's contract: a refusal names a reason and -E_INVAL,
 * an accepted config has counts within the limits and terminated strings.
 *
 *   clang -g -O1 -DPARTITA_HOST -I. -fsanitize=fuzzer,address,undefined \
 *     tests/unit/fuzz_config.c kernel/config.c kernel/lib/string.c \
 *     -o /tmp/fuzz_config
 *   /tmp/fuzz_config -max_total_time=60 -max_len=4096 tests/unit/configs
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/config.h"
#include "kernel/errno.h"

static struct config cfg; /* too large for the stack */

static void require(int cond)
{
	if (!cond)
		abort();
}

static void check_string(const char *s, size_t size)
{
	require(memchr(s, '\0', size) != NULL);
}

static void check_error(int rc, const struct config_error *err)
{
	char buf[300];

	require(rc == -E_INVAL);
	check_string(err->file, sizeof(err->file));
	check_string(err->reason, sizeof(err->reason));
	require(err->reason[0] != '\0');
	config_error_format(err, buf, sizeof(buf));
	require(strstr(buf, err->reason) != NULL);
}

static void check_config(void)
{
	require(cfg.frame_ns > 0);
	require(cfg.debug_exit_port >= -1 && cfg.debug_exit_port <= 0xffff);
	require(cfg.partition_count <= CONFIG_MAX_PARTITIONS);
	require(cfg.channel_count <= CONFIG_MAX_CHANNELS);
	for (unsigned i = 0; i < cfg.partition_count; i++) {
		const struct config_partition *p = &cfg.partitions[i];

		check_string(p->name, sizeof(p->name));
		check_string(p->image, sizeof(p->image));
		check_string(p->initrd, sizeof(p->initrd));
		check_string(p->cmdline, sizeof(p->cmdline));
		require(p->name[0] && p->image[0]);
		require(p->kind == PARTITION_PV || p->kind == PARTITION_HVM);
		require(p->memory && p->memory % 4096 == 0);
		require(p->cpu < CONFIG_MAX_CPUS);
		require(p->window_count <= CONFIG_MAX_WINDOWS);
		require(p->device_count <= CONFIG_MAX_DEVICES);
		require(p->module_count <= CONFIG_MAX_MODULES);
		require(!p->module_count || p->kind == PARTITION_HVM);
		for (unsigned m = 0; m < p->module_count; m++) {
			check_string(p->modules[m].file, sizeof(p->modules[m].file));
			check_string(p->modules[m].args, sizeof(p->modules[m].args));
			require(p->modules[m].file[0] && p->modules[m].line);
		}
		require(config_find_partition(&cfg, p->name) == p);
		for (unsigned w = 0; w < p->window_count; w++)
			require(p->windows[w].length_ns > 0);
	}
	for (unsigned i = 0; i < cfg.channel_count; i++) {
		const struct config_channel *c = &cfg.channels[i];

		check_string(c->name, sizeof(c->name));
		check_string(c->ends[0], sizeof(c->ends[0]));
		check_string(c->ends[1], sizeof(c->ends[1]));
		require(c->size && c->size % 4096 == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_error err;
	int rc;

	rc = config_parse((const char *)data, size, "fuzz.conf", &cfg, &err);
	if (rc) {
		check_error(rc, &err);
		return 0;
	}
	check_config();
	rc = config_check(&cfg, "fuzz.conf", &err);
	if (rc)
		check_error(rc, &err);
	return 0;
}
