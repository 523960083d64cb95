# SPDX-License-Identifier: BSD-2-Clause
"""Integration cases of lwIP in paravirtual guests: TCP over a channel
(guests/tcpecho through the channel netif of guests/lib/lwip)."""
from harness import Case

CONF = "tests/integration/configs/"

FORBID = [r"PANIC", r"\[hv\] exception", r"\[hv\] CPU exception", r"\[test\] FAIL",
          r"netif_channel: .*bad frame"]


def tcpecho_expect(channel_kib, queued):
    """What a tcpecho run prints when the whole stream came back intact."""
    return [
        ("client netif up", rf"^\[client\] client 10\.\d+\.\d+\.1 on channel 'link' of {channel_kib} KiB, "
                            r"MAC 02:50:54:00:[0-9a-f]{2}:[0-9a-f]{2}$"),
        ("server listens", r"^\[server\] echo server on 10\.\d+\.\d+\.2:7, channel 'link'$"),
        ("TCP connects", r"^\[client\] connected to 10\.\d+\.\d+\.2:7 in \d+ us$"),
        ("server accepts", r"^\[server\] connection from 10\.\d+\.\d+\.1:\d+$"),
        ("round trips reported",
         r"^\[client\] round trip of 64 bytes, 100 times: min \d+ us, mean \d+ us, max \d+ us$"),
        ("1 MiB checked byte for byte",
         r"^\[client\] 1048576 bytes sent, 1048576 bytes echoed and checked byte for byte$"),
        ("throughput reported",
         r"^\[client\] throughput [1-9]\d* KB/s each way \(1048576 bytes out and back in \d+ ms\)$"),
        ("no frame dropped",
         rf"^\[client\] frames: tx \d+, rx \d+, queued on a full ring {queued}, dropped 0$"),
        # 100 x 64 bytes of round trips, then the 1 MiB.
        ("server saw the whole stream", r"^\[server\] echoed 1054976 bytes, client closed$"),
        ("client closes", r"^\[client\] closed$"),
    ]


CASES = [
    Case("lwip-tcp-channel-1mib", CONF + "tcpecho.conf", tcpecho_expect(256, r"\d+"),
         exit_code=0, timeout=90, forbid=FORBID),
    # Rings smaller than the TCP window: the netif's queue must take up the
    # excess without losing a frame.
    Case("lwip-tcp-channel-full-ring", CONF + "tcpecho-64k.conf", tcpecho_expect(64, r"[1-9]\d*"),
         exit_code=0, timeout=90, forbid=FORBID),
]
