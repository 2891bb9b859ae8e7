/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ABI between tm's BPF programs and its commands: map names, keys,
 * values and the layout version. Both sides include this file and nothing
 * else declares these structs. Fixed-width types with explicit padding only,
 * so the layout is the same for the BPF target and the host.
 */
#ifndef TM_ABI_H
#define TM_ABI_H

#include <linux/types.h>
#include <linux/bpf.h>

/*
 * Bumped whenever a pinned map changes name, key, value or meaning. A command
 * that finds another version in the pins refuses to touch them.
 */
#define TM_LAYOUT_VERSION	10

/*
 * The pinned maps, each once: X(ID, name under the pin root, name in the
 * BPF object). This list drives pinning, reuse on tm-load --replace,
 * opening and closing: adding a map is one line here.
 */
#define TM_MAPS(X)					\
	X(CONTROL,	"control",	".data")	\
	X(USERS,	"users",	"users")	\
	X(GLOBAL,	"global",	"global")	\
	X(MASKS,	"masks",	"masks")	\
	X(IFACES,	"ifaces",	"ifaces")	\
	X(EVENTS,	"events",	"events")	\
	X(SOCKS,	"socks",	"socks")	\
	X(CONNS,	"conns",	"conns")	\
	X(DETAILS,	"details",	"details")	\
	X(IFNAMES,	"ifnames",	"ifnames")	\
	X(CGROUPS,	"cgroups",	"cgroups")	\
	X(QUOTA,	"quota",	"quota")		\
	X(USER_RINGS,	"user_rings",	"user_rings")	\
	X(RETIRED,	"retired",	"retired")	\
	X(CONN_QUEUE,	"conn_queue",	"conn_queue")	\
	X(SHARES,	"shares",	"shares")

enum tm_map_id {
#define TM_MAP_ENUM(id, pin, obj) TM_MAP_##id,
	TM_MAPS(TM_MAP_ENUM)
#undef TM_MAP_ENUM
	TM_MAP_COUNT
};

/*
 * Pins that are not maps of the object: the cgroup links' directory, the
 * iterator, and the trie "masks" holds (tm-mask's, pinned so that reading
 * the list takes what reading the pins takes: opening a map by its id
 * takes CAP_SYS_ADMIN).
 */
#define TM_PIN_LINKS		"links"
#define TM_PIN_PENDING		"pending"
#define TM_PIN_MASKS_TRIE	"masks_trie"

/* No admin group (tm_control.admin_gid). */
#define TM_GID_NONE		0xffffffffu

/* Owner of packets whose socket has no owner UID; (uid_t)-1 is never a UID. */
#define TM_UID_UNKNOWN		0xffffffffu

/*
 * Default capacity of the per-user map (keys are uid x family; tm-load
 * --max-users). Full, it costs 8192 x (32 bytes and the kernel's own).
 */
#define TM_USERS_MAX		8192
/*
 * Untracked networks of each family (one trie holds both, so twice that);
 * interfaces tm-load --iface may name.
 */
#define TM_MASKS_MAX		16384
#define TM_IFACES_MAX		64
#define TM_IFNAMSIZ		16
#define TM_COMM_LEN		16
/* Default capacity of the connection map (tm-load --max-conns). */
#define TM_CONNS_MAX		65536
/*
 * Rows of "conns" one user may hold: a sixteenth of it (tm_control
 * .conns_quota). A user's connections are queued in "conn_queue" in the
 * order their rows were made; past the share, the user's own oldest row
 * makes room, so no user's connections push out anyone else's.
 */
#define TM_CONNS_SHARE		16
/* Capacity of the per (uid, process, interface, cgroup, protocol) map. */
#define TM_DETAILS_MAX		65536
/*
 * Rows of "details" one user may hold: a sixteenth of it (tm_control
 * .details_quota), so one user's thousands of short-lived processes cannot
 * push anyone else out. What a user has beyond it counts in their row
 * "other" (pid TM_PID_OTHER).
 */
#define TM_DETAILS_SHARE	16
#define TM_PID_OTHER		0xffffffffu
/*
 * The key of the host's figures in maps by user ("retired", "shares"):
 * all users' together, beside each user's own.
 */
