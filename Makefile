# Partita: the one, non-recursive build.
#
#   make            core, loader and ESP folder (build/esp)
#   make run        boot the demo in QEMU, serial console on this terminal
#   make test       unit tests on the host, then integration tests in QEMU/Bochs
#   make image      a GPT disk image with a FAT ESP (build/partita.img)
#   make help       all targets
#
# Every target first makes sure the Debian packages it needs are installed.

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:
SHELL := /bin/bash

B := build
Q := @
CC := gcc
LD := ld
OBJCOPY := objcopy

# ---------------------------------------------------------------- packages --
PACKAGES := make gcc binutils gnu-efi qemu-system-x86 ovmf mtools dosfstools \
	gdisk libcmocka-dev python3 bochs bochs-term bochsbios vgabios clang clang-format dpkg-dev \
	chromium curl

.PHONY: deps
deps:
	$(Q)missing=$$(for p in $(PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		line="apt-get install -y --no-install-recommends $$(echo $$missing)"; \
		if [ "$$(id -u)" = 0 ]; then \
			echo "  APT     $$(echo $$missing)"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
			DEBIAN_FRONTEND=noninteractive $$line >/dev/null || \
			{ echo "error: '$$line' failed"; exit 1; }; \
		else \
			echo "error: missing Debian packages; run as root:"; \
			echo "  sudo apt-get update && sudo $$line"; exit 1; \
		fi; \
	fi

# -------------------------------------------------------------------- core --
# gnu11 rather than c11: the core needs inline assembly (asm) and typeof.
CORE_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -nostdlib -fno-pic -fno-pie \
	-mcmodel=kernel -mno-red-zone -mgeneral-regs-only -fno-stack-protector \
	-fno-common -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
	-Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
	-Wundef -Wimplicit-fallthrough -I. -MMD -MP

CORE_OBJS := \
	arch/x86/entry.o \
	arch/x86/isr.o \
	arch/x86/gdt.o \
	arch/x86/traps.o \
	arch/x86/lapic.o \
	arch/x86/clock.o \
	arch/x86/paging.o \
	arch/x86/pagetable.o \
	arch/x86/fpu.o \
	arch/x86/vcpu_state.o \
	arch/x86/svm/svm.o \
	arch/x86/svm/svm_entry.o \
	arch/x86/vmx/vmx.o \
	arch/x86/vmx/vmx_entry.o \
	drivers/uart16550.o \
	drivers/fbcon.o \
	drivers/acpi.o \
	drivers/pci.o \
	drivers/iommu.o \
	drivers/amd_iommu.o \
	drivers/intel_vtd.o \
	kernel/dma.o \
	kernel/main.o \
	kernel/virt.o \
	kernel/partition.o \
	kernel/kind.o \
	kernel/pv.o \
	kernel/pv_image.o \
	kernel/cpu_policy.o \
	kernel/guest_mem.o \
	kernel/schedule.o \
	kernel/sched.o \
	kernel/console.o \
	kernel/channel.o \
	kernel/vmexit.o \
	kernel/hypercall.o \
	kernel/hvm/platform.o \
	kernel/hvm/boot.o \
	kernel/hvm/hvm.o \
	kernel/hvm/decode.o \
	kernel/hvm/vlapic.o \
	kernel/hvm/vpic.o \
	kernel/hvm/vpit.o \
	kernel/hvm/vuart.o \
	kernel/hvm/vcmos.o \
	kernel/hvm/linux_boot.o \
	kernel/hvm/multiboot.o \
	kernel/hvm/acpi_tables.o \
	kernel/log.o \
	kernel/screen.o \
	kernel/palloc.o \
	kernel/memory.o \
	kernel/config.o \
	kernel/errno.o \
	kernel/lib/string.o \
	kernel/lib/mem.o \
	kernel/lib/format.o \
	kernel/lib/elf.o
CORE_OBJS := $(addprefix $(B)/core/,$(CORE_OBJS))
CORE_OBJS += $(B)/core/fbfont.o

# The framebuffer console's font: a PSF font of Debian's console-setup-linux
# package (apt-get download, dpkg -x into $(B)/font; nothing installed, no
# font data in the repository), turned into a C table by drivers/fbfont.py.
FONT_PKG := console-setup-linux
FONT_PSF := Lat15-Terminus16.psf.gz
FONT_FILE := $(B)/font/usr/share/consolefonts/$(FONT_PSF)

$(FONT_FILE): | deps
	@mkdir -p $(B)/font/debs
	@echo "  APT     download $(FONT_PKG)"
	$(Q)ls $(B)/font/debs/$(FONT_PKG)_*.deb >/dev/null 2>&1 || \
		(cd $(B)/font/debs && apt-get -q -o APT::Sandbox::User=root download $(FONT_PKG) \
			>../download.log 2>&1) || { cat $(B)/font/download.log; \
			echo "error: apt-get download $(FONT_PKG) failed (apt-get update?)"; exit 1; }
	$(Q)dpkg -x $$(ls $(B)/font/debs/$(FONT_PKG)_*.deb | head -n1) $(B)/font
	$(Q)test -f $@ || { echo "error: $(FONT_PKG) has no $(FONT_PSF)"; exit 1; }
	$(Q)touch $@

$(B)/gen/fbfont.c: $(FONT_FILE) drivers/fbfont.py
	@mkdir -p $(dir $@)
	@echo "  FONT    $(FONT_PSF) -> $@"
	$(Q)python3 drivers/fbfont.py $(FONT_FILE) $@

$(B)/core/fbfont.o: $(B)/gen/fbfont.c
	@echo "  CC      $<"
	$(Q)$(CC) $(CORE_CFLAGS) -c $< -o $@

$(B)/core/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CORE_CFLAGS) -c $< -o $@

$(B)/core/%.o: %.S | deps
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CC) $(CORE_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

$(B)/core.elf: $(CORE_OBJS) linker.ld
	@echo "  LD      $@"
	$(Q)$(LD) -nostdlib -z max-page-size=4096 -z noexecstack -T linker.ld -o $@ $(CORE_OBJS)

# ------------------------------------------------------------------ loader --
EFI_INC := /usr/include/efi
EFI_LIB := /usr/lib
LOADER_CFLAGS := -std=gnu11 -O2 -fpic -ffreestanding -fno-stack-protector \
	-fshort-wchar -mno-red-zone -maccumulate-outgoing-args \
	-DGNU_EFI_USE_MS_ABI -DPARTITA_LOADER \
	-Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wundef \
	-I. -I$(EFI_INC) -I$(EFI_INC)/x86_64 -MMD -MP

# The loader shares the config parser and the string/format helpers with the
# core; memcpy and memset come from gnu-efi's libefi.
LOADER_OBJS := \
	boot/efi_main.o \
	boot/efi_util.o \
	boot/elf_load.o \
	boot/pagetable.o \
	boot/memmap.o \
	boot/efi_mem.o \
	boot/core_image.o \
	boot/hwcheck.o \
	drivers/uart16550.o \
	kernel/config.o \
	kernel/lib/string.o \
	kernel/lib/format.o \
	kernel/lib/elf.o
LOADER_OBJS := $(addprefix $(B)/loader/,$(LOADER_OBJS))
# CHECK.EFI: the hardware check alone (boot/check_main.c).
CHECK_OBJS := boot/check_main.o boot/hwcheck.o boot/efi_util.o drivers/uart16550.o \
	kernel/lib/string.o kernel/lib/format.o
CHECK_OBJS := $(addprefix $(B)/loader/,$(CHECK_OBJS))

$(B)/loader/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@echo "  CC      $< (loader)"
	$(Q)$(CC) $(LOADER_CFLAGS) -c $< -o $@

# The core's ELF file is embedded in the loader's read-only data.
$(B)/loader/boot/core_image.o: boot/core_image.S $(B)/core.elf
	@mkdir -p $(dir $@)
	@echo "  AS      $< (embeds core.elf)"
	$(Q)$(CC) $(LOADER_CFLAGS) -DCORE_ELF_PATH='"$(B)/core.elf"' -c $< -o $@

$(B)/loader.so: $(LOADER_OBJS)
	@echo "  LD      $@"
	$(Q)$(LD) -shared -Bsymbolic -nostdlib -znocombreloc -z defs -T $(EFI_LIB)/elf_x86_64_efi.lds \
		$(EFI_LIB)/crt0-efi-x86_64.o $(LOADER_OBJS) -L$(EFI_LIB) -lefi -lgnuefi \
		$$($(CC) -print-libgcc-file-name) -o $@

$(B)/check.so: $(CHECK_OBJS)
	@echo "  LD      $@"
	$(Q)$(LD) -shared -Bsymbolic -nostdlib -znocombreloc -z defs -T $(EFI_LIB)/elf_x86_64_efi.lds \
		$(EFI_LIB)/crt0-efi-x86_64.o $(CHECK_OBJS) -L$(EFI_LIB) -lefi -lgnuefi \
		$$($(CC) -print-libgcc-file-name) -o $@

EFI_SECTIONS := -j .text -j .sdata -j .data -j .rodata -j .dynamic -j .dynsym \
	-j .rel -j .rela -j .rel.* -j .rela.* -j .reloc

$(B)/esp/EFI/BOOT/BOOTX64.EFI: $(B)/loader.so
	@mkdir -p $(dir $@)
	@echo "  EFI     $@"
	$(Q)$(OBJCOPY) $(EFI_SECTIONS) --target efi-app-x86_64 --subsystem=10 $< $@

$(B)/esp/CHECK.EFI: $(B)/check.so
	@mkdir -p $(dir $@)
	@echo "  EFI     $@"
	$(Q)$(OBJCOPY) $(EFI_SECTIONS) --target efi-app-x86_64 --subsystem=10 $< $@

# ------------------------------------------------------------------ guests --
# Paravirtual guests: static ELF64 images linked at guest-physical 1 MiB
# (guests/lib/guest.ld), each from the .c files of its folder plus guests/lib.
GUEST_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -nostdlib -fno-pic -fno-pie \
	-mno-red-zone -mgeneral-regs-only -fno-stack-protector -fno-common \
	-fno-asynchronous-unwind-tables -Wall -Wextra -Werror -Wshadow -Wundef \
	-I. -MMD -MP
GUEST_LIB_OBJS := guests/lib/start.o guests/lib/runtime.o guests/lib/ring.o \
	kernel/lib/format.o kernel/lib/string.o kernel/lib/mem.o
GUEST_LIB_OBJS := $(addprefix $(B)/guests/obj/,$(GUEST_LIB_OBJS))
GUEST_NAMES := hello ticker spin attack control
GUEST_NAMES += pingpong chanbench
GUEST_ELFS = $(foreach g,$(GUEST_NAMES),$(B)/guests/$(g).elf)

$(B)/guests/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@echo "  CC      $< (guest)"
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(B)/guests/obj/%.o: %.S | deps
	@mkdir -p $(dir $@)
	@echo "  AS      $< (guest)"
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@

define guest_rule
$(B)/guests/$(1).elf: $(patsubst %.c,$(B)/guests/obj/%.o,$(wildcard guests/$(1)/*.c)) $(GUEST_LIB_OBJS) $(GUEST_$(1)_LIBS) guests/lib/guest.ld
	@echo "  LD      $$@"
	$(Q)$(LD) -nostdlib -static -z max-page-size=4096 -z noexecstack -T guests/lib/guest.ld -o $$@ \
		$(patsubst %.c,$(B)/guests/obj/%.o,$(wildcard guests/$(1)/*.c)) $(GUEST_LIB_OBJS) $(GUEST_$(1)_LIBS)
endef
# (The rules of each guest are made at the end of this file, once every
# GUEST_NAMES += line has been read.)

# ------------------------------------------------------- unmodified guests --
# Guests for hvm partitions (`make linux`, `make mbtest`):
#   $(B)/guests/vmlinuz, $(B)/guests/initrd.gz: Debian's stock kernel (the
#     package linux-image-amd64 depends on) and an initramfs of busybox-static
#     with guests/linux/init, by guests/linux/build.sh: `apt-get download` and
#     `dpkg -x` into $(B)/linux, nothing installed.  Stamped: the packages are
#     fetched once, the initramfs is rebuilt when the recipe or init changes.
#     guests/linux/direct-boot-time.sh times the same kernel booted by QEMU.
#   $(B)/guests/mbtest.elf: the Multiboot 1 test kernel (guests/mbtest), ELF32
#     linked at 1 MiB; `qemu-system-x86_64 -kernel` boots it too.
LINUX_STAMP := $(B)/linux/.built

$(LINUX_STAMP): guests/linux/build.sh guests/linux/init | deps
	$(Q)bash guests/linux/build.sh $(B)
	$(Q)touch $@

$(B)/guests/vmlinuz $(B)/guests/initrd.gz: $(LINUX_STAMP)
	$(Q)test -f $@ || { rm -f $(LINUX_STAMP); echo "error: $@ missing; run make again"; exit 1; }

MBTEST_CFLAGS := -m32 -std=gnu11 -O2 -g -ffreestanding -nostdlib -fno-pic -fno-pie \
	-fno-stack-protector -mgeneral-regs-only -fno-common -fno-asynchronous-unwind-tables \
	-Wall -Wextra -Werror -Wshadow -Wundef -MMD -MP
MBTEST_OBJS := $(B)/guests/mbtest-obj/start.o $(B)/guests/mbtest-obj/mbtest.o

$(B)/guests/mbtest-obj/%.o: guests/mbtest/%.c | deps
	@mkdir -p $(dir $@)
	@echo "  CC      $< (mbtest, 32-bit)"
	$(Q)$(CC) $(MBTEST_CFLAGS) -c $< -o $@

$(B)/guests/mbtest-obj/%.o: guests/mbtest/%.S | deps
	@mkdir -p $(dir $@)
	@echo "  AS      $< (mbtest, 32-bit)"
	$(Q)$(CC) $(MBTEST_CFLAGS) -c $< -o $@

$(B)/guests/mbtest.elf: $(MBTEST_OBJS) guests/mbtest/mbtest.ld
	@echo "  LD      $@"
	$(Q)$(LD) -m elf_i386 -nostdlib -static -z noexecstack --no-warn-rwx-segments \
		-T guests/mbtest/mbtest.ld -o $@ $(MBTEST_OBJS)

.PHONY: linux mbtest
linux: $(B)/guests/vmlinuz $(B)/guests/initrd.gz
mbtest: $(B)/guests/mbtest.elf

# ------------------------------------------------------------------- bench --
# `make bench`: the benchmark guests (guests/bench, guests/benchpeer) booted
# under QEMU with -icount shift=0 (SVM) and in Bochs (VMX, instruction-counted
# clock) by tests/bench.py, which prints the table for each back end.
# Not part of `make test`.
GUEST_NAMES += bench benchpeer

.PHONY: bench
bench: all linux
	$(Q)python3 tests/bench.py
	$(Q)python3 tests/bench_channels.py
	$(Q)python3 tests/bench_linux.py

# -------------------------------------------------------------------- lwIP --
# lwIP 2.1.3 is not in the repository: its sources come from Debian's source
# package, fetched with a private apt state under $(B)/apt (the system's apt
# configuration is left alone; the deb-src entry is derived from the system's
# own sources file, so no mirror is named here) and unpacked into
# $(B)/lwip-src.  Core, IPv4 and Ethernet are compiled freestanding, with the
# project's lwipopts.h, arch/cc.h and a few libc headers (guests/lib/lwip/),
# and looser warning flags (third-party code), into $(B)/guests/liblwip.a.
# The port (guests/lib/lwip/*.c) is project code: GUEST_CFLAGS plus lwIP's
# include paths.  A guest that uses lwIP sets GUEST_<name>_LIBS.
LWIP_SRC := $(B)/lwip-src
LWIP_STAMP := $(LWIP_SRC)/.unpacked
LWIP_APT := $(B)/apt
LWIP_APT_OPTS = -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$(abspath $(LWIP_APT))/sources \
	-o Dir::State::Lists=$(abspath $(LWIP_APT))/lists -o Dir::Cache=$(abspath $(LWIP_APT))/cache \
	-o APT::Sandbox::User=root

$(LWIP_STAMP): | deps
	@echo "  FETCH   lwip (Debian source package) -> $(LWIP_SRC)"
	$(Q)rm -rf $(LWIP_APT) $(LWIP_SRC)
	$(Q)mkdir -p $(LWIP_APT)/sources $(LWIP_APT)/lists/partial $(LWIP_APT)/cache/archives/partial $(LWIP_APT)/src
	$(Q)if [ -f /etc/apt/sources.list.d/debian.sources ]; then \
		sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
			> $(LWIP_APT)/sources/deb-src.sources; \
	else \
		sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list > $(LWIP_APT)/sources/deb-src.list; \
	fi
	$(Q)apt-get $(LWIP_APT_OPTS) -q update >$(LWIP_APT)/update.log 2>&1 || \
		{ cat $(LWIP_APT)/update.log; echo "error: apt-get update (deb-src) failed"; exit 1; }
	$(Q)cd $(LWIP_APT)/src && apt-get $(LWIP_APT_OPTS) -q source --download-only lwip \
		>../source.log 2>&1 || { cat ../source.log; echo "error: apt-get source lwip failed"; exit 1; }
	$(Q)dpkg-source -x $$(ls $(LWIP_APT)/src/lwip_*.dsc | head -n1) $(LWIP_SRC) >$(LWIP_APT)/unpack.log 2>&1 || \
		{ cat $(LWIP_APT)/unpack.log; echo "error: dpkg-source -x failed"; exit 1; }
	$(Q)touch $@

# What NO_SYS=1 with TCP, UDP, ICMP, ARP and Ethernet over IPv4 needs.
LWIP_FILES := core/def.c core/inet_chksum.c core/init.c core/ip.c core/mem.c \
	core/memp.c core/netif.c core/pbuf.c core/raw.c core/stats.c core/sys.c \
	core/tcp.c core/tcp_in.c core/tcp_out.c core/timeouts.c core/udp.c \
	core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/ip4.c core/ipv4/ip4_addr.c \
	core/ipv4/ip4_frag.c netif/ethernet.c
LWIP_OBJS := $(patsubst %.c,$(B)/guests/lwip/%.o,$(LWIP_FILES))
LWIP_INC := -Iguests/lib/lwip/libc -Iguests/lib/lwip -isystem $(LWIP_SRC)/src/include
LWIP_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -nostdinc -isystem $(shell $(CC) -print-file-name=include) \
	-mgeneral-regs-only -mno-red-zone -fno-pic -fno-pie -fno-stack-protector -fno-common \
	-fno-asynchronous-unwind-tables -Wall $(LWIP_INC) -I. -MMD -MP
LWIP_PORT_OBJS := $(B)/guests/obj/guests/lib/lwip/port.o $(B)/guests/obj/guests/lib/lwip/netif_channel.o

$(LWIP_SRC)/src/%.c: $(LWIP_STAMP) ;

$(B)/guests/lwip/%.o: $(LWIP_SRC)/src/%.c $(LWIP_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      lwip/$* (lwIP)"
	$(Q)$(CC) $(LWIP_CFLAGS) -c $< -o $@

$(B)/guests/liblwip.a: $(LWIP_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

# The port and the guests that use lwIP: the project's flags, lwIP's headers
# (as system headers, so that their style does not trip -Werror), and the
# freestanding libc headers instead of the host's.
LWIP_GUEST_CFLAGS := -nostdinc -isystem $(shell $(CC) -print-file-name=include) $(LWIP_INC)
$(B)/guests/obj/guests/lib/lwip/%.o: GUEST_CFLAGS += $(LWIP_GUEST_CFLAGS)
$(B)/guests/obj/guests/tcpecho/%.o: GUEST_CFLAGS += $(LWIP_GUEST_CFLAGS)
$(LWIP_PORT_OBJS) $(patsubst %.c,$(B)/guests/obj/%.o,$(wildcard guests/tcpecho/*.c)): $(LWIP_STAMP)

.PHONY: lwip
lwip: $(B)/guests/liblwip.a

GUEST_NAMES += tcpecho
GUEST_tcpecho_LIBS := $(LWIP_PORT_OBJS) $(B)/guests/liblwip.a

# The management partition: lwIP over the virtio-net driver and its netif.
MGMT_LIB_OBJS := $(B)/guests/obj/guests/lib/virtio_net.o $(B)/guests/obj/guests/lib/lwip/netif_virtio.o
$(B)/guests/obj/guests/mgmt/%.o: GUEST_CFLAGS += $(LWIP_GUEST_CFLAGS)
$(MGMT_LIB_OBJS) $(patsubst %.c,$(B)/guests/obj/%.o,$(wildcard guests/mgmt/*.c)): $(LWIP_STAMP)
GUEST_NAMES += mgmt
GUEST_mgmt_LIBS := $(MGMT_LIB_OBJS) $(LWIP_PORT_OBJS) $(B)/guests/liblwip.a

# The DMA attack (its virtio-net aimed at memory not its own) and its victim.
GUEST_NAMES += dmaattack dmavictim
GUEST_dmaattack_LIBS := $(B)/guests/obj/guests/lib/virtio_net.o

# --------------------------------------------------------------------- ESP --
DEMO_CONF := guests/demo.conf

.PHONY: all esp
all: esp
esp: $(B)/esp/EFI/BOOT/BOOTX64.EFI $(B)/esp/CHECK.EFI $(DEMO_CONF) $(B)/guests/vmlinuz $(B)/guests/initrd.gz
	@mkdir -p $(B)/esp/partita
	$(Q)cp $(DEMO_CONF) $(B)/esp/partita/partita.conf
	$(Q)for f in $(GUEST_ELFS) $(B)/guests/vmlinuz $(B)/guests/initrd.gz; do cp $$f $(B)/esp/partita/; done
	@echo "  ESP     $(B)/esp (partita.conf from $(DEMO_CONF))"

# ---------------------------------------------------------------- run/image --
OVMF := /usr/share/ovmf/OVMF.fd
QEMU_FLAGS := -nodefaults -machine q35 -m 1G -accel tcg -cpu qemu64,+svm,+npt \
	-bios $(OVMF) -display none -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04

# The management partition's NIC: virtio-net (modern only, 1af4:1041) on
# QEMU's user network, host port 8080 forwarded to its port 80, behind
# QEMU's AMD IOMMU (iommu_platform=on: else virtio bypasses it), so the
# partition needs no `trusted`.
API_PORT ?= 8080
QEMU_NIC := -netdev user,id=net0,hostfwd=tcp:127.0.0.1:$(API_PORT)-:80 \
	-device virtio-net-pci,netdev=net0,disable-legacy=on,iommu_platform=on -device amd-iommu

.PHONY: run
# The demo runs with -icount: the guests' clock follows executed instructions,
# so windows keep their times although TCG emulates far slower than hardware
# (without it, each exit costs tens of microseconds of wall time and windows
# overrun).  sleep=off: idle time passes at once.
RUN_ICOUNT := -icount shift=5,sleep=off

run: all
	@echo "  QEMU    $(B)/esp (serial on this terminal; quit with Ctrl-A X; API on http://localhost:$(API_PORT)/)"
	$(Q)qemu-system-x86_64 $(QEMU_FLAGS) $(RUN_ICOUNT) $(QEMU_NIC) -drive format=raw,file=fat:rw:$(B)/esp \
		-serial mon:stdio || true

# The README's screenshot: the demo's paravirtual partitions
# (docs/screenshot.conf) as `make run` boots them, with OVMF's GOP on QEMU's
# standard VGA, once the ticker has reported its first 20 windows
# (tests/screenshot.py reads every cell back first).
SHOT_CONF := docs/screenshot.conf
SHOT_WAIT ?= ^\[ticker\] 20 window starts
.PHONY: screenshot
screenshot: all
	$(Q)rm -rf $(B)/shot-esp && mkdir -p $(B)/shot-esp/EFI/BOOT $(B)/shot-esp/partita
	$(Q)cp $(B)/esp/EFI/BOOT/BOOTX64.EFI $(B)/shot-esp/EFI/BOOT/
	$(Q)cp $(SHOT_CONF) $(B)/shot-esp/partita/partita.conf
	$(Q)cp $(GUEST_ELFS) $(B)/shot-esp/partita/
	$(Q)python3 tests/screenshot.py --out docs/screen.png --wait '$(SHOT_WAIT)' --settle 3 \
		-- qemu-system-x86_64 $(QEMU_FLAGS) $(RUN_ICOUNT) -vga std \
		-drive format=raw,file=fat:rw:$(B)/shot-esp

$(B)/partita.img: all
	@echo "  IMAGE   $@"
	$(Q)rm -f $@ $@.fat
	$(Q)truncate -s 64M $@
	$(Q)sgdisk -o -n 1:2048:0 -t 1:ef00 -c 1:"Partita ESP" $@ >/dev/null
	$(Q)truncate -s $$(( (131072 - 2048 - 34) * 512 )) $@.fat
	$(Q)mkfs.fat -F 32 -n PARTITA $@.fat >/dev/null
	$(Q)mcopy -s -i $@.fat $(B)/esp/EFI $(B)/esp/partita $(B)/esp/CHECK.EFI ::/
	$(Q)dd if=$@.fat of=$@ bs=512 seek=2048 conv=notrunc status=none
	$(Q)rm -f $@.fat

.PHONY: image
image: $(B)/partita.img

# -------------------------------------------------------------------- tests --
HOST_CC := gcc
HOST_CFLAGS := -std=gnu11 -g -O1 -DPARTITA_HOST -I. -Wall -Wextra -Werror \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
UNIT_TESTS := test_config test_format test_palloc test_pagetable test_loader test_schedule test_guest_mem
UNIT_TESTS += test_decode test_vlapic test_vdev
UNIT_TESTS += test_linux_boot test_acpi_tables test_multiboot test_console test_iommu_tables
UNIT_TESTS += test_fbcon

UNIT_test_config_SRCS := kernel/config.c kernel/lib/string.c kernel/errno.c
UNIT_test_format_SRCS := kernel/lib/format.c
UNIT_test_palloc_SRCS := kernel/palloc.c
UNIT_test_pagetable_SRCS := arch/x86/pagetable.c
UNIT_test_schedule_SRCS := kernel/schedule.c kernel/config.c kernel/lib/string.c
UNIT_test_guest_mem_SRCS := kernel/guest_mem.c kernel/lib/elf.c
UNIT_test_loader_SRCS := boot/memmap.c boot/elf_load.c boot/pagetable.c kernel/lib/elf.c
UNIT_test_decode_SRCS := kernel/hvm/decode.c
UNIT_test_linux_boot_SRCS := kernel/hvm/linux_boot.c
UNIT_test_acpi_tables_SRCS := kernel/hvm/acpi_tables.c
UNIT_test_iommu_tables_SRCS := kernel/lib/string.c
UNIT_test_multiboot_SRCS := kernel/hvm/multiboot.c kernel/hvm/linux_boot.c
UNIT_test_vlapic_SRCS := kernel/hvm/vlapic.c
UNIT_test_vdev_SRCS := kernel/hvm/hvm.c kernel/hvm/vlapic.c kernel/hvm/vpic.c kernel/hvm/vpit.c \
	kernel/hvm/vuart.c kernel/hvm/vcmos.c

# format.c is built under other names on the host, beside the C library's.
UNIT_test_format_CFLAGS := -UPARTITA_HOST -Dvsnprintf=hv_vsnprintf -Dsnprintf=hv_snprintf
UNIT_test_console_SRCS := kernel/console.c kernel/lib/format.c
UNIT_test_fbcon_SRCS := drivers/fbcon.c $(B)/gen/fbfont.c
UNIT_test_console_CFLAGS := -Dvsnprintf=hv_vsnprintf -Dsnprintf=hv_snprintf

define unit_rule
$(B)/unit/$(1): tests/unit/$(1).c $(UNIT_$(1)_SRCS) | deps
	@mkdir -p $(B)/unit
	@echo "  HOSTCC  $$@"
	$(Q)$(HOST_CC) $(HOST_CFLAGS) $(UNIT_$(1)_CFLAGS) -o $$@ $$^ -lcmocka
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

.PHONY: test unit-test integration-test test-full
unit-test: $(addprefix $(B)/unit/,$(UNIT_TESTS))
	$(Q)python3 tests/run.py --unit $(addprefix $(B)/unit/,$(UNIT_TESTS))

test: all linux mbtest $(B)/partita.img $(addprefix $(B)/unit/,$(UNIT_TESTS))
	$(Q)python3 tests/run.py --unit $(addprefix $(B)/unit/,$(UNIT_TESTS)) --integration

test-full: all linux mbtest $(B)/partita.img $(addprefix $(B)/unit/,$(UNIT_TESTS))
	$(Q)python3 tests/run.py --unit $(addprefix $(B)/unit/,$(UNIT_TESTS)) --integration --full

# The config parser under libFuzzer (clang), ASan and UBSan, for a minute.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz: | deps
	@mkdir -p $(B)/fuzz-corpus
	@echo "  FUZZ    kernel/config.c for $(FUZZ_SECONDS) s"
	$(Q)clang -g -O1 -DPARTITA_HOST -I. -fsanitize=fuzzer,address,undefined \
		tests/unit/fuzz_config.c kernel/config.c kernel/lib/string.c -o $(B)/fuzz_config
	$(Q)cp tests/unit/configs/*.conf $(B)/fuzz-corpus/
	$(Q)$(B)/fuzz_config -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		-dict=tests/unit/configs/fuzz.dict $(B)/fuzz-corpus

# ------------------------------------------------------------------- other --
.PHONY: clean help format-check
clean:
	rm -rf $(B)

format-check: | deps
	$(Q)clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

help:
	@echo "make          build the core, the loader and the ESP folder ($(B)/esp)"
	@echo "make run      boot the demo in QEMU; serial console on the terminal"
	@echo "make test     unit tests (host, ASan+UBSan) and integration tests (QEMU, Bochs)"
	@echo "make test-full  also the slow integration cases"
	@echo "make bench    benchmarks under QEMU -icount shift=0 (SVM) and Bochs (VMX): exits, hypercalls, window switch, memory"
	@echo "make image    GPT disk image with a FAT ESP: $(B)/partita.img (dd it to a USB stick)"
	@echo "make fuzz     fuzz the config parser with libFuzzer (FUZZ_SECONDS=60)"
	@echo "make screenshot  boot the demo's pv partitions with a screen, write docs/screen.png"
	@echo "make format-check  check the C sources against .clang-format"
	@echo "make clean    remove $(B)"

$(foreach g,$(GUEST_NAMES),$(eval $(call guest_rule,$(g))))
esp: $(GUEST_ELFS)

-include $(shell find $(B) -name '*.d' -type f 2>/dev/null)
