/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lwIP's configuration for Partita's paravirtual guests: NO_SYS=1 (no
 * threads; the guest's main loop polls its netifs and calls
 * sys_check_timeouts), IPv4 with ARP over Ethernet, TCP, UDP and ICMP, and
 * memory only from lwIP's own static heap and pools.
 *
 * Sizes: a channel netif carries 1514-byte frames over rings of tens of KiB,
 * so the TCP window (32 segments) is chosen to fit one ring direction of a
 * 256 KiB channel (64 KiB), which keeps the sender from ever finding the ring
 * full (smaller channels work too: the netif queues what the ring cannot
 * take).  Checksums are controlled per netif (LWIP_CHECKSUM_CTRL_PER_NETIF;
 * see netif_channel.c).
 */
#ifndef PARTITA_LWIPOPTS_H
#define PARTITA_LWIPOPTS_H

#define NO_SYS 1
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_TIMERS 1

/* Memory: a static heap and static pools (MEM_LIBC_MALLOC 0, MEMP_MEM_MALLOC 0). */
#define MEM_LIBC_MALLOC 0
#define MEMP_MEM_MALLOC 0
#define MEM_ALIGNMENT 8
#define MEM_SIZE (512 * 1024)
#define MEMP_NUM_PBUF 64
#define MEMP_NUM_TCP_PCB 8
#define MEMP_NUM_TCP_PCB_LISTEN 4
#define MEMP_NUM_TCP_SEG 128
#define MEMP_NUM_UDP_PCB 4
#define PBUF_POOL_SIZE 128

/* Protocols. */
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_RAW 0
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0
#define IP_REASSEMBLY 0
#define IP_FRAG 0
#define ARP_QUEUEING 1
#define ETHARP_SUPPORT_STATIC_ENTRIES 1

/* TCP. */
#define TCP_MSS 1460
#define TCP_WND (32 * TCP_MSS)
#define TCP_SND_BUF (32 * TCP_MSS)
#define TCP_SND_QUEUELEN (2 * TCP_SND_BUF / TCP_MSS)
#define TCP_QUEUE_OOSEQ 1
#define LWIP_TCP_KEEPALIVE 0
#define LWIP_WND_SCALE 0

/* The application layered TCP API (altcp), so that one server speaks plain
 * TCP or TLS (altcp_tls over mbedTLS, guests/lib/tls) through the same
 * calls.  Only the guests that link guests/lib/tls use the TLS layer. */
#define LWIP_ALTCP 1
#define LWIP_ALTCP_TLS 1
#define LWIP_ALTCP_TLS_MBEDTLS 1
/* TLS over TCP takes two altcp pcbs per connection and per listener. */
#define MEMP_NUM_ALTCP_PCB (2 * (MEMP_NUM_TCP_PCB + MEMP_NUM_TCP_PCB_LISTEN))

/* Netifs. */
#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_NETIF_LINK_CALLBACK 0
#define LWIP_NETIF_HOSTNAME 0
#define LWIP_SINGLE_NETIF 0
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1

/* Statistics (kept for the management partition).  Debug output stays off:
 * lwIP tests LWIP_DEBUG with #ifdef, so it must stay undefined. */
#define LWIP_STATS 1
#define LWIP_STATS_DISPLAY 0

#endif
