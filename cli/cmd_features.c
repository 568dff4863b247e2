// SPDX-License-Identifier: GPL-2.0-or-later
/* memlens features: kernel, privileges, interfaces, and the source each job uses. */
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "memlens_cli.h"

enum { COL_SECTION, COL_NAME, COL_AVAILABLE, COL_VALUE, COL_ORDER, COL_REASON };

static const struct colinfo cols[] = {
	[COL_SECTION] = { "SECTION", 10, 0, OUT_TEXT, "kernel, privilege, interface or job" },
	[COL_NAME] = { "NAME", 22, 0, OUT_TEXT, "what" },
	[COL_AVAILABLE] = { "AVAILABLE", 5, 0, OUT_BOOL, "usable by this caller" },
	[COL_VALUE] = { "VALUE", 10, 0, OUT_TEXT, "version, or the source a job uses" },
	[COL_ORDER] = { "ORDER", 12, 0, OUT_TEXT, "a job's sources, best first: the order AUTO tries" },
	[COL_REASON] = { "REASON", 0.5, OUT_FL_WRAP, OUT_TEXT, "why" },
};

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

static struct out_row *row(struct out *o, const char *sec, const char *name, bool avail, const char *value,
			   const char *reason)
{
	struct out_row *ln = out_line(o);

	out_set(o, ln, COL_SECTION, "%s", sec);
	out_set(o, ln, COL_NAME, "%s", name);
	out_set(o, ln, COL_AVAILABLE, "%s", avail ? "yes" : "no");
	out_set(o, ln, COL_VALUE, "%s", value);
	out_set(o, ln, COL_REASON, "%s", reason);
	return ln;
}

static void job_row(struct out *o, struct cli *cli, enum memlens_job job)
{
	enum memlens_source b;
	char names[128];
	struct out_row *ln;

	memlens__select(cli->ml, job, MEMLENS_SOURCE_AUTO, &b);
	ln = row(o, "job", memlens_job__name(job), true, memlens_source__name(b), memlens__explain(cli->ml, job, b, false));
	out_set(o, ln, COL_ORDER, "%s", cli_job_sources(job, ",", names, sizeof(names)));
}

int cmd_features(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = { OUTPUT_LONGOPTS, { NULL, 0, NULL, 0 } };
	static const struct { int cap; const char *name; } caps[] = {
		{ CAP_SYS_ADMIN, "cap_sys_admin" }, { CAP_BPF, "cap_bpf" }, { CAP_PERFMON, "cap_perfmon" },
		{ CAP_CHECKPOINT_RESTORE, "cap_checkpoint_restore" }, { CAP_SYS_PTRACE, "cap_sys_ptrace" },
	};
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	struct utsname u;
	char uid[32];
	struct out o;
	int c, err;

	while ((c = getopt_long(argc, argv, OUTPUT_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == 'h') {
			printf("Usage: memlens features [options]\n\nWhat the running kernel and your privileges allow.\n\n");
			cli_help_common(-1);
			out_help_columns(stdout, cols, sizeof(cols) / sizeof(cols[0]));
			return EXIT_OK;
		}
		if (cli_common_opt(cli, MEMLENS_JOB_WALK, c, optarg))
			return EXIT_USAGE;
	}
	if (optind != argc) {
		cli_err("features takes no arguments");
		return EXIT_USAGE;
	}
	err = out_init_doc(&o, cli, "features", cols, sizeof(cols) / sizeof(cols[0]), "SECTION,NAME,AVAILABLE,VALUE,REASON",
			   "SECTION,NAME,AVAILABLE,VALUE,ORDER,REASON");
	if (err) {
		out_free(&o);
		return EXIT_USAGE;
	}
	if (uname(&u) == 0)
		row(&o, "kernel", "release", true, u.release, u.machine);
	snprintf(uid, sizeof(uid), "%u", (unsigned)geteuid());
	row(&o, "privilege", "euid", true, uid, geteuid() == 0 ? "root" : "not root");
	if (syscall(SYS_capget, &hdr, data) == 0) {
		for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
			bool has = data[caps[i].cap / 32].effective & (1u << (caps[i].cap % 32));

			row(&o, "privilege", caps[i].name, has, has ? "yes" : "no", "effective capability set");
		}
	}
	for (int i = 0; i < __MEMLENS_IFACE_MAX; i++) {
		int perr = memlens__probe(cli->ml, i);
		const char *ename = perr ? strerrorname_np(-perr) : "ok";

		/* VALUE: the errno the probe got (ENOTTY: kernel too old, EPERM: privilege, ...) */
		row(&o, "interface", memlens_iface__name(i), !perr, ename ? ename : "error", memlens__probe_reason(cli->ml, i));
	}
	for (int j = 0; j < __MEMLENS_JOB_MAX; j++)
		job_row(&o, cli, (enum memlens_job)j);
	err = out_print(&o);
	out_free(&o);
	return err ? EXIT_RUNTIME : EXIT_OK;
}