#define TM_UID_HOST		0xfffffffdu
/* Interfaces named (each network namespace's own) and cgroups recorded. */
#define TM_IFNAMES_MAX		1024
/*
 * Any user may make network namespaces (unshare -rn) and interfaces in
 * them: the interfaces of a namespace owned by a user namespace other than
 * the host's are named on their user's share, a sixteenth of "ifnames",
 * and all users' together on half of it; the other half is the host's.
 */
#define TM_IFNAMES_SHARE	16
#define TM_CGROUPS_MAX		8192
/*
 * A user may make cgroups below one delegated to them (user@UID.service):
 * those a user owns are recorded on their share, a sixteenth of "cgroups",
 * and all users' together on half of it; the other half is the host's
 * (Slurm's, the container engines', systemd's).
 */
#define TM_CGROUPS_SHARE	16
/* A cgroup's name in its parent: kernfs allows NAME_MAX (255) bytes. */
#define TM_CGNAME_LEN		256
/* Default size of the event ring buffer (tm-load --events-size). */
#define TM_EVENTS_SIZE		(4u << 20)
/*
 * The reader is woken once as this much waits in the ring: a batch, not an
 * event. A smaller ring wakes it at a quarter full (tm-load sets it).
 */
#define TM_WAKE_BYTES		(32u * 1024)
/* A user's own tm-stream reads a ring of its own, of this size. */
#define TM_USER_RINGS_MAX	1024
#define TM_USER_RING_SIZE	(1u << 20)
/* The key of the ring of an admin group member's stream: every event. */
#define TM_UID_ALL		0xfffffffeu

enum tm_family {
	TM_FAMILY_OTHER = 0,	/* neither IPv4 nor IPv6: counted, not dropped */
	TM_FAMILY_IPV4 = 1,
	TM_FAMILY_IPV6 = 2,
	TM_FAMILY_MAX,
};

/* Key of the "users" map. */
struct tm_user_key {
	__u32 uid;
	__u8 family;		/* enum tm_family */
	__u8 pad[3];
};

/* Value of the "users" map (and of the per-CPU "global"'s untracked: user space sums those). */
struct tm_counters {
	__u64 in_bytes;
	__u64 in_packets;
	__u64 out_bytes;
	__u64 out_packets;
};

/*
 * Value of the single-entry per-CPU "global" array: what was seen but could
 * not be put in a per-user row.
 */
struct tm_global {
	struct tm_counters untracked;	/* both ends in untracked networks */
	__u64 users_full_bytes;		/* "users" map was full */
	__u64 users_full_packets;
	__u64 events_lost;		/* no room in the event ring */
	__u64 conns_new;		/* connections ever inserted; minus the
					 * live ones: those evicted */
	__u64 details_full_bytes;	/* "details" map was full */
	__u64 details_full_packets;
	__u64 details_other;		/* slots counted in a user's row "other" */
	/*
	 * Incoming packets a raw socket got a copy of that were not its own
	 * (another socket's echo reply, a TCP segment a TCP socket also got):
	 * in no row, so per-user totals stay equal to the wire.
	 */
	__u64 raw_copies_bytes;
	__u64 raw_copies_packets;
	__u64 cgroups_full;		/* cgroups not recorded: map full */
	__u64 user_events_lost;		/* no room in a user's own ring */
	__u64 ifnames_full;		/* interfaces not named: map full */
	__u64 ifnames_share;		/* interfaces not named: their user's
					 * share of "ifnames" used */
	__u64 cgroups_share;		/* cgroups not recorded: their owner's
					 * share of "cgroups" used */
	__u64 conns_full;		/* connections given no row: "conns",
					 * "conn_queue" or "shares" full */
};

/*
 * Value of "retired", keyed by UID (__u32; TM_UID_HOST: the host's):
 * what was taken out of "details" once its cgroup had ended and was
 * recorded. Written only by the commands that retire (one at a time, under
 * the pin root's lock); the programs read rows: a user's share of
 * "details" is the rows "quota" counts they made less those retired.
 */
struct tm_retired {
	struct tm_counters c;		/* the rows' counters, added up */
	__u64 rows;			/* rows of "details" retired */
	__u64 cgroups;			/* names of "cgroups" retired: for a user,
					 * of cgroups they own; TM_UID_HOST: all */
	__u64 shared;			/* (TM_UID_HOST) of cgroups users own */
	__u64 unrecorded;		/* of the rows, those retired with nothing
					 * recording them: no history, no job */
};

/*
 * Key of the "conns" hash: one connection as its local end sees it.
 * Ports are 0 where there are none (ICMP, later fragments).
 */
