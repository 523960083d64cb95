# SPDX-License-Identifier: BSD-2-Clause
"""Integration cases of channels between partitions (shared memory, rings,
events)."""
from harness import Case

CONF = "tests/integration/configs/"

CASES = [
    Case("channel-ring-1mib", CONF + "pingpong.conf",
         [("both ends see the channel", r"^\[ping\] channel 'link' of 64 KiB, sending 1024 KiB$"),
          ("peer echoes", r"^\[pong\] echoing$"),
          ("1 MiB checked byte for byte",
           r"^\[ping\] \d+ messages, 1048576 bytes echoed and checked byte for byte$"),
          ("round trips reported", r"^\[ping\] round trip min \d+ us, mean \d+ us, max \d+ us$")],
         exit_code=0, timeout=90),
]
