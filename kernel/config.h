/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The partition configuration (partita.conf): its format, the parsed form and
 * the parser.  Pure C with no dependency on the core, so the same file is
 * built into the core, into the UEFI loader (to learn which files to load)
 * and into the host unit tests and fuzzer.
 *
 * Format: lines; '#' starts a comment; blank lines are ignored.  Sections:
 *
 *   [hypervisor]                    optional, at most once
 *   frame = 10ms                    major frame of the cyclic schedule
 *   debug_exit = 0xf4               emulator debug-exit port (QEMU's
 *                                   isa-debug-exit): the core writes the run's
 *                                   exit code there when the run ends
 *   exit_after_boot = yes           end the run once boot is done (tests)
 *   check = yes                     the loader runs the hardware check
 *                                   (boot/hwcheck.h), prints its report and
 *                                   returns to the firmware; nothing boots
 *   end_on_exit = NAME              end the run when partition NAME exits,
 *                                   with its exit code (tests)
 *
 *   [partition NAME]                NAME: [a-z0-9_-], 1..31 chars, unique
 *   kind = pv | hvm                 required
 *   memory = 16M                    required; K, M, G suffixes; multiple of 4K
 *   image = hello.elf               required; a file in \partita\ on the ESP
 *   initrd = initrd.gz              optional (hvm, Linux kernel)
 *   module = FILE [ARGS]            a Multiboot module (hvm, Multiboot kernel);
 *                                   repeatable, at most CONFIG_MAX_MODULES;
 *                                   ARGS (the rest of the value, up to '#')
 *                                   is the module's string
 *   cmdline = console=ttyS0 quiet   optional, the rest of the line
 *   cpu = 0                         physical CPU index, default 0
 *   window = 0ms 2ms                offset and length inside the frame;
 *                                   repeatable; ns, us, ms, s suffixes
 *   caps = control                  comma separated capabilities
 *   on_fault = halt | restart       what happens when it faults, default halt
 *   device = 00:03.0 | 1af4:1000    PCI device passed through; repeatable
 *   trusted = yes                   may own a device whose DMA no IOMMU
 *                                   isolates (checked at boot)
 *   disk = root.img                 hvm: a raw image (whole 512-byte
 *                                   sectors) as a virtio-blk disk, shared
 *                                   read-only with every partition naming it
 *   disk_writes = none | layer      none (default): the disk is read-only;
 *                                   layer: writes go to a private
 *                                   copy-on-write layer
 *   disk_layer = 16M                the layer's size, taken from memory
 *                                   (default a quarter of it)
 *   raw = yes                       while it has the console's focus, its
 *                                   output goes to the serial line as it is
 *                                   (no prefix, no line cutting, no filter)
 *                                   and the others' output is held
 *
 *   Images and instances (pv only; kernel/image.h):
 *   instances = 8                   N partitions NAME-0 .. NAME-(N-1) from
 *                                   this section, sharing one copy of its
 *                                   image; instance i has the section's
 *                                   windows moved later by i times their
 *                                   span (first start to last end)
 *   from = NAME                     one more instance of the image of the
 *                                   earlier section NAME (its kind, memory,
 *                                   image; cmdline, on_fault and cow_budget
 *                                   unless given here); needs its own
 *                                   windows and takes its own cpu
 *   cow_budget = 16K                what the private copies of shared image
 *                                   pages may take, reserved at creation;
 *                                   default: the pages of the image's
 *                                   writable segments; may be 0
 *
 *   The management API of a partition with caps = control (guests/mgmt;
 *   the hypervisor hands these to it through HC_API_CONFIG/HC_API_FILE):
 *   api_tls = yes | no              HTTPS (default yes); `no` serves plain
 *                                   HTTP, and the partition warns at boot
 *   api_cert = mgmt.crt             with api_tls: the server's certificate
 *   api_key = mgmt.key              and its private key (PEM or DER files in
 *                                   \partita\); both or neither
 *   api_token = api.token           the bearer token for control requests;
 *                                   without it the partition makes one at
 *                                   boot and prints it once
 *   api_public_read = yes           GET of the status data without a token
 *                                   (default no)
 *
 *   [slot NAME]                     a CPU, windows and memory that hold no
 *   memory = 2M                     partition at boot: one is created in it
 *   cpu = 0                         at run time (HC_PARTITION_CREATE) and
 *   window = 5ms 1ms                destroyed again; also cow_budget, and
 *   image = a.elf                   image: a file loaded at boot for that
 *                                   (any loaded image may be created in any
 *                                   slot); names share the partitions'
 *                                   namespace
 *
 *   [channel NAME]
 *   between = NAME NAME             the two partitions it connects
 *   size = 64K                      shared memory, multiple of 4K
 *
 * Details: a channel's size defaults to 4K; initrd and module are refused
 * for pv (and, once the image is known, initrd for a Multiboot kernel and
 * module for a Linux one: kernel/hvm/boot.c);
 * file names are plain names ([A-Za-z0-9._+-], no directories); a key other
 * than window and device may appear once per section; booleans are yes/no or
 * true/false; times need a unit unless 0; a UTF-8 byte-order mark is
 * skipped; control characters other than tab are refused; config_check also
 * refuses one PCI device given to two partitions.  The api_* keys need
 * caps = control; api_cert and api_key come together, and not with
 * api_tls = no.
 *
 * Every error names the file, the line and the reason.  After parsing,
 * config_check() validates what spans sections: names of partitions in
 * channels, windows that overlap or overflow the frame on each CPU.
 */
