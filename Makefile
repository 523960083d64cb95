# SPDX-License-Identifier: BSD-2-Clause
# Partita: the one, non-recursive build.
#
#   make            core, loader and ESP folder (build/esp)
#   make run        boot the demo in QEMU, serial console on this terminal
#   make test       unit tests on the host, then integration tests in QEMU/Bochs
#   make image      a GPT disk image with a FAT ESP (build/partita.img)
#   make iso        a BIOS-bootable ISO: GRUB, Multiboot2 (build/partita.iso)
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
	chromium curl grub-pc-bin grub-common xorriso gcovr clang-tools openssl

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
	-Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations -Wpointer-arith -Wshadow \
	-Wundef -Wimplicit-fallthrough -I. -MMD -MP

CORE_OBJS := \
	arch/x86/entry.o \
	arch/x86/isr.o \
	arch/x86/gdt.o \
	arch/x86/traps.o \
	arch/x86/lapic.o \
	arch/x86/clock.o \
	arch/x86/tsc.o \
	arch/x86/paging.o \
	arch/x86/pagetable.o \
	arch/x86/fpu.o \
	arch/x86/vcpu_state.o \
	arch/x86/smp.o \
	arch/x86/trampoline.o \
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
	kernel/devirq.o \
	kernel/main.o \
	kernel/virt.o \
	kernel/partition.o \
	kernel/kind.o \
	kernel/pv.o \
	kernel/pv_image.o \
	kernel/image.o \
	kernel/cpu_policy.o \
	kernel/guest_mem.o \
	kernel/schedule.o \
	kernel/sched.o \
	kernel/console.o \
	kernel/channel.o \
	kernel/vmexit.o \
	kernel/hypercall.o \
	kernel/control_info.o \
	kernel/lateness.o \
	kernel/hvm/platform.o \
	kernel/hvm/boot.o \
	kernel/hvm/hvm.o \
	kernel/hvm/decode.o \
	kernel/hvm/vlapic.o \
	kernel/hvm/vioapic.o \
	kernel/hvm/viommu.o \
	kernel/hvm/vpci.o \
	kernel/hvm/virtq.o \
	kernel/hvm/virtio_pci.o \
	kernel/hvm/virtio_blk.o \
	kernel/hvm/disk.o \
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

# ------------------------------------------------------- multiboot2 loader --
# $(B)/partita-mb2.elf: the Multiboot2 loader that GRUB starts on machines
# without UEFI (boot/mb2_entry.S explains why it is a link unit of its own).
# It embeds the same core.elf as BOOTX64.EFI and shares the loader's pure
# parts (elf_load.c, pagetable.c, memmap.c).  The core's flags, but gcc's
# default small code model: it runs identity-mapped at 1 MiB (boot/mb2.ld).
# Stripped: GRUB would otherwise load the debug sections into memory too.
MB2_CFLAGS := $(filter-out -mcmodel=kernel,$(CORE_CFLAGS)) -DPARTITA_MB2_LOADER
MB2_OBJS := \
	boot/mb2_entry.o \
	boot/mb2_main.o \
	boot/mb2.o \
	boot/elf_load.o \
	boot/pagetable.o \
	boot/memmap.o \
	boot/core_image.o \
	drivers/uart16550.o \
	kernel/lib/string.o \
	kernel/lib/mem.o \
	kernel/lib/format.o \
	kernel/lib/elf.o
MB2_OBJS := $(addprefix $(B)/mb2/,$(MB2_OBJS))

$(B)/mb2/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@echo "  CC      $< (multiboot2 loader)"
	$(Q)$(CC) $(MB2_CFLAGS) -c $< -o $@

