/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	netlink/lunatik.yaml */
/* YNL-GEN uapi header */
/* To regenerate run: tools/net/ynl/ynl-regen.sh */

#ifndef _UAPI_LINUX_LUNATIK_H
#define _UAPI_LINUX_LUNATIK_H

#define LUNATIK_FAMILY_NAME	"lunatik"
#define LUNATIK_FAMILY_VERSION	1

#define LUNATIK_NAME_MAX		63
#define LUNATIK_CHUNK_NAME_MAX		255
#define LUNATIK_SOURCE_MAX		1048576
#define LUNATIK_SOURCE_PIECE_MAX	32000
#define LUNATIK_VALUE_MAX		65000

/**
 * enum lunatik_context - Where a state may be entered from.
 * @LUNATIK_CONTEXT_PROCESS: Process context only (a mutex; allocations may
 *   sleep).
 * @LUNATIK_CONTEXT_SOFTIRQ: Also softirq, the packet path (a spinlock; atomic
 *   allocations).
 */
enum lunatik_context {
	LUNATIK_CONTEXT_PROCESS,
	LUNATIK_CONTEXT_SOFTIRQ,
};

/**
 * enum lunatik_error_kind - Why a run or a callback failed.
 * @LUNATIK_ERROR_KIND_SYNTAX: The chunk did not compile.
 * @LUNATIK_ERROR_KIND_RUNTIME: The code raised an error (the message has a
 *   traceback).
 * @LUNATIK_ERROR_KIND_MEMORY: An allocation failed (the memory cap was
 *   reached).
 * @LUNATIK_ERROR_KIND_BUDGET: The entry ran out of its instruction budget.
 */
enum lunatik_error_kind {
	LUNATIK_ERROR_KIND_SYNTAX = 1,
	LUNATIK_ERROR_KIND_RUNTIME,
	LUNATIK_ERROR_KIND_MEMORY,
	LUNATIK_ERROR_KIND_BUDGET,
};

/**
 * enum lunatik_attachment_kind - What kind of kernel object calls into a
 *   state.
 * @LUNATIK_ATTACHMENT_KIND_NETFILTER: A netfilter hook (netfilter.register).
 * @LUNATIK_ATTACHMENT_KIND_XDP: The function XDP programs call through the
 *   kfuncs (xdp.attach).
 */
enum lunatik_attachment_kind {
	LUNATIK_ATTACHMENT_KIND_NETFILTER = 1,
	LUNATIK_ATTACHMENT_KIND_XDP,
};

enum {
	LUNATIK_A_NAME = 1,
	LUNATIK_A_CONTEXT,
	LUNATIK_A_MEMORY,
	LUNATIK_A_BUDGET,
	LUNATIK_A_PERCPU,
	LUNATIK_A_CHUNK_NAME,
	LUNATIK_A_SOURCE,
	LUNATIK_A_VALUE,
	LUNATIK_A_ERROR,
	LUNATIK_A_ERROR_KIND,
	LUNATIK_A_STATS,
	LUNATIK_A_MESSAGE,
	LUNATIK_A_UNLIMITED,
	LUNATIK_A_RCU,
	LUNATIK_A_ATTACHMENT,

	__LUNATIK_A_MAX,
	LUNATIK_A_MAX = (__LUNATIK_A_MAX - 1)
};

enum {
	LUNATIK_A_STATS_REPLICAS = 1,
	LUNATIK_A_STATS_MEMORY_USED,
	LUNATIK_A_STATS_MEMORY_PEAK,
	LUNATIK_A_STATS_CALLS,
	LUNATIK_A_STATS_ERRORS,
	LUNATIK_A_STATS_BUDGET_KILLS,
	LUNATIK_A_STATS_ALLOC_FAILURES,
	LUNATIK_A_STATS_LAST_ERROR,
	LUNATIK_A_STATS_LONGEST_ENTRY_NS,

	__LUNATIK_A_STATS_MAX,
	LUNATIK_A_STATS_MAX = (__LUNATIK_A_STATS_MAX - 1)
};

enum {
	LUNATIK_A_RCU_BYTES = 1,
	LUNATIK_A_RCU_TABLES,
	LUNATIK_A_RCU_BYTES_MAX,
	LUNATIK_A_RCU_TABLES_MAX,
	LUNATIK_A_RCU_BYTES_ALL,
	LUNATIK_A_RCU_TABLES_ALL,

	__LUNATIK_A_RCU_MAX,
	LUNATIK_A_RCU_MAX = (__LUNATIK_A_RCU_MAX - 1)
};

enum {
	LUNATIK_A_ATTACHMENT_KIND = 1,
	LUNATIK_A_ATTACHMENT_FAMILY,
	LUNATIK_A_ATTACHMENT_HOOKNUM,
	LUNATIK_A_ATTACHMENT_PRIORITY,
	LUNATIK_A_ATTACHMENT_DEVICE,
	LUNATIK_A_ATTACHMENT_DEVICE_GONE,

	__LUNATIK_A_ATTACHMENT_MAX,
	LUNATIK_A_ATTACHMENT_MAX = (__LUNATIK_A_ATTACHMENT_MAX - 1)
};

enum {
	LUNATIK_CMD_NEW = 1,
	LUNATIK_CMD_DEL,
	LUNATIK_CMD_GET,
	LUNATIK_CMD_RUN,
	LUNATIK_CMD_EVENT,
	LUNATIK_CMD_NS_GET,

	__LUNATIK_CMD_MAX,
	LUNATIK_CMD_MAX = (__LUNATIK_CMD_MAX - 1)
};

#define LUNATIK_MCGRP_EVENTS	"events"

#endif /* _UAPI_LINUX_LUNATIK_H */