struct tm_conn_key {
	__u32 uid;
	__u8 family;			/* enum tm_family */
	__u8 proto;			/* IPPROTO_* */
	__u16 lport;			/* host order */
	__u16 rport;
	__u16 pad;
	__u8 laddr[16];			/* IPv4 in the first 4 bytes */
	__u8 raddr[16];
};

/* Value of "conns": shared by all CPUs, added to atomically. */
struct tm_conn {
	struct tm_counters c;
	__u64 first_ns;			/* CLOCK_MONOTONIC */
	__u64 last_ns;
	__u32 pid;			/* of the socket's maker; 0: unknown */
	char comm[TM_COMM_LEN];
	__u32 pos;			/* its place in its user's queue */
	__u64 cgroup_id;		/* of the socket's maker, as details has it */
};

/*
 * Key of "conn_queue": a place in a user's queue of connection rows, pos
 * below control.conns_quota; the value is the struct tm_conn_key of the
 * row made there, which is still that row's place while the row's pos says
 * so.
 */
struct tm_queue_key {
	__u32 uid;
	__u32 pos;
};

/*
 * Value of "shares", by UID (TM_UID_HOST: all users'): what a user holds
 * of the maps shared by all, and where their queue of connections goes on.
 */
struct tm_share {
	__u64 conns_next;		/* connection rows this user ever made:
					 * the next place, modulo the quota */
	__u32 ifnames;			/* interfaces named on this share */
	__u32 cgroups;			/* cgroups recorded on it; less those
					 * retired ("retired"), held */
};

/*
 * Key of the "details" hash: what tm-stat --by proc, iface, proto and
 * cgroup add up. Kept short: it is hashed as a slot leaves for the maps.
 * An interface is its index in a network namespace, told by the
 * namespace's cookie (never reused, unlike its inode number).
 */
struct tm_detail_key {
	__u32 uid;
	__u32 pid;			/* 0: socket older than the load */
	__u64 cgroup_id;		/* the socket's cgroup v2 id */
	__u64 netns_cookie;
	__u32 ifindex;
	__u8 family;
	__u8 proto;
	__u16 pad;
};

/* Value of "details": counters added to atomically, and the process name. */
struct tm_detail {
	struct tm_counters c;
	char comm[TM_COMM_LEN];		/* at the entry's first packet */
};

/*
 * Who created a socket, where: recorded at creation. Where the kernel lets
 * the programs read the socket itself (TM_OWNER_SOCKET), the owner's UID is
 * read from the socket as each slot starts (an accepted socket takes the
 * UID of the process that accepts it); elsewhere (TM_OWNER_CREATOR) it is
 * uid, the creator's, as the host sees it.
 */
struct tm_owner {
	__u32 pid;			/* thread group id; 0: older than the load */
	char comm[TM_COMM_LEN];		/* "?" with pid 0 */
	__u32 netns;			/* the socket's network namespace: inode */
	__u32 uid;			/* the creating task's UID in the initial
					 * user namespace */
	__u32 pad;
	__u64 cgroup_id;		/* the creating task's cgroup v2 id */
	__u64 netns_cookie;		/* and cookie */
};

/*
 * What a socket's packets count under, and what they have added up to since
 * they were last moved into "users", "conns" and "details". A socket keeps
 * one slot: a packet with another key (a new peer of an unconnected socket,
 * another interface) moves the slot into the maps and starts a new one.
 */
struct tm_slot {
	struct tm_conn_key key;		/* uid included */
	__u32 ifindex;
	__u8 valid;
	__u8 untracked;			/* both ends in untracked networks */
	__u16 pad;
	__u32 masks_gen;		/* tm_control.masks_gen it was checked at */
	__u64 first_ns;			/* CLOCK_MONOTONIC, coarse */
	__u64 last_ns;			/* worked out when the slot is read */
	__u64 first_tick;		/* jiffies at first_ns (ns if HZ unknown) */
	__u64 last_tick;		/* and at the last packet */
	struct tm_counters c;
};

/*
 * Value of the socket storage "socks". The owner is cloned to accepted
 * sockets (a listener's slot is always empty). A socket that is released
 * (closed by its process), or was not made under the programs' eyes (made
 * before the load, or by the kernel), keeps no slot: its packets count
 * straight into the maps.
 */