#ifndef PARTITA_CONFIG_H
#define PARTITA_CONFIG_H

#include "kernel/lib/types.h"

#define CONFIG_NAME_MAX 32 /* including the terminator */
#define CONFIG_FILE_MAX 64 /* file names, including the terminator */
#define CONFIG_CMDLINE_MAX 256
#define CONFIG_MAX_PARTITIONS 16
#define CONFIG_MAX_CHANNELS 16
#define CONFIG_MAX_WINDOWS 8 /* per partition */
#define CONFIG_MAX_DEVICES 4 /* per partition */
#define CONFIG_MAX_MODULES 8 /* per partition */
#define CONFIG_MAX_CPUS 64
#define CONFIG_MAX_LINE 512		    /* longer lines are refused */
#define CONFIG_DEFAULT_FRAME_NS 10000000ULL /* 10 ms */

/* A module's string (module = FILE ARGS), including the terminator. */
#define CONFIG_MODULE_ARGS_MAX 128

enum config_kind { PARTITION_PV = 1, PARTITION_HVM = 2 };
enum fault_action { FAULT_HALT = 0, FAULT_RESTART = 1 };

#define CAP_CONTROL (1u << 0)

struct config_window {
	u64 offset_ns;
	u64 length_ns;
	unsigned line;
};

/** A passed-through PCI device, by address or by vendor:device ID. */
struct config_device {
	bool by_id;
	u8 bus, dev, fn;	  /* when !by_id */
	u16 vendor_id, device_id; /* when by_id */
	unsigned line;
};

/** The management API's settings of a control partition (api_* keys). */
struct config_api {
	bool tls;		    /* api_tls; default true */
	bool public_read;	    /* api_public_read; default false */
	char cert[CONFIG_FILE_MAX]; /* "" if none */
	char key[CONFIG_FILE_MAX];
	char token[CONFIG_FILE_MAX];
	unsigned tls_line, cert_line, key_line, token_line, public_read_line;
};

/** A Multiboot module: a file and the string the kernel sees with it. */
struct config_module {
	char file[CONFIG_FILE_MAX];
	char args[CONFIG_MODULE_ARGS_MAX]; /* "" if none */
	unsigned line;
};

