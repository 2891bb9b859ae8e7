// SPDX-License-Identifier: GPL-2.0
/*
 * What every part of the datapath includes: the UAPI and libbpf headers,
 * the ABI shared with user space, and the few kernel constants and compiler
 * barriers the UAPI headers do not give.
 */
#ifndef __TM_COMMON_BPF_H__
#define __TM_COMMON_BPF_H__

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#include "tm_abi.h"

#define SOCK_RAW 3	/* not in the UAPI headers */
#define E2BIG 7
#define barrier() asm volatile("" ::: "memory")
#define READ_ONCE(x) (*(volatile typeof(x) *)&(x))

#endif /* __TM_COMMON_BPF_H__ */