struct tm_sock {
	struct bpf_spin_lock lock;	/* guards slot, direct and seq */
	__u16 direct;
	__u16 seq;			/* odd while the slot is swapped, so the
					 * iterator (which cannot take the lock)
					 * can tell a torn read */
	struct tm_owner owner;
	__u32 named_ifindex;		/* last interface checked in "ifnames" */
	__u8 raw;			/* a raw socket: every packet is settled */
	__u8 echo_set;			/* it has sent an ICMP echo request */
	__u16 echo_id;			/* the identifier of its last one */
	struct tm_slot slot;
};

/*
 * One record read from the "pending" iterator: a socket's slot not yet in
 * the maps. Readers add these to what the maps hold. A socket open in
 * several places comes more than once: the cookie tells the copies.
 */
struct tm_pending {
	struct tm_owner owner;
	struct tm_slot slot;
	__u64 cookie;			/* the socket's cookie */
};

enum tm_dir {
	TM_DIR_IN = 0,
	TM_DIR_OUT = 1,
};

/* One record of the "events" ring buffer: one packet. */
struct tm_event {
	__u64 ts_ns;			/* CLOCK_MONOTONIC, coarse (a tick) */
	__u32 uid;			/* TM_UID_UNKNOWN: no owner */
	__u32 pid;			/* 0: socket older than the load */
	char comm[TM_COMM_LEN];		/* "?" with pid 0 */
	__u32 bytes;			/* IP length at the hook */
	__u32 packets;			/* GSO/GRO segments */
	__u32 ifindex;
	__u8 dir;			/* enum tm_dir */
	__u8 family;			/* enum tm_family */
	__u8 proto;			/* IPPROTO_*, 0 if not reached */
	__u8 has_ports;			/* 0: no ports (ICMP, a later fragment) */
	__u16 sport;			/* host order */
	__u16 dport;
	__u32 netns;			/* inode of the socket's network namespace */
	__u8 saddr[16];			/* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	__u64 cgroup_id;		/* the socket's cgroup v2 id; 0: not known */
};

/*
 * Key of the untracked networks' LPM trie, the one map in "masks" (values:
 * __u32, unused): both families in one trie, so that one update of "masks"
 * swaps the whole list. The family and the padding are the first
 * TM_MASK_KEY_BITS bits of every prefix, so a network of one family never
 * covers an address of the other (::/0 is not 0.0.0.0/0).
 */
struct tm_mask_key {
	__u32 prefixlen;		/* TM_MASK_KEY_BITS + the network's */
	__u8 family;			/* TM_FAMILY_IPV4 or TM_FAMILY_IPV6 */
	__u8 pad[3];			/* 0 */
	__u8 addr[16];			/* IPv4 in the first 4 bytes */
};

#define TM_MASK_KEY_BITS	32

/*
 * Key of the "ifaces" filter and of "ifnames": an interface index in one
 * network namespace, told by its cookie.
 */
struct tm_iface_key {
	__u64 netns_cookie;
	__u32 ifindex;
	__u32 pad;
};

/*
 * Value of "ifaces" and of "ifnames": the interface's name in its own
 * namespace (for "ifnames", as at its first packet) and the namespace's
 * inode number, as ls -l /proc/PID/ns/net shows it.
 */
struct tm_iface {
	char name[TM_IFNAMSIZ];
	__u32 netns;
	__u32 pad;
};

/*
 * Value of "cgroups", keyed by cgroup v2 id (__u64): each cgroup that
 * carried traffic, and its ancestors, recorded while they exist (at load
 * and as a new cgroup makes its first socket), so a cgroup keeps its path
 * after it is removed. The root's parent is 0 and its name "".
 */
struct tm_cgroup {
	__u64 parent;
	__u32 owner;			/* its directory's; not 0: recorded on
					 * that user's share */
	__u32 pad;
	char name[TM_CGNAME_LEN];	/* NUL-terminated */
};

/*
 * Kernels differ in what the programs may do; tm-load takes the first way
 * each of these can be done that the running kernel accepts, in the order
 * listed. X(ID, value, name): the name is tm-load's --owner/--pending
 * value and tm-status's word for it.
 */
#define TM_OWNER_WAYS(X)						\
	X(SOCKET,	1, "socket")	/* the socket's own UID (Linux 6.3) */	\
	X(CREATOR,	2, "creator")	/* recorded as the socket is made */

