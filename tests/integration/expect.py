# SPDX-License-Identifier: BSD-2-Clause
"""Expectations shared by the integration cases of both back ends: what a
paravirtual partition prints and what the hypervisor reports of the attack
guest and of the Multiboot test kernel do not depend on SVM or VMX."""

HELLO = ("hello prints", r"^\[hello\] hello from partition 0 'hello': ABI 1\.\d+, 2 MiB of memory$")


def attack_stop(check, reason):
    return (check, r"^\[hv\] partition attack stopped: " + reason)


# Every attack of guests/attack contained and reported, on either back end
# (the back-end specific ones, e.g. how VMRUN is seen, are in each case).
ATTACK_CONTAINED = [
    ("hypercall argument checks", r"^\[attack\] ok: all hypercall argument checks passed$"),
    ("control calls refused without the capability",
     r"^\[attack\] ok: partition restart without the control capability -> -1$"),
    attack_stop("read outside memory", r"read outside its memory at 0x200000 "),
    attack_stop("write outside memory", r"write outside its memory at 0x40000000 "),
    attack_stop("write start-info page", r"write of its read-only start-info page at 0x1000 "),
    attack_stop("uart port", r"port I/O \(write of 1 bytes at port 0x3f8\) is not allowed$"),
    attack_stop("pic port", r"port I/O \(write of 1 bytes at port 0x20\) is not allowed$"),
    attack_stop("wrmsr efer", r"write of MSR 0xc0000080 is not allowed$"),
    attack_stop("rdmsr vm_hsave_pa", r"read of MSR 0xc0010117 is not allowed$"),
    attack_stop("wrmsr vm_hsave_pa", r"write of MSR 0xc0010117 is not allowed$"),
    attack_stop("rdmsr vm_cr", r"read of MSR 0xc0010114 is not allowed$"),
    attack_stop("wrmsr vm_cr", r"write of MSR 0xc0010114 is not allowed$"),
    ("vmrun raised #UD in the guest", r"^\[attack\] ok: VMRUN raised #UD at rip "),
    ("skinit raised #UD in the guest", r"^\[attack\] ok: SKINIT raised #UD at rip "),
    # Without an IDT the #UD cannot be delivered: the IDT read at gpa 0x60
    # stops it, or a triple fault, equally right.
    attack_stop("#UD without an IDT", r"(read outside its memory at 0x60 |triple fault)"),
    attack_stop("triple fault", r"triple fault at rip 0x[0-9a-f]+$"),
    ("cli; hlt contained", r"^\[hv\] partition attack: HLT with interrupts off at 0x[0-9a-f]+; it keeps only its own windows$"),
    ("restarted after each fault", r"^\[hv\] partition attack restarted \(restart 12\)$"),
    ("boot count follows restarts", r"^\[attack\] attack 12: cli, then hlt forever$"),
]
ATTACK_FORBID = [r"restarted \(restart 13\)", r"was not stopped"]

MBTEST_CHECKS = ["multiboot", "cpuid-hypervisor-bit", "cpuid-signature", "cpuid-no-vmx-svm",
                 "uart", "apic-timer-oneshot", "apic-timer-periodic", "interrupt-once", "rtc",
                 "unknown-port-all-ones",
                 # guests/mbtest/platform.c: I/O APIC, ACPI, PCI
                 "acpi-madt-ioapic", "acpi-mcfg", "ioapic-registers", "ioapic-pit-edge",
                 "ioapic-level-eoi", "pci-config-cf8", "pci-config-ecam", "x2apic",
                 "x2apic-ir"]


def mbtest_ok():
    return [(f"mbtest {c}", rf"^\[mbtest\] mbtest: ok {c}$") for c in MBTEST_CHECKS]

# The /init prints the kernel's _text from /proc/kallsyms: anything but the
# link address 0xffffffff81000000 means KASLR moved it.
KASLR_LINE = r"^\[linux\] partita-test: kernel: (?!ffffffff81000000)ffffffff[89ab][0-9a-f]{7} T _text$"