struct config_partition {
	char name[CONFIG_NAME_MAX];
	unsigned line; /* of the [partition] header */
	enum config_kind kind;
	u64 memory; /* bytes */
	char image[CONFIG_FILE_MAX];
	unsigned image_line;
	char initrd[CONFIG_FILE_MAX]; /* "" if none */
	unsigned initrd_line;
	char cmdline[CONFIG_CMDLINE_MAX];
	unsigned cpu;
	unsigned cpu_line; /* of `cpu =`, 0 if absent */
	unsigned window_count;
	struct config_window windows[CONFIG_MAX_WINDOWS];
	u32 caps; /* CAP_* */
	enum fault_action on_fault;
	bool trusted;
	bool raw; /* raw = yes: the terminal unprefixed while it has the focus */
	unsigned device_count;
	struct config_device devices[CONFIG_MAX_DEVICES];
	struct config_api api;
	unsigned module_count;
	struct config_module modules[CONFIG_MAX_MODULES];
	/* virtio-blk (hvm): disk image, its layer (disk_writes = layer) */
	char disk[CONFIG_FILE_MAX]; /* "" if none */
	bool disk_layer_on;
	u64 disk_layer; /* bytes of the layer, inside memory */
	unsigned disk_line, disk_writes_line, disk_layer_line;
	/* Images and instances: group is the section's name (NAME of
	 * NAME-0 .. NAME-(N-1)); shared_image: this partition maps its image
	 * from the one shared copy (instances, from, or the target of a from). */
	char group[CONFIG_NAME_MAX];
	unsigned instances; /* `instances =` of its section, 0 if not given */
	unsigned instance;  /* its index among them */
	bool shared_image;
	bool cow_budget_set;
	u64 cow_budget;	    /* bytes, when cow_budget_set */
	unsigned from_line; /* of `from =`, 0 if absent */
	bool slot;	    /* a [slot NAME]: no image, nothing runs until one is created */
};

struct config_channel {
	char name[CONFIG_NAME_MAX];
	unsigned line;
	char ends[2][CONFIG_NAME_MAX];
	u64 size;
};

struct config {
	u64 frame_ns;
	int debug_exit_port; /* -1: none */
	bool exit_after_boot;
	bool check;			   /* the loader's hardware check instead of a boot */
	char end_on_exit[CONFIG_NAME_MAX]; /* "" if none */
	unsigned end_on_exit_line;
	unsigned partition_count;
	struct config_partition partitions[CONFIG_MAX_PARTITIONS];
	unsigned channel_count;
	struct config_channel channels[CONFIG_MAX_CHANNELS];
};

/** Where and why a config was refused. line is 0 for whole-file errors. */
struct config_error {
	char file[CONFIG_FILE_MAX];
	unsigned line;
	char reason[160];
};

/**
 * Parses len bytes of text (not necessarily terminated; NUL bytes are an
 * error) into *out.  file is only used in error messages.  Returns 0, or
 * -E_INVAL with *err filled.  Never reads outside text[0..len).
 */
int config_parse(const char *text, size_t len, const char *file, struct config *out,
		 struct config_error *err);

/**
 * Checks what spans sections: at least one partition, channel ends name
 * existing and distinct partitions, windows per CPU that neither overlap nor
 * overflow the frame.  Returns 0 or -E_INVAL with *err filled (the line of
 * the offending entry).
 */
int config_check(const struct config *cfg, const char *file, struct config_error *err);

/** Formats "file:line: reason" (or "file: reason") into buf. */
void config_error_format(const struct config_error *err, char *buf, size_t size);

/* image, initrd, api_cert, api_key, api_token, disk, then the modules */
#define CONFIG_PARTITION_FILES (6 + CONFIG_MAX_MODULES)

/**
 * The files a partition names (image, initrd, api_cert, api_key,
 * api_token, disk, each module's file), those given only: fills names[] and lines[] (each with room
 * for CONFIG_PARTITION_FILES) and returns the count.  What the loader must
 * load and the core must find.
 */
unsigned config_partition_files(const struct config_partition *p,
				const char *names[CONFIG_PARTITION_FILES],
				unsigned lines[CONFIG_PARTITION_FILES]);

/** Looks a partition up by name; NULL if absent. */
const struct config_partition *config_find_partition(const struct config *cfg, const char *name);

#endif