#define TM_PENDING_WAYS(X)						\
	X(STORAGE,	1, "storage")	/* an iterator over the socket storage */ \
	X(FILES,	2, "files")	/* over every open file */		\
	X(FILES_CORE,	3, "files-core") /* the same, the storage read by address */

enum tm_owner_kind {
#define TM_WAY_ENUM(id, v, name) TM_OWNER_##id = v,
	TM_OWNER_WAYS(TM_WAY_ENUM)
#undef TM_WAY_ENUM
	TM_OWNER_KINDS
};

enum tm_pending_kind {
#define TM_WAY_ENUM(id, v, name) TM_PENDING_##id = v,
	TM_PENDING_WAYS(TM_WAY_ENUM)
#undef TM_WAY_ENUM
	TM_PENDING_KINDS
};

/*
 * The programs, each once: X(ID, name in the BPF object, kind of link,
 * link pin name, the way it belongs to). The cgroup programs are attached
 * in this order: sock_create first, so sockets made from now on know their
 * process, and sock_release and sockops before any packet is held in a
 * socket; then egress before ingress, so a reply is never counted without
 * its request. A program of a way (owner or pending) is loaded only when
 * its way is taken; the others always. The pending iterator is pinned as
 * TM_PIN_PENDING.
 */
#define TM_PROGS(X)								\
	X(SOCK_CREATE,	tm_sock_create,	CGROUP,	"sock_create",	ALWAYS, 0)	\
	X(SOCK_RELEASE,	tm_sock_release, CGROUP, "sock_release", ALWAYS, 0)	\
	X(SOCKOPS,	tm_sockops,	CGROUP,	"sockops",	ALWAYS, 0)	\
	X(EGRESS,	tm_egress,	CGROUP,	"egress",	OWNER, TM_OWNER_SOCKET)	\
	X(INGRESS,	tm_ingress,	CGROUP,	"ingress",	OWNER, TM_OWNER_SOCKET)	\
	X(EGRESS_CREATOR, tm_egress_creator, CGROUP, "egress",	OWNER, TM_OWNER_CREATOR) \
	X(INGRESS_CREATOR, tm_ingress_creator, CGROUP, "ingress", OWNER, TM_OWNER_CREATOR) \
	X(PENDING_STORAGE, tm_pending_storage, ITER, TM_PIN_PENDING, PENDING, TM_PENDING_STORAGE) \
	X(PENDING_FILES, tm_pending_files, ITER, TM_PIN_PENDING, PENDING, TM_PENDING_FILES) \
	X(PENDING_FILES_CORE, tm_pending_files_core, ITER, TM_PIN_PENDING, PENDING, TM_PENDING_FILES_CORE)

enum tm_prog_id {
#define TM_PROG_ENUM(id, obj, link, pin, way, v) TM_PROG_##id,
	TM_PROGS(TM_PROG_ENUM)
#undef TM_PROG_ENUM
	TM_PROG_COUNT
};

/*
 * The "control" map is the program's .data section: exactly one struct
 * tm_control, read by the programs on every packet and written by the
 * commands (through mmap, one field at a time).
 */
struct tm_control {
	__u32 layout_version;		/* TM_LAYOUT_VERSION */
	__u32 masks4;			/* IPv4 networks in masks (at least); 0
					 * skips the lookup */
	__u32 masks6;			/* IPv6 networks, likewise */
	__u32 ifaces;			/* entries in ifaces; 0: every interface */
	__u32 reader_pid;		/* the tm-stream reading events; 0: none */
	__u32 masks_gen;		/* moves on with every change to masks:
					 * odd while one is under way */
	__u32 wake_bytes;		/* the reader is woken as the ring passes this */
	__u32 details_quota;		/* rows of "details" a user may hold */
	__u32 conns_quota;		/* rows of "conns" a user may hold */
	__u32 admin_gid;		/* may see every user (tm-load --group) */
	__u8 owner_kind;		/* enum tm_owner_kind: how owners are read */
	__u8 pending_kind;		/* enum tm_pending_kind: how slots are read */
	__u16 pad;
	__u32 hz;			/* the kernel's HZ; 0: the clock is read */
	__u32 user_rings;		/* rings in user_rings (0: none, the
					 * programs skip the lookup) */
	/* Why the first choices were not taken, as the kernel said: */
	char owner_note[128];
	char pending_note[256];
};

#endif /* TM_ABI_H */
