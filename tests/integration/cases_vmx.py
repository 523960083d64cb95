"""Integration cases of the Intel VMX back end, in Bochs (corei7_skylake_x:
VMX with EPT, VPID, unrestricted guest and the VMX-preemption timer), booting
the same BOOTX64.EFI through OVMF as the QEMU/SVM cases."""
from harness import Case

CONF = "tests/integration/configs/"

VMX_ON = ("vmx enabled",
          r"^\[hv\] vmx: enabled, EPT \(2 MiB pages\), VPID, unrestricted guest, preemption timer$")
VMX_CONTROLS = ("controls from the true capability MSRs",
                r"^\[hv\] vmx: VMCS revision 0x[0-9a-f]+, true controls: pin 0x[0-9a-f]+, ")

CASES = [
    Case("vmx-hello", CONF + "vmx-hello.conf",
         [VMX_ON, VMX_CONTROLS,
          ("guest line", r"^\[hello\] hello from partition 0 'hello': ABI \d+\.\d+, 4 MiB of memory$"),
          ("partition exited", r"^\[hv\] partition hello stopped: exited with code 0$")],
         exit_code=0, emulator="bochs", timeout=240),
    Case("vmx-fault", CONF + "vmx-fault.conf",
         [VMX_ON,
          ("hello unharmed", r"^\[hello\] hello from partition 0 'hello'"),
          ("hello exited", r"^\[hv\] partition hello stopped: exited with code 0$"),
          ("ept violation stops attack",
           r"^\[hv\] partition attack stopped: read outside its memory at 0x400000 ")],
         exit_code=5, emulator="bochs", timeout=240),
    Case("vmx-attack", CONF + "vmx-attack.conf",
         [VMX_ON,
          ("spin preempted by the window timer", r"^\[spin\] boot 1: spinning forever"),
          ("ept violation (write)", r"^\[hv\] partition attack stopped: write outside its memory at 0x40000000 "),
          ("read-only start-info", r"^\[hv\] partition attack stopped: write of its read-only start-info page"),
          ("port i/o", r"^\[hv\] partition attack stopped: port I/O \(write of 1 bytes at port 0x3f8\)"),
          ("msr write", r"^\[hv\] partition attack stopped: write of MSR 0xc0000080 is not allowed"),
          ("msr read", r"^\[hv\] partition attack stopped: read of MSR 0xc0010117 is not allowed"),
          ("triple fault", r"^\[hv\] partition attack stopped: triple fault"),
          ("restarted", r"^\[hv\] partition attack restarted \(restart \d+\)$"),
          ("last attack reached", r"^\[attack\] attack 12: cli, then hlt forever$")],
         exit_code=None, end_marker=r"^\[attack\] attack 12: ", emulator="bochs",
         timeout=400, slow=True),
]