$(B)/mb2/%.o: %.S | deps
	@mkdir -p $(dir $@)
	@echo "  AS      $< (multiboot2 loader)"
	$(Q)$(CC) $(MB2_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

$(B)/mb2/boot/core_image.o: boot/core_image.S $(B)/core.elf
	@mkdir -p $(dir $@)
	@echo "  AS      $< (multiboot2 loader, embeds core.elf)"
	$(Q)$(CC) $(MB2_CFLAGS) -D__ASSEMBLY__ -DCORE_ELF_PATH='"$(B)/core.elf"' -c $< -o $@

$(B)/partita-mb2.elf: $(MB2_OBJS) boot/mb2.ld
	@echo "  LD      $@"
	$(Q)$(LD) -nostdlib -static -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments \
		-T boot/mb2.ld -o $(B)/mb2/partita-mb2.full.elf $(MB2_OBJS)
	$(Q)$(OBJCOPY) --strip-all $(B)/mb2/partita-mb2.full.elf $@

.PHONY: mb2
mb2: $(B)/partita-mb2.elf

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
# Isolation and fuzzing (issue 10): isostate (CPU state across a switch),
# conflood and logflood (time: console and log floods), tprattack (CR8).
GUEST_NAMES += isostate conflood logflood tprattack insnfuzz hcfuzz
# Images and instances (issue 15): many partitions from one shared image.
GUEST_NAMES += instance creator
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
#     $(B)/guests/mbtest2.elf: the same with a Multiboot 2 header.
LINUX_STAMP := $(B)/linux/.built

$(LINUX_STAMP): guests/linux/build.sh guests/linux/init | deps
	$(Q)bash guests/linux/build.sh $(B)
	$(Q)touch $@

$(B)/guests/vmlinuz $(B)/guests/initrd.gz $(B)/guests/disk.img: $(LINUX_STAMP)
	$(Q)test -f $@ || { rm -f $(LINUX_STAMP); echo "error: $@ missing; run make again"; exit 1; }

MBTEST_CFLAGS := -m32 -std=gnu11 -O2 -g -ffreestanding -nostdlib -fno-pic -fno-pie \
	-fno-stack-protector -mgeneral-regs-only -fno-common -fno-asynchronous-unwind-tables \
	-Wall -Wextra -Werror -Wshadow -Wundef -MMD -MP
MBTEST_OBJS := $(B)/guests/mbtest-obj/start.o $(B)/guests/mbtest-obj/mbtest.o \
	$(B)/guests/mbtest-obj/platform.o $(B)/guests/mbtest-obj/bootinfo.o
MBTEST2_OBJS := $(B)/guests/mbtest-obj/start-mb2.o $(filter-out %/start.o,$(MBTEST_OBJS))

$(B)/guests/mbtest-obj/%.o: guests/mbtest/%.c | deps
	@mkdir -p $(dir $@)
	@echo "  CC      $< (mbtest, 32-bit)"
	$(Q)$(CC) $(MBTEST_CFLAGS) -c $< -o $@

$(B)/guests/mbtest-obj/%.o: guests/mbtest/%.S | deps
	@mkdir -p $(dir $@)
	@echo "  AS      $< (mbtest, 32-bit)"
	$(Q)$(CC) $(MBTEST_CFLAGS) -c $< -o $@

$(B)/guests/mbtest-obj/start-mb2.o: guests/mbtest/start.S | deps
	@mkdir -p $(dir $@)
	@echo "  AS      $< (mbtest, 32-bit, Multiboot 2)"
	$(Q)$(CC) $(MBTEST_CFLAGS) -DMBTEST_MB2 -c $< -o $@

$(B)/guests/mbtest.elf: $(MBTEST_OBJS) guests/mbtest/mbtest.ld
	@echo "  LD      $@"
	$(Q)$(LD) -m elf_i386 -nostdlib -static -z noexecstack --no-warn-rwx-segments \
		-T guests/mbtest/mbtest.ld -o $@ $(MBTEST_OBJS)

$(B)/guests/mbtest2.elf: $(MBTEST2_OBJS) guests/mbtest/mbtest.ld
	@echo "  LD      $@"
	$(Q)$(LD) -m elf_i386 -nostdlib -static -z noexecstack --no-warn-rwx-segments \
		-T guests/mbtest/mbtest.ld -o $@ $(MBTEST2_OBJS)

.PHONY: linux mbtest
linux: $(B)/guests/vmlinuz $(B)/guests/initrd.gz $(B)/guests/disk.img
mbtest: $(B)/guests/mbtest.elf $(B)/guests/mbtest2.elf

# $(B)/guests/conformance.elf: the conformance kernel (guests/conformance),
#   a Multiboot 1 kernel that switches to long mode itself: 64-bit code
#   linked at 1 MiB, converted to ELF32 (what Multiboot 1 loaders, QEMU's
#   -kernel among them, take).  It shares format.c and string.c with the
#   paravirtual guests (their 64-bit objects).  $(B)/guests/conformance.mod
#   is the module its configs give it (`initrd =`, QEMU's -initrd): a header
#   line, then byte i = (i * 131 + 7) & 0xff, 8192 bytes.
CONFORMANCE_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -nostdlib -fno-pic -fno-pie \
	-mno-red-zone -mgeneral-regs-only -fno-stack-protector -fno-common \
	-fno-asynchronous-unwind-tables -Wall -Wextra -Werror -Wshadow -Wundef -I. -MMD -MP
CONFORMANCE_OBJS := $(patsubst guests/conformance/%,$(B)/guests/conformance-obj/%.o,\
	$(basename $(wildcard guests/conformance/*.c guests/conformance/*.S))) \
	$(B)/guests/obj/kernel/lib/format.o $(B)/guests/obj/kernel/lib/string.o \
	$(B)/guests/obj/kernel/lib/mem.o

$(B)/guests/conformance-obj/%.o: guests/conformance/%.c | deps
	@mkdir -p $(dir $@)
	@echo "  CC      $< (conformance)"
	$(Q)$(CC) $(CONFORMANCE_CFLAGS) -c $< -o $@

$(B)/guests/conformance-obj/%.o: guests/conformance/%.S | deps
	@mkdir -p $(dir $@)
	@echo "  AS      $< (conformance)"
	$(Q)$(CC) $(CONFORMANCE_CFLAGS) -c $< -o $@

$(B)/guests/conformance.elf: $(CONFORMANCE_OBJS) guests/conformance/conformance.ld
	@echo "  LD      $@"
	$(Q)$(LD) -m elf_x86_64 -nostdlib -static -z max-page-size=4096 -z noexecstack \
		--no-warn-rwx-segments -T guests/conformance/conformance.ld -o $@.64 $(CONFORMANCE_OBJS)
	$(Q)$(OBJCOPY) -O elf32-i386 $@.64 $@

$(B)/guests/conformance.mod:
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)python3 -c 'import sys; h = b"CONFORMANCE-MODULE 8192 bytes\n".ljust(64, b"."); \
		sys.stdout.buffer.write(h + bytes((i * 131 + 7) & 255 for i in range(64, 8192)))' > $@

.PHONY: conformance
conformance: $(B)/guests/conformance.elf $(B)/guests/conformance.mod

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
	$(Q)python3 tests/bench_irq.py
	$(Q)python3 tests/bench_linux.py
	$(Q)python3 tests/bench_virtio.py
	$(Q)python3 tests/bench_images.py

# ------------------------------------------------------ Debian source packages --
# lwIP and mbedTLS are not in the repository: their sources come from
# Debian's source packages, fetched with a private apt state under $(B)/apt
# (the system's apt configuration is left alone; the deb-src entry is
# derived from the system's own sources file, so no mirror is named here).
# $(call debsrc_fetch,PACKAGE,DIR) downloads PACKAGE's source and unpacks it
# into DIR.
DEBSRC_APT := $(B)/apt
DEBSRC_STAMP := $(DEBSRC_APT)/.updated
DEBSRC_APT_OPTS = -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$(abspath $(DEBSRC_APT))/sources \
	-o Dir::State::Lists=$(abspath $(DEBSRC_APT))/lists -o Dir::Cache=$(abspath $(DEBSRC_APT))/cache \
	-o APT::Sandbox::User=root

$(DEBSRC_STAMP): | deps
	@echo "  APT     deb-src index -> $(DEBSRC_APT)"
	$(Q)rm -rf $(DEBSRC_APT)
	$(Q)mkdir -p $(DEBSRC_APT)/sources $(DEBSRC_APT)/lists/partial $(DEBSRC_APT)/cache/archives/partial $(DEBSRC_APT)/src
	$(Q)if [ -f /etc/apt/sources.list.d/debian.sources ]; then \
		sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
			> $(DEBSRC_APT)/sources/deb-src.sources; \
	else \
		sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list > $(DEBSRC_APT)/sources/deb-src.list; \
	fi
	$(Q)apt-get $(DEBSRC_APT_OPTS) -q update >$(DEBSRC_APT)/update.log 2>&1 || \
		{ cat $(DEBSRC_APT)/update.log; echo "error: apt-get update (deb-src) failed"; exit 1; }
	$(Q)touch $@

define debsrc_fetch
	@echo "  FETCH   $(1) (Debian source package) -> $(2)"
	$(Q)rm -rf $(2) $(DEBSRC_APT)/src/$(1) && mkdir -p $(DEBSRC_APT)/src/$(1)
	$(Q)cd $(DEBSRC_APT)/src/$(1) && apt-get $(DEBSRC_APT_OPTS) -q source --download-only $(1) \
		>../$(1)-source.log 2>&1 || { cat ../$(1)-source.log; echo "error: apt-get source $(1) failed"; exit 1; }
	$(Q)dpkg-source -x $$(ls $(DEBSRC_APT)/src/$(1)/$(1)_*.dsc | head -n1) $(2) >$(DEBSRC_APT)/$(1)-unpack.log 2>&1 || \
		{ cat $(DEBSRC_APT)/$(1)-unpack.log; echo "error: dpkg-source -x $(1) failed"; exit 1; }
endef

# -------------------------------------------------------------------- lwIP --
# lwIP 2.1.3, from Debian's lwip source package into $(B)/lwip-src.  Core,
# IPv4, Ethernet and the altcp layer are compiled freestanding, with the
# project's lwipopts.h, arch/cc.h and a few libc headers (guests/lib/libc),
# and looser warning flags (third-party code), into $(B)/guests/liblwip.a.
# The port (guests/lib/lwip/*.c) is project code: GUEST_CFLAGS plus lwIP's
# include paths.  A guest that uses lwIP sets GUEST_<name>_LIBS.
LWIP_SRC := $(B)/lwip-src
LWIP_STAMP := $(LWIP_SRC)/.unpacked

$(LWIP_STAMP): | $(DEBSRC_STAMP)
	$(call debsrc_fetch,lwip,$(LWIP_SRC))
	$(Q)touch $@

# What NO_SYS=1 with TCP, UDP, ICMP, ARP and Ethernet over IPv4 needs.
LWIP_FILES := core/def.c core/inet_chksum.c core/init.c core/ip.c core/mem.c \
	core/memp.c core/netif.c core/pbuf.c core/raw.c core/stats.c core/sys.c \
	core/tcp.c core/tcp_in.c core/tcp_out.c core/timeouts.c core/udp.c \
	core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/ip4.c core/ipv4/ip4_addr.c \
	core/ipv4/ip4_frag.c netif/ethernet.c core/altcp.c core/altcp_alloc.c core/altcp_tcp.c
LWIP_OBJS := $(patsubst %.c,$(B)/guests/lwip/%.o,$(LWIP_FILES))
LWIP_INC := -Iguests/lib/libc -Iguests/lib/lwip -isystem $(LWIP_SRC)/src/include
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

# ----------------------------------------------------------------- mbedTLS --
# mbedTLS 2.28, from Debian's mbedtls source package into $(B)/mbedtls-src,
# compiled freestanding as lwIP is, with the project's configuration
# (guests/lib/tls/mbedtls_config.h: a TLS 1.2 server, ECDHE with ECDSA or
# RSA, AEAD ciphers, entropy from RDSEED/RDRAND) into $(B)/guests/libtls.a,
# together with lwIP's altcp_tls adapter for it.  The adapter is built with
# LWIP_NOASSERT: some of its assertions mark paths a remote peer can reach
# (a write failing after the connection went away), which it then handles
# as errors; asserting would end the whole partition.  The project's side
# (guests/lib/tls/*.c: entropy, calloc/free) is built with GUEST_CFLAGS.
MBEDTLS_SRC := $(B)/mbedtls-src
MBEDTLS_STAMP := $(MBEDTLS_SRC)/.unpacked
MBEDTLS_FILES := aes.c asn1parse.c asn1write.c base64.c bignum.c chacha20.c chachapoly.c \
	cipher.c cipher_wrap.c constant_time.c ctr_drbg.c ecdh.c ecdsa.c ecp.c ecp_curves.c \
	entropy.c gcm.c hmac_drbg.c md.c oid.c pem.c pk.c pk_wrap.c pkparse.c platform_util.c \
	poly1305.c rsa.c rsa_internal.c sha256.c sha512.c ssl_ciphersuites.c ssl_msg.c \
	ssl_srv.c ssl_tls.c x509.c x509_crt.c
MBEDTLS_OBJS := $(patsubst %.c,$(B)/guests/mbedtls/%.o,$(MBEDTLS_FILES))
MBEDTLS_INC := -isystem $(MBEDTLS_SRC)/include '-DMBEDTLS_CONFIG_FILE="guests/lib/tls/mbedtls_config.h"'
MBEDTLS_CFLAGS := $(LWIP_CFLAGS) $(MBEDTLS_INC)
LWIP_TLS_OBJS := $(B)/guests/lwip/apps/altcp_tls/altcp_tls_mbedtls.o \
	$(B)/guests/lwip/apps/altcp_tls/altcp_tls_mbedtls_mem.o
TLS_PORT_OBJS := $(B)/guests/obj/guests/lib/tls/entropy.o $(B)/guests/obj/guests/lib/tls/libc.o

$(MBEDTLS_STAMP): | $(DEBSRC_STAMP)
	$(call debsrc_fetch,mbedtls,$(MBEDTLS_SRC))
	$(Q)touch $@

$(MBEDTLS_SRC)/library/%.c: $(MBEDTLS_STAMP) ;
# (Unpacked sources are not intermediate files that make may delete.)
.PRECIOUS: $(MBEDTLS_SRC)/library/%.c $(LWIP_SRC)/src/%.c

$(B)/guests/mbedtls/%.o: $(MBEDTLS_SRC)/library/%.c $(MBEDTLS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      mbedtls/$* (mbedTLS)"
	$(Q)$(CC) $(MBEDTLS_CFLAGS) -c $< -o $@

$(LWIP_TLS_OBJS): LWIP_CFLAGS += $(MBEDTLS_INC) -DLWIP_NOASSERT -Wno-unused-result
$(LWIP_TLS_OBJS): $(MBEDTLS_STAMP)

$(B)/guests/libtls.a: $(MBEDTLS_OBJS) $(LWIP_TLS_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/guests/obj/guests/lib/tls/%.o: GUEST_CFLAGS += $(LWIP_GUEST_CFLAGS) $(MBEDTLS_INC)
$(TLS_PORT_OBJS): $(MBEDTLS_STAMP) $(LWIP_STAMP)

.PHONY: mbedtls
mbedtls: $(B)/guests/libtls.a

# The management partition: lwIP (plain TCP or TLS through altcp) over the
# virtio-net driver and its netif.
MGMT_LIB_OBJS := $(B)/guests/obj/guests/lib/virtio_net.o $(B)/guests/obj/guests/lib/lwip/netif_virtio.o
$(B)/guests/obj/guests/mgmt/%.o: GUEST_CFLAGS += $(LWIP_GUEST_CFLAGS) $(MBEDTLS_INC)
$(MGMT_LIB_OBJS) $(patsubst %.c,$(B)/guests/obj/%.o,$(wildcard guests/mgmt/*.c)): $(LWIP_STAMP) $(MBEDTLS_STAMP)
# Its status page's files are embedded by guests/mgmt/assets.S (.incbin).
MGMT_PAGE_OBJ := $(B)/guests/obj/guests/mgmt/assets.o
$(MGMT_PAGE_OBJ): guests/mgmt/status.html guests/mgmt/status.js guests/mgmt/status.css
GUEST_NAMES += mgmt
GUEST_mgmt_LIBS := $(MGMT_PAGE_OBJ) $(MGMT_LIB_OBJS) $(LWIP_PORT_OBJS) $(TLS_PORT_OBJS) \
	$(B)/guests/libtls.a $(B)/guests/liblwip.a

# The DMA attack (its virtio-net aimed at memory not its own) and its victim.
GUEST_NAMES += dmaattack dmavictim
# Device interrupt latency (QEMU's edu device; kernel/devirq.h).
GUEST_NAMES += irqlat
GUEST_dmaattack_LIBS := $(B)/guests/obj/guests/lib/virtio_net.o

# ---------------------------------------------------------------------- TLS --
# The management API's certificate, key and token for the image: a
# self-signed P-256 pair made with openssl (valid for localhost, 127.0.0.1
# and the partition's 10.0.2.15), and a 128-bit token.  Made once when
# missing; `make tls-cert` makes a new set.  They stay in $(B)/tls, and the
# ESP gets a copy (the demo's config names them).
TLS_DIR := $(B)/tls
TLS_FILES := $(TLS_DIR)/mgmt.crt $(TLS_DIR)/mgmt.key $(TLS_DIR)/api.token

$(TLS_DIR)/mgmt.key: | deps
	@mkdir -p $(TLS_DIR)
	@echo "  OPENSSL $(TLS_DIR)/mgmt.crt, mgmt.key (self-signed, P-256)"
	$(Q)umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout $(TLS_DIR)/mgmt.key -out $(TLS_DIR)/mgmt.crt -days 3650 -subj "/CN=partita-mgmt" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:10.0.2.15" 2>$(TLS_DIR)/openssl.log || \
		{ cat $(TLS_DIR)/openssl.log; rm -f $(TLS_DIR)/mgmt.key; exit 1; }

$(TLS_DIR)/mgmt.crt: $(TLS_DIR)/mgmt.key ;

$(TLS_DIR)/api.token: | deps
	@mkdir -p $(TLS_DIR)
	@echo "  OPENSSL $@ (128-bit token)"
	$(Q)umask 077 && openssl rand -hex 16 > $@

.PHONY: tls-cert
tls-cert:
	$(Q)rm -f $(TLS_FILES)
	$(Q)$(MAKE) --no-print-directory $(TLS_FILES)

# --------------------------------------------------------------------- ESP --
DEMO_CONF := guests/demo.conf

.PHONY: all esp
all: esp
# --remove-destination: a build folder made of hard links to another's
# (a worktree's) must not write through them into the other's files.
esp: $(B)/esp/EFI/BOOT/BOOTX64.EFI $(B)/esp/CHECK.EFI $(DEMO_CONF) $(B)/guests/vmlinuz $(B)/guests/initrd.gz $(B)/guests/disk.img $(TLS_FILES)
	@mkdir -p $(B)/esp/partita
	$(Q)cp --remove-destination $(DEMO_CONF) $(B)/esp/partita/partita.conf
	$(Q)for f in $(GUEST_ELFS) $(B)/guests/vmlinuz $(B)/guests/initrd.gz $(B)/guests/disk.img $(TLS_FILES); do \
		cp --remove-destination $$f $(B)/esp/partita/; done
	@echo "  ESP     $(B)/esp (partita.conf from $(DEMO_CONF))"

# ---------------------------------------------------------------- run/image --
OVMF := /usr/share/ovmf/OVMF.fd
# +rdrand: the management partition's TLS takes its entropy from RDRAND, and
# the demo's Linux its KASLR entropy; without it, under -icount, every boot
# would pick the same placement.
QEMU_FLAGS := -nodefaults -machine q35 -m 1G -accel tcg -cpu qemu64,+svm,+npt,+rdrand \
	-bios $(OVMF) -display none -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04

# The management partition's NIC: virtio-net (modern only, 1af4:1041) on
# QEMU's user network, host port 8443 forwarded to its HTTPS port 443,
# behind QEMU's AMD IOMMU (iommu_platform=on: else virtio bypasses it), so
# the partition needs no `trusted`.
API_PORT ?= 8443
QEMU_NIC := -netdev user,id=net0,hostfwd=tcp:127.0.0.1:$(API_PORT)-:443 \
	-device virtio-net-pci,netdev=net0,disable-legacy=on,iommu_platform=on -device amd-iommu

.PHONY: run
# The demo runs with -icount: the guests' clock follows executed instructions,
# so windows keep their times although TCG emulates far slower than hardware
# (without it, each exit costs tens of microseconds of wall time and windows
# overrun).  sleep=off: idle time passes at once.
RUN_ICOUNT := -icount shift=5,sleep=off

run: all
	@echo "  QEMU    $(B)/esp (serial on this terminal; quit with Ctrl-A X)"
	@echo "          status page: https://localhost:$(API_PORT)/ (certificate $(TLS_DIR)/mgmt.crt,"
	@echo "          token in $(TLS_DIR)/api.token); once the line '[mgmt] https server on ...' is up:"
	@echo "    curl --cacert $(TLS_DIR)/mgmt.crt https://localhost:$(API_PORT)/api/partitions"
	@echo "    curl --cacert $(TLS_DIR)/mgmt.crt -H \"Authorization: Bearer \$$(cat $(TLS_DIR)/api.token)\" \\"
	@echo "         -X POST https://localhost:$(API_PORT)/api/partitions/spin/restart"
	@echo "    PARTITA_URL=https://localhost:$(API_PORT) PARTITA_CA=$(TLS_DIR)/mgmt.crt \\"
	@echo "    PARTITA_TOKEN_FILE=$(TLS_DIR)/api.token tools/partitactl list"
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

# `make iso`: GRUB (BIOS, from Debian's grub-pc-bin) boots the Multiboot2
# loader with a config (ISO_CONF, the demo by default) and every file it
# names as modules (boot/mkiso.py writes the grub.cfg).  `make run-iso`
# boots it in QEMU with SeaBIOS instead of OVMF.
ISO_CONF ?= $(DEMO_CONF)

$(B)/partita.iso: $(B)/partita-mb2.elf $(ISO_CONF) boot/mkiso.py esp
	$(Q)python3 boot/mkiso.py --loader $(B)/partita-mb2.elf --config $(ISO_CONF) \
		--files $(B)/guests -o $@

.PHONY: iso run-iso
iso: $(B)/partita.iso

run-iso: iso
	@echo "  QEMU    $(B)/partita.iso (SeaBIOS, GRUB; serial on this terminal; quit with Ctrl-A X)"
	$(Q)qemu-system-x86_64 $(filter-out -bios $(OVMF),$(QEMU_FLAGS)) $(RUN_ICOUNT) \
		-cdrom $(B)/partita.iso -boot d -serial mon:stdio || true

# -------------------------------------------------------------------- tests --
HOST_CC := gcc
HOST_CFLAGS := -std=gnu11 -g -O1 -DPARTITA_HOST -I. -Wall -Wextra -Werror \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Python unit tests (tools/partitactl), run by tests/run.py beside cmocka's.
PY_UNIT_TESTS := tests/unit/test_partitactl.py
UNIT_TESTS := test_config test_format test_palloc test_pagetable test_loader test_schedule test_guest_mem
UNIT_TESTS += test_decode test_vlapic test_vdev test_vioapic test_vpci test_viommu
UNIT_TESTS += test_linux_boot test_acpi_tables test_multiboot test_console test_iommu_tables
UNIT_TESTS += test_mb2 test_policy_table
UNIT_TESTS += test_control_info
UNIT_TESTS += test_fbcon
UNIT_TESTS += test_virtio
UNIT_TESTS += test_clock

UNIT_test_config_SRCS := kernel/config.c kernel/lib/string.c kernel/errno.c
UNIT_test_format_SRCS := kernel/lib/format.c
UNIT_test_clock_SRCS := arch/x86/tsc.c
UNIT_test_palloc_SRCS := kernel/palloc.c
UNIT_test_pagetable_SRCS := arch/x86/pagetable.c
UNIT_test_schedule_SRCS := kernel/schedule.c kernel/config.c kernel/lib/string.c
UNIT_test_control_info_SRCS := kernel/control_info.c kernel/lateness.c kernel/config.c kernel/lib/string.c
UNIT_test_guest_mem_SRCS := kernel/guest_mem.c kernel/lib/elf.c
UNIT_test_loader_SRCS := boot/memmap.c boot/elf_load.c boot/pagetable.c kernel/lib/elf.c
UNIT_test_mb2_SRCS := boot/mb2.c boot/memmap.c kernel/lib/string.c
UNIT_test_decode_SRCS := kernel/hvm/decode.c
UNIT_test_linux_boot_SRCS := kernel/hvm/linux_boot.c
UNIT_test_acpi_tables_SRCS := kernel/hvm/acpi_tables.c
UNIT_test_iommu_tables_SRCS := kernel/lib/string.c
UNIT_test_multiboot_SRCS := kernel/hvm/multiboot.c kernel/hvm/linux_boot.c
UNIT_test_vlapic_SRCS := kernel/hvm/vlapic.c kernel/cpu_policy.c
UNIT_test_policy_table_SRCS := kernel/cpu_policy.c kernel/lib/string.c
UNIT_test_policy_table_CFLAGS := -DREADME_PATH='"$(CURDIR)/README.md"'
UNIT_test_vdev_SRCS := kernel/hvm/hvm.c kernel/hvm/vlapic.c kernel/hvm/vpic.c kernel/hvm/vpit.c \
	kernel/hvm/vuart.c kernel/hvm/vcmos.c kernel/hvm/vioapic.c kernel/hvm/vpci.c kernel/hvm/viommu.c \
	kernel/cpu_policy.c
UNIT_test_vioapic_SRCS := kernel/hvm/vioapic.c kernel/hvm/vlapic.c kernel/hvm/viommu.c \
	kernel/cpu_policy.c
UNIT_test_viommu_SRCS := kernel/hvm/viommu.c kernel/hvm/vioapic.c kernel/hvm/vlapic.c \
	kernel/cpu_policy.c
UNIT_test_vpci_SRCS := kernel/hvm/vpci.c kernel/hvm/vlapic.c kernel/hvm/viommu.c kernel/cpu_policy.c
UNIT_test_virtio_SRCS := kernel/hvm/virtq.c kernel/hvm/virtio_pci.c kernel/hvm/virtio_blk.c \
	kernel/hvm/vpci.c kernel/hvm/vlapic.c kernel/hvm/viommu.c kernel/cpu_policy.c

# format.c is built under other names on the host, beside the C library's.
UNIT_test_format_CFLAGS := -UPARTITA_HOST -Dvsnprintf=hv_vsnprintf -Dsnprintf=hv_snprintf
UNIT_test_console_SRCS := kernel/console.c kernel/lib/format.c
UNIT_test_fbcon_SRCS := drivers/fbcon.c $(B)/gen/fbfont.c
UNIT_test_console_CFLAGS := -Dvsnprintf=hv_vsnprintf -Dsnprintf=hv_snprintf

# Host tests of the core's glue (life cycle, scheduler, exit path,
# hypercalls, CPU policy): the real kernel files on a fake machine and a fake
# back end (tests/unit/fake_arch.c, fake_virt.c; -DPARTITA_FAKE_ARCH makes
# arch/x86/cpu.h and fpu.h declare their instructions as functions there).
CORE_HOST_SRCS := kernel/partition.c kernel/sched.c kernel/vmexit.c kernel/hypercall.c \
	kernel/channel.c kernel/pv.c kernel/pv_image.c kernel/image.c kernel/cpu_policy.c kernel/kind.c \
	kernel/virt.c kernel/dma.c kernel/devirq.c kernel/log.c kernel/console.c kernel/config.c kernel/schedule.c \
	kernel/errno.c kernel/guest_mem.c kernel/palloc.c kernel/lib/elf.c kernel/lib/string.c \
	arch/x86/pagetable.c arch/x86/tsc.c kernel/hvm/platform.c kernel/hvm/boot.c kernel/hvm/hvm.c \
	kernel/hvm/vlapic.c kernel/hvm/vpic.c kernel/hvm/vpit.c kernel/hvm/vuart.c \
	kernel/hvm/vcmos.c kernel/hvm/decode.c kernel/hvm/linux_boot.c kernel/hvm/multiboot.c \
	kernel/hvm/acpi_tables.c kernel/hvm/vioapic.c kernel/hvm/vpci.c kernel/hvm/viommu.c kernel/lateness.c \
	kernel/hvm/virtq.c kernel/hvm/virtio_pci.c kernel/hvm/virtio_blk.c kernel/hvm/disk.c \
	kernel/control_info.c tests/unit/fake_arch.c \
	tests/unit/fake_virt.c
CORE_HOST_HDRS := tests/unit/fake_arch.h tests/unit/fake_virt.h
CORE_UNIT_TESTS := test_lifecycle test_sched test_hypercall test_vmexit test_cpu_policy test_image
UNIT_TESTS += $(CORE_UNIT_TESTS)
$(foreach t,$(CORE_UNIT_TESTS),$(eval UNIT_$(t)_SRCS ?= $(CORE_HOST_SRCS)) \
	$(eval UNIT_$(t)_CFLAGS := -DPARTITA_FAKE_ARCH))
# test_lifecycle includes partition.c (to reach its static set_state).
UNIT_test_lifecycle_SRCS := $(filter-out kernel/partition.c,$(CORE_HOST_SRCS))

define unit_rule
$(B)/unit/$(1): tests/unit/$(1).c $(UNIT_$(1)_SRCS) $(if $(filter $(1),$(CORE_UNIT_TESTS)),$(CORE_HOST_HDRS)) | deps
	@mkdir -p $(B)/unit
	@echo "  HOSTCC  $$@"
	$(Q)$(HOST_CC) $(HOST_CFLAGS) $(UNIT_$(1)_CFLAGS) -o $$@ $$(filter %.c,$$^) -lcmocka
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

# The README's CPU policy section, generated from kernel/cpu_policy.c's table
# (test_policy_table checks that it is current).
policy-table: $(B)/unit/test_policy_table
	$(Q)$(B)/unit/test_policy_table --print > $(B)/policy-table.md
	$(Q)python3 -c 'import sys; r=open("README.md").read(); t=open(sys.argv[1]).read(); \
		b=r.index(t.splitlines(True)[0]); e=r.index("<!-- cpu-policy end -->\n", b) + 24; \
		open("README.md","w").write(r[:b] + t + r[e:])' $(B)/policy-table.md
	@echo "  README  CPU policy section from kernel/cpu_policy.c"

# Only kernel/partition.c writes a partition's life-cycle fields (clang's
# AST, through clang-query): before the unit tests, and in TEST_CHECKS.
.PHONY: test unit-test integration-test test-full lifecycle-check policy-table
lifecycle-check: | deps
	$(Q)python3 tests/check_lifecycle_owner.py

unit-test: $(addprefix $(B)/unit/,$(UNIT_TESTS)) lifecycle-check
	$(Q)python3 tests/run.py --unit $(addprefix $(B)/unit/,$(UNIT_TESTS)) $(PY_UNIT_TESTS)

# How long each fuzz target runs in `make test` and `make fuzz`.
FUZZ_SECONDS ?= 60

# Whole-tree checks that open `make test`: the sources against .clang-format,
# an SPDX line in every source file, the layering of the core's calls
# and the guests' includes, that only kernel/partition.c writes a
# partition's life-cycle fields, the core built with clang as well as gcc,
# the fuzz targets for FUZZ_SECONDS each, and the line coverage of the
# core's glue (COVERAGE_FILES) under the host tests.
TEST_CHECKS := \
	--check 'format=$(MAKE) --no-print-directory format-check' \
	--check 'spdx=python3 tests/spdx.py' \
	--check 'layers=python3 tests/check_layers.py $(B)/core' \
	--check 'lifecycle=python3 tests/check_lifecycle_owner.py' \
	--check 'clang-core=$(MAKE) --no-print-directory core-clang' \
	--check 'fuzz-config=$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)' \
	--check 'fuzz-hypercall=$(MAKE) --no-print-directory fuzz-hypercall FUZZ_SECONDS=$(FUZZ_SECONDS)' \
	--check 'coverage=$(MAKE) --no-print-directory coverage'

test: all linux mbtest mb2 conformance $(B)/partita.img $(addprefix $(B)/unit/,$(UNIT_TESTS))
	$(Q)python3 tests/run.py $(TEST_CHECKS) --unit $(addprefix $(B)/unit/,$(UNIT_TESTS)) $(PY_UNIT_TESTS) --integration

test-full: all linux mbtest mb2 conformance $(B)/partita.img $(addprefix $(B)/unit/,$(UNIT_TESTS))
	$(Q)python3 tests/run.py $(TEST_CHECKS) --unit $(addprefix $(B)/unit/,$(UNIT_TESTS)) $(PY_UNIT_TESTS) --integration --full

# `make test` with a CPU hog on each core beside it: every verdict must hold
# on a loaded machine (cases that check guest time run under -icount, the
# others wait on events, not on time).
.PHONY: test-loaded
test-loaded: all linux mbtest mb2 conformance $(B)/partita.img $(addprefix $(B)/unit/,$(UNIT_TESTS))
	$(Q)hogs=""; for i in $$(seq $$(nproc)); do nice -n 0 sh -c 'while :; do :; done' & hogs="$$hogs $$!"; done; \
	python3 tests/run.py $(TEST_CHECKS) --unit $(addprefix $(B)/unit/,$(UNIT_TESTS)) $(PY_UNIT_TESTS) --integration; rc=$$?; \
	kill $$hogs; exit $$rc

# The core built with clang into $(B)/clang (a build check: the image boots
# the gcc build).
.PHONY: core-clang
core-clang: | deps
	$(Q)$(MAKE) --no-print-directory B=$(B)/clang CC=clang $(B)/clang/core.elf

# Line coverage under the host unit tests (gcov through gcovr): a table per
# file of kernel/, arch/ and boot/, and a failure if one of COVERAGE_FILES
# is below COVERAGE_MIN percent.  Built without sanitizers, at -O0, in
# $(COV).
COV := $(B)/coverage
COVERAGE_MIN := 80
COVERAGE_FILES := kernel/hypercall.c kernel/vmexit.c kernel/sched.c kernel/partition.c
define cov_rule
$(COV)/$(1): tests/unit/$(1).c $(UNIT_$(1)_SRCS) $(CORE_HOST_HDRS) | deps
	@mkdir -p $(COV)
	@echo "  COVCC   $$@"
	$(Q)$(HOST_CC) -std=gnu11 -g -O0 --coverage -DPARTITA_HOST -I. -Wall -Wextra -Werror \
		$(UNIT_$(1)_CFLAGS) -o $$@ $$(filter %.c,$$^) -lcmocka
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call cov_rule,$(t))))

.PHONY: coverage
coverage: $(addprefix $(COV)/,$(UNIT_TESTS)) | deps
	$(Q)find $(COV) -name '*.gcda' -delete
	$(Q)for t in $(UNIT_TESTS); do \
		$(COV)/$$t > $(COV)/$$t.log 2>&1 || { cat $(COV)/$$t.log; exit 1; }; done
	$(Q)gcovr -r . --filter 'kernel/' --filter 'arch/' --filter 'boot/' --sort-uncovered \
		--json-summary $(COV)/summary.json --txt $(COV)/summary.txt $(COV) >/dev/null
	$(Q)cat $(COV)/summary.txt
	$(Q)python3 tests/coverage_check.py $(COV)/summary.json $(COVERAGE_MIN) $(COVERAGE_FILES)

# The config parser under libFuzzer (clang), ASan and UBSan, for a minute.
.PHONY: fuzz
fuzz: | deps
	@mkdir -p $(B)/fuzz-corpus
	@echo "  FUZZ    kernel/config.c for $(FUZZ_SECONDS) s"
	$(Q)clang -g -O1 -DPARTITA_HOST -I. -fsanitize=fuzzer,address,undefined \
		tests/unit/fuzz_config.c kernel/config.c kernel/lib/string.c -o $(B)/fuzz_config
	$(Q)cp tests/unit/configs/*.conf $(B)/fuzz-corpus/
	$(Q)$(B)/fuzz_config -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		-dict=tests/unit/configs/fuzz.dict $(B)/fuzz-corpus

# The hypercall decoder under libFuzzer: random registers into real
# partitions on the host tests' fake machine (tests/unit/fuzz_hypercall.c).
.PHONY: fuzz-hypercall
fuzz-hypercall: | deps
	@mkdir -p $(B)/fuzz-hypercall-corpus
	@echo "  FUZZ    kernel/hypercall.c for $(FUZZ_SECONDS) s"
	$(Q)clang -g -O1 -DPARTITA_HOST -DPARTITA_FAKE_ARCH -I. -fsanitize=fuzzer,address,undefined \
		tests/unit/fuzz_hypercall.c $(CORE_HOST_SRCS) -lcmocka -o $(B)/fuzz_hypercall
	$(Q)$(B)/fuzz_hypercall -max_total_time=$(FUZZ_SECONDS) -max_len=4100 \
		$(B)/fuzz-hypercall-corpus

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
	@echo "make iso      BIOS ISO with GRUB and the Multiboot2 loader: $(B)/partita.iso (ISO_CONF=...)"
	@echo "make run-iso  boot that ISO in QEMU with SeaBIOS"
	@echo "make fuzz     fuzz the config parser with libFuzzer (FUZZ_SECONDS=60)"
	@echo "make fuzz-hypercall  fuzz the hypercalls on the host tests' fake machine (FUZZ_SECONDS=60)"
	@echo "make coverage line coverage of kernel/ under the host tests (fails below $(COVERAGE_MIN)% for the glue)"
	@echo "make screenshot  boot the demo's pv partitions with a screen, write docs/screen.png"
	@echo "make format-check  check the C sources against .clang-format"
	@echo "make clean    remove $(B)"

$(foreach g,$(GUEST_NAMES),$(eval $(call guest_rule,$(g))))
esp: $(GUEST_ELFS)

-include $(shell find $(B) -name '*.d' -type f 2>/dev/null)
